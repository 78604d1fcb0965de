//! [`SqlStore`]: the one implementation of [`Store`], over sqlx's `Any`
//! driver so each statement is written once for SQLite and PostgreSQL
//! (`$N` placeholders, which SQLite binds by number too).
//!
//! Only set-up and a few clauses differ by backend: the first bootstrap
//! (PostgreSQL takes a table lock, see `postgres.rs`), the row locks of
//! [`Store::reseal_all`] and [`Store::delete_connector`]
//! ([`Dialect::row_lock`]), and how a writing transaction begins
//! ([`Dialect::begin_write`]). They live in `sqlite.rs`/`postgres.rs` with
//! each backend's connection set-up.
//!
//! A use case that writes several rows is one transaction, and every such
//! transaction takes its locks in one order: the connector row, then its
//! credentials, then its attempts. So a PUT, a DELETE and a consent of one
//! connector serialize instead of interleaving, and never deadlock.

use async_trait::async_trait;
use connectors_wire::{AttemptStatus, ConnectorStatus, IntegrationType};
use sqlx::any::AnyRow;
use sqlx::AnyPool;
use sqlx::Row;

use crate::*;

/// Which database a [`SqlStore`] talks to, for the few things that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The clause locking selected rows until commit; empty on SQLite,
    /// which runs one writer at a time.
    fn row_lock(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => postgres::ROW_LOCK,
        }
    }

    /// The clause that makes a claim skip rows another claimer has locked
    /// (the deliveries aliased `d`); empty on SQLite, whose one writer at a
    /// time makes the claiming UPDATE atomic anyway.
    fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE OF d SKIP LOCKED",
        }
    }

    /// How a transaction that writes starts. SQLite's default (deferred)
    /// transaction that reads first fails at once with "database is locked"
    /// when it then writes after another writer committed; `IMMEDIATE` takes
    /// the write lock up front (waiting up to the busy timeout). PostgreSQL
    /// locks rows as it goes (see [`Dialect::row_lock`]).
    fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => sqlite::BEGIN_WRITE,
            Dialect::Postgres => "BEGIN",
        }
    }
}

/// A [`Store`] on SQLite ([`SqlStore::open_sqlite`]) or PostgreSQL
/// ([`SqlStore::open_postgres`]); [`crate::open`] picks one from a URL.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// Where a change feed connects (PostgreSQL only).
    listen: Option<sqlx::postgres::PgConnectOptions>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    pub(crate) fn new(pool: AnyPool, dialect: Dialect) -> Self {
        Self {
            pool,
            dialect,
            listen: None,
        }
    }

    /// Lets [`Store::change_feed`] connect with `options`.
    pub(crate) fn with_change_feed(mut self, options: sqlx::postgres::PgConnectOptions) -> Self {
        self.listen = Some(options);
        self
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    #[cfg(test)]
    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A transaction that will write: one use case's statements land
    /// together or not at all, and concurrent ones queue (see
    /// [`Dialect::begin_write`]). Locks are taken in one order everywhere
    /// (connector, credentials, attempts), so two such transactions never
    /// deadlock.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(self.pool.begin_with(self.dialect.begin_write()).await?)
    }

    /// Closes the pool (on SQLite this checkpoints the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A uniqueness or reference violation as a [`StoreError::Conflict`] about `what`.
pub(crate) fn conflict(e: sqlx::Error, what: &str) -> StoreError {
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

/// The connector columns, with the authorizing builder's email (a macro so
/// the statements built on it are constants).
macro_rules! connector_select {
    () => {
        "SELECT c.app_id, c.integration_type, c.scopes, c.granted_scopes, c.status, \
         c.status_reason, c.authorized_by, b.email AS authorized_by_email, c.connection_config, \
         c.created_at, c.updated_at \
         FROM connectors c LEFT JOIN builders b ON b.id = c.authorized_by"
    };
}

// The statements of the token path, the background refresh and start-up,
// named so the `query_plans` test checks the very text the store runs:
// each must find its rows through an index, never by reading a whole table.

/// Whether any workspace exists: stops at the first row.
pub(crate) const IS_EMPTY: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM workspaces LIMIT 1) AS w";
/// A builder by API-key hash.
pub(crate) const API_KEY_OWNER: &str =
    "SELECT b.id, b.workspace_id, b.email, b.created_at, k.id AS key_id, k.key_hash, k.revoked_at, \
     k.last_used_at FROM api_keys k JOIN builders b ON b.id = k.builder_id WHERE k.key_hash = $1";
/// An app by service-token hash.
pub(crate) const SERVICE_TOKEN_OWNER: &str = "SELECT id, app_id, token_hash, revoked_at, \
     last_used_at FROM service_tokens WHERE token_hash = $1";
/// Records an API key's use: by primary key, only if not revoked and not
/// recorded since `$3` (now minus the granularity).
pub(crate) const RECORD_API_KEY_USE: &str = "UPDATE api_keys SET last_used_at = $1 \
     WHERE id = $2 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < $3)";
/// Records a service token's use, like [`RECORD_API_KEY_USE`].
pub(crate) const RECORD_SERVICE_TOKEN_USE: &str = "UPDATE service_tokens SET last_used_at = $1 \
     WHERE id = $2 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < $3)";
/// One connector.
pub(crate) const CONNECTOR_BY_KEY: &str = concat!(
    connector_select!(),
    " WHERE c.app_id = $1 AND c.integration_type = $2"
);
/// An app's own connectors (not its connections of workspace connectors).
pub(crate) const CONNECTORS_OF_APP: &str = concat!(
    connector_select!(),
    " WHERE c.app_id = $1 AND c.workspace_connector_id IS NULL ORDER BY c.integration_type"
);
/// An app's connections of workspace connectors.
pub(crate) const WORKSPACE_CONNECTIONS_OF_APP: &str = concat!(
    connector_select!(),
    " WHERE c.app_id = $1 AND c.workspace_connector_id IS NOT NULL AND c.app_user_id IS NULL \
     ORDER BY c.integration_type"
);
/// An app's users' connections.
pub(crate) const APP_USER_CONNECTIONS_OF_APP: &str = concat!(
    connector_select!(),
    " WHERE c.app_id = $1 AND c.app_user_id IS NOT NULL ORDER BY c.integration_type"
);
/// How an app's credentials are doing (no token column).
pub(crate) const CREDENTIALS_HEALTH_OF_APP: &str =
    "SELECT app_id, integration_type, expires_at_ms, last_refresh_at, last_refresh_error, refresh_failures, \
     next_refresh_at, updated_at FROM credentials WHERE app_id = $1 ORDER BY integration_type";
/// One connector's credentials.
pub(crate) const CREDENTIALS_BY_KEY: &str =
    "SELECT * FROM credentials WHERE app_id = $1 AND integration_type = $2";
/// An attempt by its state's hash.
pub(crate) const ATTEMPT_BY_STATE_HASH: &str = "SELECT * FROM oauth_attempts WHERE state_hash = $1";
/// Takes the refresh lease.
pub(crate) const ACQUIRE_LEASE: &str =
    "UPDATE credentials SET lease_owner = $1, lease_expires_at = $2 \
     WHERE app_id = $3 AND integration_type = $4 \
     AND (lease_owner IS NULL OR lease_expires_at <= $5 OR lease_owner = $6)";
/// Marks a provider call in flight under the lease.
pub(crate) const MARK_IN_FLIGHT: &str =
    "UPDATE credentials SET refresh_in_flight_since = $1, refresh_in_flight_owner = $2 \
     WHERE app_id = $3 AND integration_type = $4 AND lease_owner = $2 AND lease_expires_at > $1";
/// Releases the lease.
pub(crate) const RELEASE_LEASE: &str =
    "UPDATE credentials SET lease_owner = NULL, lease_expires_at = NULL \
     WHERE app_id = $1 AND integration_type = $2 AND lease_owner = $3";
/// Stores a refresh (compare-and-swap on `version`, lease owner only).
pub(crate) const STORE_REFRESHED: &str =
    "UPDATE credentials SET access_token = $1, refresh_token = COALESCE($2, refresh_token), \
     token_response = COALESCE($3, token_response), expires_at_ms = $4, version = version + 1, \
     lease_owner = NULL, lease_expires_at = NULL, last_refresh_at = $5, last_refresh_error = NULL, \
     refresh_failures = 0, next_refresh_at = NULL, refresh_in_flight_since = NULL, \
     refresh_in_flight_owner = NULL, updated_at = $6 \
     WHERE app_id = $7 AND integration_type = $8 AND version = $9 AND lease_owner = $10";
/// Records a failed refresh.
pub(crate) const RECORD_REFRESH_FAILURE: &str =
    "UPDATE credentials SET last_refresh_error = $1, refresh_failures = refresh_failures + 1, \
     next_refresh_at = $2, updated_at = $3, \
     lease_owner = CASE WHEN lease_owner = $4 THEN NULL ELSE lease_owner END, \
     lease_expires_at = CASE WHEN lease_owner = $4 THEN NULL ELSE lease_expires_at END, \
     refresh_in_flight_since = CASE WHEN lease_owner = $4 THEN NULL ELSE refresh_in_flight_since END, \
     refresh_in_flight_owner = CASE WHEN lease_owner = $4 THEN NULL ELSE refresh_in_flight_owner END \
     WHERE app_id = $5 AND integration_type = $6 RETURNING refresh_failures";
