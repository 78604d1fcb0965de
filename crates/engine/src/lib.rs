//! The connectors domain: who may do what to which app, and the use cases
//! behind every endpoint (set, list, remove, consent status, tokens for
//! functions) plus the operator's administration (bootstrap, keys, rotation).
//!
//! Central types: [`Engine`] (cheap to clone), [`Principal`], [`EngineError`].
//! The engine seals and opens secrets with the key ring and talks to the
//! database only through [`connectors_store::Store`]; it knows nothing of
//! HTTP frameworks.
#![deny(missing_docs)]

mod accounts;
mod admin;
mod app_user_connections;
mod app_users;
mod audit;
mod cache;
mod connectors;
mod consent;
mod credentials;
mod dashboard;
mod device;
mod error;
mod events;
mod last_use;
mod limit;
mod metrics;
mod principal;
mod provider;
mod proxy;
mod refresh;
mod sso;
mod stripe;
mod webhooks;
mod workspace;

use std::sync::Arc;

use connectors_catalog::Catalog;
pub use connectors_clock::{Clock, TestClock};
use connectors_store::{Store, StoreError};
use connectors_vault::KeyRing;

pub use accounts::{
    AccountError, AccountsConfig, Home, Invitation, NewSession, SignedInBuilder,
    ADDRESS_LIMIT_FACTOR, INVITE_PATH, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS,
};
pub use admin::{
    AdminError, Bootstrap, BootstrapRequest, Health, ImportCredentials, IssuedSecret, WorkspaceApps,
};
pub use app_user_connections::{AppUserConnectionView, AppUserConsent};
pub use app_users::{
    origin_allowed, return_to, AppUser, MintedAppUserToken, DEFAULT_APP_USER_TOKEN_SECS,
    MAX_ALLOWED_ORIGINS, MAX_APP_USER_TOKEN_SECS, MINTS_PER_WINDOW, MINT_WINDOW_SECS,
};
pub use audit::{AuditHistory, AuditOf, RequestContext};
pub use cache::{CacheConfig, DEFAULT_MAX_AGE_MS, DEFAULT_MAX_ENTRIES};
pub use connectors_store::CredentialsHealth;
pub use connectors_store::PoolStats;
/// The records administration creates and returns.
pub use connectors_store::{ApiKeyInfo, App, Builder, ServiceTokenInfo, Workspace};
pub use connectors_webhooks::RetrySchedule;
pub use connectors_wire::{IntegrationType, InvalidIntegrationType};
pub use consent::{
    CallbackParams, Completed, ConnectPage, ConsentError, Landing, CALLBACK_PATH,
    EXTERNAL_CALLBACK_PATH,
};
pub use credentials::{ApiKeyScope, Revocation, ServiceTokenScope};
pub use dashboard::{AppOverview, ConnectorView, ProviderView, StripeView, WorkspaceConnectorView};
pub use device::{
    DeviceAuthorization, DeviceError, DeviceLoginRequest, DeviceSettings, IssuedTokens, UserInfo,
    ACCESS_TOKEN_AUDIENCE, CLI_CLIENT_ID, DEVICE_CODE_GRANT, VERIFICATION_PATH,
};
pub use error::{EngineError, Result};
pub use events::{RemovedBy, DEFAULT_EVENTS_PAGE, MAX_EVENTS_PAGE};
pub use last_use::LAST_USE_GRANULARITY_SECS;
pub use metrics::{CacheCounts, DeliveryCounts, EngineMetrics, RefreshCounts};
pub use principal::{AuthorizedApp, Credential, Principal, ServiceApp};
pub use proxy::{ProxyAnswer, ProxySettings};
pub use sso::{
    check_sso_issuer, SsoCallback, SsoConfig, SsoError, SsoSignedIn, SsoStart, SSO_CALLBACK_PATH,
    SSO_START_PATH,
};
pub use stripe::{StripeSettings, STRIPE_CLAIM_PATH};
pub use webhooks::{
    WebhookOwner, WebhookSettings, AUTO_DISABLED_REASON, DEFAULT_SECRET_OVERLAP_SECS,
    MAX_ENDPOINTS_PER_APP, MAX_SECRET_OVERLAP_SECS,
};
pub use workspace::AuthorizedWorkspace;

