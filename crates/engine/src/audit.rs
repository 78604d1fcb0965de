//! The audit trail (#15.5): who did what to a workspace or an app, when,
//! from which address and in which request, for the workspace's builders
//! to read (API and dashboard) and for no one to change.
//!
//! The server runs every request inside [`RequestContext::scope`] (request
//! id, client address), so a use case records
//! an entry with [`Engine::audit`] without each caller passing them down;
//! outside a request (the operator's `connectors-server` commands) the
//! address is `local`. Entries are written after the change succeeded, as
//! their own statement: a failed write is logged and never fails the use
//! case. The actor comes from the checked principal, never from the
//! request. No entry holds a secret: keys and tokens are named by their
//! display prefix, and a failed sign-in by the email it tried.

use std::future::Future;

use connectors_store::{AuditPage, AuditRow, AuditScope, NewAuditEntry};
use connectors_wire::{AuditActor, AuditEntry, AuditLog, DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE};

use crate::principal::Principal;
use crate::{AuthorizedApp, AuthorizedWorkspace, Engine, EngineError, Result};

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// What the server knows of the request a use case runs in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The request's id (`X-Request-ID`, the client's or a fresh one).
    pub request_id: Option<String>,
    /// The client's IP address (the TCP peer).
    pub client_address: Option<String>,
}

impl RequestContext {
    /// Runs `work` (one request's handling) in this request: every audit
    /// entry it records names it.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        REQUEST.scope(self, work).await
    }
}

/// The longest text kept in an entry's field, in characters: a request id
/// is the client's to choose, and a list of scopes may be long.
const MAX_FIELD_CHARS: usize = 300;
/// The address of an entry recorded outside any request.
const LOCAL: &str = "local";

/// `text` without control characters, at most [`MAX_FIELD_CHARS`] long.
fn bounded(text: &str) -> String {
    let mut kept: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FIELD_CHARS + 1)
        .collect();
    if kept.chars().count() > MAX_FIELD_CHARS {
        kept = kept.chars().take(MAX_FIELD_CHARS - 1).collect();
        kept.push('…');
    }
    kept
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Actor {
    /// A builder (API key, login token or session).
    Builder {
        /// Their id.
        id: String,
        /// Their email.
        email: String,
    },
    /// The operator, through an admin command on the server's machine.
    Operator,
    /// An app's service token.
    App {
        /// The app.
        app_id: String,
    },
    /// An end user of an app.
    AppUser {
        /// The user's opaque id.
        user_id: String,
    },
    /// Nobody signed in: a failed sign-in, with the email it tried.
    Anonymous {
        /// The email typed or asserted.
        tried: Option<String>,
    },
}

impl Actor {
    /// The actor a checked principal is.
    pub(crate) fn of(principal: &Principal) -> Self {
        match principal {
            Principal::Builder(b) => Self::builder(b),
            Principal::Service { app_id } => Self::App {
                app_id: app_id.clone(),
            },
            Principal::AppUser(user) => Self::AppUser {
                user_id: user.id.clone(),
            },
        }
    }

    /// A builder as actor.
    pub(crate) fn builder(builder: &connectors_store::Builder) -> Self {
        Self::Builder {
            id: builder.id.clone(),
            email: builder.email.clone(),
        }
    }

    fn parts(&self) -> (&'static str, Option<String>, Option<String>) {
        match self {
            Self::Builder { id, email } => ("builder", Some(id.clone()), Some(email.clone())),
            Self::Operator => ("operator", None, None),
            Self::App { app_id } => ("app", Some(app_id.clone()), None),
            Self::AppUser { user_id } => ("app_user", Some(user_id.clone()), None),
            Self::Anonymous { tried } => ("anonymous", None, tried.as_deref().map(bounded)),
        }
    }
}

/// An entry to record: what happened where; [`Engine::audit`] adds who,
/// when and the request.
#[derive(Debug, Clone)]
pub(crate) struct Audit {
    workspace_id: String,
    app_id: Option<String>,
    action: &'static str,
    target: Option<String>,
    detail: Option<String>,
}

impl Audit {
    /// A workspace-level action (a sign-in, an API key, a workspace
    /// connector).
    pub(crate) fn workspace(workspace_id: &str, action: &'static str) -> Self {
        Self {
            workspace_id: workspace_id.to_string(),
            app_id: None,
            action,
            target: None,
            detail: None,
        }
    }

    /// An action on one app of a workspace.
    pub(crate) fn app(workspace_id: &str, app_id: &str, action: &'static str) -> Self {
        Self {
            app_id: Some(app_id.to_string()),
            ..Self::workspace(workspace_id, action)
        }
    }

    /// An action on an app a builder was authorized for.
    pub(crate) fn on(app: &AuthorizedApp, action: &'static str) -> Self {
        Self::app(&app.app().workspace_id, app.app_id(), action)
    }

    /// What was acted on (never a secret).
    pub(crate) fn target(mut self, target: impl AsRef<str>) -> Self {
        self.target = Some(bounded(target.as_ref()));
        self
    }

    /// A short explanation (never a secret).
    pub(crate) fn detail(mut self, detail: impl AsRef<str>) -> Self {
        self.detail = Some(bounded(detail.as_ref()));
        self
    }
}

