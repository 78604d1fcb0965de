//! Bodies of the audit trail's routes (#15.5):
//! `GET /api/apps/{app_id}/audit` and `GET /api/workspace/{workspace_id}/audit`.

use serde::{Deserialize, Serialize};

/// The most entries one page answers.
pub const MAX_AUDIT_PAGE: u32 = 200;
/// Entries per page when `limit` is not given.
pub const DEFAULT_AUDIT_PAGE: u32 = 50;

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditActor {
    /// `builder`, `operator` (an admin command on the server's machine),
    /// `app` (a service token), `app_user`, or `anonymous` (a failed
    /// sign-in).
    pub kind: String,
    /// The builder's or app's id; `null` for the operator and anonymous.
    pub id: Option<String>,
    /// What to show: a builder's email, the email a failed sign-in tried.
    pub label: Option<String>,
}

/// One entry of the trail. Never holds a secret: keys and tokens appear by
/// their display prefix only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// The entry's cursor: larger than every earlier entry's.
    pub id: i64,
    /// When (RFC 3339, UTC, milliseconds when not zero).
    pub at: String,
    /// Who.
    pub actor: AuditActor,
    /// What, as a dotted name: `connector.set`, `api_key.created`,
    /// `signin.failed`, …
    pub action: String,
    /// What was acted on: a type, a connector id, a key's display prefix.
    pub target: Option<String>,
    /// A short explanation (the scopes set, why a sign-in failed).
    pub detail: Option<String>,
    /// The app, or `null` for a workspace-level action.
    pub app_id: Option<String>,
    /// The client's IP address (`local` for an operator's command).
    pub client_address: Option<String>,
    /// The request's `X-Request-ID`.
    pub request_id: Option<String>,
}

/// A page of the trail, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditLog {
    /// The entries after the cursor, oldest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` to read on: the last entry's id, or the `after`
    /// given when there was none (poll with it for new entries).
    pub next_cursor: i64,
    /// Whether more entries follow right away (the page was full).
    pub has_more: bool,
}
