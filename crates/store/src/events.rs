//! Rows of the event outbox and of webhook endpoints and deliveries
//! (migration 0016), and the one statement sequence that writes events
//! inside a caller's transaction.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Result, StoreError};

/// Whose log an event goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventScope {
    /// One app.
    App(String),
    /// Every app of a workspace (workspace connector changes), each in its
    /// own log under the same event id.
    Workspace(String),
}

/// An event to write with the change it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Whose log.
    pub scope: EventScope,
    /// `evt_…`; also the `webhook-id` of its deliveries.
    pub id: String,
    /// Versioned name, e.g. `connector.connected.v1`.
    pub event_type: String,
    /// The event's `data` as JSON text (never a token or secret).
    pub data: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// An event as stored in an app's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// The app.
    pub app_id: String,
    /// Position in the app's log (the cursor).
    pub seq: i64,
    /// `evt_…`.
    pub id: String,
    /// Versioned name.
    pub event_type: String,
    /// JSON text.
    pub data: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// An app's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointRow {
    /// `we_…`.
    pub id: String,
    /// The app.
    pub app_id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The builder's note.
    pub description: Option<String>,
    /// The event types it receives; `None`: all.
    pub event_types: Option<Vec<String>>,
    /// The signing secret, sealed.
    pub secret: String,
    /// The secret before the last rotation, sealed, still signing until
    /// `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    /// Unix milliseconds.
    pub previous_secret_expires_at: Option<i64>,
    /// When it was disabled (Unix milliseconds), by its builder or after a
    /// day of failures.
    pub disabled_at: Option<i64>,
    /// Why.
    pub disabled_reason: Option<String>,
    /// Since when every attempt failed (Unix milliseconds).
    pub failing_since: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// A delivery claimed for sending, with what sending needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The delivery.
    pub id: String,
    /// Its endpoint.
    pub endpoint_id: String,
    /// The app.
    pub app_id: String,
    /// `evt_…`: the `webhook-id`.
    pub event_id: String,
    /// Versioned name.
    pub event_type: String,
    /// JSON text.
    pub data: String,
    /// Unix milliseconds.
    pub event_created_at: i64,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's secret, sealed.
    pub secret: String,
    /// The previous secret, sealed, while it still signs.
    pub previous_secret: Option<String>,
    /// Unix milliseconds.
    pub previous_secret_expires_at: Option<i64>,
}

/// How one attempt went, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The delivery.
    pub delivery_id: String,
    /// Its endpoint.
    pub endpoint_id: String,
    /// Who claimed it (only the claimer records).
    pub owner: String,
    /// This attempt's number (1 for the first).
    pub attempt: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// The receiver's status, when it answered.
    pub status_code: Option<i64>,
    /// Why it failed, in a few words.
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// A 2xx.
    pub delivered: bool,
    /// When to try again (Unix milliseconds); `None`: give up.
    pub next_attempt_at: Option<i64>,
    /// An endpoint failing for this long (ms) since its last success is
    /// disabled.
    pub disable_after_ms: i64,
    /// Disable the endpoint now, for this reason (a receiver that answered
    /// 410 Gone).
    pub disable_now: Option<String>,
}

/// One attempt in an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLogRow {
    /// The delivery.
    pub delivery_id: String,
    /// `evt_…`.
    pub event_id: String,
    /// Versioned name.
    pub event_type: String,
    /// The attempt's number.
    pub attempt: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// The receiver's status, when it answered.
    pub status_code: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// The delivery's state now: `pending`, `delivered` or `failed`.
    pub delivery_status: String,
}