/// Whose trail a page reads.
#[derive(Debug, Clone, Copy)]
pub enum AuditOf<'a> {
    /// An app's entries.
    App(&'a AuthorizedApp),
    /// A workspace's: its apps' and its workspace-level ones.
    Workspace(&'a AuthorizedWorkspace),
}

impl AuditOf<'_> {
    fn scope(&self) -> AuditScope<'_> {
        match self {
            AuditOf::App(app) => AuditScope::App(app.app_id()),
            AuditOf::Workspace(w) => AuditScope::Workspace(w.workspace_id()),
        }
    }
}

/// A page of the trail, newest first, as the dashboard pages back.
#[derive(Debug, Clone)]
pub struct AuditHistory {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// The cursor of the next older page (`before`), if there are older
    /// entries.
    pub older: Option<i64>,
}

/// Unix milliseconds as RFC 3339, UTC.
fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

fn to_wire(row: AuditRow) -> AuditEntry {
    let e = row.entry;
    AuditEntry {
        id: row.id,
        at: rfc3339_ms(e.at),
        actor: AuditActor {
            kind: e.actor_kind,
            id: e.actor_id,
            label: e.actor_label,
        },
        action: e.action,
        target: e.target,
        detail: e.detail,
        app_id: e.app_id,
        client_address: e.client_address,
        request_id: e.request_id,
    }
}

/// The page size asked for, checked.
fn page_size(limit: Option<u32>) -> Result<i64> {
    crate::events::page_size(
        limit.map(i64::from),
        i64::from(DEFAULT_AUDIT_PAGE),
        i64::from(MAX_AUDIT_PAGE),
    )
}

impl Engine {
    /// Records `event` by `actor` in the request this runs in. Called after
    /// the change succeeded; a failed write is logged, and the use case
    /// answers as if it had succeeded (the change did).
    pub(crate) async fn audit(&self, actor: &Actor, event: Audit) {
        let (request_id, client_address) = REQUEST
            .try_with(|r| {
                (
                    r.request_id.as_deref().map(bounded),
                    r.client_address.clone(),
                )
            })
            .unwrap_or((None, Some(LOCAL.into())));
        let (kind, actor_id, actor_label) = actor.parts();
        let entry = NewAuditEntry {
            workspace_id: event.workspace_id,
            app_id: event.app_id,
            at: self.now_ms(),
            actor_kind: kind.into(),
            actor_id,
            actor_label,
            action: event.action.into(),
            target: event.target,
            detail: event.detail,
            client_address,
            request_id,
        };
        if let Err(e) = self.store().append_audit(&entry).await {
            tracing::error!(error = %e, action = event.action, "an audit entry could not be written");
        }
    }

    /// `GET /api/apps/{app_id}/audit` and `GET /api/workspace/{workspace_id}/audit`:
    /// the entries after the cursor `after` (0 or none: from the oldest),
    /// oldest first, at most `limit` (1 to 200, default 50).
    pub async fn read_audit(
        &self,
        of: AuditOf<'_>,
        after: Option<i64>,
        limit: Option<u32>,
    ) -> Result<AuditLog> {
        let limit = page_size(limit)?;
        let after = match after.unwrap_or(0) {
            n if n >= 0 => n,
            n => {
                return Err(EngineError::BadRequest(format!(
                    "`after` is {n}; it must be a cursor this route answered (`next_cursor`, 0 or more), or left out to read from the oldest entry"
                )))
            }
        };
        let mut rows = self
            .store()
            .list_audit(
                of.scope(),
                AuditPage::After {
                    after,
                    limit: limit + 1,
                },
            )
            .await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = rows.last().map_or(after, |r| r.id);
        Ok(AuditLog {
            entries: rows.into_iter().map(to_wire).collect(),
            next_cursor,
            has_more,
        })
    }

    /// The entries before the cursor `before` (none: the newest), newest
    /// first: the dashboard's pages.
    pub async fn audit_history(
        &self,
        of: AuditOf<'_>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<AuditHistory> {
        let limit = page_size(Some(limit))?;
        let mut rows = self
            .store()
            .list_audit(
                of.scope(),
                AuditPage::Before {
                    before,
                    limit: limit + 1,
                },
            )
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let older = if more {
            rows.last().map(|r| r.id)
        } else {
            None
        };
        Ok(AuditHistory {
            entries: rows.into_iter().map(to_wire).collect(),
            older,
        })
    }

    /// Deletes the entries older than `retention_days` (`[audit]`); how
    /// many went.
    pub async fn purge_audit(&self, retention_days: u32) -> Result<u64> {
        let before = self.now_ms() - i64::from(retention_days) * 86_400_000;
        Ok(self.store().purge_audit(before).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_bounded_and_lose_control_characters() {
        assert_eq!(bounded("a\r\nb"), "ab");
        let long = bounded(&"x".repeat(1_000));
        assert_eq!(long.chars().count(), MAX_FIELD_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(bounded(&"x".repeat(MAX_FIELD_CHARS)).len(), MAX_FIELD_CHARS);
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339_ms(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339_ms(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
    }

    #[test]
    fn page_sizes_are_one_to_two_hundred() {
        assert_eq!(page_size(None).unwrap(), 50);
        assert_eq!(page_size(Some(200)).unwrap(), 200);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(201)).is_err());
    }
}
