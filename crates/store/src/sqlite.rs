//! The embedded SQLite backend (WAL mode, foreign keys on).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use connectors_wire::{AttemptStatus, ConnectorStatus};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use crate::sql::{self, conflict, CONNECTOR_SELECT};
use crate::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A [`Store`] on one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Conflict(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        Self::connect(options).await
    }

    /// Opens a `sqlite:` URL (e.g. `sqlite::memory:` for tests).
    pub async fn open_url(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        Self::connect(options).await
    }

    async fn connect(options: SqliteConnectOptions) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

sql::row_readers!(SqliteRow);

const FOR_UPDATE: &str = "";

sql::impl_store!(SqliteStore, {
    async fn create_first_workspace(&self, w: &Workspace) -> Result<bool> {
        // One statement: SQLite runs writers one at a time.
        let n = sqlx::query(
            "INSERT INTO workspaces (id, name, created_at) SELECT ?1, ?2, ?3 \
             WHERE NOT EXISTS (SELECT 1 FROM workspaces)",
        )
        .bind(&w.id)
        .bind(&w.name)
        .bind(w.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "workspace"))?
        .rows_affected();
        Ok(n == 1)
    }
});