/// Settings the engine needs beyond its parts.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where browsers and clients reach this server (no trailing slash).
    pub public_url: String,
    /// How long a consent link stays usable, in seconds.
    pub attempt_ttl_secs: i64,
    /// How long an OAuth `state` is accepted once consent starts, in seconds.
    pub state_ttl_secs: i64,
    /// Refresh this long before expiry (bounded by a quarter of the lifetime).
    pub refresh_margin_secs: i64,
    /// How long a refresh lease lasts before another process may take over.
    pub lease_secs: i64,
    /// Provider calls per refresh before giving up on transient failures.
    pub refresh_attempts: u32,
    /// Timeout of one provider call.
    pub provider_timeout: std::time::Duration,
    /// Stripe's platform account, when the operator configured one.
    pub stripe: Option<StripeSettings>,
    /// Where "now" comes from for expiries, TTLs and leases (tests advance it).
    pub clock: Clock,
    /// Bounds of the read cache of principals and tokens.
    pub cache: CacheConfig,
    /// Lifetimes and limits of `base44 login` (device codes, tokens).
    pub device: DeviceSettings,
    /// Sessions, invites and the sign-in limit (`[auth]`).
    pub accounts: AccountsConfig,
    /// Single sign-on with the operator's OpenID Connect provider
    /// (`[auth.oidc]`), when set.
    pub sso: Option<SsoConfig>,
    /// The `callApi` proxy's limits (`[proxy]`).
    pub proxy: ProxySettings,
    /// `[webhooks]`: delivery of connection events.
    pub webhooks: WebhookSettings,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8044".into(),
            attempt_ttl_secs: 3600,
            state_ttl_secs: 600,
            refresh_margin_secs: 60,
            lease_secs: 30,
            refresh_attempts: 3,
            provider_timeout: std::time::Duration::from_secs(10),
            stripe: None,
            clock: Clock::system(),
            cache: CacheConfig::default(),
            device: DeviceSettings::default(),
            accounts: AccountsConfig::default(),
            sso: None,
            proxy: ProxySettings::default(),
            webhooks: WebhookSettings::default(),
        }
    }
}

