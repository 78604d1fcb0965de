//! The audit trail's rows (migration 0017): appended, read by cursor, and
//! purged after the retention; never updated (a trigger refuses it).

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::sql_store::Dialect;
use crate::Result;

/// An entry to append: what happened, by whom, from where. No field ever
/// holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// The workspace it happened in.
    pub workspace_id: String,
    /// The app, for an action on one; `None` for a workspace-level one
    /// (a sign-in, an API key, a workspace connector).
    pub app_id: Option<String>,
    /// Unix milliseconds, by the engine's clock.
    pub at: i64,
    /// `builder`, `operator`, `app` or `anonymous`.
    pub actor_kind: String,
    /// The builder's (or app's) id.
    pub actor_id: Option<String>,
    /// What to show for the actor: a builder's email, the email a failed
    /// sign-in tried.
    pub actor_label: Option<String>,
    /// A dotted name, e.g. `connector.set`.
    pub action: String,
    /// What was acted on: a type, a connector id, a key's display prefix.
    pub target: Option<String>,
    /// A short explanation (scopes set, why a sign-in failed).
    pub detail: Option<String>,
    /// The client's IP address, or `local` for an operator's command.
    pub client_address: Option<String>,
    /// The request's id (`X-Request-ID`).
    pub request_id: Option<String>,
}

/// A stored entry: the appended one with its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Increases with every append; the readers' cursor.
    pub id: i64,
    /// What was appended.
    pub entry: NewAuditEntry,
}

/// Whose entries to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScope<'a> {
    /// A workspace's: of all its apps and its workspace-level ones.
    Workspace(&'a str),
    /// One app's.
    App(&'a str),
}

/// Which page of entries to read, at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditPage {
    /// Oldest first, with ids above `after` (0: from the start): a reader
    /// that follows the trail resumes from the last id it saw.
    After {
        /// The last id seen.
        after: i64,
        /// At most this many.
        limit: i64,
    },
    /// Newest first, with ids below `before` (`None`: from the newest): a
    /// person paging back through history.
    Before {
        /// The oldest id shown so far.
        before: Option<i64>,
        /// At most this many.
        limit: i64,
    },
}

/// The columns every read selects (a macro so the statements are constants).
macro_rules! audit_select {
    () => {
        "SELECT id, workspace_id, app_id, at, actor_kind, actor_id, actor_label, action, \
         target, detail, client_address, request_id FROM audit_log "
    };
}

// Named so `plans.rs` checks that each reads through its index.
pub(crate) const AUDIT_OF_WORKSPACE_AFTER: &str = concat!(
    audit_select!(),
    "WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
);
pub(crate) const AUDIT_OF_WORKSPACE_BEFORE: &str = concat!(
    audit_select!(),
    "WHERE workspace_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
);
pub(crate) const AUDIT_OF_APP_AFTER: &str = concat!(
    audit_select!(),
    "WHERE app_id = $1 AND id > $2 ORDER BY id LIMIT $3"
);
pub(crate) const AUDIT_OF_APP_BEFORE: &str = concat!(
    audit_select!(),
    "WHERE app_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
);
pub(crate) const PURGE_AUDIT: &str = "DELETE FROM audit_log WHERE at < $1";

/// The key of the advisory lock appends take on PostgreSQL (any constant
/// no other lock of this database uses; ASCII "audit").
const APPEND_LOCK: i64 = 0x61_75_64_69_74;

fn row_to_audit(row: &AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        id: row.try_get("id")?,
        entry: NewAuditEntry {
            workspace_id: row.try_get("workspace_id")?,
            app_id: row.try_get("app_id")?,
            at: row.try_get("at")?,
            actor_kind: row.try_get("actor_kind")?,
            actor_id: row.try_get("actor_id")?,
            actor_label: row.try_get("actor_label")?,
            action: row.try_get("action")?,
            target: row.try_get("target")?,
            detail: row.try_get("detail")?,
            client_address: row.try_get("client_address")?,
            request_id: row.try_get("request_id")?,
        },
    })
}

/// Appends `entry`; its id. On PostgreSQL the id is drawn under an
/// advisory lock held until commit: identity values are handed out at
/// insert but become visible at commit, so without it a reader could see
/// id 8 before id 7 commits and then never read 7.
pub(crate) async fn append(pool: &AnyPool, dialect: Dialect, entry: &NewAuditEntry) -> Result<i64> {
    let mut tx = pool.begin().await?;
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(APPEND_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    let row = sqlx::query(
        "INSERT INTO audit_log (workspace_id, app_id, at, actor_kind, actor_id, actor_label, \
         action, target, detail, client_address, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(&entry.workspace_id)
    .bind(&entry.app_id)
    .bind(entry.at)
    .bind(&entry.actor_kind)
    .bind(&entry.actor_id)
    .bind(&entry.actor_label)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&entry.detail)
    .bind(&entry.client_address)
    .bind(&entry.request_id)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    tx.commit().await?;
    Ok(id)
}

/// One page of a scope's entries.
pub(crate) async fn list(
    pool: &AnyPool,
    scope: AuditScope<'_>,
    page: AuditPage,
) -> Result<Vec<AuditRow>> {
    let (statement, cursor, limit) = match (scope, page) {
        (AuditScope::Workspace(_), AuditPage::After { after, limit }) => {
            (AUDIT_OF_WORKSPACE_AFTER, after, limit)
        }
        (AuditScope::App(_), AuditPage::After { after, limit }) => {
            (AUDIT_OF_APP_AFTER, after, limit)
        }
        (AuditScope::Workspace(_), AuditPage::Before { before, limit }) => {
            (AUDIT_OF_WORKSPACE_BEFORE, before.unwrap_or(i64::MAX), limit)
        }
        (AuditScope::App(_), AuditPage::Before { before, limit }) => {
            (AUDIT_OF_APP_BEFORE, before.unwrap_or(i64::MAX), limit)
        }
    };
    let (AuditScope::Workspace(id) | AuditScope::App(id)) = scope;
    sqlx::query(statement)
        .bind(id)
        .bind(cursor)
        .bind(limit.max(0))
        .fetch_all(pool)
        .await?
        .iter()
        .map(row_to_audit)
        .collect()
}

/// Deletes the entries older than `before` (Unix ms); how many.
pub(crate) async fn purge(pool: &AnyPool, before: i64) -> Result<u64> {
    Ok(sqlx::query(PURGE_AUDIT)
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected())
}