/// Appends `events` in the caller's transaction: each to its app's log
/// under the app's next number (the app row's update serializes an app's
/// writers, so numbers commit in order), and a pending delivery to each of
/// the app's enabled endpoints that wants its type.
pub(crate) async fn write_events(conn: &mut AnyConnection, events: &[NewEvent]) -> Result<()> {
    for event in events {
        let apps: Vec<String> = match &event.scope {
            EventScope::App(id) => vec![id.clone()],
            EventScope::Workspace(workspace) => {
                sqlx::query("SELECT id FROM apps WHERE workspace_id = $1 ORDER BY id")
                    .bind(workspace)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| r.try_get("id"))
                    .collect::<Result<_, _>>()?
            }
        };
        for app in apps {
            let Some(row) = sqlx::query(
                "UPDATE apps SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
            )
            .bind(&app)
            .fetch_optional(&mut *conn)
            .await?
            else {
                // The app is gone: so is its log.
                continue;
            };
            let seq: i64 = row.try_get("event_seq")?;
            sqlx::query(
                "INSERT INTO events (app_id, seq, id, event_type, data, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&app)
            .bind(seq)
            .bind(&event.id)
            .bind(&event.event_type)
            .bind(&event.data)
            .bind(event.created_at)
            .execute(&mut *conn)
            .await?;
            sqlx::query(ENQUEUE_DELIVERIES)
                .bind(&event.id)
                .bind(&event.event_type)
                .bind(&event.data)
                .bind(event.created_at)
                .bind(&app)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// One pending delivery per enabled endpoint of the app (`$5`) that wants
/// the type (`$2`); its id is the event's and the endpoint's, so a message
/// is queued once per endpoint.
const ENQUEUE_DELIVERIES: &str =
    "INSERT INTO webhook_deliveries (id, endpoint_id, app_id, event_id, event_type, data, \
     event_created_at, status, attempts, next_attempt_at, created_at, updated_at) \
     SELECT $1 || '.' || w.id, w.id, w.app_id, $1, $2, $3, $4, 'pending', 0, $4, $4, $4 \
     FROM webhook_endpoints w WHERE w.app_id = $5 AND w.disabled_at IS NULL \
     AND (w.all_events = 1 OR EXISTS (SELECT 1 FROM webhook_endpoint_events f \
     WHERE f.endpoint_id = w.id AND f.event_type = $2))";

pub(crate) fn event_from_row(r: &AnyRow) -> Result<EventRow> {
    Ok(EventRow {
        app_id: r.try_get("app_id")?,
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        event_type: r.try_get("event_type")?,
        data: r.try_get("data")?,
        created_at: r.try_get("created_at")?,
    })
}

/// An endpoint's row; `event_types` comes from its own table.
pub(crate) fn endpoint_from_row(
    r: &AnyRow,
    event_types: Option<Vec<String>>,
) -> Result<WebhookEndpointRow> {
    let all: i64 = r.try_get("all_events")?;
    if (all == 1) != event_types.is_none() {
        return Err(StoreError::Corrupt("webhook_endpoints.all_events"));
    }
    Ok(WebhookEndpointRow {
        id: r.try_get("id")?,
        app_id: r.try_get("app_id")?,
        url: r.try_get("url")?,
        description: r.try_get("description")?,
        event_types,
        secret: r.try_get("secret")?,
        previous_secret: r.try_get("previous_secret")?,
        previous_secret_expires_at: r.try_get("previous_secret_expires_at")?,
        disabled_at: r.try_get("disabled_at")?,
        disabled_reason: r.try_get("disabled_reason")?,
        failing_since: r.try_get("failing_since")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(crate) fn claimed_from_row(r: &AnyRow) -> Result<ClaimedDelivery> {
    Ok(ClaimedDelivery {
        id: r.try_get("id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        app_id: r.try_get("app_id")?,
        event_id: r.try_get("event_id")?,
        event_type: r.try_get("event_type")?,
        data: r.try_get("data")?,
        event_created_at: r.try_get("event_created_at")?,
        attempts: r.try_get("attempts")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
        previous_secret: r.try_get("previous_secret")?,
        previous_secret_expires_at: r.try_get("previous_secret_expires_at")?,
    })
}

pub(crate) fn log_from_row(r: &AnyRow) -> Result<DeliveryLogRow> {
    Ok(DeliveryLogRow {
        delivery_id: r.try_get("delivery_id")?,
        event_id: r.try_get("event_id")?,
        event_type: r.try_get("event_type")?,
        attempt: r.try_get("attempt")?,
        at: r.try_get("at")?,
        status_code: r.try_get("status_code")?,
        error: r.try_get("error")?,
        response_excerpt: r.try_get("response_excerpt")?,
        duration_ms: r.try_get("duration_ms")?,
        delivery_status: r.try_get("status")?,
    })
}

/// The associated-data context binding an endpoint's sealed secret column.
pub fn webhook_secret_context(endpoint_id: &str, column: &str) -> String {
    format!("webhook_endpoints:{endpoint_id}:{column}")
}