/// Sets a connector's status (e.g. `expired` after a refused refresh).
pub(crate) const SET_CONNECTOR_STATUS: &str =
    "UPDATE connectors SET status = $1, status_reason = $2, updated_at = $3 \
     WHERE app_id = $4 AND integration_type = $5 AND status <> $1";
/// The refreshable credentials' filter: an active connector (its status as
/// copied onto the credentials, migration 0008), a refresh token and an
/// expiry. The terms match the partial indexes' so the planners use them.
macro_rules! refreshable {
    () => {
        "refresh_token IS NOT NULL AND expires_at_ms IS NOT NULL AND connector_status = 'active'"
    };
}
/// The background scan: due credentials in expiry order. Two index ranges
/// (migration 0008), so rows of expired connectors or backing off after a
/// failure are never read: `credentials_due` holds the rows with no failure
/// pending, `credentials_retry` those whose retry time (`$3` = now) has come.
pub(crate) const CREDENTIALS_DUE: &str = concat!(
    "SELECT app_id, integration_type FROM (\
     SELECT * FROM (SELECT app_id, integration_type, expires_at_ms FROM credentials WHERE ",
    refreshable!(),
    " AND next_refresh_at IS NULL AND expires_at_ms < $1 \
     AND (lease_owner IS NULL OR lease_expires_at <= $2) \
     ORDER BY expires_at_ms LIMIT $4) AS first_try \
     UNION ALL \
     SELECT * FROM (SELECT app_id, integration_type, expires_at_ms FROM credentials WHERE ",
    refreshable!(),
    " AND next_refresh_at IS NOT NULL AND next_refresh_at <= $3 AND expires_at_ms < $1 \
     AND (lease_owner IS NULL OR lease_expires_at <= $2) \
     ORDER BY next_refresh_at LIMIT $4) AS retry\
     ) AS due ORDER BY expires_at_ms LIMIT $4"
);
/// The earliest expiry among refreshable credentials, for the refresh-lag
/// gauge: the first of `credentials_due`, and the earliest of the rows
/// backing off (read through `credentials_retry`, so as many as are failing
/// now; expired connectors are not among them).
pub(crate) const EARLIEST_REFRESHABLE: &str = concat!(
    "SELECT MIN(e) AS earliest FROM (\
     SELECT * FROM (SELECT expires_at_ms AS e FROM credentials WHERE ",
    refreshable!(),
    " AND next_refresh_at IS NULL ORDER BY expires_at_ms LIMIT 1) AS first_try \
     UNION ALL \
     SELECT MIN(expires_at_ms) AS e FROM credentials WHERE ",
    refreshable!(),
    " AND next_refresh_at IS NOT NULL) AS due"
);
/// A workspace's apps, through `apps_workspace` (migration 0006).
pub(crate) const APPS_OF_WORKSPACE: &str = "SELECT id, workspace_id, name, created_at FROM apps \
     WHERE workspace_id = $1 ORDER BY created_at, id";

// Row decoders, one per row type; columns are read by name, so a `SELECT *`
// gaining a column in a later migration does not break them.

/// A stored connector key: the app and the slot in `integration_type`
/// ([`ConnectorKey::slot`]); a slot we cannot read was not written by us.
fn key_of(row: &AnyRow, table: &'static str) -> Result<ConnectorKey> {
    let app_id: String = row.try_get("app_id")?;
    ConnectorKey::from_slot(app_id, &row.try_get::<String, _>("integration_type")?)
        .ok_or(StoreError::Corrupt(table))
}

