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

use crate::read::{self, CONNECTOR_SELECT};
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

fn conflict(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(format!("{what} already exists"))
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Conflict(format!("{what} refers to something that does not exist"))
        }
        _ => StoreError::Database(e),
    }
}

read::row_readers!(SqliteRow);

#[async_trait]
impl Store for SqliteStore {
    async fn is_empty(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces")
            .fetch_one(&self.pool)
            .await?;
        Ok(n == 0)
    }

    async fn create_workspace(&self, w: &Workspace) -> Result<()> {
        sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)")
            .bind(&w.id)
            .bind(&w.name)
            .bind(w.created_at)
            .execute(&self.pool)
            .await
            .map_err(|e| conflict(e, "workspace"))?;
        Ok(())
    }

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

    async fn create_builder(&self, b: &Builder) -> Result<()> {
        sqlx::query(
            "INSERT INTO builders (id, workspace_id, email, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&b.id)
        .bind(&b.workspace_id)
        .bind(&b.email)
        .bind(b.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, &format!("builder `{}` in this workspace", b.email)))?;
        Ok(())
    }

    async fn create_api_key(&self, k: &NewApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, builder_id, key_hash, display_prefix, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&k.id)
        .bind(&k.builder_id)
        .bind(&k.key_hash)
        .bind(&k.display_prefix)
        .bind(k.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "API key"))?;
        Ok(())
    }

    async fn create_app(&self, a: &App) -> Result<()> {
        sqlx::query("INSERT INTO apps (id, workspace_id, name, created_at) VALUES (?, ?, ?, ?)")
            .bind(&a.id)
            .bind(&a.workspace_id)
            .bind(&a.name)
            .bind(a.created_at)
            .execute(&self.pool)
            .await
            .map_err(|e| conflict(e, "app"))?;
        Ok(())
    }

    async fn create_service_token(&self, t: &NewServiceToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO service_tokens (id, app_id, token_hash, display_prefix, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.app_id)
        .bind(&t.token_hash)
        .bind(&t.display_prefix)
        .bind(t.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "service token"))?;
        Ok(())
    }

    async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        let rows =
            sqlx::query("SELECT id, name, created_at FROM workspaces ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Workspace {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn get_builder(&self, builder_id: &str) -> Result<Option<Builder>> {
        sqlx::query("SELECT id, workspace_id, email, created_at FROM builders WHERE id = ?")
            .bind(builder_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(builder_from_row)
            .transpose()
    }

    async fn find_builder(&self, workspace_id: &str, email: &str) -> Result<Option<Builder>> {
        sqlx::query(
            "SELECT id, workspace_id, email, created_at FROM builders WHERE workspace_id = ? AND email = ?",
        )
        .bind(workspace_id)
        .bind(email)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(builder_from_row)
        .transpose()
    }

    async fn list_apps(&self, workspace_id: Option<&str>) -> Result<Vec<App>> {
        let rows = sqlx::query(
            "SELECT id, workspace_id, name, created_at FROM apps \
             WHERE (?1 IS NULL OR workspace_id = ?1) ORDER BY created_at, id",
        )
        .bind(workspace_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(app_from_row).collect()
    }

    async fn builder_by_api_key_hash(&self, key_hash: &str) -> Result<Option<ApiKeyOwner>> {
        let row = sqlx::query(
            "SELECT b.id, b.workspace_id, b.email, b.created_at, k.key_hash FROM api_keys k \
             JOIN builders b ON b.id = k.builder_id WHERE k.key_hash = ? AND k.revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|r| {
                Ok(ApiKeyOwner {
                    builder: builder_from_row(r)?,
                    key_hash: r.try_get("key_hash")?,
                })
            })
            .transpose()
    }

    async fn app_by_service_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<ServiceTokenOwner>> {
        let row = sqlx::query(
            "SELECT app_id, token_hash FROM service_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|r| {
                Ok(ServiceTokenOwner {
                    app_id: r.try_get("app_id")?,
                    token_hash: r.try_get("token_hash")?,
                })
            })
            .transpose()
    }

    async fn get_app(&self, app_id: &str) -> Result<Option<App>> {
        sqlx::query("SELECT id, workspace_id, name, created_at FROM apps WHERE id = ?")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(app_from_row)
            .transpose()
    }

    async fn list_connectors(&self, app_id: &str) -> Result<Vec<ConnectorRow>> {
        let rows = sqlx::query(&format!(
            "{CONNECTOR_SELECT} WHERE c.app_id = ? ORDER BY c.integration_type"
        ))
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(connector_from_row).collect()
    }

    async fn get_connector(
        &self,
        app_id: &str,
        integration_type: &str,
    ) -> Result<Option<ConnectorRow>> {
        sqlx::query(&format!(
            "{CONNECTOR_SELECT} WHERE c.app_id = ? AND c.integration_type = ?"
        ))
        .bind(app_id)
        .bind(integration_type)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(connector_from_row)
        .transpose()
    }

    async fn upsert_connector_scopes(
        &self,
        app_id: &str,
        integration_type: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<ConnectorRow> {
        sqlx::query(
            "INSERT INTO connectors (app_id, integration_type, scopes, status, created_at, updated_at) \
             VALUES (?1, ?2, ?3, 'disconnected', ?4, ?4) \
             ON CONFLICT (app_id, integration_type) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at",
        )
        .bind(app_id)
        .bind(integration_type)
        .bind(to_json(scopes))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "connector"))?;
        self.get_connector(app_id, integration_type)
            .await?
            .ok_or(StoreError::Corrupt("connectors"))
    }

    async fn delete_connector(&self, app_id: &str, integration_type: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM oauth_attempts WHERE app_id = ? AND integration_type = ?")
            .bind(app_id)
            .bind(integration_type)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM credentials WHERE app_id = ? AND integration_type = ?")
            .bind(app_id)
            .bind(integration_type)
            .execute(&mut *tx)
            .await?;
        let deleted =
            sqlx::query("DELETE FROM connectors WHERE app_id = ? AND integration_type = ?")
                .bind(app_id)
                .bind(integration_type)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn set_connector_status(
        &self,
        app_id: &str,
        integration_type: &str,
        status: ConnectorStatus,
        reason: Option<&str>,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE connectors SET status = ?, status_reason = ?, updated_at = ? \
             WHERE app_id = ? AND integration_type = ?",
        )
        .bind(status.as_str())
        .bind(reason)
        .bind(now)
        .bind(app_id)
        .bind(integration_type)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_attempt(&self, a: &AttemptRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO oauth_attempts (connection_id, app_id, integration_type, scopes, builder_id, status, \
             status_reason, state_hash, pkce_verifier, browser_hash, connection_config, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.connection_id)
        .bind(&a.app_id)
        .bind(&a.integration_type)
        .bind(to_json(&a.scopes))
        .bind(&a.builder_id)
        .bind(a.status.as_str())
        .bind(&a.status_reason)
        .bind(&a.state_hash)
        .bind(&a.pkce_verifier)
        .bind(&a.browser_hash)
        .bind(a.connection_config.as_ref().map(to_json))
        .bind(a.created_at)
        .bind(a.expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "OAuth attempt"))?;
        Ok(())
    }

    async fn get_attempt(&self, connection_id: &str) -> Result<Option<AttemptRow>> {
        sqlx::query("SELECT * FROM oauth_attempts WHERE connection_id = ?")
            .bind(connection_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(attempt_from_row)
            .transpose()
    }

    async fn begin_consent(&self, c: &BeginConsent) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE oauth_attempts SET state_hash = ?, pkce_verifier = ?, browser_hash = ?, \
             connection_config = ?, expires_at = ? WHERE connection_id = ? AND status = 'PENDING' AND expires_at > ?",
        )
        .bind(&c.state_hash)
        .bind(&c.pkce_verifier)
        .bind(&c.browser_hash)
        .bind(c.connection_config.as_ref().map(to_json))
        .bind(c.expires_at)
        .bind(&c.connection_id)
        .bind(c.now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn attempt_by_state_hash(&self, state_hash: &str) -> Result<Option<AttemptRow>> {
        sqlx::query("SELECT * FROM oauth_attempts WHERE state_hash = ?")
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(attempt_from_row)
            .transpose()
    }

    async fn consume_state(&self, connection_id: &str, state_hash: &str) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE oauth_attempts SET state_hash = NULL \
             WHERE connection_id = ? AND state_hash = ? AND status = 'PENDING'",
        )
        .bind(connection_id)
        .bind(state_hash)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn fail_attempt(&self, connection_id: &str, reason: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE oauth_attempts SET status = 'FAILED', status_reason = ?, state_hash = NULL, \
             pkce_verifier = NULL, completed_at = ? WHERE connection_id = ? AND status = 'PENDING'",
        )
        .bind(reason)
        .bind(now)
        .bind(connection_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn acquire_refresh_lease(
        &self,
        app_id: &str,
        integration_type: &str,
        owner: &str,
        now: i64,
        lease_secs: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE credentials SET lease_owner = ?, lease_expires_at = ? \
             WHERE app_id = ? AND integration_type = ? \
             AND (lease_owner IS NULL OR lease_expires_at <= ? OR lease_owner = ?)",
        )
        .bind(owner)
        .bind(now + lease_secs)
        .bind(app_id)
        .bind(integration_type)
        .bind(now)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn mark_refresh_in_flight(
        &self,
        app_id: &str,
        integration_type: &str,
        owner: &str,
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE credentials SET refresh_in_flight_since = ?1, refresh_in_flight_owner = ?2 \
             WHERE app_id = ?3 AND integration_type = ?4 AND lease_owner = ?2 AND lease_expires_at > ?1",
        )
        .bind(now)
        .bind(owner)
        .bind(app_id)
        .bind(integration_type)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn release_refresh_lease(
        &self,
        app_id: &str,
        integration_type: &str,
        owner: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE credentials SET lease_owner = NULL, lease_expires_at = NULL \
             WHERE app_id = ? AND integration_type = ? AND lease_owner = ?",
        )
        .bind(app_id)
        .bind(integration_type)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn store_refreshed(&self, r: &RefreshedCredentials) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE credentials SET access_token = ?, refresh_token = COALESCE(?, refresh_token), \
             token_response = COALESCE(?, token_response), expires_at_ms = ?, version = version + 1, \
             lease_owner = NULL, lease_expires_at = NULL, last_refresh_at = ?, last_refresh_error = NULL, \
             refresh_failures = 0, next_refresh_at = NULL, refresh_in_flight_since = NULL, \
             refresh_in_flight_owner = NULL, updated_at = ? \
             WHERE app_id = ? AND integration_type = ? AND version = ? AND lease_owner = ?",
        )
        .bind(&r.access_token)
        .bind(&r.refresh_token)
        .bind(&r.token_response)
        .bind(r.expires_at_ms)
        .bind(r.now)
        .bind(r.now)
        .bind(&r.app_id)
        .bind(&r.integration_type)
        .bind(r.expected_version)
        .bind(&r.owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn record_refresh_failure(
        &self,
        app_id: &str,
        integration_type: &str,
        owner: &str,
        reason: &str,
        retry_at: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE credentials SET last_refresh_error = ?1, refresh_failures = refresh_failures + 1, \
             next_refresh_at = ?2, updated_at = ?3, \
             lease_owner = CASE WHEN lease_owner = ?4 THEN NULL ELSE lease_owner END, \
             lease_expires_at = CASE WHEN lease_owner = ?4 THEN NULL ELSE lease_expires_at END, \
             refresh_in_flight_since = CASE WHEN lease_owner = ?4 THEN NULL ELSE refresh_in_flight_since END, \
             refresh_in_flight_owner = CASE WHEN lease_owner = ?4 THEN NULL ELSE refresh_in_flight_owner END \
             WHERE app_id = ?5 AND integration_type = ?6",
        )
        .bind(reason)
        .bind(retry_at)
        .bind(now)
        .bind(owner)
        .bind(app_id)
        .bind(integration_type)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn credentials_due(
        &self,
        before_ms: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT cr.app_id, cr.integration_type FROM credentials cr \
             JOIN connectors c ON c.app_id = cr.app_id AND c.integration_type = cr.integration_type \
             WHERE c.status = 'active' AND cr.refresh_token IS NOT NULL AND cr.expires_at_ms IS NOT NULL \
             AND cr.expires_at_ms < ? AND (cr.lease_owner IS NULL OR cr.lease_expires_at <= ?) \
             AND (cr.next_refresh_at IS NULL OR cr.next_refresh_at <= ?) \
             ORDER BY cr.expires_at_ms LIMIT ?",
        )
        .bind(before_ms)
        .bind(now)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("app_id")?, r.try_get("integration_type")?)))
            .collect()
    }

    async fn save_authorization(&self, auth: &Authorization) -> Result<()> {
        let c = &auth.credentials;
        let now = c.updated_at;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO connectors (app_id, integration_type, scopes, granted_scopes, status, status_reason, \
             authorized_by, connection_config, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, 'active', NULL, ?5, ?6, ?7, ?7) \
             ON CONFLICT (app_id, integration_type) DO UPDATE SET granted_scopes = excluded.granted_scopes, \
             status = 'active', status_reason = NULL, authorized_by = excluded.authorized_by, \
             connection_config = excluded.connection_config, updated_at = excluded.updated_at",
        )
        .bind(&c.app_id)
        .bind(&c.integration_type)
        .bind(to_json(&auth.scopes))
        .bind(to_json(&auth.granted_scopes))
        .bind(&auth.builder_id)
        .bind(auth.connection_config.as_ref().map(to_json))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "connector"))?;
        sqlx::query(
            "INSERT INTO credentials (app_id, integration_type, access_token, refresh_token, token_response, \
             expires_at_ms, version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) \
             ON CONFLICT (app_id, integration_type) DO UPDATE SET access_token = excluded.access_token, \
             refresh_token = excluded.refresh_token, token_response = excluded.token_response, \
             expires_at_ms = excluded.expires_at_ms, version = credentials.version + 1, \
             lease_owner = NULL, lease_expires_at = NULL, last_refresh_error = NULL, refresh_failures = 0, \
             next_refresh_at = NULL, refresh_in_flight_since = NULL, refresh_in_flight_owner = NULL, \
             updated_at = excluded.updated_at",
        )
        .bind(&c.app_id)
        .bind(&c.integration_type)
        .bind(&c.access_token)
        .bind(&c.refresh_token)
        .bind(&c.token_response)
        .bind(c.expires_at_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(id) = &auth.connection_id {
            sqlx::query(
                "UPDATE oauth_attempts SET status = 'ACTIVE', status_reason = NULL, completed_at = ? \
                 WHERE connection_id = ?",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_credentials(
        &self,
        app_id: &str,
        integration_type: &str,
    ) -> Result<Option<CredentialsRow>> {
        sqlx::query("SELECT * FROM credentials WHERE app_id = ? AND integration_type = ?")
            .bind(app_id)
            .bind(integration_type)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(credentials_from_row)
            .transpose()
    }

    async fn claim_stripe_provisioning(
        &self,
        app_id: &str,
        owner: &str,
        now: i64,
        lease_secs: i64,
    ) -> Result<StripeClaim> {
        let taken = sqlx::query(
            "INSERT INTO stripe_sandboxes (app_id, provisioning_owner, provisioning_expires_at, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (app_id) DO UPDATE SET provisioning_owner = excluded.provisioning_owner, \
             provisioning_expires_at = excluded.provisioning_expires_at, updated_at = excluded.updated_at, \
             sandbox_id = NULL, account_id = NULL, secret_key = NULL, publishable_key = NULL, status = NULL, \
             claim_url = NULL, claim_url_expires_at = NULL, refresh_token = NULL, refresh_token_hash = NULL \
             WHERE (stripe_sandboxes.sandbox_id IS NULL AND stripe_sandboxes.provisioning_expires_at <= ?) \
             OR stripe_sandboxes.status = 'expired'",
        )
        .bind(app_id)
        .bind(owner)
        .bind(now + lease_secs)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "the app"))?
        .rows_affected();
        if taken == 1 {
            return Ok(StripeClaim::Acquired);
        }
        Ok(match self.get_stripe_sandbox(app_id).await? {
            Some(row) => StripeClaim::Installed(Box::new(row)),
            None => StripeClaim::Busy,
        })
    }

    async fn finish_stripe_provisioning(&self, s: &StripeSandboxRow, owner: &str) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE stripe_sandboxes SET provisioning_owner = NULL, provisioning_expires_at = NULL, \
             sandbox_id = ?, account_id = ?, secret_key = ?, publishable_key = ?, status = ?, \
             claim_url = ?, claim_url_expires_at = ?, refresh_token = ?, refresh_token_hash = ?, \
             created_at = ?, updated_at = ? \
             WHERE app_id = ? AND provisioning_owner = ? AND sandbox_id IS NULL",
        )
        .bind(&s.sandbox_id)
        .bind(&s.account_id)
        .bind(&s.secret_key)
        .bind(&s.publishable_key)
        .bind(&s.status)
        .bind(&s.claim_url)
        .bind(s.claim_url_expires_at)
        .bind(&s.refresh_token)
        .bind(&s.refresh_token_hash)
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(&s.app_id)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "the Stripe sandbox"))?
        .rows_affected();
        Ok(n == 1)
    }

    async fn abandon_stripe_provisioning(&self, app_id: &str, owner: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM stripe_sandboxes WHERE app_id = ? AND provisioning_owner = ? AND sandbox_id IS NULL",
        )
        .bind(app_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_stripe_sandbox(&self, app_id: &str) -> Result<Option<StripeSandboxRow>> {
        sqlx::query("SELECT * FROM stripe_sandboxes WHERE app_id = ? AND sandbox_id IS NOT NULL")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(stripe_from_row)
            .transpose()
    }

    async fn stripe_sandbox_by_refresh_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<StripeSandboxRow>> {
        sqlx::query(
            "SELECT * FROM stripe_sandboxes WHERE refresh_token_hash = ? AND sandbox_id IS NOT NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(stripe_from_row)
        .transpose()
    }

    async fn update_stripe_sandbox(
        &self,
        app_id: &str,
        sandbox_id: &str,
        status: &str,
        claim_url: Option<&str>,
        claim_url_expires_at: Option<i64>,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE stripe_sandboxes SET status = ?, claim_url = ?, claim_url_expires_at = ?, updated_at = ? \
             WHERE app_id = ? AND sandbox_id = ?",
        )
        .bind(status)
        .bind(claim_url)
        .bind(claim_url_expires_at)
        .bind(now)
        .bind(app_id)
        .bind(sandbox_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_stripe_sandbox(&self, app_id: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM stripe_sandboxes WHERE app_id = ?")
            .bind(app_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn reseal_all(&self, reseal: &ResealFn<'_>) -> Result<usize> {
        let mut changed = 0;
        let mut tx = self.pool.begin().await?;
        let creds = sqlx::query(
            "SELECT app_id, integration_type, access_token, refresh_token, token_response FROM credentials",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in &creds {
            let app: String = row.try_get("app_id")?;
            let ty: String = row.try_get("integration_type")?;
            for column in ["access_token", "refresh_token", "token_response"] {
                let Some(sealed) = row.try_get::<Option<String>, _>(column)? else {
                    continue;
                };
                let new = reseal(&credentials_context(&app, &ty, column), &sealed)
                    .map_err(StoreError::Conflict)?;
                if new != sealed {
                    sqlx::query(&format!(
                        "UPDATE credentials SET {column} = ? WHERE app_id = ? AND integration_type = ?"
                    ))
                    .bind(&new)
                    .bind(&app)
                    .bind(&ty)
                    .execute(&mut *tx)
                    .await?;
                    changed += 1;
                }
            }
        }
        let attempts = sqlx::query(
            "SELECT connection_id, pkce_verifier FROM oauth_attempts WHERE pkce_verifier IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in &attempts {
            let id: String = row.try_get("connection_id")?;
            let sealed: String = row.try_get("pkce_verifier")?;
            let new = reseal(&attempt_context(&id, "pkce_verifier"), &sealed)
                .map_err(StoreError::Conflict)?;
            if new != sealed {
                sqlx::query("UPDATE oauth_attempts SET pkce_verifier = ? WHERE connection_id = ?")
                    .bind(&new)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                changed += 1;
            }
        }
        let sandboxes = sqlx::query(
            "SELECT app_id, secret_key, refresh_token FROM stripe_sandboxes WHERE sandbox_id IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in &sandboxes {
            let app: String = row.try_get("app_id")?;
            for column in ["secret_key", "refresh_token"] {
                let Some(sealed) = row.try_get::<Option<String>, _>(column)? else {
                    continue;
                };
                let new =
                    reseal(&stripe_context(&app, column), &sealed).map_err(StoreError::Conflict)?;
                if new != sealed {
                    sqlx::query(&format!(
                        "UPDATE stripe_sandboxes SET {column} = ? WHERE app_id = ?"
                    ))
                    .bind(&new)
                    .bind(&app)
                    .execute(&mut *tx)
                    .await?;
                    changed += 1;
                }
            }
        }
        tx.commit().await?;
        Ok(changed)
    }
}
