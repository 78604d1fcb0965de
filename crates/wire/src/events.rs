//! Connection events (#15): what an app's log (`GET /api/apps/{app_id}/events`)
//! and its webhooks carry, and the bodies of the webhook endpoint routes.
//! An event never holds a token or a secret: an app that needs the
//! credentials asks for them by type or connector id.

use serde::{Deserialize, Serialize};

/// A consent made a connection.
pub const CONNECTED: &str = "connector.connected.v1";
/// A consent renewed a connection that was already there.
pub const REAUTHORIZED: &str = "connector.reauthorized.v1";
/// A refresh failed; `permanent` says whether retrying can help.
pub const REFRESH_FAILED: &str = "connector.refresh_failed.v1";
/// A connection needs a new consent.
pub const EXPIRED: &str = "connector.expired.v1";
/// A connection was removed; `by` says by whom.
pub const DISCONNECTED: &str = "connector.disconnected.v1";
/// A consent did not finish (denied, or the provider failed).
pub const ATTEMPT_FAILED: &str = "connector.attempt_failed.v1";
/// A workspace connector was created.
pub const WORKSPACE_CONNECTOR_CREATED: &str = "workspace_connector.created.v1";
/// A workspace connector was changed.
pub const WORKSPACE_CONNECTOR_UPDATED: &str = "workspace_connector.updated.v1";
/// A workspace connector was deleted.
pub const WORKSPACE_CONNECTOR_DELETED: &str = "workspace_connector.deleted.v1";
/// Sent by "send test event" to one endpoint; in no app's log.
pub const WEBHOOK_TEST: &str = "webhook.test.v1";

/// Every event type an endpoint may subscribe to.
pub const EVENT_TYPES: [&str; 10] = [
    CONNECTED,
    REAUTHORIZED,
    REFRESH_FAILED,
    EXPIRED,
    DISCONNECTED,
    ATTEMPT_FAILED,
    WORKSPACE_CONNECTOR_CREATED,
    WORKSPACE_CONNECTOR_UPDATED,
    WORKSPACE_CONNECTOR_DELETED,
    WEBHOOK_TEST,
];

/// Whose connection an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// The app's own connector of a type, consented by a builder.
    Builder,
    /// The app's shared connection of a workspace connector.
    Workspace,
    /// One end user's own connection of a workspace connector.
    AppUser,
}

/// `data` of the `connector.*` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorEventData {
    /// The app.
    pub app_id: String,
    /// Whose connection.
    pub kind: ConnectionKind,
    /// The integration type.
    pub integration_type: String,
    /// The workspace connector (workspace and app-user connections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    /// The app user (app-user connections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_user_id: Option<String>,
    /// Granted scopes (declared ones while none were granted).
    pub scopes: Vec<String>,
    /// `refresh_failed`: whether only a new consent can help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent: Option<bool>,
    /// `refresh_failed`, `expired`, `attempt_failed`: `invalid_grant`,
    /// `provider_error`, `network`, `denied`, `no_refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The provider's or the server's words, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `disconnected`: `builder`, `app_user`, `admin` or `policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// `data` of the `workspace_connector.*` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceConnectorEventData {
    /// The workspace.
    pub workspace_id: String,
    /// The workspace connector.
    pub connector_id: String,
    /// Its integration type.
    pub integration_type: String,
    /// Its name.
    pub name: String,
    /// Scopes new connections ask for.
    pub scopes: Vec<String>,
    /// Whether apps' builders may connect it.
    pub builder_connection_enabled: bool,
    /// Whether apps' end users may connect it.
    pub per_user_connection_enabled: bool,
    /// `deleted`: `builder` or `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// One event: a webhook's body, and an entry of `GET …/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_…`; the `webhook-id` of its deliveries, the same on every retry.
    pub id: String,
    /// Versioned name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened (RFC 3339, UTC).
    pub timestamp: String,
    /// The app whose log it is in.
    pub app_id: String,
    /// What happened.
    pub data: serde_json::Value,
    /// Its place in the app's log (`…/events` only): resume after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `GET /api/apps/{app_id}/events?after=&limit=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    /// Oldest first.
    pub events: Vec<Event>,
    /// Pass as `after` to read on (the last event's cursor, or the given
    /// one when nothing is newer).
    pub next_cursor: String,
    /// Whether more events are waiting after this page.
    pub has_more: bool,
}

/// Body of `POST /api/apps/{app_id}/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpoint {
    /// An `https://` URL the app serves.
    pub url: String,
    /// Event types to receive; omitted or empty: all.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// A note for people.
    #[serde(default)]
    pub description: Option<String>,
}

/// Body of `PATCH /api/apps/{app_id}/webhooks/{endpoint_id}`: what is
/// given changes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpoint {
    /// A new URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New event types; empty: all.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// A new note (empty clears it).
    #[serde(default)]
    pub description: Option<String>,
    /// Enable (clearing a failure streak) or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An endpoint as the API shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// `we_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The note.
    pub description: Option<String>,
    /// Event types received; empty: all.
    pub event_types: Vec<String>,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// Why it is disabled.
    pub disabled_reason: Option<String>,
    /// Since when every attempt failed (RFC 3339).
    pub failing_since: Option<String>,
    /// Until when the previous secret still signs (RFC 3339).
    pub previous_secret_expires_at: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `GET /api/apps/{app_id}/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointList {
    /// Oldest first.
    pub endpoints: Vec<WebhookEndpoint>,
}

/// The answer to a creation or a rotation: the secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointWithSecret {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it.
    pub secret: String,
}

/// Body of `POST …/webhooks/{endpoint_id}/rotate-secret`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateWebhookSecret {
    /// How long the old secret keeps signing too (seconds, at most a week;
    /// default a day).
    #[serde(default)]
    pub overlap_secs: Option<u64>,
}

/// The answer to "send test event".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookTestQueued {
    /// The test event's id (`webhook-id`).
    pub event_id: String,
}

/// One attempt in an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAttempt {
    /// The event (`webhook-id`).
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// RFC 3339.
    pub at: String,
    /// The receiver's status, when it answered.
    pub status_code: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// The delivery now: `pending`, `delivered` or `failed`.
    pub delivery_status: String,
}

/// `GET …/webhooks/{endpoint_id}/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveryLog {
    /// Newest first.
    pub attempts: Vec<WebhookAttempt>,
}
