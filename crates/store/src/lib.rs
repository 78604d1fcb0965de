//! Storage of workspaces, builders, apps, connectors, credentials and OAuth
//! attempts, behind the [`Store`] trait.
//!
//! [`SqlStore`] is the one implementation, on embedded SQLite (the default)
//! or on PostgreSQL, which lets several server replicas share one database.
//! [`open`] picks the backend from a database URL, so nothing above this
//! crate names one.
//! Rows carry secrets only as sealed text (see `connectors-vault`) and API
//! keys and service tokens only as hashes; this crate never sees a plaintext
//! secret and never decrypts.
//!
//! Central types: [`Store`], [`SqlStore`], [`ConnectorKey`], [`ConnectorRow`], [`CredentialsRow`], [`AttemptRow`].
//! This crate knows nothing of HTTP, providers or encryption keys.
#![deny(missing_docs)]

mod app_users;
mod audit;
mod events;
#[cfg(test)]
mod plans;
mod postgres;
mod rows;
mod sql_store;
mod sqlite;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

pub use app_users::{AppUserRow, AppUserSettingsRow, IdentityProviderRow};
pub use audit::{AuditPage, AuditRow, AuditScope, NewAuditEntry};
pub use events::{
    webhook_secret_context, ClaimedDelivery, DeliveryAttempt, DeliveryLogRow, EventRow, EventScope,
    NewEvent, WebhookEndpointRow,
};
pub use rows::*;
pub use sql_store::{SqlStore, AUTO_DISABLED_REASON};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A uniqueness or reference rule was violated, or a race was lost that
    /// the caller must hear of; the text says which.
    #[error("{0}")]
    Conflict(String),
    /// A file or directory the database needs could not be created.
    #[error("cannot create {}: {reason}; check that the path is right and that this user may write there", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why (in the message, so not also a `source` to print twice).
        reason: std::io::Error,
    },
    /// A stored secret could not be re-sealed; the whole re-seal was rolled
    /// back, so every value is still sealed as before.
    #[error("cannot re-seal {context}: {reason}; nothing was changed. Check that the configured keys still include the one that sealed it, then run `rotate-keys` again")]
    Reseal {
        /// The value's associated-data context (names its row, not its content).
        context: String,
        /// Why.
        reason: String,
    },
    /// A stored value could not be decoded (a bug or a hand-edited database).
    #[error("corrupt stored value in {0}")]
    Corrupt(&'static str),
    /// The database URL is wrong or names a database that cannot be reached;
    /// the text names it without its password and says what to check.
    #[error("{0}")]
    Unreachable(String),
}

/// Connections a SQLite store keeps by default: readers run in parallel
/// under WAL, writers queue on the one write lock whatever the size.
pub const DEFAULT_SQLITE_MAX_CONNECTIONS: u32 = 8;
/// Connections a PostgreSQL store keeps by default: a few replicas stay well
/// under PostgreSQL's default `max_connections` (100).
pub const DEFAULT_POSTGRES_MAX_CONNECTIONS: u32 = 10;

/// Opens the database named by `url` and applies its migrations:
/// `sqlite://<path>` (the file and its directory are created), another
/// `sqlite:` URL (e.g. `sqlite::memory:`), or `postgres://` / `postgresql://`.
/// The pool has the backend's default size.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_with(url, None).await
}

/// [`open`] with a pool of at most `max_connections` (at least 1; `None`:
/// [`DEFAULT_SQLITE_MAX_CONNECTIONS`] or [`DEFAULT_POSTGRES_MAX_CONNECTIONS`]).
pub async fn open_with(url: &str, max_connections: Option<u32>) -> Result<Arc<dyn Store>> {
    let size = |default: u32| max_connections.unwrap_or(default).max(1);
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(
            SqlStore::open_sqlite_sized(Path::new(path), size(DEFAULT_SQLITE_MAX_CONNECTIONS))
                .await?,
        ));
    }
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(
            SqlStore::open_sqlite_url_sized(url, size(DEFAULT_SQLITE_MAX_CONNECTIONS)).await?,
        ));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(
            SqlStore::open_postgres_sized(url, size(DEFAULT_POSTGRES_MAX_CONNECTIONS)).await?,
        ));
    }
    let scheme = url.split_once(':').map_or(url, |(s, _)| s);
    Err(StoreError::Unreachable(format!(
        "database_url with scheme `{scheme}` is not understood; use sqlite://<path> or postgres://USER@HOST[:PORT]/DATABASE"
    )))
}

