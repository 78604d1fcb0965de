//! Assembling an [`Engine`] from a [`ServerConfig`]: database, keys, catalog.

use std::sync::Arc;

use connectors_catalog::{Catalog, CatalogError, BUILTIN_CATALOG};
use connectors_engine::{
    CacheConfig, Clock, DatabaseError, DeviceSettings, Engine, EngineConfig, StripeSettings,
};
use connectors_stripe::StripeClient;
use connectors_vault::{KeyRing, Secret, VaultError};

use crate::config::ServerConfig;

/// Name of the generated key file inside the data directory.
pub const KEY_FILE: &str = "encryption.keys";

/// Why the engine could not be assembled; each text names the setting or
/// file to check, and the cause follows as its `source()` (the binary prints
/// the chain).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The `[providers]` sections do not make a usable catalog.
    #[error("loading the [providers] configuration")]
    Providers(#[source] CatalogError),
    /// The configured keys do not parse.
    #[error("reading [encryption] keys (or CONNECTORS_ENCRYPTION_KEYS)")]
    Keys(#[source] VaultError),
    /// The key file could not be read or created.
    #[error(transparent)]
    KeyFile(VaultError),
    /// The database cannot be reached, opened or migrated; the text names
    /// it (never its password) and what to check.
    #[error(transparent)]
    Database(#[from] DatabaseError),
}

/// The key ring: configured keys, or the key file in the data directory
/// (created with one new key, mode 0600, on first start).
pub fn key_ring(config: &ServerConfig) -> Result<KeyRing, SetupError> {
    if !config.encryption_keys.is_empty() {
        let specs: Vec<&str> = config.encryption_keys.iter().map(Secret::expose).collect();
        return KeyRing::from_specs(&specs).map_err(SetupError::Keys);
    }
    let path = config.data_dir.join(KEY_FILE);
    if config.database_url.starts_with("postgres") {
        tracing::warn!(
            path = %path.display(),
            "encryption keys come from this machine's key file; every replica sharing the PostgreSQL database needs the same keys: set [encryption] keys (see docs/deployment.md)"
        );
    }
    let (ring, created) = KeyRing::load_or_create_file(&path).map_err(SetupError::KeyFile)?;
    if created {
        tracing::warn!(
            path = %path.display(),
            key_id = ring.active_id(),
            "generated a new encryption key (mode 0600); back it up: without it stored tokens cannot be read"
        );
    }
    Ok(ring)
}

/// Builds the engine for `config`; `public_url` is the address clients reach.
pub async fn engine(config: &ServerConfig, public_url: &str) -> Result<Engine, SetupError> {
    engine_with_clock(config, public_url, Clock::system()).await
}

/// [`engine`] reading the time from `clock` (tests move it forward).
pub async fn engine_with_clock(
    config: &ServerConfig,
    public_url: &str,
    clock: Clock,
) -> Result<Engine, SetupError> {
    let catalog =
        Catalog::load(BUILTIN_CATALOG, &config.providers).map_err(SetupError::Providers)?;
    let keys = key_ring(config)?;
    Ok(Engine::open(
        &config.database_url,
        config.database.max_connections,
        Arc::new(catalog),
        Arc::new(keys),
        EngineConfig {
            public_url: public_url.to_string(),
            attempt_ttl_secs: config.oauth.attempt_ttl_secs,
            state_ttl_secs: config.oauth.state_ttl_secs,
            refresh_margin_secs: config.oauth.refresh_margin_secs,
            lease_secs: config.oauth.lease_secs,
            refresh_attempts: config.oauth.refresh_attempts,
            provider_timeout: std::time::Duration::from_secs(config.oauth.provider_timeout_secs),
            stripe: stripe_settings(&config.stripe),
            clock,
            cache: CacheConfig {
                max_entries: config.cache.max_entries,
                max_age_ms: config.cache.max_age_ms,
            },
            device: DeviceSettings {
                access_token_ttl_secs: config.auth.access_token_ttl_secs,
                refresh_token_ttl_secs: config.auth.refresh_token_ttl_secs,
                ..DeviceSettings::default()
            },
            accounts: config.auth.accounts(),
            sso: config
                .auth
                .oidc
                .as_ref()
                .and_then(crate::config::OidcConfig::sso),
            proxy: config.proxy.settings(),
            webhooks: config.webhooks.settings(),
        },
    )
    .await?)
}

/// The Stripe client, when the operator gave a platform key.
fn stripe_settings(config: &crate::config::StripeConfig) -> Option<StripeSettings> {
    let key = config.api_key.clone()?;
    Some(StripeSettings {
        client: StripeClient::new(
            config
                .api_base
                .as_deref()
                .unwrap_or("https://api.stripe.com"),
            key,
            config
                .version
                .as_deref()
                .unwrap_or(connectors_stripe::DEFAULT_VERSION),
            std::time::Duration::from_secs(config.timeout_secs.unwrap_or(20)),
        ),
        country: config.country.clone().unwrap_or_else(|| "US".into()),
    })
}

/// Refreshes tokens close to expiry until `shutdown` fires.
pub async fn background_refresh(
    engine: Engine,
    config: crate::config::OAuthTuning,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(
        config.background_interval_secs.max(1),
    ));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match engine.refresh_due(config.background_window_secs, 100).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(count = n, "background refresh pass"),
                    Err(e) => tracing::warn!(error = %e, "background refresh pass failed"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// How often the audit trail's old entries are purged.
const AUDIT_PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes audit entries older than `[audit] retention_days`, now and then
/// hourly, until `shutdown` fires (never with 0: entries are kept forever).
/// Every replica may run it: a purge is one idempotent DELETE.
pub async fn background_audit_purge(
    engine: Engine,
    config: crate::config::AuditTuning,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if config.retention_days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(AUDIT_PURGE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match engine.purge_audit(config.retention_days).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(count = n, retention_days = config.retention_days, "purged old audit entries"),
                    Err(e) => tracing::warn!(error = %e, "purging old audit entries failed; retrying in an hour"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
