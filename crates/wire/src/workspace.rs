//! Bodies of the workspace-connector routes (#13): the admin API, whose
//! field names mirror Base44's App Management API
//! (`/api/workspace/{workspace_id}/connectors`), and an app's connections
//! of those connectors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The one credential source this server has: the workspace's own OAuth
/// app ("bring your own"); there is no platform OAuth app to lend.
pub const CREDENTIAL_SOURCE_BYO: &str = "byo";

/// Body of `POST /api/workspace/{workspace_id}/connectors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspaceConnector {
    /// A catalog type (`available-integrations`), custom ones included.
    pub integration_type: String,
    /// Unique in the workspace.
    pub name: String,
    /// `byo` (the default); Base44's `base44` has no meaning here.
    #[serde(default)]
    pub credential_source: Option<String>,
    /// The OAuth app's client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The OAuth app's client secret; stored sealed, never returned.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Scopes new connections ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Values every connection gets (Snowflake's account, Databricks' host).
    #[serde(default)]
    pub connection_config: BTreeMap<String, String>,
    /// Whether apps' builders may make a shared connection (default true).
    #[serde(default)]
    pub builder_connection_enabled: Option<bool>,
    /// Whether apps' end users may connect their own accounts (default true).
    #[serde(default)]
    pub per_user_connection_enabled: Option<bool>,
}

/// Body of `PUT /api/workspace/{workspace_id}/connectors/{connector_id}`:
/// only the fields that change. A new secret rotates it (connections keep
/// working); new scopes apply to new connections only.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkspaceConnector {
    /// Refused unless it is the connector's own type (it cannot change).
    #[serde(default)]
    pub integration_type: Option<String>,
    /// A new name, unique in the workspace.
    #[serde(default)]
    pub name: Option<String>,
    /// `byo` only.
    #[serde(default)]
    pub credential_source: Option<String>,
    /// A new client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// A new client secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Scopes for new connections.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Replaces the values connections get.
    #[serde(default)]
    pub connection_config: Option<BTreeMap<String, String>>,
    /// Turns apps' shared connections on or off.
    #[serde(default)]
    pub builder_connection_enabled: Option<bool>,
    /// Turns end users' own connections on or off.
    #[serde(default)]
    pub per_user_connection_enabled: Option<bool>,
}

/// A workspace connector as the API shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceConnector {
    /// 24 lowercase hex characters: what functions pass as `connectorId`.
    pub id: String,
    /// Its workspace.
    pub workspace_id: String,
    /// Its catalog type.
    pub integration_type: String,
    /// Unique in the workspace.
    pub name: String,
    /// Always `byo`.
    pub credential_source: String,
    /// The OAuth app's client id.
    pub client_id: String,
    /// Whether a client secret is stored (it is never shown).
    pub has_client_secret: bool,
    /// Scopes new connections ask for.
    pub scopes: Vec<String>,
    /// Values every connection gets.
    pub connection_config: BTreeMap<String, String>,
    /// Whether apps' builders may make a shared connection.
    pub builder_connection_enabled: bool,
    /// Whether end users may connect their own accounts.
    pub per_user_connection_enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// Answer of `GET /api/workspace/{workspace_id}/connectors` (not paginated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceConnectorList {
    /// By name.
    pub connectors: Vec<WorkspaceConnector>,
}

/// Answer of `DELETE /api/workspace/{workspace_id}/connectors/{connector_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedWorkspaceConnector {
    /// `deleted`.
    pub status: String,
    /// The connector's id.
    pub id: String,
    /// How many connections went with it (their tokens are revoked at the
    /// provider, best effort).
    pub connections_removed: usize,
}

/// One redirect URI to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedirectUri {
    /// The URI.
    pub uri: String,
}

/// Answer of `GET /api/apps/{app_id}/oauth-redirect-uris`: what to register
/// in a workspace connector's OAuth app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthRedirectUris {
    /// Where a builder's consent returns.
    pub builder_redirect_uri: String,
    /// Where an end user's consent returns.
    pub app_redirect_uris: Vec<RedirectUri>,
    /// Base44's shared gateway; this server has none (always null).
    pub gateway_redirect_uri: Option<String>,
}

/// An app's connection of a workspace connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceConnection {
    /// The workspace connector.
    pub connector_id: String,
    /// Its type.
    pub integration_type: String,
    /// `active`, `expired` or `disconnected` (consent not finished).
    pub status: String,
    /// Why it is not active, when known.
    pub status_reason: Option<String>,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// Scopes the consent granted.
    pub granted_scopes: Vec<String>,
    /// The builder who consented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
}

/// Answer of `GET /api/apps/{app_id}/external-auth/connectors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceConnectionList {
    /// By type, then connector.
    pub connections: Vec<WorkspaceConnection>,
}

/// Answer of `DELETE /api/apps/{app_id}/external-auth/connectors/{connector_id}`
/// (and of an app user's disconnect): the SDK mock's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disconnected {
    /// `disconnected`.
    pub status: String,
    /// The workspace connector.
    pub connector_id: String,
}

/// One app user's connection, as the app's builders see it (never a token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppUserConnection {
    /// The user's opaque id on this server.
    pub user_id: String,
    /// Who vouches for the user: this server or the app's provider.
    pub issuer: String,
    /// The user's id at the issuer (what the app calls them).
    pub subject: String,
    /// Display only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The workspace connector.
    pub connector_id: String,
    /// Its type.
    pub integration_type: String,
    /// `active`, `expired` or `disconnected` (consent not finished).
    pub status: String,
    /// Scopes the user granted.
    pub granted_scopes: Vec<String>,
    /// Unix seconds.
    pub updated_at: i64,
}

/// Answer of `GET /api/apps/{app_id}/app-user-connections`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppUserConnectionList {
    /// By type, then connector.
    pub connections: Vec<AppUserConnection>,
}