/// Result of storage operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The events a removal reports, made from each removed connector's row
/// inside the removing transaction (so they name exactly what went).
pub type EventsOf<'a> = dyn Fn(&ConnectorRow) -> Vec<NewEvent> + Send + Sync + 'a;

/// Re-encrypts one sealed value: `(context, sealed) → new sealed`.
pub type ResealFn<'a> =
    dyn Fn(&str, &str) -> std::result::Result<String, String> + Send + Sync + 'a;

/// A snapshot of the database connection pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections (in use and idle).
    pub size: u32,
    /// Open connections waiting for work.
    pub idle: u32,
}

/// A committed change that cached reads may no longer match, as the
/// database announces it to every process (see [`Store::change_feed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A connector or its credentials changed (set, consented, refreshed,
    /// expired, removed, imported).
    Connector(ConnectorKey),
    /// An API key or service token was revoked or removed.
    Credentials,
    /// A change this version cannot name (a newer version's announcement):
    /// nothing cached can be trusted.
    Everything,
}

/// Changes committed by any process, in commit order.
#[async_trait]
pub trait ChangeFeed: Send {
    /// The next change. An error means the feed is lost (its connection
    /// closed or failed): changes may have gone unannounced since, and a
    /// new feed must be opened.
    async fn next(&mut self) -> Result<Change>;
}