/// The use cases, over shared parts.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    keys: Arc<KeyRing>,
    config: EngineConfig,
    oauth: connectors_oauth::OAuthClient,
    single_flight: refresh::SingleFlight,
    refresh_counters: metrics::RefreshCounters,
    delivery_counters: metrics::DeliveryCounters,
    cache: Arc<cache::ReadCache>,
    /// App users: the mint limit and the providers' keys.
    app_users: app_users::AppUserState,
    /// Wrong user codes entered recently (RFC 8628 §5.1).
    code_entry: device::CodeEntryLimits,
    /// Last-use writes in flight.
    last_use: Arc<last_use::LastUse>,
    /// The identity provider's discovery document and keys.
    sso_cache: sso::SsoCache,
    /// Stops the task that applies the database's change feed to the cache
    /// when the engine is dropped.
    _feed_stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Identifies this process as a lease owner.
    owner_id: String,
    /// The `callApi` proxy's HTTP clients.
    outbound: connectors_proxy::Outbound,
    /// Workspace connectors' types and switches, for the token routes.
    connector_facts: quick_cache::sync::Cache<String, workspace::ConnectorFacts>,
    webhook_sender: connectors_webhooks::Sender,
    /// Wakes this replica's delivery worker when something was queued here.
    deliveries_wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("public_url", &self.inner.config.public_url)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Assembles an engine.
    pub fn new(
        store: Arc<dyn Store>,
        catalog: Arc<Catalog>,
        keys: Arc<KeyRing>,
        config: EngineConfig,
    ) -> Self {
        let mut config = config;
        config.public_url = config.public_url.trim_end_matches('/').to_string();
        let cache = Arc::new(cache::ReadCache::new(config.cache));
        let feed_stop = cache::follow_changes(&store, &cache);
        let outbound = config.proxy.outbound();
        let webhook_sender = config.webhooks.sender();
        Self {
            inner: Arc::new(Inner {
                cache,
                code_entry: device::CodeEntryLimits::default(),
                app_users: app_users::AppUserState::default(),
                last_use: Arc::default(),
                sso_cache: sso::SsoCache::default(),
                _feed_stop: feed_stop,
                store,
                catalog,
                keys,
                oauth: connectors_oauth::OAuthClient::new(config.provider_timeout)
                    .with_clock(config.clock.clone()),
                config,
                single_flight: refresh::SingleFlight::default(),
                refresh_counters: metrics::RefreshCounters::default(),
                delivery_counters: metrics::DeliveryCounters::default(),
                owner_id: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
                connector_facts: quick_cache::sync::Cache::new(10_000),
                outbound,
                webhook_sender,
                deliveries_wake: tokio::sync::Notify::new(),
            }),
        }
    }

    /// Opens the database named by `database_url` (`sqlite://<path>`,
    /// another `sqlite:` URL, or `postgres://…`), applies its migrations and
    /// assembles the engine over it: callers never name the store.
    /// `max_connections` bounds the database pool (`None`: the backend's
    /// default, 8 on SQLite and 10 on PostgreSQL).
    pub async fn open(
        database_url: &str,
        max_connections: Option<u32>,
        catalog: Arc<Catalog>,
        keys: Arc<KeyRing>,
        config: EngineConfig,
    ) -> std::result::Result<Self, DatabaseError> {
        let store = connectors_store::open_with(database_url, max_connections)
            .await
            .map_err(|e| DatabaseError::new(database_url, e))?;
        Ok(Self::new(store, catalog, keys, config))
    }

    /// The catalog in use.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The store in use: not API, since every use case goes through the
    /// engine; tests reach it with the `test-support` feature for set-up
    /// the API does not offer.
    #[cfg(feature = "test-support")]
    pub fn store(&self) -> &dyn Store {
        &*self.inner.store
    }

    #[cfg(not(feature = "test-support"))]
    pub(crate) fn store(&self) -> &dyn Store {
        &*self.inner.store
    }

    /// The key ring in use.
    pub(crate) fn keys(&self) -> &KeyRing {
        &self.inner.keys
    }

    /// The client that talks to providers.
    pub(crate) fn oauth(&self) -> &connectors_oauth::OAuthClient {
        &self.inner.oauth
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Unix time in seconds, by the engine's clock.
    pub(crate) fn now(&self) -> i64 {
        self.inner.config.clock.now_secs()
    }

    /// Unix time in milliseconds (token expiries need the precision).
    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.config.clock.now_ms()
    }
}

/// Why [`Engine::open`] could not open the database; each text names the
/// database (never a password) and what to check.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The URL is wrong or names a database that cannot be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The database was reached but could not be opened or migrated.
    #[error("opening the {what}")]
    Open {
        /// Which database, e.g. "SQLite database ./data/connectors.db".
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl DatabaseError {
    fn new(database_url: &str, e: StoreError) -> Self {
        match e {
            StoreError::Unreachable(text) => Self::Unreachable(text),
            source => Self::Open {
                what: match database_url.strip_prefix("sqlite://") {
                    Some(path) => {
                        format!("SQLite database {}", std::path::Path::new(path).display())
                    }
                    None => "database of database_url".into(),
                },
                source: Box::new(source),
            },
        }
    }
}

/// The environment-variable prefix for a provider's client settings,
/// e.g. `CONNECTORS_PROVIDER_GOOGLECALENDAR`.
pub fn provider_env_prefix(integration_type: &str) -> String {
    format!(
        "CONNECTORS_PROVIDER_{}",
        integration_type.to_ascii_uppercase().replace('-', "_")
    )
}

#[cfg(test)]
mod tests;