fn connector_from_row(row: &AnyRow) -> Result<ConnectorRow> {
    let status: String = row.try_get("status")?;
    let key = key_of(row, "connectors.integration_type")?;
    Ok(ConnectorRow {
        app_id: key.app_id,
        integration_type: key.integration_type,
        holder: key.holder,
        scopes: scopes_from_json(&row.try_get::<String, _>("scopes")?)?,
        granted_scopes: scopes_from_json(&row.try_get::<String, _>("granted_scopes")?)?,
        status: ConnectorStatus::parse(&status).ok_or(StoreError::Corrupt("connectors.status"))?,
        status_reason: row.try_get("status_reason")?,
        authorized_by: row.try_get("authorized_by")?,
        authorized_by_email: row.try_get("authorized_by_email")?,
        connection_config: config_from_json(row.try_get("connection_config")?)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn builder_from_row(row: &AnyRow) -> Result<Builder> {
    Ok(Builder {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        email: row.try_get("email")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The listed columns of an API key (never its hash), with its owner.
const API_KEY_INFO: &str = "SELECT k.id, k.builder_id, b.email, b.workspace_id, k.display_prefix, \
     k.created_at, k.revoked_at, k.last_used_at FROM api_keys k JOIN builders b ON b.id = k.builder_id";

fn api_key_from_row(row: &AnyRow) -> Result<ApiKeyInfo> {
    Ok(ApiKeyInfo {
        id: row.try_get("id")?,
        builder_id: row.try_get("builder_id")?,
        builder_email: row.try_get("email")?,
        workspace_id: row.try_get("workspace_id")?,
        display_prefix: row.try_get("display_prefix")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

/// The listed columns of a service token (never its hash), with its app's workspace.
const SERVICE_TOKEN_INFO: &str = "SELECT t.id, t.app_id, a.workspace_id, t.display_prefix, \
     t.created_at, t.revoked_at, t.last_used_at FROM service_tokens t JOIN apps a ON a.id = t.app_id";

fn service_token_from_row(row: &AnyRow) -> Result<ServiceTokenInfo> {
    Ok(ServiceTokenInfo {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        workspace_id: row.try_get("workspace_id")?,
        display_prefix: row.try_get("display_prefix")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

fn app_from_row(row: &AnyRow) -> Result<App> {
    Ok(App {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn attempt_from_row(row: &AnyRow) -> Result<AttemptRow> {
    let status: String = row.try_get("status")?;
    let key = key_of(row, "oauth_attempts.integration_type")?;
    Ok(AttemptRow {
        connection_id: row.try_get("connection_id")?,
        app_id: key.app_id,
        integration_type: key.integration_type,
        holder: key.holder,
        scopes: scopes_from_json(&row.try_get::<String, _>("scopes")?)?,
        builder_id: row.try_get("builder_id")?,
        status: AttemptStatus::parse(&status)
            .ok_or(StoreError::Corrupt("oauth_attempts.status"))?,
        status_reason: row.try_get("status_reason")?,
        state_hash: row.try_get("state_hash")?,
        pkce_verifier: row.try_get("pkce_verifier")?,
        browser_hash: row.try_get("browser_hash")?,
        connection_config: config_from_json(row.try_get("connection_config")?)?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        return_to: row.try_get("return_to")?,
    })
}

/// A duplicate name is the one uniqueness rule a workspace connector has
/// besides its random id.
fn workspace_connector_conflict(e: sqlx::Error, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
            "the workspace already has a connector named `{name}`"
        )),
        _ => conflict(e, "workspace connector"),
    }
}

fn workspace_connector_from_row(row: &AnyRow) -> Result<WorkspaceConnectorRow> {
    let corrupt = |what| move |_| StoreError::Corrupt(what);
    Ok(WorkspaceConnectorRow {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        integration_type: IntegrationType::new(row.try_get::<String, _>("integration_type")?)
            .map_err(corrupt("workspace_connectors.integration_type"))?,
        name: row.try_get("name")?,
        client_id: row.try_get("client_id")?,
        client_secret: row.try_get("client_secret")?,
        scopes: scopes_from_json(&row.try_get::<String, _>("scopes")?)?,
        connection_config: config_from_json(Some(row.try_get("connection_config")?))?
            .unwrap_or_default(),
        builder_enabled: row.try_get::<i64, _>("builder_enabled")? != 0,
        per_user_enabled: row.try_get::<i64, _>("per_user_enabled")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn credentials_from_row(row: &AnyRow) -> Result<CredentialsRow> {
    let key = key_of(row, "credentials.integration_type")?;
    Ok(CredentialsRow {
        app_id: key.app_id,
        integration_type: key.integration_type,
        holder: key.holder,
        access_token: row.try_get("access_token")?,
        refresh_token: row.try_get("refresh_token")?,
        token_response: row.try_get("token_response")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        version: row.try_get("version")?,
        updated_at: row.try_get("updated_at")?,
        refresh_in_flight_since: row.try_get("refresh_in_flight_since")?,
    })
}

fn stripe_from_row(row: &AnyRow) -> Result<StripeSandboxRow> {
    let required = |v: Option<String>| v.ok_or(StoreError::Corrupt("stripe_sandboxes"));
    Ok(StripeSandboxRow {
        app_id: row.try_get("app_id")?,
        sandbox_id: required(row.try_get("sandbox_id")?)?,
        account_id: row.try_get("account_id")?,
        secret_key: row.try_get("secret_key")?,
        publishable_key: row.try_get("publishable_key")?,
        status: required(row.try_get("status")?)?,
        claim_url: row.try_get("claim_url")?,
        claim_url_expires_at: row.try_get("claim_url_expires_at")?,
        refresh_token: required(row.try_get("refresh_token")?)?,
        refresh_token_hash: required(row.try_get("refresh_token_hash")?)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait]
impl Store for SqlStore {
    async fn is_empty(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(IS_EMPTY).fetch_one(&self.pool).await?;
        Ok(n == 0)
    }

    async fn create_workspace(&self, w: &Workspace) -> Result<()> {
        sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&w.id)
            .bind(&w.name)
            .bind(w.created_at)
            .execute(&self.pool)
            .await
            .map_err(|e| conflict(e, "workspace"))?;
        Ok(())
    }

    // Differs by backend: see `sqlite.rs` and `postgres.rs`.
    async fn create_first_workspace(&self, w: &Workspace) -> Result<bool> {
        match self.dialect {
            Dialect::Sqlite => sqlite::create_first_workspace(&self.pool, w).await,
            Dialect::Postgres => postgres::create_first_workspace(&self.pool, w).await,
        }
    }

    async fn create_builder(&self, b: &Builder) -> Result<()> {
        sqlx::query(
            "INSERT INTO builders (id, workspace_id, email, created_at) VALUES ($1, $2, $3, $4)",
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
            "INSERT INTO api_keys (id, builder_id, key_hash, display_prefix, created_at) VALUES ($1, $2, $3, $4, $5)",
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
        sqlx::query(
            "INSERT INTO apps (id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
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
            "INSERT INTO service_tokens (id, app_id, token_hash, display_prefix, created_at) VALUES ($1, $2, $3, $4, $5)",
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
        sqlx::query("SELECT id, workspace_id, email, created_at FROM builders WHERE id = $1")
            .bind(builder_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(builder_from_row)
            .transpose()
    }

    async fn find_builder(&self, workspace_id: &str, email: &str) -> Result<Option<Builder>> {
        sqlx::query(
            "SELECT id, workspace_id, email, created_at FROM builders WHERE workspace_id = $1 AND email = $2",
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
        // Two statements rather than `$1 IS NULL OR …`, which no index serves.
        let rows =
            match workspace_id {
                Some(id) => {
                    sqlx::query(APPS_OF_WORKSPACE)
                        .bind(id)
                        .fetch_all(&self.pool)
                        .await?
                }
                None => sqlx::query(
                    "SELECT id, workspace_id, name, created_at FROM apps ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?,
            };
        rows.iter().map(app_from_row).collect()
    }

    async fn builder_by_api_key_hash(&self, key_hash: &str) -> Result<Option<ApiKeyOwner>> {
        let row = sqlx::query(API_KEY_OWNER)
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(|r| {
                Ok(ApiKeyOwner {
                    id: r.try_get("key_id")?,
                    builder: builder_from_row(r)?,
                    key_hash: r.try_get("key_hash")?,
                    revoked_at: r.try_get("revoked_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                })
            })
            .transpose()
    }

    async fn app_by_service_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<ServiceTokenOwner>> {
        let row = sqlx::query(SERVICE_TOKEN_OWNER)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(|r| {
                Ok(ServiceTokenOwner {
                    id: r.try_get("id")?,
                    app_id: r.try_get("app_id")?,
                    token_hash: r.try_get("token_hash")?,
                    revoked_at: r.try_get("revoked_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                })
            })
            .transpose()
    }

    async fn list_api_keys(
        &self,
        workspace_id: Option<&str>,
        builder_id: Option<&str>,
    ) -> Result<Vec<ApiKeyInfo>> {
        let rows = sqlx::query(&format!(
            "{API_KEY_INFO} WHERE (CAST($1 AS TEXT) IS NULL OR b.workspace_id = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR k.builder_id = $2) ORDER BY k.created_at, k.id"
        ))
        .bind(workspace_id)
        .bind(builder_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_key_from_row).collect()
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyInfo>> {
        sqlx::query(&format!("{API_KEY_INFO} WHERE k.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(api_key_from_row)
            .transpose()
    }

    async fn revoke_api_key(&self, id: &str, now: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_service_tokens(
        &self,
        workspace_id: Option<&str>,
        app_id: Option<&str>,
    ) -> Result<Vec<ServiceTokenInfo>> {
        let rows = sqlx::query(&format!(
            "{SERVICE_TOKEN_INFO} WHERE (CAST($1 AS TEXT) IS NULL OR a.workspace_id = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR t.app_id = $2) ORDER BY t.created_at, t.id"
        ))
        .bind(workspace_id)
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(service_token_from_row).collect()
    }

    async fn get_service_token(&self, id: &str) -> Result<Option<ServiceTokenInfo>> {
        sqlx::query(&format!("{SERVICE_TOKEN_INFO} WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(service_token_from_row)
            .transpose()
    }

    async fn revoke_service_token(&self, id: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE service_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_api_key_use(&self, id: &str, now: i64, granularity_secs: i64) -> Result<bool> {
        let done = sqlx::query(RECORD_API_KEY_USE)
            .bind(now)
            .bind(id)
            .bind(now.saturating_sub(granularity_secs))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_service_token_use(
        &self,
        id: &str,
        now: i64,
        granularity_secs: i64,
    ) -> Result<bool> {
        let done = sqlx::query(RECORD_SERVICE_TOKEN_USE)
            .bind(now)
            .bind(id)
            .bind(now.saturating_sub(granularity_secs))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_app(&self, app_id: &str) -> Result<Option<App>> {
        sqlx::query("SELECT id, workspace_id, name, created_at FROM apps WHERE id = $1")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(app_from_row)
            .transpose()
    }

    async fn app_user_by_subject(
        &self,
        app_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<AppUserRow>> {
        sqlx::query(
            "SELECT id, app_id, issuer, subject, email, name, created_at, last_seen_at \
             FROM app_users WHERE app_id = $1 AND issuer = $2 AND subject = $3",
        )
        .bind(app_id)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(crate::app_users::app_user_from_row)
        .transpose()
    }

    async fn upsert_app_user(&self, user: &AppUserRow) -> Result<AppUserRow> {
        let row = sqlx::query(
            "INSERT INTO app_users (id, app_id, issuer, subject, email, name, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (app_id, issuer, subject) DO UPDATE SET email = excluded.email, \
             name = excluded.name, last_seen_at = excluded.last_seen_at \
             RETURNING id, app_id, issuer, subject, email, name, created_at, last_seen_at",
        )
        .bind(&user.id)
        .bind(&user.app_id)
        .bind(&user.issuer)
        .bind(&user.subject)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.created_at)
        .bind(user.last_seen_at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| conflict(e, "app user"))?;
        crate::app_users::app_user_from_row(&row)
    }

    async fn get_app_user(&self, id: &str) -> Result<Option<AppUserRow>> {
        sqlx::query(
            "SELECT id, app_id, issuer, subject, email, name, created_at, last_seen_at \
             FROM app_users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(crate::app_users::app_user_from_row)
        .transpose()
    }

    async fn list_app_users(&self, app_id: &str) -> Result<Vec<AppUserRow>> {
        sqlx::query(
            "SELECT id, app_id, issuer, subject, email, name, created_at, last_seen_at \
             FROM app_users WHERE app_id = $1 ORDER BY created_at, id",
        )
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(crate::app_users::app_user_from_row)
        .collect()
    }

    async fn app_user_settings(&self, app_id: &str) -> Result<Option<AppUserSettingsRow>> {
        sqlx::query(
            "SELECT app_id, allowed_origins, default_return_url, idp_issuer, idp_jwks_uri, \
             idp_audience, idp_user_id_claim, idp_email_claim, idp_algorithms, updated_at \
             FROM app_user_settings WHERE app_id = $1",
        )
        .bind(app_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(crate::app_users::settings_from_row)
        .transpose()
    }

    async fn take_proxy_call(&self, app_id: &str, month: &str, limit: i64) -> Result<bool> {
        let counted = sqlx::query(
            "INSERT INTO proxy_usage (app_id, month, calls) VALUES ($1, $2, 1) \
             ON CONFLICT (app_id, month) DO UPDATE SET calls = proxy_usage.calls + 1 \
             WHERE proxy_usage.calls < $3 RETURNING calls",
        )
        .bind(app_id)
        .bind(month)
        .bind(limit)
        .fetch_optional(&self.pool)
        .await?;
        Ok(counted.is_some())
    }

    async fn refund_proxy_call(&self, app_id: &str, month: &str) -> Result<()> {
        sqlx::query(
            "UPDATE proxy_usage SET calls = calls - 1 WHERE app_id = $1 AND month = $2 AND calls > 0",
        )
        .bind(app_id)
        .bind(month)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn put_app_user_settings(&self, settings: &AppUserSettingsRow) -> Result<()> {
        let idp = settings.identity_provider.as_ref();
        sqlx::query(
            "INSERT INTO app_user_settings (app_id, allowed_origins, default_return_url, idp_issuer, \
             idp_jwks_uri, idp_audience, idp_user_id_claim, idp_email_claim, idp_algorithms, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (app_id) DO UPDATE SET allowed_origins = excluded.allowed_origins, \
             default_return_url = excluded.default_return_url, idp_issuer = excluded.idp_issuer, \
             idp_jwks_uri = excluded.idp_jwks_uri, idp_audience = excluded.idp_audience, \
             idp_user_id_claim = excluded.idp_user_id_claim, idp_email_claim = excluded.idp_email_claim, \
             idp_algorithms = excluded.idp_algorithms, updated_at = excluded.updated_at",
        )
        .bind(&settings.app_id)
        .bind(crate::app_users::json_strings(&settings.allowed_origins))
        .bind(&settings.default_return_url)
        .bind(idp.map(|p| p.issuer.clone()))
        .bind(idp.map(|p| p.jwks_uri.clone()))
        .bind(idp.map(|p| p.audience.clone()))
        .bind(idp.map(|p| p.user_id_claim.clone()))
        .bind(idp.map(|p| p.email_claim.clone()))
        .bind(idp.map(|p| crate::app_users::json_strings(&p.algorithms)))
        .bind(settings.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "app user settings"))?;
        Ok(())
    }

    async fn list_connectors(&self, app_id: &str) -> Result<Vec<ConnectorRow>> {
        let rows = sqlx::query(CONNECTORS_OF_APP)
            .bind(app_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(connector_from_row).collect()
    }

    async fn get_connector(&self, key: &ConnectorKey) -> Result<Option<ConnectorRow>> {
        read_connector(&self.pool, key).await
    }

    async fn credentials_health(&self, app_id: &str) -> Result<Vec<CredentialsHealth>> {
        let rows = sqlx::query(CREDENTIALS_HEALTH_OF_APP)
            .bind(app_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let key = key_of(row, "credentials.integration_type")?;
                Ok(CredentialsHealth {
                    integration_type: key.integration_type,
                    holder: key.holder,
                    expires_at_ms: row.try_get("expires_at_ms")?,
                    last_refresh_at: row.try_get("last_refresh_at")?,
                    last_refresh_error: row.try_get("last_refresh_error")?,
                    refresh_failures: row.try_get("refresh_failures")?,
                    next_refresh_at: row.try_get("next_refresh_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    async fn upsert_connector_scopes(
        &self,
        key: &ConnectorKey,
        scopes: &[String],
        now: i64,
    ) -> Result<ConnectorRow> {
        let mut tx = self.begin_write().await?;
        upsert_scopes(&mut tx, key, scopes, now).await?;
        // Same transaction: the row just written is still there.
        let row = read_connector(&mut *tx, key)
            .await?
            .ok_or(StoreError::Corrupt(
                "connectors (an upserted row is missing)",
            ))?;
        tx.commit().await?;
        Ok(row)
    }

    async fn update_active_scopes(
        &self,
        key: &ConnectorKey,
        scopes: &[String],
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE connectors SET scopes = $1, updated_at = $2 \
             WHERE app_id = $3 AND integration_type = $4 AND status = 'active'",
        )
        .bind(to_json(scopes))
        .bind(now)
        .bind(&key.app_id)
        .bind(key.slot())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn start_attempt(&self, a: &AttemptRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // The connector row first (the lock order of every transaction).
        upsert_scopes(&mut tx, &a.key(), &a.scopes, a.created_at).await?;
        sqlx::query(
            "INSERT INTO oauth_attempts (connection_id, app_id, integration_type, scopes, builder_id, status, \
             status_reason, state_hash, pkce_verifier, browser_hash, connection_config, created_at, expires_at, \
             return_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&a.connection_id)
        .bind(&a.app_id)
        .bind(a.key().slot())
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
        .bind(&a.return_to)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "OAuth attempt"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_connector(
        &self,
        key: &ConnectorKey,
        now: i64,
        events: &EventsOf<'_>,
    ) -> Result<Option<RemovedConnector>> {
        let mut tx = self.begin_write().await?;
        // Lock the connector row first: a racing PUT or consent either
        // committed before (and is removed with it) or waits and comes after.
        let lock = self.dialect.row_lock();
        let found = sqlx::query(&format!(
            "SELECT app_id FROM connectors WHERE app_id = $1 AND integration_type = $2{lock}"
        ))
        .bind(&key.app_id)
        .bind(key.slot())
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Ok(None);
        }
        let connector = read_connector(&mut *tx, key)
            .await?
            .ok_or(StoreError::Corrupt("connectors (a locked row is missing)"))?;
        let credentials =
            sqlx::query("SELECT * FROM credentials WHERE app_id = $1 AND integration_type = $2")
                .bind(&key.app_id)
                .bind(key.slot())
                .fetch_optional(&mut *tx)
                .await?
                .as_ref()
                .map(credentials_from_row)
                .transpose()?;
        sqlx::query("DELETE FROM credentials WHERE app_id = $1 AND integration_type = $2")
            .bind(&key.app_id)
            .bind(key.slot())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM connectors WHERE app_id = $1 AND integration_type = $2")
            .bind(&key.app_id)
            .bind(key.slot())
            .execute(&mut *tx)
            .await?;
        // Cancelled, not deleted: the consent page and the CLI's status
        // poll can still say why. The state hash stays so a late callback
        // finds the attempt and hears the same.
        sqlx::query(
            "UPDATE oauth_attempts SET status = 'FAILED', status_reason = $1, pkce_verifier = NULL, \
             completed_at = $2 WHERE app_id = $3 AND integration_type = $4 AND status = 'PENDING'",
        )
        .bind(REMOVED_REASON)
        .bind(now)
        .bind(&key.app_id)
        .bind(key.slot())
        .execute(&mut *tx)
        .await?;
        events::write_events(&mut tx, &events(&connector)).await?;
        tx.commit().await?;
        Ok(Some(RemovedConnector {
            connector,
            credentials,
        }))
    }

    async fn set_connector_status(
        &self,
        key: &ConnectorKey,
        status: ConnectorStatus,
        reason: Option<&str>,
        now: i64,
        events: &[NewEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(SET_CONNECTOR_STATUS)
            .bind(status.as_str())
            .bind(reason)
            .bind(now)
            .bind(&key.app_id)
            .bind(key.slot())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Reported only if it happened: a connector gone meanwhile, or
        // already in that status, invents nothing.
        if changed > 0 {
            events::write_events(&mut tx, events).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_attempt(&self, connection_id: &str) -> Result<Option<AttemptRow>> {
        sqlx::query("SELECT * FROM oauth_attempts WHERE connection_id = $1")
            .bind(connection_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(attempt_from_row)
            .transpose()
    }

    async fn begin_consent(&self, c: &BeginConsent) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE oauth_attempts SET state_hash = $1, pkce_verifier = $2, browser_hash = $3, \
             connection_config = $4, expires_at = $5 WHERE connection_id = $6 AND status = 'PENDING' AND expires_at > $7",
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
        sqlx::query(ATTEMPT_BY_STATE_HASH)
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
             WHERE connection_id = $1 AND state_hash = $2 AND status = 'PENDING'",
        )
        .bind(connection_id)
        .bind(state_hash)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn fail_attempt(
        &self,
        connection_id: &str,
        reason: &str,
        now: i64,
        events: &[NewEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let failed = sqlx::query(
            "UPDATE oauth_attempts SET status = 'FAILED', status_reason = $1, state_hash = NULL, \
             pkce_verifier = NULL, completed_at = $2 WHERE connection_id = $3 AND status = 'PENDING'",
        )
        .bind(reason)
        .bind(now)
        .bind(connection_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if failed > 0 {
            events::write_events(&mut tx, events).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn acquire_refresh_lease(
        &self,
        key: &ConnectorKey,
        owner: &str,
        now: i64,
        lease_secs: i64,
    ) -> Result<bool> {
        let n = sqlx::query(ACQUIRE_LEASE)
            .bind(owner)
            .bind(now + lease_secs)
            .bind(&key.app_id)
            .bind(key.slot())
            .bind(now)
            .bind(owner)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn mark_refresh_in_flight(
        &self,
        key: &ConnectorKey,
        owner: &str,
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query(MARK_IN_FLIGHT)
            .bind(now)
            .bind(owner)
            .bind(&key.app_id)
            .bind(key.slot())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn release_refresh_lease(&self, key: &ConnectorKey, owner: &str) -> Result<()> {
        sqlx::query(RELEASE_LEASE)
            .bind(&key.app_id)
            .bind(key.slot())
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn store_refreshed(&self, r: &RefreshedCredentials) -> Result<bool> {
        let n = sqlx::query(STORE_REFRESHED)
            .bind(&r.access_token)
            .bind(&r.refresh_token)
            .bind(&r.token_response)
            .bind(r.expires_at_ms)
            .bind(r.now)
            .bind(r.now)
            .bind(&r.app_id)
            .bind(r.key().slot())
            .bind(r.expected_version)
            .bind(&r.owner)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn record_refresh_failure(
        &self,
        key: &ConnectorKey,
        owner: &str,
        reason: &str,
        retry_at: i64,
        now: i64,
        events: &[NewEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let failures: Option<i64> = sqlx::query(RECORD_REFRESH_FAILURE)
            .bind(reason)
            .bind(retry_at)
            .bind(now)
            .bind(owner)
            .bind(&key.app_id)
            .bind(key.slot())
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("refresh_failures"))
            .transpose()?;
        // Reported when the connection starts failing, not on every retry.
        if failures == Some(1) {
            events::write_events(&mut tx, events).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn credentials_due(
        &self,
        before_ms: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<ConnectorKey>> {
        let rows = sqlx::query(CREDENTIALS_DUE)
            .bind(before_ms)
            .bind(now)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| key_of(r, "credentials.integration_type"))
            .collect()
    }

    async fn earliest_refreshable_expiry(&self) -> Result<Option<i64>> {
        let row = sqlx::query(EARLIEST_REFRESHABLE)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("earliest")?)
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle() as u32,
        }
    }

    fn announces_changes(&self) -> bool {
        self.listen.is_some()
    }

    async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>> {
        match &self.listen {
            Some(options) => Ok(Some(Box::new(
                crate::postgres::PgChangeFeed::open(options).await?,
            ))),
            None => Ok(None),
        }
    }

    async fn save_authorization(&self, auth: &Authorization) -> Result<bool> {
        let c = &auth.credentials;
        let now = c.updated_at;
        let mut tx = self.begin_write().await?;
        // The connector row first (the lock order of every transaction).
        match &auth.connection_id {
            Some(_) => {
                // A consent: the connector must still be there (a removal
                // meanwhile cancelled the attempt), and so must the attempt
                // (checked after the credentials, in lock order).
                let updated = sqlx::query(
                    "UPDATE connectors SET granted_scopes = $1, status = 'active', status_reason = NULL, \
                     authorized_by = $2, connection_config = $3, updated_at = $4 \
                     WHERE app_id = $5 AND integration_type = $6",
                )
                .bind(to_json(&auth.granted_scopes))
                .bind(&auth.builder_id)
                .bind(auth.connection_config.as_ref().map(to_json))
                .bind(now)
                .bind(&c.app_id)
                .bind(c.key().slot())
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "connector"))?
                .rows_affected();
                if updated == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
            }
            None => {
                sqlx::query(
                    "INSERT INTO connectors (app_id, integration_type, scopes, granted_scopes, status, status_reason, \
                     authorized_by, connection_config, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'active', NULL, $5, $6, $7, $7) \
                     ON CONFLICT (app_id, integration_type) DO UPDATE SET granted_scopes = excluded.granted_scopes, \
                     status = 'active', status_reason = NULL, authorized_by = excluded.authorized_by, \
                     connection_config = excluded.connection_config, updated_at = excluded.updated_at",
                )
                .bind(&c.app_id)
                .bind(c.key().slot())
                .bind(to_json(&auth.scopes))
                .bind(to_json(&auth.granted_scopes))
                .bind(&auth.builder_id)
                .bind(auth.connection_config.as_ref().map(to_json))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "connector"))?;
            }
        }
        sqlx::query(
            "INSERT INTO credentials (app_id, integration_type, access_token, refresh_token, token_response, \
             expires_at_ms, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7) \
             ON CONFLICT (app_id, integration_type) DO UPDATE SET access_token = excluded.access_token, \
             refresh_token = excluded.refresh_token, token_response = excluded.token_response, \
             expires_at_ms = excluded.expires_at_ms, version = credentials.version + 1, \
             lease_owner = NULL, lease_expires_at = NULL, last_refresh_error = NULL, refresh_failures = 0, \
             next_refresh_at = NULL, refresh_in_flight_since = NULL, refresh_in_flight_owner = NULL, \
             updated_at = excluded.updated_at",
        )
        .bind(&c.app_id)
        .bind(c.key().slot())
        .bind(&c.access_token)
        .bind(&c.refresh_token)
        .bind(&c.token_response)
        .bind(c.expires_at_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(id) = &auth.connection_id {
            let finished = sqlx::query(
                "UPDATE oauth_attempts SET status = 'ACTIVE', status_reason = NULL, completed_at = $1 \
                 WHERE connection_id = $2 AND app_id = $3 AND integration_type = $4 AND status = 'PENDING'",
            )
            .bind(now)
            .bind(id)
            .bind(&c.app_id)
            .bind(c.key().slot())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if finished == 0 {
                // Cancelled by a removal (and the connector re-created by a
                // later PUT since): this consent is not that connector's.
                tx.rollback().await?;
                return Ok(false);
            }
        }
        events::write_events(&mut tx, &auth.events).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn get_credentials(&self, key: &ConnectorKey) -> Result<Option<CredentialsRow>> {
        sqlx::query(CREDENTIALS_BY_KEY)
            .bind(&key.app_id)
            .bind(key.slot())
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
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (app_id) DO UPDATE SET provisioning_owner = excluded.provisioning_owner, \
             provisioning_expires_at = excluded.provisioning_expires_at, updated_at = excluded.updated_at, \
             sandbox_id = NULL, account_id = NULL, secret_key = NULL, publishable_key = NULL, status = NULL, \
             claim_url = NULL, claim_url_expires_at = NULL, refresh_token = NULL, refresh_token_hash = NULL \
             WHERE (stripe_sandboxes.sandbox_id IS NULL AND stripe_sandboxes.provisioning_expires_at <= $6) \
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
             sandbox_id = $1, account_id = $2, secret_key = $3, publishable_key = $4, status = $5, \
             claim_url = $6, claim_url_expires_at = $7, refresh_token = $8, refresh_token_hash = $9, \
             created_at = $10, updated_at = $11 \
             WHERE app_id = $12 AND provisioning_owner = $13 AND sandbox_id IS NULL",
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
            "DELETE FROM stripe_sandboxes WHERE app_id = $1 AND provisioning_owner = $2 AND sandbox_id IS NULL",
        )
        .bind(app_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_stripe_sandbox(&self, app_id: &str) -> Result<Option<StripeSandboxRow>> {
        sqlx::query("SELECT * FROM stripe_sandboxes WHERE app_id = $1 AND sandbox_id IS NOT NULL")
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
            "SELECT * FROM stripe_sandboxes WHERE refresh_token_hash = $1 AND sandbox_id IS NOT NULL",
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
            "UPDATE stripe_sandboxes SET status = $1, claim_url = $2, claim_url_expires_at = $3, updated_at = $4 \
             WHERE app_id = $5 AND sandbox_id = $6",
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
        let n = sqlx::query("DELETE FROM stripe_sandboxes WHERE app_id = $1")
            .bind(app_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn reseal_all(&self, reseal: &ResealFn<'_>) -> Result<usize> {
        let mut changed = 0;
        let lock = self.dialect.row_lock();
        let mut tx = self.begin_write().await?;
        // Locked until commit (PostgreSQL; SQLite runs one writer at a time):
        // a replica storing a refresh meanwhile waits instead of being
        // overwritten by the re-sealed old value.
        let creds = sqlx::query(&format!(
            "SELECT app_id, integration_type, access_token, refresh_token, token_response \
             FROM credentials{lock}"
        ))
        .fetch_all(&mut *tx)
        .await?;
        for row in &creds {
            let app: String = row.try_get("app_id")?;
            let ty: String = row.try_get("integration_type")?;
            for column in ["access_token", "refresh_token", "token_response"] {
                let Some(sealed) = row.try_get::<Option<String>, _>(column)? else {
                    continue;
                };
                let new = reseal_one(reseal, &credentials_context(&app, &ty, column), &sealed)?;
                if new != sealed {
                    sqlx::query(&format!(
                        "UPDATE credentials SET {column} = $1 WHERE app_id = $2 AND integration_type = $3"
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
        // The tables keyed by one column: (table, key, sealed columns, which
        // rows, each column's associated data).
        let single: [(&str, &str, &[&str], &str, fn(&str, &str) -> String); 4] = [
            (
                "oauth_attempts",
                "connection_id",
                &["pkce_verifier"],
                " WHERE pkce_verifier IS NOT NULL",
                |id, column| attempt_context(id, column),
            ),
            (
                "workspace_connectors",
                "id",
                &["client_secret"],
                " WHERE client_secret IS NOT NULL",
                |id, _| workspace_connector_context(id),
            ),
            (
                "webhook_endpoints",
                "id",
                &["secret", "previous_secret"],
                "",
                |id, column| webhook_secret_context(id, column),
            ),
            (
                "stripe_sandboxes",
                "app_id",
                &["secret_key", "refresh_token"],
                " WHERE sandbox_id IS NOT NULL",
                |app, column| stripe_context(app, column),
            ),
        ];
        for (table, key, columns, filter, context) in single {
            let rows = sqlx::query(&format!(
                "SELECT {key}, {} FROM {table}{filter}{lock}",
                columns.join(", ")
            ))
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let id: String = row.try_get(key)?;
                for column in columns {
                    let Some(sealed) = row.try_get::<Option<String>, _>(*column)? else {
                        continue;
                    };
                    let new = reseal_one(reseal, &context(&id, column), &sealed)?;
                    if new != sealed {
                        sqlx::query(&format!(
                            "UPDATE {table} SET {column} = $1 WHERE {key} = $2"
                        ))
                        .bind(&new)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                        changed += 1;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    // Device login: device codes, refresh-token families (#12)

    async fn create_device_code(&self, code: &DeviceCodeRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, status, \
             builder_id, interval_secs, last_poll_at, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&code.device_code_hash)
        .bind(&code.user_code)
        .bind(&code.client_id)
        .bind(&code.scope)
        .bind(code.status.as_str())
        .bind(&code.builder_id)
        .bind(code.interval_secs)
        .bind(code.last_poll_at)
        .bind(code.created_at)
        .bind(code.expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "a pending device code with this user code"))?;
        Ok(())
    }

    async fn device_code_by_hash(&self, device_code_hash: &str) -> Result<Option<DeviceCodeRow>> {
        sqlx::query(&format!("{DEVICE_CODE_SELECT} WHERE device_code_hash = $1"))
            .bind(device_code_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(device_code_from_row)
            .transpose()
    }

    async fn pending_device_code(
        &self,
        user_code: &str,
        now: i64,
    ) -> Result<Option<DeviceCodeRow>> {
        sqlx::query(&format!(
            "{DEVICE_CODE_SELECT} WHERE user_code = $1 AND status = 'PENDING' AND expires_at > $2"
        ))
        .bind(user_code)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(device_code_from_row)
        .transpose()
    }

    async fn decide_device_code(
        &self,
        user_code: &str,
        decision: DeviceDecision<'_>,
        now: i64,
    ) -> Result<bool> {
        let (status, builder_id) = match decision {
            DeviceDecision::Approve(b) => (DeviceCodeStatus::Approved, b),
            DeviceDecision::Deny(b) => (DeviceCodeStatus::Denied, b),
        };
        let n = sqlx::query(
            "UPDATE device_codes SET status = $1, builder_id = $2 \
             WHERE user_code = $3 AND status = 'PENDING' AND expires_at > $4",
        )
        .bind(status.as_str())
        .bind(builder_id)
        .bind(user_code)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn record_device_poll(
        &self,
        device_code_hash: &str,
        now: i64,
        min_gap_ms: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE device_codes SET last_poll_at = $1 WHERE device_code_hash = $2 \
             AND (last_poll_at IS NULL OR last_poll_at <= $3)",
        )
        .bind(now)
        .bind(device_code_hash)
        .bind(now - min_gap_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn redeem_device_code(
        &self,
        device_code_hash: &str,
        family_id: &str,
        first: &NewRefreshToken,
        now: i64,
    ) -> Result<Option<LoginFamilyRow>> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query(
            "UPDATE device_codes SET status = 'USED' WHERE device_code_hash = $1 \
             AND status = 'APPROVED' AND expires_at > $2 RETURNING builder_id, client_id, scope",
        )
        .bind(device_code_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let builder_id: Option<String> = row.try_get("builder_id")?;
        let builder_id = builder_id.ok_or(StoreError::Corrupt("device_codes.builder_id"))?;
        let client_id: String = row.try_get("client_id")?;
        let scope: String = row.try_get("scope")?;
        sqlx::query(
            "INSERT INTO login_families (id, builder_id, client_id, scope, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(family_id)
        .bind(&builder_id)
        .bind(&client_id)
        .bind(&scope)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "login"))?;
        insert_refresh_token(&mut tx, family_id, first, now).await?;
        let family = sqlx::query(&format!("{LOGIN_FAMILY_SELECT} WHERE f.id = $1"))
            .bind(family_id)
            .fetch_one(&mut *tx)
            .await?;
        let family = login_family_from_row(&family)?;
        tx.commit().await?;
        Ok(Some(family))
    }

    async fn login_family(&self, family_id: &str) -> Result<Option<LoginFamilyRow>> {
        sqlx::query(&format!("{LOGIN_FAMILY_SELECT} WHERE f.id = $1"))
            .bind(family_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(login_family_from_row)
            .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next: &NewRefreshToken,
        now: i64,
        grace_ms: i64,
    ) -> Result<RotateOutcome> {
        let lock = self.dialect.row_lock();
        let mut tx = self.begin_write().await?;
        // The token's row is locked until commit (PostgreSQL; SQLite runs
        // one writer at a time), so of two concurrent exchanges of one token
        // the second sees it rotated.
        let Some(row) = sqlx::query(&format!(
            "SELECT family_id, expires_at, rotated_at FROM refresh_tokens WHERE token_hash = $1{lock}"
        ))
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(RotateOutcome::Unknown);
        };
        let family_id: String = row.try_get("family_id")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let rotated_at: Option<i64> = row.try_get("rotated_at")?;
        let family = sqlx::query(&format!("{LOGIN_FAMILY_SELECT} WHERE f.id = $1"))
            .bind(&family_id)
            .fetch_one(&mut *tx)
            .await?;
        let family = login_family_from_row(&family)?;
        if family.revoked_at.is_some() {
            return Ok(RotateOutcome::Revoked);
        }
        if let Some(at) = rotated_at {
            if now - at <= grace_ms {
                return Ok(RotateOutcome::RotatedRecently);
            }
            sqlx::query(
                "UPDATE login_families SET revoked_at = $1, revoked_reason = 'reuse' \
                 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(&family_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(RotateOutcome::Reused);
        }
        if expires_at <= now {
            return Ok(RotateOutcome::Expired);
        }
        sqlx::query("UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        insert_refresh_token(&mut tx, &family_id, next, now).await?;
        tx.commit().await?;
        Ok(RotateOutcome::Rotated(family))
    }

    async fn revoke_logins(&self, builder_id: &str, now: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE login_families SET revoked_at = $1, revoked_reason = 'revoked' \
             WHERE builder_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(builder_id)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn purge_device_codes(&self, before: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM device_codes WHERE expires_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    // Accounts: passwords, invites, sessions, sign-in failures (#12)

    async fn create_invite(&self, invite: &NewInvite) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM builder_invites WHERE builder_id = $1")
            .bind(&invite.builder_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO builder_invites (token_hash, builder_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&invite.token_hash)
        .bind(&invite.builder_id)
        .bind(invite.created_at)
        .bind(invite.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "invite"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn invite_builder(&self, token_hash: &str, now: i64) -> Result<Option<Builder>> {
        sqlx::query(
            "SELECT b.id, b.workspace_id, b.email, b.created_at FROM builder_invites i \
             JOIN builders b ON b.id = i.builder_id WHERE i.token_hash = $1 AND i.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(builder_from_row)
        .transpose()
    }

    async fn accept_invite(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<Builder>> {
        let mut tx = self.begin_write().await?;
        // One statement decides which racing caller uses the invite.
        let used = sqlx::query(
            "DELETE FROM builder_invites WHERE token_hash = $1 AND expires_at > $2 RETURNING builder_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = used else {
            return Ok(None);
        };
        let builder_id: String = row.try_get("builder_id")?;
        sqlx::query("UPDATE builders SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(&builder_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM builder_invites WHERE builder_id = $1")
            .bind(&builder_id)
            .execute(&mut *tx)
            .await?;
        // A new password ends every session the old one opened.
        sqlx::query("DELETE FROM builder_sessions WHERE builder_id = $1")
            .bind(&builder_id)
            .execute(&mut *tx)
            .await?;
        let builder =
            sqlx::query("SELECT id, workspace_id, email, created_at FROM builders WHERE id = $1")
                .bind(&builder_id)
                .fetch_one(&mut *tx)
                .await?;
        let builder = builder_from_row(&builder)?;
        tx.commit().await?;
        Ok(Some(builder))
    }

    async fn builder_logins(&self, email: &str) -> Result<Vec<BuilderLogin>> {
        let rows = sqlx::query(
            "SELECT id, workspace_id, email, created_at, password_hash FROM builders \
             WHERE lower(email) = lower($1) ORDER BY created_at, id",
        )
        .bind(email)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BuilderLogin {
                    builder: builder_from_row(r)?,
                    password_hash: r.try_get("password_hash")?,
                })
            })
            .collect()
    }

    async fn create_session(&self, id_hash: &str, builder_id: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO builder_sessions (id_hash, builder_id, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $3)",
        )
        .bind(id_hash)
        .bind(builder_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "session"))?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str) -> Result<Option<SessionRow>> {
        sqlx::query(
            "SELECT b.id, b.workspace_id, b.email, b.created_at, s.created_at AS session_created_at, \
             s.last_seen_at FROM builder_sessions s JOIN builders b ON b.id = s.builder_id \
             WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(|r| {
            Ok(SessionRow {
                builder: builder_from_row(r)?,
                created_at: r.try_get("session_created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE builder_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1")
            .bind(now)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM builder_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn delete_stale_sessions(
        &self,
        last_seen_before: i64,
        created_before: i64,
    ) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM builder_sessions WHERE last_seen_at < $1 OR created_at < $2")
                .bind(last_seen_before)
                .bind(created_before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn record_signin_failure(
        &self,
        limit_keys: &[String],
        now: i64,
        forget_before: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM signin_failures WHERE at < $1")
            .bind(forget_before)
            .execute(&mut *tx)
            .await?;
        for key in limit_keys {
            sqlx::query("INSERT INTO signin_failures (limit_key, at) VALUES ($1, $2)")
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn signin_failures(&self, limit_key: &str, since: i64) -> Result<(i64, Option<i64>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM signin_failures WHERE limit_key = $1 AND at > $2",
        )
        .bind(limit_key)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("oldest")?))
    }

    async fn clear_signin_failures(&self, limit_key: &str) -> Result<()> {
        sqlx::query("DELETE FROM signin_failures WHERE limit_key = $1")
            .bind(limit_key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn write_events(&self, events: &[NewEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        events::write_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_events(&self, app_id: &str, after: i64, limit: i64) -> Result<Vec<EventRow>> {
        sqlx::query("SELECT * FROM events WHERE app_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(app_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(events::event_from_row)
            .collect()
    }

    async fn purge_events(&self, before_ms: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let events = sqlx::query("DELETE FROM events WHERE created_at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Pending ones only of a disabled endpoint: an enabled one's are
        // still owed (at least once), however long their schedule.
        let deliveries = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE updated_at < $1 AND (status <> 'pending' \
             OR endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_at IS NOT NULL))",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(events + deliveries)
    }

    async fn create_webhook_endpoint(&self, e: &WebhookEndpointRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, app_id, url, description, all_events, secret, \
             previous_secret, previous_secret_expires_at, disabled_at, disabled_reason, failing_since, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&e.id)
        .bind(&e.app_id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(i64::from(e.event_types.is_none()))
        .bind(&e.secret)
        .bind(&e.previous_secret)
        .bind(e.previous_secret_expires_at)
        .bind(e.disabled_at)
        .bind(&e.disabled_reason)
        .bind(e.failing_since)
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(|err| conflict(err, "webhook endpoint"))?;
        write_endpoint_events(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_webhook_endpoints(&self, app_id: &str) -> Result<Vec<WebhookEndpointRow>> {
        let rows = sqlx::query(
            "SELECT * FROM webhook_endpoints WHERE app_id = $1 ORDER BY created_at, id",
        )
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.endpoint_with_types(row).await?);
        }
        Ok(out)
    }

    async fn get_webhook_endpoint(&self, id: &str) -> Result<Option<WebhookEndpointRow>> {
        let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.endpoint_with_types(&row).await?)),
            None => Ok(None),
        }
    }

    async fn update_webhook_endpoint(
        &self,
        e: &WebhookEndpointRow,
        expected_updated_at: i64,
        set_state: bool,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        // The state columns are the delivery worker's too: written only
        // when the builder changes them.
        let state = if set_state {
            ", disabled_at = $10, disabled_reason = $11, failing_since = $12"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE webhook_endpoints SET url = $1, description = $2, all_events = $3, secret = $4, \
             previous_secret = $5, previous_secret_expires_at = $6, updated_at = $7{state} \
             WHERE id = $8 AND updated_at = $9"
        );
        let mut update = sqlx::query(&sql)
            .bind(&e.url)
            .bind(&e.description)
            .bind(i64::from(e.event_types.is_none()))
            .bind(&e.secret)
            .bind(&e.previous_secret)
            .bind(e.previous_secret_expires_at)
            .bind(e.updated_at)
            .bind(&e.id)
            .bind(expected_updated_at);
        if set_state {
            update = update
                .bind(e.disabled_at)
                .bind(&e.disabled_reason)
                .bind(e.failing_since);
        }
        let n = update.execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM webhook_endpoint_events WHERE endpoint_id = $1")
            .bind(&e.id)
            .execute(&mut *tx)
            .await?;
        write_endpoint_events(&mut tx, e).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_webhook_endpoint(&self, id: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn enqueue_delivery(&self, endpoint_id: &str, event: &NewEvent) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO webhook_deliveries (id, endpoint_id, app_id, event_id, event_type, data, \
             event_created_at, status, attempts, next_attempt_at, created_at, updated_at) \
             SELECT $1 || '.' || w.id, w.id, w.app_id, $1, $2, $3, $4, 'pending', 0, $4, $4, $4 \
             FROM webhook_endpoints w WHERE w.id = $5",
        )
        .bind(&event.id)
        .bind(&event.event_type)
        .bind(&event.data)
        .bind(event.created_at)
        .bind(endpoint_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    async fn claim_deliveries(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        // A read first: most polls find nothing, and should not take
        // SQLite's one write lock (or PostgreSQL row locks) to learn it.
        let due = sqlx::query(
            "SELECT 1 AS due FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
             AND (d.claimed_until IS NULL OR d.claimed_until <= $1) AND w.disabled_at IS NULL LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let skip = self.dialect.skip_locked();
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(&format!(
            "UPDATE webhook_deliveries SET claimed_by = $1, claimed_until = $2 WHERE id IN (\
             SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $3 \
             AND (d.claimed_until IS NULL OR d.claimed_until <= $3) AND w.disabled_at IS NULL \
             ORDER BY d.next_attempt_at LIMIT $4{skip}) RETURNING id"
        ))
        .bind(owner)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(claimed.len());
        for row in &claimed {
            let id: String = row.try_get("id")?;
            let delivery = sqlx::query(
                "SELECT d.id, d.endpoint_id, d.app_id, d.event_id, d.event_type, d.data, \
                 d.event_created_at, d.attempts, w.url, w.secret, w.previous_secret, \
                 w.previous_secret_expires_at FROM webhook_deliveries d \
                 JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.id = $1",
            )
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
            out.push(events::claimed_from_row(&delivery)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn finish_delivery(&self, a: &DeliveryAttempt) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        // The endpoint's row before its delivery's: the order a deletion of
        // the endpoint (cascading to its deliveries) takes them in.
        let lock = self.dialect.row_lock();
        sqlx::query(&format!(
            "SELECT id FROM webhook_endpoints WHERE id = $1{lock}"
        ))
        .bind(&a.endpoint_id)
        .fetch_optional(&mut *tx)
        .await?;
        let status = match (a.delivered, a.next_attempt_at) {
            (true, _) => "delivered",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        };
        let n = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, \
             claimed_by = NULL, claimed_until = NULL, last_status = $4, last_error = $5, updated_at = $6 \
             WHERE id = $7 AND claimed_by = $8 AND attempts = $9 AND status = 'pending'",
        )
        .bind(status)
        .bind(a.attempt)
        .bind(a.next_attempt_at.unwrap_or(a.at))
        .bind(a.status_code)
        .bind(&a.error)
        .bind(a.at)
        .bind(&a.delivery_id)
        .bind(&a.owner)
        .bind(a.attempt - 1)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, endpoint_id, at, status_code, error, \
             response_excerpt, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&a.delivery_id)
        .bind(a.attempt)
        .bind(&a.endpoint_id)
        .bind(a.at)
        .bind(a.status_code)
        .bind(&a.error)
        .bind(&a.response_excerpt)
        .bind(a.duration_ms)
        .execute(&mut *tx)
        .await?;
        if let Some(reason) = &a.disable_now {
            sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1), \
                 disabled_at = COALESCE(disabled_at, $1), disabled_reason = $2 WHERE id = $3",
            )
            .bind(a.at)
            .bind(reason)
            .bind(&a.endpoint_id)
            .execute(&mut *tx)
            .await?;
        } else if a.delivered {
            sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
                .bind(&a.endpoint_id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1), \
                 disabled_at = CASE WHEN disabled_at IS NULL AND COALESCE(failing_since, $1) <= $2 \
                 THEN $1 ELSE disabled_at END, \
                 disabled_reason = CASE WHEN disabled_at IS NULL AND COALESCE(failing_since, $1) <= $2 \
                 THEN $3 ELSE disabled_reason END WHERE id = $4",
            )
            .bind(a.at)
            .bind(a.at.saturating_sub(a.disable_after_ms))
            .bind(AUTO_DISABLED_REASON)
            .bind(&a.endpoint_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn delivery_log(&self, endpoint_id: &str, limit: i64) -> Result<Vec<DeliveryLogRow>> {
        sqlx::query(
            "SELECT a.delivery_id, d.event_id, d.event_type, a.attempt, a.at, a.status_code, a.error, \
             a.response_excerpt, a.duration_ms, d.status FROM webhook_attempts a \
             JOIN webhook_deliveries d ON d.id = a.delivery_id \
             WHERE a.endpoint_id = $1 ORDER BY a.at DESC, a.attempt DESC LIMIT $2",
        )
        .bind(endpoint_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(events::log_from_row)
        .collect()
    }

    async fn create_workspace_connector(
        &self,
        c: &WorkspaceConnectorRow,
        events: &[NewEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO workspace_connectors (id, workspace_id, integration_type, name, client_id, \
             client_secret, scopes, connection_config, builder_enabled, per_user_enabled, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&c.id)
        .bind(&c.workspace_id)
        .bind(c.integration_type.as_str())
        .bind(&c.name)
        .bind(&c.client_id)
        .bind(&c.client_secret)
        .bind(to_json(&c.scopes))
        .bind(to_json(&c.connection_config))
        .bind(i64::from(c.builder_enabled))
        .bind(i64::from(c.per_user_enabled))
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| workspace_connector_conflict(e, &c.name))?;
        events::write_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_workspace_connectors(
        &self,
        workspace_id: &str,
    ) -> Result<Vec<WorkspaceConnectorRow>> {
        let rows = sqlx::query(
            "SELECT * FROM workspace_connectors WHERE workspace_id = $1 ORDER BY name, id",
        )
        .bind(workspace_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(workspace_connector_from_row).collect()
    }

    async fn get_workspace_connector(&self, id: &str) -> Result<Option<WorkspaceConnectorRow>> {
        sqlx::query("SELECT * FROM workspace_connectors WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(workspace_connector_from_row)
            .transpose()
    }

    async fn update_workspace_connector(
        &self,
        c: &WorkspaceConnectorRow,
        events: &[NewEvent],
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE workspace_connectors SET name = $1, client_id = $2, client_secret = $3, scopes = $4, \
             connection_config = $5, builder_enabled = $6, per_user_enabled = $7, updated_at = $8 \
             WHERE id = $9",
        )
        .bind(&c.name)
        .bind(&c.client_id)
        .bind(&c.client_secret)
        .bind(to_json(&c.scopes))
        .bind(to_json(&c.connection_config))
        .bind(i64::from(c.builder_enabled))
        .bind(i64::from(c.per_user_enabled))
        .bind(c.updated_at)
        .bind(&c.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| workspace_connector_conflict(e, &c.name))?
        .rows_affected();
        if n > 0 {
            events::write_events(&mut tx, events).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn delete_workspace_connector(
        &self,
        id: &str,
        now: i64,
        events: &[NewEvent],
        per_connection: &EventsOf<'_>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let lock = self.dialect.row_lock();
        let Some(row) = sqlx::query(&format!(
            "SELECT integration_type FROM workspace_connectors WHERE id = $1{lock}"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        let ty: String = row.try_get("integration_type")?;
        let ty = IntegrationType::new(ty)
            .map_err(|_| StoreError::Corrupt("workspace_connectors.integration_type"))?;
        // Every app's connection has the same slot; its attempts too.
        let slot = ConnectorKey::workspace(String::new(), ty, id).slot();
        sqlx::query(
            "UPDATE oauth_attempts SET status = 'FAILED', status_reason = $1, completed_at = $2 \
             WHERE integration_type = $3 AND status = 'PENDING'",
        )
        .bind(REMOVED_REASON)
        .bind(now)
        .bind(&slot)
        .execute(&mut *tx)
        .await?;
        // What goes, read under lock before the cascade takes it.
        let keys = sqlx::query(&format!(
            "SELECT app_id, integration_type FROM connectors WHERE workspace_connector_id = $1 \
             ORDER BY app_id, integration_type{lock}"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| key_of(r, "connectors.integration_type"))
        .collect::<Result<Vec<_>>>()?;
        // The workspace's event first: it locks every app of the workspace
        // in id order before the connections' events lock some again, so two
        // deletions in one workspace take the apps in one order.
        let mut reported = events.to_vec();
        for key in &keys {
            if let Some(connector) = read_connector(&mut *tx, key).await? {
                reported.extend(per_connection(&connector));
            }
        }
        // Connections and their credentials go by the foreign keys' cascade.
        sqlx::query("DELETE FROM workspace_connectors WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        events::write_events(&mut tx, &reported).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn connections_of_workspace_connector(&self, id: &str) -> Result<Vec<ConnectorKey>> {
        let rows = sqlx::query(
            "SELECT app_id, integration_type FROM connectors WHERE workspace_connector_id = $1",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| key_of(r, "connectors.integration_type"))
            .collect()
    }

    async fn list_workspace_connections(&self, app_id: &str) -> Result<Vec<ConnectorRow>> {
        let rows = sqlx::query(WORKSPACE_CONNECTIONS_OF_APP)
            .bind(app_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(connector_from_row).collect()
    }

    async fn list_app_user_connections(&self, app_id: &str) -> Result<Vec<ConnectorRow>> {
        let rows = sqlx::query(APP_USER_CONNECTIONS_OF_APP)
            .bind(app_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(connector_from_row).collect()
    }

    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64> {
        crate::audit::append(&self.pool, self.dialect, entry).await
    }

    async fn list_audit(&self, scope: AuditScope<'_>, page: AuditPage) -> Result<Vec<AuditRow>> {
        crate::audit::list(&self.pool, scope, page).await
    }

    async fn purge_audit(&self, before: i64) -> Result<u64> {
        crate::audit::purge(&self.pool, before).await
    }
}

/// Why an endpoint was disabled by its failures rather than its builder.
pub const AUTO_DISABLED_REASON: &str =
    "every delivery attempt failed for longer than the server allows ([webhooks] disable_after_secs, a day by default); fix the receiver, then enable the endpoint again";

/// An endpoint's event filter rows (none for "all events").
async fn write_endpoint_events(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    e: &WebhookEndpointRow,
) -> Result<()> {
    for ty in e.event_types.iter().flatten() {
        sqlx::query(
            "INSERT INTO webhook_endpoint_events (endpoint_id, event_type) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&e.id)
        .bind(ty)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl SqlStore {
    async fn endpoint_with_types(&self, row: &AnyRow) -> Result<WebhookEndpointRow> {
        let id: String = row.try_get("id")?;
        let all: i64 = row.try_get("all_events")?;
        let types = if all == 1 {
            None
        } else {
            let rows = sqlx::query(
                "SELECT event_type FROM webhook_endpoint_events WHERE endpoint_id = $1 ORDER BY event_type",
            )
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
            Some(
                rows.iter()
                    .map(|r| r.try_get("event_type"))
                    .collect::<Result<Vec<String>, _>>()?,
            )
        };
        events::endpoint_from_row(row, types)
    }
}

/// One connector with its authorizing builder's email.
async fn read_connector<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    key: &ConnectorKey,
) -> Result<Option<ConnectorRow>> {
    sqlx::query(CONNECTOR_BY_KEY)
        .bind(&key.app_id)
        .bind(key.slot())
        .fetch_optional(executor)
        .await?
        .as_ref()
        .map(connector_from_row)
        .transpose()
}

/// Sets the declared scopes, creating the connector `disconnected` if new.
async fn upsert_scopes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    key: &ConnectorKey,
    scopes: &[String],
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO connectors (app_id, integration_type, scopes, status, created_at, updated_at, \
         workspace_connector_id, app_user_id) VALUES ($1, $2, $3, 'disconnected', $4, $4, $5, $6) \
         ON CONFLICT (app_id, integration_type) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at",
    )
    .bind(&key.app_id)
    .bind(key.slot())
    .bind(to_json(scopes))
    .bind(now)
    .bind(key.workspace_connector_id())
    .bind(key.app_user_id())
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict(e, "connector"))?;
    Ok(())
}

/// Re-seals one value; a failure names the value (never its content) and
/// rolls the whole re-seal back.
fn reseal_one(reseal: &ResealFn<'_>, context: &str, sealed: &str) -> Result<String> {
    reseal(context, sealed).map_err(|reason| StoreError::Reseal {
        context: context.to_string(),
        reason,
    })
}

// Device login: device codes, refresh-token families (#12)

const DEVICE_CODE_SELECT: &str = "SELECT device_code_hash, user_code, client_id, scope, status, \
     builder_id, interval_secs, last_poll_at, created_at, expires_at FROM device_codes";

/// A login with its builder's columns (`id`, `workspace_id`, `email`,
/// `created_at`, as [`builder_from_row`] reads them).
const LOGIN_FAMILY_SELECT: &str = "SELECT f.id AS family_id, f.client_id, f.scope, \
     f.created_at AS family_created_at, f.revoked_at, b.id, b.workspace_id, b.email, b.created_at \
     FROM login_families f JOIN builders b ON b.id = f.builder_id";

fn device_code_from_row(row: &AnyRow) -> Result<DeviceCodeRow> {
    let status: String = row.try_get("status")?;
    Ok(DeviceCodeRow {
        device_code_hash: row.try_get("device_code_hash")?,
        user_code: row.try_get("user_code")?,
        client_id: row.try_get("client_id")?,
        scope: row.try_get("scope")?,
        status: DeviceCodeStatus::parse(&status)
            .ok_or(StoreError::Corrupt("device_codes.status"))?,
        builder_id: row.try_get("builder_id")?,
        interval_secs: row.try_get("interval_secs")?,
        last_poll_at: row.try_get("last_poll_at")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn login_family_from_row(row: &AnyRow) -> Result<LoginFamilyRow> {
    Ok(LoginFamilyRow {
        id: row.try_get("family_id")?,
        builder: builder_from_row(row)?,
        client_id: row.try_get("client_id")?,
        scope: row.try_get("scope")?,
        created_at: row.try_get("family_created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

async fn insert_refresh_token(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    family_id: &str,
    token: &NewRefreshToken,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&token.token_hash)
    .bind(family_id)
    .bind(now)
    .bind(token.expires_at)
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict(e, "refresh token"))?;
    Ok(())
}
