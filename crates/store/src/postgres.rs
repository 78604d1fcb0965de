//! The PostgreSQL backend, for several server replicas on one database.
//!
//! Same tables, rules and queries as SQLite ([`crate::SqlStore`] runs both;
//! migrations in `migrations/postgres` mirror `migrations/sqlite`). Everything replicas
//! race on is one statement: the refresh lease is taken by a single
//! `UPDATE … WHERE` (free, expired or ours), refreshed credentials land by a
//! compare-and-swap on `version` by the lease owner, and an OAuth `state` is
//! consumed by a single `UPDATE`. Under READ COMMITTED PostgreSQL re-checks
//! the `WHERE` of a blocked `UPDATE` on the row's newest version, so exactly
//! one racer wins each of them.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgConnectOptions;
use sqlx::AnyPool;

use crate::sql_store::{conflict, Dialect};
use crate::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel the triggers of migration 0007 announce changes on.
pub(crate) const CHANGES_CHANNEL: &str = "connectors_changes";

/// Locks the rows a `SELECT` read until the transaction ends.
pub(crate) const ROW_LOCK: &str = " FOR UPDATE";

impl SqlStore {
    /// Connects to a `postgres://` / `postgresql://` URL and applies
    /// migrations (concurrent starts are safe: sqlx takes an advisory lock).
    pub async fn open_postgres(url: &str) -> Result<Self> {
        Self::open_postgres_sized(url, DEFAULT_POSTGRES_MAX_CONNECTIONS).await
    }

    /// [`SqlStore::open_postgres`] with a pool of `max_connections`.
    pub async fn open_postgres_sized(url: &str, max_connections: u32) -> Result<Self> {
        // Parsed here only to refuse a bad URL and to name the place in errors;
        // the `Any` driver parses the same URL the same way.
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::Unreachable(format!(
                "database_url is not a valid PostgreSQL URL ({}); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
                redact_error(&e.to_string(), url)
            ))
        })?;
        let place = describe(&options);
        sqlx::any::install_default_drivers();
        let any = AnyConnectOptions::from_str(url).map_err(|e| unreachable(&e, &place, url))?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(any)
            .await
            .map_err(|e| unreachable(&e, &place, url))?;
        MIGRATOR.run(&pool).await?;
        Ok(SqlStore::new(pool, Dialect::Postgres).with_change_feed(options))
    }
}

/// `host:port, database NAME` (never the user's password).
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}, database `{}`",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(the user's default)")
    )
}

/// Removes the URL's password, should a driver message ever echo it.
fn redact_error(message: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty());
    match password {
        Some(p) => message.replace(p, "***"),
        None => message.to_string(),
    }
}

fn unreachable(e: &sqlx::Error, place: &str, url: &str) -> StoreError {
    let detail = redact_error(&e.to_string(), url);
    let hint = match e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => {
            "create the database (e.g. `createdb NAME`) or fix database_url"
        }
        sqlx::Error::Database(db) if db.code().as_deref().is_some_and(|c| c.starts_with("28")) => {
            "check the user and password in database_url"
        }
        _ => "check that PostgreSQL is running and reachable from this server, and check database_url",
    };
    StoreError::Unreachable(format!(
        "cannot connect to PostgreSQL at {place}: {detail}; {hint}"
    ))
}

/// Self-conflicting table lock: a second bootstrapper waits, then sees the row.
pub(crate) async fn create_first_workspace(pool: &AnyPool, w: &Workspace) -> Result<bool> {
    let mut tx = pool.begin().await?;
    sqlx::query("LOCK TABLE workspaces IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let n = sqlx::query(
        "INSERT INTO workspaces (id, name, created_at) SELECT $1, $2, $3 \
         WHERE NOT EXISTS (SELECT 1 FROM workspaces)",
    )
    .bind(&w.id)
    .bind(&w.name)
    .bind(w.created_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict(e, "workspace"))?
    .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}

/// A `LISTEN` on its own connection (outside the pool, so a busy pool never
/// delays a change, and a lost connection is this feed's alone).
pub(crate) struct PgChangeFeed(sqlx::postgres::PgListener);

/// A notification's payload, as the triggers write it.
#[derive(serde::Deserialize)]
struct Announced {
    app_id: Option<String>,
    integration_type: Option<String>,
    #[serde(default)]
    principals: bool,
}

impl PgChangeFeed {
    pub(crate) async fn open(options: &PgConnectOptions) -> Result<Self> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options.clone());
        let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
        listener.listen(CHANGES_CHANNEL).await?;
        Ok(Self(listener))
    }
}

#[async_trait::async_trait]
impl ChangeFeed for PgChangeFeed {
    async fn next(&mut self) -> Result<Change> {
        let Some(notification) = self.0.try_recv().await? else {
            return Err(StoreError::Unreachable(
                "the database closed the connection that listens for changes".into(),
            ));
        };
        let change = match serde_json::from_str::<Announced>(notification.payload()) {
            Ok(Announced {
                principals: true, ..
            }) => Some(Change::Credentials),
            Ok(Announced {
                app_id: Some(app_id),
                integration_type: Some(ty),
                ..
            }) => ConnectorKey::from_slot(app_id, &ty).map(Change::Connector),
            _ => None,
        };
        Ok(change.unwrap_or_else(|| {
            tracing::warn!(
                payload = notification.payload(),
                "a change notification this version does not understand; dropping every cached read"
            );
            Change::Everything
        }))
    }
}
