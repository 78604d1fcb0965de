//! Connection events (#15), made here from rows and handed to the store
//! with the write they report, which appends them in the same transaction
//! (the outbox): an event is in the log if and only if its change committed.
//! Nothing here reads a token; events carry ids, types and scopes.

use connectors_store::{
    ConnectorKey, ConnectorRow, EventRow, EventScope, Holder, NewEvent, WorkspaceConnectorRow,
};
use connectors_wire::events::{
    self as wire, ConnectionKind, ConnectorEventData, Event, EventPage, WorkspaceConnectorEventData,
};
use connectors_wire::ConnectorStatus;

use crate::{AuthorizedApp, Engine, EngineError, Result};

/// The most events one page of `GET …/events` answers.
pub const MAX_EVENTS_PAGE: i64 = 200;
/// A page's size when the caller names none.
pub const DEFAULT_EVENTS_PAGE: i64 = 50;

/// Who removed a connection (`connector.disconnected.v1`'s `by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedBy {
    /// A builder, through the API, the CLI or the dashboard.
    Builder,
    /// The app user, from the app.
    AppUser,
    /// The operator, with an admin command.
    Admin,
    /// A rule: its workspace connector was deleted.
    Policy,
}

impl RemovedBy {
    fn as_str(self) -> &'static str {
        match self {
            RemovedBy::Builder => "builder",
            RemovedBy::AppUser => "app_user",
            RemovedBy::Admin => "admin",
            RemovedBy::Policy => "policy",
        }
    }
}

/// A new event id: `evt_` and 32 hex digits.
pub(crate) fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

/// What a `connector.*` event says of a connection, before the details
/// of its type are filled in.
pub(crate) fn connector_data(key: &ConnectorKey, scopes: &[String]) -> ConnectorEventData {
    let (kind, connector_id, app_user_id) = match &key.holder {
        Holder::App => (ConnectionKind::Builder, None, None),
        Holder::Workspace { connector_id } => {
            (ConnectionKind::Workspace, Some(connector_id.clone()), None)
        }
        Holder::AppUser {
            connector_id,
            user_id,
        } => (
            ConnectionKind::AppUser,
            Some(connector_id.clone()),
            Some(user_id.clone()),
        ),
    };
    ConnectorEventData {
        app_id: key.app_id.clone(),
        kind,
        integration_type: key.integration_type.to_string(),
        connector_id,
        app_user_id,
        scopes: scopes.to_vec(),
        permanent: None,
        reason: None,
        detail: None,
        by: None,
    }
}

/// The scopes an event names: those granted, else those declared.
pub(crate) fn scopes_of(row: &ConnectorRow) -> &[String] {
    if row.granted_scopes.is_empty() {
        &row.scopes
    } else {
        &row.granted_scopes
    }
}

/// A page size asked for (`?limit=`), checked against `1..=max`.
pub(crate) fn page_size(limit: Option<i64>, default: i64, max: i64) -> Result<i64> {
    match limit.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        n => Err(EngineError::BadRequest(format!(
            "`limit` is {n}; it must be from 1 to {max} (default {default})"
        ))),
    }
}

/// A short text for an event's `detail`: at most 300 characters.
pub(crate) fn detail(text: &str) -> Option<String> {
    Some(text.chars().take(300).collect())
}

impl Engine {
    /// A `connector.*` event in the connection's app's log.
    pub(crate) fn connector_event(&self, event_type: &str, data: &ConnectorEventData) -> NewEvent {
        self.new_event(
            EventScope::App(data.app_id.clone()),
            event_type,
            serde_json::to_string(data).expect("plain data serializes"),
        )
    }

    /// An event happening now, under a new id; `data` is its JSON.
    pub(crate) fn new_event(&self, scope: EventScope, event_type: &str, data: String) -> NewEvent {
        NewEvent {
            scope,
            id: new_event_id(),
            event_type: event_type.to_string(),
            data,
            created_at: self.now_ms(),
        }
    }

    /// The events of a removal, made by the store from the removed row: a
    /// `connector.disconnected.v1` for a connection that had been made (a
    /// connector only declared, never consented, reports nothing).
    pub(crate) fn disconnected_events(
        &self,
        by: RemovedBy,
    ) -> impl Fn(&ConnectorRow) -> Vec<NewEvent> + Send + Sync + '_ {
        move |row: &ConnectorRow| {
            if row.status == ConnectorStatus::Disconnected {
                return Vec::new();
            }
            let mut data = connector_data(&row.key(), scopes_of(row));
            data.by = Some(by.as_str().into());
            vec![self.connector_event(wire::DISCONNECTED, &data)]
        }
    }

    /// A `workspace_connector.*` event, in the log of every app of the
    /// workspace.
    pub(crate) fn workspace_connector_event(
        &self,
        event_type: &str,
        row: &WorkspaceConnectorRow,
        by: Option<RemovedBy>,
    ) -> NewEvent {
        let data = WorkspaceConnectorEventData {
            workspace_id: row.workspace_id.clone(),
            connector_id: row.id.clone(),
            integration_type: row.integration_type.to_string(),
            name: row.name.clone(),
            scopes: row.scopes.clone(),
            builder_connection_enabled: row.builder_enabled,
            per_user_connection_enabled: row.per_user_enabled,
            by: by.map(|b| b.as_str().into()),
        };
        self.new_event(
            EventScope::Workspace(row.workspace_id.clone()),
            event_type,
            serde_json::to_string(&data).expect("plain data serializes"),
        )
    }

    /// `GET /api/apps/{app_id}/events?after=&limit=`: the app's log, oldest
    /// first, from after `after` (a cursor of an earlier page; none: the
    /// start of what is kept).
    pub async fn list_events(
        &self,
        app: &AuthorizedApp,
        after: Option<&str>,
        limit: Option<i64>,
    ) -> Result<EventPage> {
        let after_seq = match after {
            None | Some("") => 0,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    EngineError::BadRequest(format!(
                        "`after` must be a cursor from an earlier page (a `next_cursor` or an event's `cursor`), not `{}`",
                        text.chars().take(40).collect::<String>()
                    ))
                })?,
        };
        let limit = page_size(limit, DEFAULT_EVENTS_PAGE, MAX_EVENTS_PAGE)?;
        // One more than asked tells whether more are waiting.
        let mut rows = self
            .store()
            .list_events(app.app_id(), after_seq, limit + 1)
            .await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = rows.last().map_or(after_seq, |r| r.seq).to_string();
        Ok(EventPage {
            events: rows.iter().map(|r| event_of(r, true)).collect(),
            next_cursor,
            has_more,
        })
    }
}

/// An event row as the API and webhooks show it.
pub(crate) fn event_of(row: &EventRow, with_cursor: bool) -> Event {
    envelope(
        &row.id,
        &row.event_type,
        row.created_at,
        &row.app_id,
        &row.data,
        with_cursor.then(|| row.seq.to_string()),
    )
}

/// The one shape of an event, for the log and for webhook bodies.
pub(crate) fn envelope(
    id: &str,
    event_type: &str,
    created_at_ms: i64,
    app_id: &str,
    data: &str,
    cursor: Option<String>,
) -> Event {
    Event {
        id: id.to_string(),
        event_type: event_type.to_string(),
        timestamp: rfc3339_ms(created_at_ms),
        app_id: app_id.to_string(),
        data: serde_json::from_str(data).unwrap_or(serde_json::Value::Null),
        cursor,
    }
}

/// Unix milliseconds as RFC 3339 in UTC with milliseconds.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