/// Everything the engine needs from a database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether no workspace exists yet (first start).
    async fn is_empty(&self) -> Result<bool>;

    /// Creates a workspace.
    async fn create_workspace(&self, workspace: &Workspace) -> Result<()>;
    /// Creates `workspace` only if no workspace exists yet, atomically even
    /// when several servers start at once on one empty database (so only
    /// one bootstraps). Whether it was created.
    async fn create_first_workspace(&self, workspace: &Workspace) -> Result<bool>;
    /// Creates a builder in a workspace.
    async fn create_builder(&self, builder: &Builder) -> Result<()>;
    /// Creates an API key (hash only) for a builder.
    async fn create_api_key(&self, key: &NewApiKey) -> Result<()>;
    /// Creates an app in a workspace.
    async fn create_app(&self, app: &App) -> Result<()>;
    /// Creates a service token (hash only) for an app.
    async fn create_service_token(&self, token: &NewServiceToken) -> Result<()>;
    /// All workspaces.
    async fn list_workspaces(&self) -> Result<Vec<Workspace>>;
    /// A builder by id.
    async fn get_builder(&self, builder_id: &str) -> Result<Option<Builder>>;
    /// A builder by email within a workspace.
    async fn find_builder(&self, workspace_id: &str, email: &str) -> Result<Option<Builder>>;
    /// All apps, or those of one workspace.
    async fn list_apps(&self, workspace_id: Option<&str>) -> Result<Vec<App>>;

    /// The builder owning the API key with this hash, revoked or not
    /// (`revoked_at` says; the caller refuses a revoked key, and can say why).
    async fn builder_by_api_key_hash(&self, key_hash: &str) -> Result<Option<ApiKeyOwner>>;
    /// The app of the service token with this hash, revoked or not
    /// (`revoked_at` says).
    async fn app_by_service_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<ServiceTokenOwner>>;
    /// API keys, oldest first: all, a workspace's, or one builder's.
    async fn list_api_keys(
        &self,
        workspace_id: Option<&str>,
        builder_id: Option<&str>,
    ) -> Result<Vec<ApiKeyInfo>>;
    /// One API key by id.
    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyInfo>>;
    /// Marks an API key revoked at `now`; whether this call did (false: it
    /// was already revoked, or there is no such key). One statement, so of
    /// racing revocations exactly one answers true.
    async fn revoke_api_key(&self, id: &str, now: i64) -> Result<bool>;
    /// Service tokens, oldest first: all, a workspace's, or one app's.
    async fn list_service_tokens(
        &self,
        workspace_id: Option<&str>,
        app_id: Option<&str>,
    ) -> Result<Vec<ServiceTokenInfo>>;
    /// One service token by id.
    async fn get_service_token(&self, id: &str) -> Result<Option<ServiceTokenInfo>>;
    /// Marks a service token revoked at `now`; whether this call did.
    async fn revoke_service_token(&self, id: &str, now: i64) -> Result<bool>;
    /// Records that the API key `id` was used at `now` (Unix seconds),
    /// unless it is revoked or a use after `now - granularity_secs` is
    /// recorded already: one conditional UPDATE on the primary key, so
    /// racing recorders (replicas) write once. Whether it wrote.
    async fn record_api_key_use(&self, id: &str, now: i64, granularity_secs: i64) -> Result<bool>;
    /// [`Store::record_api_key_use`] for the service token `id`.
    async fn record_service_token_use(
        &self,
        id: &str,
        now: i64,
        granularity_secs: i64,
    ) -> Result<bool>;
    /// An app by id.
    async fn get_app(&self, app_id: &str) -> Result<Option<App>>;

    /// The app user `subject` of `issuer` in `app_id`, if seen before.
    async fn app_user_by_subject(
        &self,
        app_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<AppUserRow>>;
    /// Records an app user by (app, issuer, subject): inserts `user` as
    /// given, or updates the existing row's email, name and last seen time
    /// (keeping its id). Answers the stored row.
    async fn upsert_app_user(&self, user: &AppUserRow) -> Result<AppUserRow>;
    /// An app user by id.
    async fn get_app_user(&self, id: &str) -> Result<Option<AppUserRow>>;
    /// An app's users, oldest first.
    async fn list_app_users(&self, app_id: &str) -> Result<Vec<AppUserRow>>;
    /// An app's app-user settings, if ever set.
    async fn app_user_settings(&self, app_id: &str) -> Result<Option<AppUserSettingsRow>>;
    /// Replaces an app's app-user settings.
    async fn put_app_user_settings(&self, settings: &AppUserSettingsRow) -> Result<()>;

    /// Counts one proxy call of `app_id` in `month` if fewer than `limit`
    /// were counted; false when the quota is used up. One statement, so
    /// replicas never count past the limit together.
    async fn take_proxy_call(&self, app_id: &str, month: &str, limit: i64) -> Result<bool>;
    /// Gives back a call counted by [`Store::take_proxy_call`] that never
    /// reached the provider.
    async fn refund_proxy_call(&self, app_id: &str, month: &str) -> Result<()>;

    /// The app's connectors, ordered by type.
    async fn list_connectors(&self, app_id: &str) -> Result<Vec<ConnectorRow>>;
    /// How the app's connectors' credentials are doing, ordered by type.
    async fn credentials_health(&self, app_id: &str) -> Result<Vec<CredentialsHealth>>;
    /// One connector.
    async fn get_connector(&self, key: &ConnectorKey) -> Result<Option<ConnectorRow>>;
    /// Sets the declared scopes, creating the connector `disconnected` if
    /// new; answers the row as written (one transaction, so a concurrent
    /// delete lands wholly before or after it).
    async fn upsert_connector_scopes(
        &self,
        key: &ConnectorKey,
        scopes: &[String],
        now: i64,
    ) -> Result<ConnectorRow>;
    /// Sets the declared scopes of a connector that is `active`; whether it
    /// was (false: it is not active any more, or gone).
    async fn update_active_scopes(
        &self,
        key: &ConnectorKey,
        scopes: &[String],
        now: i64,
    ) -> Result<bool>;
    /// In one transaction: sets the connector's declared scopes to the
    /// attempt's (creating it `disconnected` if new) and records the
    /// `PENDING` attempt, so no attempt exists without its connector.
    async fn start_attempt(&self, attempt: &AttemptRow) -> Result<()>;
    /// In one transaction: deletes a connector with its credentials and
    /// marks its `PENDING` attempts `FAILED` with [`REMOVED_REASON`] (so
    /// their consent is refused), and writes the events `events` makes of
    /// the removed row; answers what was removed, or `None` when there was
    /// no such connector.
    async fn delete_connector(
        &self,
        key: &ConnectorKey,
        now: i64,
        events: &EventsOf<'_>,
    ) -> Result<Option<RemovedConnector>>;
    /// Sets a connector's status and reason, with the events reporting it,
    /// in one transaction; nothing (no events either) when the connector is
    /// gone or already in that status.
    async fn set_connector_status(
        &self,
        key: &ConnectorKey,
        status: connectors_wire::ConnectorStatus,
        reason: Option<&str>,
        now: i64,
        events: &[NewEvent],
    ) -> Result<()>;

    /// A consent attempt by its `connection_id`.
    async fn get_attempt(&self, connection_id: &str) -> Result<Option<AttemptRow>>;

    /// Records the start of consent on a `PENDING` attempt: the state's hash,
    /// the sealed PKCE verifier, the browser-binding hash, the form's values
    /// and the state's expiry. Whether the attempt was still pending.
    async fn begin_consent(&self, consent: &BeginConsent) -> Result<bool>;
    /// The pending attempt whose unused state has this hash.
    async fn attempt_by_state_hash(&self, state_hash: &str) -> Result<Option<AttemptRow>>;
    /// Uses up a state: true for exactly one caller.
    async fn consume_state(&self, connection_id: &str, state_hash: &str) -> Result<bool>;
    /// Marks an attempt `FAILED` with a reason, with the events reporting
    /// it (written only if the attempt was not failed already).
    async fn fail_attempt(
        &self,
        connection_id: &str,
        reason: &str,
        now: i64,
        events: &[NewEvent],
    ) -> Result<()>;

    /// Takes the refresh lease of a connector's credentials for `owner` until
    /// `now + lease_secs`, if nobody holds an unexpired one. Whether it was taken.
    async fn acquire_refresh_lease(
        &self,
        key: &ConnectorKey,
        owner: &str,
        now: i64,
        lease_secs: i64,
    ) -> Result<bool>;
    /// Records that `owner`, holding the lease, is about to send the refresh
    /// token to the provider (cleared when the answer is stored or the call
    /// fails). Whether `owner` still holds the lease.
    async fn mark_refresh_in_flight(
        &self,
        key: &ConnectorKey,
        owner: &str,
        now: i64,
    ) -> Result<bool>;
    /// Releases the lease, only if `owner` still holds it.
    async fn release_refresh_lease(&self, key: &ConnectorKey, owner: &str) -> Result<()>;
    /// Stores refreshed credentials if `owner` holds the lease and the row is
    /// still at `expected_version`; releases the lease. Whether it was stored.
    async fn store_refreshed(&self, refreshed: &RefreshedCredentials) -> Result<bool>;
    /// Records a failed refresh (releases the lease and clears the in-flight
    /// mark if `owner` holds it), with the events reporting it, written only
    /// for the first failure since the last success.
    async fn record_refresh_failure(
        &self,
        key: &ConnectorKey,
        owner: &str,
        reason: &str,
        retry_at: i64,
        now: i64,
        events: &[NewEvent],
    ) -> Result<()>;
    /// Active connectors whose credentials expire before `before_ms` (Unix ms), have a
    /// refresh token, are not leased and are not backing off.
    async fn credentials_due(
        &self,
        before_ms: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<ConnectorKey>>;
    /// The earliest expiry (Unix ms) among the credentials the background
    /// refresh keeps fresh (active connector, refresh token, an expiry):
    /// what the refresh-lag gauge of `/metrics` measures against.
    async fn earliest_refreshable_expiry(&self) -> Result<Option<i64>>;
    /// The connection pool's size and idle connections, for `/metrics`.
    fn pool_stats(&self) -> PoolStats;

    /// Opens a feed of the changes every process commits, if this backend
    /// announces them (PostgreSQL: triggers `NOTIFY` in the changing
    /// transaction, and the feed `LISTEN`s on a connection of its own);
    /// `None` on SQLite, whose other writers (admin commands) announce
    /// nothing.
    async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>>;
    /// Whether [`Store::change_feed`] offers a feed (known without connecting).
    fn announces_changes(&self) -> bool;

    /// In one transaction: marks the connector active with what consent
    /// granted, stores its credentials, and marks the attempt (if any)
    /// `ACTIVE`. With an attempt, nothing is saved (answer `false`) unless
    /// the connector still exists and the attempt is still `PENDING`: a
    /// consent never brings back a removed connector. Without one (an
    /// operator's import) the connector is created if needed.
    async fn save_authorization(&self, auth: &Authorization) -> Result<bool>;
    /// The stored credentials of a connector.
    async fn get_credentials(&self, key: &ConnectorKey) -> Result<Option<CredentialsRow>>;

    /// Claims the provisioning of `app_id`'s Stripe sandbox for `owner` until
    /// `now + lease_secs`, unless a sandbox exists (one Stripe reported
    /// `expired` is replaced) or an unexpired claim does.
    async fn claim_stripe_provisioning(
        &self,
        app_id: &str,
        owner: &str,
        now: i64,
        lease_secs: i64,
    ) -> Result<StripeClaim>;
    /// Stores the created sandbox if `owner` still holds the claim. Whether it did.
    async fn finish_stripe_provisioning(
        &self,
        sandbox: &StripeSandboxRow,
        owner: &str,
    ) -> Result<bool>;
    /// Drops `owner`'s claim after a failed creation.
    async fn abandon_stripe_provisioning(&self, app_id: &str, owner: &str) -> Result<()>;
    /// The app's provisioned sandbox.
    async fn get_stripe_sandbox(&self, app_id: &str) -> Result<Option<StripeSandboxRow>>;
    /// The provisioned sandbox whose refresh URL token has this hash.
    async fn stripe_sandbox_by_refresh_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<StripeSandboxRow>>;
    /// Records what Stripe last said of a sandbox (status and claim link).
    async fn update_stripe_sandbox(
        &self,
        app_id: &str,
        sandbox_id: &str,
        status: &str,
        claim_url: Option<&str>,
        claim_url_expires_at: Option<i64>,
        now: i64,
    ) -> Result<()>;
    /// Forgets the app's sandbox (or provisioning claim). Whether a row went.
    async fn delete_stripe_sandbox(&self, app_id: &str) -> Result<bool>;

    /// Re-seals every sealed value through `reseal`, in one transaction;
    /// answers how many values changed.
    async fn reseal_all(&self, reseal: &ResealFn<'_>) -> Result<usize>;

    // Device login: device codes, refresh-token families (#12)

    /// Records a new `PENDING` device-code request. `Conflict` when its user
    /// code already names a pending request (the caller draws another).
    async fn create_device_code(&self, code: &DeviceCodeRow) -> Result<()>;
    /// The device-code request whose device code has this hash.
    async fn device_code_by_hash(&self, device_code_hash: &str) -> Result<Option<DeviceCodeRow>>;
    /// The pending request with this (normalized) user code, unexpired at `now`.
    async fn pending_device_code(&self, user_code: &str, now: i64)
        -> Result<Option<DeviceCodeRow>>;
    /// Approves or denies the pending request with this user code, if it is
    /// still pending and unexpired at `now`; whether this call did (one
    /// statement, so of a racing approval, denial and expiry one wins).
    async fn decide_device_code(
        &self,
        user_code: &str,
        decision: DeviceDecision<'_>,
        now: i64,
    ) -> Result<bool>;
    /// Records a poll at `now` unless the last recorded one was less than
    /// `min_gap_ms` before; whether it was recorded (false: too fast, or no
    /// such request).
    async fn record_device_poll(
        &self,
        device_code_hash: &str,
        now: i64,
        min_gap_ms: i64,
    ) -> Result<bool>;
    /// In one transaction: marks the `APPROVED` request unexpired at `now`
    /// `USED`, creates the login `family_id` for its builder and stores its
    /// first refresh token. The login, or `None` when the request was not
    /// (or no longer) approved: of racing polls exactly one gets it.
    async fn redeem_device_code(
        &self,
        device_code_hash: &str,
        family_id: &str,
        first: &NewRefreshToken,
        now: i64,
    ) -> Result<Option<LoginFamilyRow>>;
    /// A login with its builder, revoked or not.
    async fn login_family(&self, family_id: &str) -> Result<Option<LoginFamilyRow>>;
    /// In one transaction: spends the refresh token with this hash and
    /// stores `next` in its login. A token rotated at most `grace_ms` ago is
    /// refused without further harm ([`RotateOutcome::RotatedRecently`]);
    /// one rotated earlier revokes its whole login ([`RotateOutcome::Reused`]).
    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next: &NewRefreshToken,
        now: i64,
        grace_ms: i64,
    ) -> Result<RotateOutcome>;
    /// Revokes every unrevoked login of a builder; how many.
    async fn revoke_logins(&self, builder_id: &str, now: i64) -> Result<u64>;
    /// Deletes device-code requests that expired before `before` (Unix ms).
    async fn purge_device_codes(&self, before: i64) -> Result<u64>;

    // Accounts: passwords, invites, sessions, sign-in failures (#12)

    /// Stores a builder's invite, replacing their older ones (one transaction).
    async fn create_invite(&self, invite: &NewInvite) -> Result<()>;
    /// The builder of the unexpired invite with this token hash.
    async fn invite_builder(&self, token_hash: &str, now: i64) -> Result<Option<Builder>>;
    /// In one transaction: uses up the unexpired invite with this token hash
    /// (single use: of racing callers one gets the builder), sets the
    /// builder's password hash, and ends their other invites and their
    /// sessions. `None` when there was no such invite.
    async fn accept_invite(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<Builder>>;
    /// Every builder with this email (any case, any workspace), with their
    /// password hash.
    async fn builder_logins(&self, email: &str) -> Result<Vec<BuilderLogin>>;
    /// Stores a session (its id's hash only) for a builder.
    async fn create_session(&self, id_hash: &str, builder_id: &str, now: i64) -> Result<()>;
    /// A session by its id's hash, with its builder; expiry is the caller's.
    async fn get_session(&self, id_hash: &str) -> Result<Option<SessionRow>>;
    /// Records use of a session at `now` (what idle expiry counts from).
    async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()>;
    /// Deletes a session; whether one went.
    async fn delete_session(&self, id_hash: &str) -> Result<bool>;
    /// Deletes sessions last used before `last_seen_before` or created
    /// before `created_before`; how many went.
    async fn delete_stale_sessions(
        &self,
        last_seen_before: i64,
        created_before: i64,
    ) -> Result<u64>;
    /// Records one failed sign-in under each of `limit_keys` at `now`, and
    /// forgets failures older than `forget_before`.
    async fn record_signin_failure(
        &self,
        limit_keys: &[String],
        now: i64,
        forget_before: i64,
    ) -> Result<()>;
    /// How many failures `limit_key` has after `since`, and the oldest's time.
    async fn signin_failures(&self, limit_key: &str, since: i64) -> Result<(i64, Option<i64>)>;
    /// Forgets every failure recorded under `limit_key` (an account's, once
    /// its owner signed in).
    async fn clear_signin_failures(&self, limit_key: &str) -> Result<()>;

    // ---- events and webhooks (#15) ----

    /// Appends events in a transaction of their own.
    async fn write_events(&self, events: &[NewEvent]) -> Result<()>;
    /// An app's events after `after` (a [`EventRow::seq`]), oldest first.
    async fn list_events(&self, app_id: &str, after: i64, limit: i64) -> Result<Vec<EventRow>>;
    /// Forgets events, and finished deliveries (and a disabled endpoint's
    /// pending ones) with their attempts, untouched since before
    /// `before_ms`; how many rows went.
    async fn purge_events(&self, before_ms: i64) -> Result<u64>;
    /// Creates an endpoint.
    async fn create_webhook_endpoint(&self, endpoint: &WebhookEndpointRow) -> Result<()>;
    /// An app's endpoints, oldest first.
    async fn list_webhook_endpoints(&self, app_id: &str) -> Result<Vec<WebhookEndpointRow>>;
    /// One endpoint.
    async fn get_webhook_endpoint(&self, id: &str) -> Result<Option<WebhookEndpointRow>>;
    /// Replaces a builder's fields of an endpoint (URL, description, event
    /// types, secrets), and with `set_state` its enabled state and failure
    /// streak too (which deliveries also write), if it is still as last
    /// written at `expected_updated_at`; whether it was (false: gone, or
    /// changed meanwhile).
    async fn update_webhook_endpoint(
        &self,
        endpoint: &WebhookEndpointRow,
        expected_updated_at: i64,
        set_state: bool,
    ) -> Result<bool>;
    /// Deletes an endpoint with its deliveries; whether it was there.
    async fn delete_webhook_endpoint(&self, id: &str) -> Result<bool>;
    /// Queues `event` for one endpoint only, outside any app's log (a test
    /// event); whether the endpoint exists.
    async fn enqueue_delivery(&self, endpoint_id: &str, event: &NewEvent) -> Result<bool>;
    /// Claims up to `limit` pending deliveries due at `now` for `owner`
    /// until `now + lease_ms`: of racing claimers (replicas) each delivery
    /// goes to one (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and a claim
    /// whose owner died is taken over once its lease ends.
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>>;
    /// Records an attempt by the claim's owner, schedules the next or ends
    /// the delivery, and updates the endpoint's failing streak (disabling
    /// it past `disable_after_ms`). Whether `owner` still held the claim.
    async fn finish_delivery(&self, attempt: &DeliveryAttempt) -> Result<bool>;
    /// An endpoint's latest attempts, newest first.
    async fn delivery_log(&self, endpoint_id: &str, limit: i64) -> Result<Vec<DeliveryLogRow>>;

    // ---- workspace connectors (#13) ----

    /// Creates a workspace connector, with the events reporting it;
    /// `Conflict` when the workspace already has one of that name.
    async fn create_workspace_connector(
        &self,
        connector: &WorkspaceConnectorRow,
        events: &[NewEvent],
    ) -> Result<()>;
    /// A workspace's connectors, by name.
    async fn list_workspace_connectors(
        &self,
        workspace_id: &str,
    ) -> Result<Vec<WorkspaceConnectorRow>>;
    /// One workspace connector.
    async fn get_workspace_connector(&self, id: &str) -> Result<Option<WorkspaceConnectorRow>>;
    /// Replaces a workspace connector's changeable fields (all but its id,
    /// workspace, type and creation time); `false` if it is gone,
    /// `Conflict` when another of the workspace's connectors has the name.
    /// The events are written with the change.
    async fn update_workspace_connector(
        &self,
        connector: &WorkspaceConnectorRow,
        events: &[NewEvent],
    ) -> Result<bool>;
    /// Deletes a workspace connector with every connection made through it
    /// and their credentials, in one transaction that also fails their
    /// `PENDING` attempts with [`REMOVED_REASON`] and writes `events` and
    /// what `per_connection` makes of each removed connection; `false` if
    /// it was gone.
    async fn delete_workspace_connector(
        &self,
        id: &str,
        now: i64,
        events: &[NewEvent],
        per_connection: &EventsOf<'_>,
    ) -> Result<bool>;
    /// The connections made through a workspace connector, in every app.
    async fn connections_of_workspace_connector(&self, id: &str) -> Result<Vec<ConnectorKey>>;
    /// An app's connections of workspace connectors.
    async fn list_workspace_connections(&self, app_id: &str) -> Result<Vec<ConnectorRow>>;
    /// An app's users' own connections of workspace connectors.
    async fn list_app_user_connections(&self, app_id: &str) -> Result<Vec<ConnectorRow>>;

    // ---- the audit trail (#15.5) ----

    /// Appends an entry to the audit trail; its id, larger than every id
    /// appended before (committed in id order, so a reader resuming after
    /// an id never skips one). Nothing updates an entry.
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64>;
    /// A page of a workspace's or an app's entries.
    async fn list_audit(&self, scope: AuditScope<'_>, page: AuditPage) -> Result<Vec<AuditRow>>;
    /// Deletes entries older than `before` (Unix ms), the retention's purge;
    /// how many went.
    async fn purge_audit(&self, before: i64) -> Result<u64>;
}

/// The `status_reason` of an attempt cancelled because its connector was
/// removed ([`Store::delete_connector`]).
pub const REMOVED_REASON: &str = "the connector was removed from the app";

/// The associated-data context binding a sealed credential column to its row.
pub fn credentials_context(app_id: &str, integration_type: &str, column: &str) -> String {
    format!("credentials:{app_id}:{integration_type}:{column}")
}

/// The associated-data context binding a sealed attempt column to its row.
pub fn attempt_context(connection_id: &str, column: &str) -> String {
    format!("oauth_attempts:{connection_id}:{column}")
}

/// The associated-data context binding a sealed sandbox column to its app.
pub fn stripe_context(app_id: &str, column: &str) -> String {
    format!("stripe_sandboxes:{app_id}:{column}")
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

pub(crate) fn scopes_from_json(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt("scopes"))
}

pub(crate) fn config_from_json(text: Option<String>) -> Result<Option<BTreeMap<String, String>>> {
    text.map(|t| serde_json::from_str(&t).map_err(|_| StoreError::Corrupt("connection_config")))
        .transpose()
}
