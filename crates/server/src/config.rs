//! Server configuration: one TOML file, then the environment, then flags.
//!
//! Errors name the file, line and column, and say what to change.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use connectors_catalog::ProviderConfig;
use connectors_vault::Secret;
use serde::Deserialize;

/// The config file as written by the operator.
#[derive(Debug, Default, Deserialize)]
pub struct FileConfig {
    /// Where browsers and clients reach this server.
    pub public_url: Option<String>,
    /// Address to listen on.
    pub bind: Option<String>,
    /// Where the embedded database and generated key live.
    pub data_dir: Option<PathBuf>,
    /// `sqlite://path` (default: `<data_dir>/connectors.db`) or
    /// `postgres://user[:password]@host[:port]/database` (for several replicas).
    pub database_url: Option<String>,
    /// `text` or `json`.
    pub log_format: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: Option<usize>,
    /// Encryption keys.
    #[serde(default)]
    pub encryption: EncryptionConfig,
    /// Per-type OAuth clients, overrides and custom providers.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Stripe platform settings.
    #[serde(default)]
    pub stripe: StripeConfig,
    /// OAuth flow and refresh tuning.
    #[serde(default)]
    pub oauth: OAuthTuning,
    /// Connection timeouts and shutdown.
    #[serde(default)]
    pub http: HttpTuning,
    /// Who may read `/metrics`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Database pool.
    #[serde(default)]
    pub database: DatabaseTuning,
    /// The read cache of principals and tokens.
    #[serde(default)]
    pub cache: CacheTuning,
    /// Builder sign-in (sessions, invites, the failed sign-in limit) and
    /// `base44 login` token lifetimes.
    #[serde(default)]
    pub auth: AuthTuning,
    /// The `callApi` proxy's outbound limits.
    #[serde(default)]
    pub proxy: ProxyTuning,
    /// Webhook delivery of connection events, and how long events are kept.
    #[serde(default)]
    pub webhooks: WebhooksTuning,
    /// How long the audit trail keeps its entries.
    #[serde(default)]
    pub audit: AuditTuning,
}

/// `[webhooks]`: how connection events reach apps' endpoints (Standard
/// Webhooks, at least once) and how long the event log keeps them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksTuning {
    /// Let endpoints be loopback or private addresses, and plain `http`
    /// (tests and development only; default false).
    pub allow_private_networks: bool,
    /// Until a receiver's connection is up (default 5).
    pub connect_timeout_secs: u64,
    /// Until a receiver's whole answer is read (default 10).
    pub timeout_secs: u64,
    /// Waits between attempts, in seconds; one more attempt than entries
    /// (default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: 8 attempts over
    /// about 27.6 h).
    pub retry_schedule_secs: Vec<f64>,
    /// Each wait moves by up to this fraction either way (default 0.2).
    pub jitter: f64,
    /// Disable an endpoint whose every attempt failed for this long
    /// (default 86400, a day).
    pub disable_after_secs: u64,
    /// How often each replica looks for due deliveries (default 1000).
    pub poll_interval_ms: u64,
    /// Deliveries a replica sends at once (default 16).
    pub batch: usize,
    /// Days events and finished deliveries are kept (default 30).
    pub retention_days: u64,
}

impl Default for WebhooksTuning {
    fn default() -> Self {
        let d = connectors_engine::WebhookSettings::default();
        Self {
            allow_private_networks: d.allow_private_networks,
            connect_timeout_secs: d.connect_timeout.as_secs(),
            timeout_secs: d.timeout.as_secs(),
            retry_schedule_secs: d.schedule.delays.iter().map(|s| s.as_secs_f64()).collect(),
            jitter: d.schedule.jitter,
            disable_after_secs: d.disable_after.as_secs(),
            poll_interval_ms: d.poll_interval.as_millis() as u64,
            batch: d.batch,
            retention_days: d.retention.as_secs() / 86_400,
        }
    }
}

impl WebhooksTuning {
    /// The engine's settings.
    pub fn settings(&self) -> connectors_engine::WebhookSettings {
        use std::time::Duration;
        connectors_engine::WebhookSettings {
            allow_private_networks: self.allow_private_networks,
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            timeout: Duration::from_secs(self.timeout_secs),
            schedule: connectors_engine::RetrySchedule {
                delays: self
                    .retry_schedule_secs
                    .iter()
                    .map(|s| Duration::from_secs_f64(*s))
                    .collect(),
                jitter: self.jitter,
            },
            disable_after: Duration::from_secs(self.disable_after_secs),
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            batch: self.batch,
            retention: Duration::from_secs(self.retention_days.saturating_mul(86_400)),
        }
    }

    /// The first value out of range, as (key, what is wrong).
    fn problem(&self) -> Option<(&'static str, String)> {
        for (key, value) in [
            ("connect_timeout_secs", self.connect_timeout_secs),
            ("timeout_secs", self.timeout_secs),
        ] {
            if !(1..=60).contains(&value) {
                return Some((key, format!("is {value}; it must be from 1 to 60 seconds")));
            }
        }
        if self.retry_schedule_secs.len() > 20 {
            return Some((
                "retry_schedule_secs",
                format!(
                    "has {} entries; at most 20 (21 attempts)",
                    self.retry_schedule_secs.len()
                ),
            ));
        }
        if let Some(bad) = self
            .retry_schedule_secs
            .iter()
            .find(|s| !s.is_finite() || **s < 0.0 || **s > 7.0 * 86_400.0)
        {
            return Some((
                "retry_schedule_secs",
                format!("has {bad}; each wait must be from 0 to 604800 seconds (a week)"),
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Some((
                "jitter",
                format!("is {}; it must be from 0 to 1", self.jitter),
            ));
        }
        if !(10..=3_600_000).contains(&self.poll_interval_ms) {
            return Some((
                "poll_interval_ms",
                format!(
                    "is {}; it must be from 10 to 3600000 (an hour)",
                    self.poll_interval_ms
                ),
            ));
        }
        if !(1..=256).contains(&self.batch) {
            return Some((
                "batch",
                format!("is {}; it must be from 1 to 256", self.batch),
            ));
        }
        if !(1..=3650).contains(&self.retention_days) {
            return Some((
                "retention_days",
                format!("is {}; it must be from 1 to 3650", self.retention_days),
            ));
        }
        if self.disable_after_secs == 0 {
            return Some((
                "disable_after_secs",
                "is 0; it must be at least 1 second".into(),
            ));
        }
        None
    }
}

/// `[audit]`: the audit trail's retention (#15.5).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditTuning {
    /// Entries older than this many days are deleted, hourly (default 365;
    /// 0 keeps them forever).
    pub retention_days: u32,
}

impl Default for AuditTuning {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

/// The longest `[audit] retention_days` accepted (100 years).
const MAX_AUDIT_RETENTION_DAYS: u32 = 36_500;

/// `[proxy]`: what the `callApi` proxy may reach and for how long. Only a
/// type's declared API hosts are ever called; this bounds the rest.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyTuning {
    /// Let API hosts resolve to loopback, private and link-local networks
    /// (tests and development only; default false).
    pub allow_private_networks: bool,
    /// Until an upstream connection (and TLS) is up (default 10).
    pub connect_timeout_secs: u64,
    /// Until the whole upstream response is read (default 30).
    pub timeout_secs: u64,
    /// Largest upstream response body, decoded (default 10 MiB).
    pub max_response_bytes: usize,
    /// Calls each app may make per UTC month (402 beyond); unset:
    /// unmetered, and `credits_charged` is always 0.
    pub monthly_calls: Option<u64>,
}

impl Default for ProxyTuning {
    fn default() -> Self {
        let d = connectors_engine::ProxySettings::default();
        Self {
            allow_private_networks: d.allow_private_networks,
            connect_timeout_secs: d.connect_timeout.as_secs(),
            timeout_secs: d.timeout.as_secs(),
            max_response_bytes: d.max_response_bytes,
            monthly_calls: d.monthly_calls,
        }
    }
}

impl ProxyTuning {
    /// The engine's settings.
    pub fn settings(&self) -> connectors_engine::ProxySettings {
        connectors_engine::ProxySettings {
            allow_private_networks: self.allow_private_networks,
            connect_timeout: std::time::Duration::from_secs(self.connect_timeout_secs),
            timeout: std::time::Duration::from_secs(self.timeout_secs),
            max_response_bytes: self.max_response_bytes,
            monthly_calls: self.monthly_calls,
        }
    }
}

/// The longest `[proxy]` timeout accepted, seconds.
const MAX_PROXY_SECS: u64 = 300;
/// The largest `[proxy] max_response_bytes` accepted (100 MiB).
const MAX_PROXY_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

/// `[auth]`: builder sign-in in the browser (sessions live in the
/// database, so every replica honours them) and the lifetimes of the tokens
/// `base44 login` issues (access tokens are JWTs checked without the
/// database, so they stay short; refresh tokens rotate on every use).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthTuning {
    /// A session unused this long ends (default 12 h).
    pub session_idle_secs: i64,
    /// A session ends this long after sign-in, used or not (default 7 days).
    pub session_max_secs: i64,
    /// How long an invite link works (default 7 days).
    pub invite_ttl_secs: i64,
    /// Failed sign-ins per account within the window before sign-in is
    /// refused (default 10; per client address three times as many). A
    /// sign-in clears its account's count.
    pub signin_max_failures: i64,
    /// The window failed sign-ins are counted in (default 15 minutes).
    pub signin_window_secs: i64,
    /// `base44 login` access-token lifetime, seconds (default 900).
    pub access_token_ttl_secs: i64,
    /// `base44 login` refresh-token lifetime, seconds (default 30 days).
    pub refresh_token_ttl_secs: i64,
    /// `[auth.oidc]`: single sign-on with the operator's OpenID Connect
    /// provider, when set.
    pub oidc: Option<OidcConfig>,
}

/// `[auth.oidc]`: builders may also sign in with the operator's OpenID
/// Connect provider (only builders who already exist; SSO creates none).
/// Register `{public_url}/signin/oidc/callback` as the client's redirect URI.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer URL; its discovery document must name exactly this.
    pub issuer: String,
    /// The client id at the provider.
    pub client_id: String,
    /// The client secret (or `CONNECTORS_OIDC_CLIENT_SECRET`).
    pub client_secret: Option<Secret>,
    /// The provider's name on the button, "Sign in with …" (default "SSO").
    pub display_name: Option<String>,
    /// Scopes asked for, a list or one space-separated string (default
    /// "openid email"); `openid` must be among them.
    pub scopes: Option<Scopes>,
}

/// Scopes as a TOML list or one space-separated string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scopes {
    /// `"openid email"`.
    Text(String),
    /// `["openid", "email"]`.
    List(Vec<String>),
}

impl Scopes {
    fn list(&self) -> Vec<String> {
        let words: Vec<&str> = match self {
            Scopes::Text(t) => t.split_whitespace().collect(),
            Scopes::List(l) => l.iter().map(|s| s.trim()).collect(),
        };
        let mut out: Vec<String> = Vec::new();
        for w in words.into_iter().filter(|w| !w.is_empty()) {
            if !out.iter().any(|s| s == w) {
                out.push(w.to_string());
            }
        }
        out
    }
}

/// The longest button name accepted, in characters.
const MAX_DISPLAY_NAME_CHARS: usize = 60;

impl OidcConfig {
    /// The engine's form, once the secret is known.
    pub fn sso(&self) -> Option<connectors_engine::SsoConfig> {
        Some(connectors_engine::SsoConfig {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone()?,
            display_name: self
                .display_name
                .clone()
                .unwrap_or_else(|| "SSO".to_string()),
            scopes: self
                .scopes
                .as_ref()
                .map(Scopes::list)
                .unwrap_or_else(|| vec!["openid".into(), "email".into()]),
        })
    }
}

impl Default for AuthTuning {
    fn default() -> Self {
        let a = connectors_engine::AccountsConfig::default();
        let d = connectors_engine::DeviceSettings::default();
        Self {
            session_idle_secs: a.session_idle_secs,
            session_max_secs: a.session_max_secs,
            invite_ttl_secs: a.invite_ttl_secs,
            signin_max_failures: a.signin_max_failures,
            signin_window_secs: a.signin_window_secs,
            access_token_ttl_secs: d.access_token_ttl_secs,
            refresh_token_ttl_secs: d.refresh_token_ttl_secs,
            oidc: None,
        }
    }
}

impl AuthTuning {
    /// The engine's form of these settings.
    pub fn accounts(&self) -> connectors_engine::AccountsConfig {
        connectors_engine::AccountsConfig {
            session_idle_secs: self.session_idle_secs,
            session_max_secs: self.session_max_secs,
            invite_ttl_secs: self.invite_ttl_secs,
            signin_max_failures: self.signin_max_failures,
            signin_window_secs: self.signin_window_secs,
        }
    }
}

/// `[cache]`: bounds of the in-memory cache that answers token reads
/// without the database. Every write through a server invalidates it at
/// once, and on PostgreSQL every replica hears of every change (LISTEN/
/// NOTIFY); `max_age_ms` bounds how long an entry is served when nothing
/// announces a change (an admin command on a SQLite file).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheTuning {
    /// Entries kept per map (principals, tokens); 0 turns the cache off.
    pub max_entries: usize,
    /// Milliseconds an entry is served after it was read; 0 turns the
    /// cache off.
    pub max_age_ms: u64,
}

impl Default for CacheTuning {
    fn default() -> Self {
        Self {
            max_entries: connectors_engine::DEFAULT_MAX_ENTRIES,
            max_age_ms: connectors_engine::DEFAULT_MAX_AGE_MS,
        }
    }
}

/// The largest `[cache] max_entries`: about 1 GB of entries at worst.
const MAX_CACHE_ENTRIES: usize = 1_000_000;
/// The largest `[cache] max_age_ms`: what admin commands write to a SQLite
/// file is seen at the latest this long after.
const MAX_CACHE_AGE_MS: u64 = 60_000;

/// `[metrics]`: an optional bearer token for `/metrics`, inline or in a
/// file (a mounted secret). Unset, `/metrics` is open, as Prometheus
/// endpoints usually are: it shows counts and route templates, never ids
/// or secrets; keep it off the public internet or set a token.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// The token scrapers send as `Authorization: Bearer …`.
    pub bearer_token: Option<Secret>,
    /// A file holding that token (surrounding whitespace ignored).
    pub bearer_token_file: Option<PathBuf>,
}

/// `[database]`: the connection pool of this server process.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseTuning {
    /// Most connections held at once (default 8 on SQLite, 10 on
    /// PostgreSQL). On PostgreSQL, replicas × this must stay below the
    /// server's own `max_connections`.
    pub max_connections: Option<u32>,
}

/// The largest `[database] max_connections` accepted: PostgreSQL's own
/// limit is rarely set higher, and each connection costs memory on both ends.
const MAX_POOL_SIZE: u32 = 1000;

/// `[http]`: how long the server waits for clients, and for itself on
/// shutdown, so that no client can hold a connection (or a SIGTERM) forever.
/// Seconds, fractions allowed; the defaults suit production.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpTuning {
    /// Time to receive a whole request head, counted from when the server
    /// starts waiting for one: from accept on a new connection, from the end
    /// of the previous response on a keep-alive one. So this is also the
    /// keep-alive idle timeout (hyper has one timer for both).
    pub header_read_timeout_secs: f64,
    /// Longest pause while a request body arrives; then 408.
    pub body_read_timeout_secs: f64,
    /// Longest time to answer one request; then 503.
    pub request_timeout_secs: f64,
    /// On SIGTERM: how long open requests may finish before the connections
    /// left are closed.
    pub shutdown_drain_secs: f64,
}

impl Default for HttpTuning {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 20.0,
            body_read_timeout_secs: 20.0,
            request_timeout_secs: 30.0,
            shutdown_drain_secs: 20.0,
        }
    }
}

/// The longest any `[http]` duration may be: an hour (and within what a
/// `Duration` holds).
const MAX_HTTP_SECS: f64 = 3600.0;

impl HttpTuning {
    /// [`Self::header_read_timeout_secs`].
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.header_read_timeout_secs)
    }
    /// [`Self::body_read_timeout_secs`].
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.body_read_timeout_secs)
    }
    /// [`Self::request_timeout_secs`].
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout_secs)
    }
    /// [`Self::shutdown_drain_secs`].
    pub fn shutdown_drain(&self) -> Duration {
        Duration::from_secs_f64(self.shutdown_drain_secs)
    }
}

/// `[oauth]`: timings of consent and refresh. The defaults suit production.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthTuning {
    /// How long a consent link stays usable.
    pub attempt_ttl_secs: i64,
    /// How long an OAuth `state` is accepted once consent starts.
    pub state_ttl_secs: i64,
    /// Refresh this long before expiry (bounded by a quarter of the lifetime).
    pub refresh_margin_secs: i64,
    /// Refresh lease length; another process takes over after it.
    pub lease_secs: i64,
    /// Provider calls per refresh before reporting the provider unavailable.
    pub refresh_attempts: u32,
    /// Timeout of one provider call.
    pub provider_timeout_secs: u64,
    /// Refresh tokens close to expiry in the background.
    pub background_refresh: bool,
    /// How often the background refresh looks for due tokens.
    pub background_interval_secs: u64,
    /// Tokens expiring within this window are refreshed in the background.
    pub background_window_secs: i64,
}

impl Default for OAuthTuning {
    fn default() -> Self {
        Self {
            attempt_ttl_secs: 3600,
            state_ttl_secs: 600,
            refresh_margin_secs: 60,
            lease_secs: 30,
            refresh_attempts: 3,
            provider_timeout_secs: 10,
            background_refresh: true,
            background_interval_secs: 30,
            background_window_secs: 300,
        }
    }
}

/// `[encryption]`.
#[derive(Debug, Default, Deserialize)]
pub struct EncryptionConfig {
    /// `"<id>:<base64 of 32 bytes>"`, active key first.
    #[serde(default)]
    pub keys: Vec<Secret>,
}

impl MetricsConfig {
    /// The configured token, read from its file if given there.
    fn bearer(&self, origin: &str) -> Result<Option<Secret>, ConfigError> {
        let token = match (&self.bearer_token, &self.bearer_token_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(format!(
                    "{origin}: [metrics] sets both bearer_token and bearer_token_file; keep one"
                )))
            }
            (Some(token), None) => token.expose().trim().to_string(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| {
                    ConfigError(format!(
                        "{origin}: [metrics] bearer_token_file {}: {e}; check the path and its permissions",
                        path.display()
                    ))
                })?
                .trim()
                .to_string(),
            (None, None) => return Ok(None),
        };
        if token.is_empty() {
            return Err(ConfigError(format!(
                "{origin}: [metrics] bearer token is empty; set a long random token or remove the setting"
            )));
        }
        Ok(Some(Secret::new(token)))
    }
}

/// `[stripe]`: the platform account that provisions claimable sandboxes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeConfig {
    /// The platform secret key for Claimable Sandboxes.
    pub api_key: Option<Secret>,
    /// Stripe's API base URL (default `https://api.stripe.com`).
    pub api_base: Option<String>,
    /// The `Stripe-Version` sent (default: the version this server speaks).
    pub version: Option<String>,
    /// Two-letter country prefilled for the claimer (default `US`).
    pub country: Option<String>,
    /// Timeout of one Stripe call in seconds (default 20).
    pub timeout_secs: Option<u64>,
}

/// A config error, already formatted with its location.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Byte offset of the key at `path` (e.g. `["oauth", "lease_secs"]`), or of
/// the table itself when the key is not written, from toml's own parser:
/// a key's text may also appear earlier (in a comment, another table).
fn key_offset(text: &str, path: &[&str]) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let (last, parents) = path.split_last()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut table_span = None;
    for name in parents {
        let item = table.get(name)?;
        table_span = item.span().or(table_span);
        if let Some(t) = item.as_table() {
            table_span = t.span().or(table_span);
        }
        table = item.as_table_like()?;
    }
    match table.get_key_value(last) {
        Some((key, _)) => key.span().map(|s| s.start),
        None => table_span.map(|s| s.start),
    }
}

/// 1-based line and column of the key at `path`; 1:1 when it cannot be found.
fn key_line_col(text: &str, path: &[&str]) -> (usize, usize) {
    key_offset(text, path).map_or((1, 1), |o| line_col(text, o))
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |i| offset - i - 1) + 1;
    (line, col)
}

impl FileConfig {
    /// Reads and parses a config file; unknown keys are errors.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "cannot read config file {}: {e}; check the --config path",
                path.display()
            ))
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses config text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let mut unknown = Vec::new();
        let deserializer = toml::Deserializer::new(text);
        let parsed: Result<FileConfig, _> =
            serde_ignored::deserialize(deserializer, |path| unknown.push(path.to_string()));
        let config = parsed.map_err(|e| {
            let start = e.span().map_or(0, |s| s.start);
            // serde reports an unknown key of a flattened table at the table;
            // point at the key itself.
            let start = e
                .message()
                .split_once("unknown field `")
                .and_then(|(_, rest)| rest.split_once('`'))
                .and_then(|(key, _)| text[start..].find(key).map(|o| start + o))
                .unwrap_or(start);
            let (line, col) = line_col(text, start);
            ConfigError(format!(
                "{origin}:{line}:{col}: {}; fix the config file",
                e.message().trim_end_matches('\n')
            ))
        })?;
        if let Some(key) = unknown.first() {
            let path: Vec<&str> = key.split('.').collect();
            let (line, col) = key_line_col(text, &path);
            return Err(ConfigError(format!(
                "{origin}:{line}:{col}: unknown key `{key}`; remove it or check its spelling (see README.md, \"Configuration\")"
            )));
        }
        for (name, provider) in &config.providers {
            if !connectors_catalog::is_operator_type(name) {
                let (line, col) = key_line_col(text, &["providers", name]);
                return Err(ConfigError(format!(
                    "{origin}:{line}:{col}: provider name `{name}` must match ^[a-z0-9_-]+$"
                )));
            }
            let _ = provider;
        }
        config.check_values(text, origin)?;
        Ok(config)
    }

    /// Values the types allow but the server cannot use.
    fn check_values(&self, text: &str, origin: &str) -> Result<(), ConfigError> {
        let at = |section: &str, key: &str, problem: &str| {
            let (line, col) = key_line_col(text, &[section, key]);
            ConfigError(format!(
                "{origin}:{line}:{col}: [{section}] {key} {problem}; fix the config file"
            ))
        };
        let o = &self.oauth;
        for (key, value, min) in [
            ("attempt_ttl_secs", o.attempt_ttl_secs, 1),
            ("state_ttl_secs", o.state_ttl_secs, 1),
            ("refresh_margin_secs", o.refresh_margin_secs, 0),
            ("lease_secs", o.lease_secs, 1),
            ("refresh_attempts", i64::from(o.refresh_attempts), 1),
            ("provider_timeout_secs", o.provider_timeout_secs as i64, 1),
            (
                "background_interval_secs",
                o.background_interval_secs as i64,
                1,
            ),
            ("background_window_secs", o.background_window_secs, 0),
        ] {
            if value < min {
                return Err(at(
                    "oauth",
                    key,
                    &format!("is {value}; it must be at least {min}"),
                ));
            }
        }
        let h = &self.http;
        for (key, value, min) in [
            ("header_read_timeout_secs", h.header_read_timeout_secs, None),
            ("body_read_timeout_secs", h.body_read_timeout_secs, None),
            ("request_timeout_secs", h.request_timeout_secs, None),
            ("shutdown_drain_secs", h.shutdown_drain_secs, Some(0.0)),
        ] {
            let fits = match min {
                Some(min) => value >= min,
                None => value > 0.0,
            };
            if !(fits && value <= MAX_HTTP_SECS) {
                let lowest = match min {
                    Some(_) => "at least 0",
                    None => "more than 0",
                };
                return Err(at(
                    "http",
                    key,
                    &format!("is {value}; it must be {lowest} and at most {MAX_HTTP_SECS} seconds"),
                ));
            }
        }
        if let Some(n) = self.database.max_connections {
            if !(1..=MAX_POOL_SIZE).contains(&n) {
                return Err(at(
                    "database",
                    "max_connections",
                    &format!("is {n}; it must be from 1 to {MAX_POOL_SIZE}"),
                ));
            }
        }
        if self.cache.max_entries > MAX_CACHE_ENTRIES {
            return Err(at(
                "cache",
                "max_entries",
                &format!(
                    "is {}; it must be at most {MAX_CACHE_ENTRIES} (0 turns the cache off)",
                    self.cache.max_entries
                ),
            ));
        }
        for (key, value) in [
            ("connect_timeout_secs", self.proxy.connect_timeout_secs),
            ("timeout_secs", self.proxy.timeout_secs),
        ] {
            if !(1..=MAX_PROXY_SECS).contains(&value) {
                return Err(at(
                    "proxy",
                    key,
                    &format!("is {value}; it must be from 1 to {MAX_PROXY_SECS} seconds"),
                ));
            }
        }
        if self.audit.retention_days > MAX_AUDIT_RETENTION_DAYS {
            return Err(at(
                "audit",
                "retention_days",
                &format!(
                    "is {}; it must be at most {MAX_AUDIT_RETENTION_DAYS} (0 keeps entries forever)",
                    self.audit.retention_days
                ),
            ));
        }
        if !(1..=MAX_PROXY_RESPONSE_BYTES).contains(&self.proxy.max_response_bytes) {
            return Err(at(
                "proxy",
                "max_response_bytes",
                &format!(
                    "is {}; it must be from 1 to {MAX_PROXY_RESPONSE_BYTES}",
                    self.proxy.max_response_bytes
                ),
            ));
        }
        if let Some((key, problem)) = self.webhooks.problem() {
            return Err(at("webhooks", key, &problem));
        }
        if self.cache.max_age_ms > MAX_CACHE_AGE_MS {
            return Err(at(
                "cache",
                "max_age_ms",
                &format!(
                    "is {}; it must be at most {MAX_CACHE_AGE_MS} (0 turns the cache off)",
                    self.cache.max_age_ms
                ),
            ));
        }
        for (key, value, max) in [
            (
                "access_token_ttl_secs",
                self.auth.access_token_ttl_secs,
                86_400,
            ),
            (
                "refresh_token_ttl_secs",
                self.auth.refresh_token_ttl_secs,
                366 * 86_400,
            ),
        ] {
            if !(1..=max).contains(&value) {
                return Err(at(
                    "auth",
                    key,
                    &format!("is {value}; it must be from 1 to {max} seconds"),
                ));
            }
        }
        for (key, value) in [
            ("session_idle_secs", self.auth.session_idle_secs),
            ("session_max_secs", self.auth.session_max_secs),
            ("invite_ttl_secs", self.auth.invite_ttl_secs),
            ("signin_max_failures", self.auth.signin_max_failures),
            ("signin_window_secs", self.auth.signin_window_secs),
        ] {
            if value < 1 {
                return Err(at(
                    "auth",
                    key,
                    &format!("is {value}; it must be at least 1"),
                ));
            }
        }
        if let Some(oidc) = &self.auth.oidc {
            let at = |key: &str, problem: &str| {
                let (line, col) = key_line_col(text, &["auth", "oidc", key]);
                ConfigError(format!(
                    "{origin}:{line}:{col}: [auth.oidc] {key} {problem}; fix the config file"
                ))
            };
            if let Err(reason) = connectors_engine::check_sso_issuer(&oidc.issuer) {
                return Err(at(
                    "issuer",
                    &format!("`{}` is not usable: {reason} (it must be the provider's https URL, exactly as its discovery document names it)", oidc.issuer),
                ));
            }
            if oidc.client_id.trim().is_empty() {
                return Err(at(
                    "client_id",
                    "is empty; set the client id the provider gave",
                ));
            }
            if oidc
                .client_secret
                .as_ref()
                .is_some_and(|s| s.expose().is_empty())
            {
                return Err(at("client_secret", "is empty; set the client secret the provider gave (or CONNECTORS_OIDC_CLIENT_SECRET)"));
            }
            if let Some(name) = &oidc.display_name {
                let chars = name.trim().chars().count();
                if chars == 0
                    || chars > MAX_DISPLAY_NAME_CHARS
                    || name.chars().any(char::is_control)
                {
                    return Err(at(
                        "display_name",
                        &format!("must be 1 to {MAX_DISPLAY_NAME_CHARS} characters without control characters, such as \"Acme SSO\""),
                    ));
                }
            }
            if let Some(scopes) = &oidc.scopes {
                let list = scopes.list();
                if !list.iter().any(|s| s == "openid") {
                    return Err(at(
                        "scopes",
                        "must include `openid` (the default is \"openid email\")",
                    ));
                }
                if let Err(e) = connectors_wire::scope::check_all(&list) {
                    return Err(at("scopes", &format!("are not valid: {e}")));
                }
            }
        }
        let stripe = &self.stripe;
        if let Some(base) = &stripe.api_base {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(at(
                    "stripe",
                    "api_base",
                    &format!("`{base}` must start with https:// (or http:// for a local fake)"),
                ));
            }
        }
        if let Some(country) = &stripe.country {
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(at(
                    "stripe",
                    "country",
                    &format!("`{country}` must be a two-letter country code such as US"),
                ));
            }
        }
        if stripe.timeout_secs == Some(0) {
            return Err(at("stripe", "timeout_secs", "is 0; it must be at least 1"));
        }
        Ok(())
    }
}

/// Everything `serve` needs, resolved from file, environment and flags.
#[derive(Debug)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Public URL, if set; otherwise derived from the bound address.
    pub public_url: Option<String>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database_url: String,
    /// `text` or `json` logs.
    pub log_json: bool,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Encryption key specs (may be empty: then a key file in `data_dir`).
    pub encryption_keys: Vec<Secret>,
    /// Provider sections with environment credentials merged in.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Stripe settings.
    pub stripe: StripeConfig,
    /// OAuth tuning.
    pub oauth: OAuthTuning,
    /// Connection timeouts and shutdown.
    pub http: HttpTuning,
    /// The bearer token `/metrics` asks for, if any.
    pub metrics_bearer: Option<Secret>,
    /// Database pool.
    pub database: DatabaseTuning,
    /// The read cache.
    pub cache: CacheTuning,
    /// Builder sign-in and `base44 login` token lifetimes.
    pub auth: AuthTuning,
    /// The `callApi` proxy's limits.
    pub proxy: ProxyTuning,
    /// Webhook delivery and event retention.
    pub webhooks: WebhooksTuning,
    /// The audit trail's retention.
    pub audit: AuditTuning,
}

/// Values given on the command line, which win over everything.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--bind`.
    pub bind: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl ServerConfig {
    /// Resolves the configuration: flags > environment > file > defaults.
    pub fn resolve(overrides: &Overrides) -> Result<Self, ConfigError> {
        let config_path = overrides
            .config
            .clone()
            .or_else(|| env("CONNECTORS_CONFIG").map(PathBuf::from));
        let file = match &config_path {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let origin = config_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "environment".into());
        let bind_text = overrides
            .bind
            .clone()
            .or_else(|| env("CONNECTORS_BIND"))
            .or(file.bind)
            .unwrap_or_else(|| "127.0.0.1:8044".into());
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            ConfigError(format!(
                "{origin}: bind address `{bind_text}` is not `IP:PORT` (for example 127.0.0.1:8044)"
            ))
        })?;
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env("CONNECTORS_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = overrides
            .database_url
            .clone()
            .or_else(|| env("CONNECTORS_DATABASE_URL"))
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("connectors.db").display()));
        let public_url = overrides
            .public_url
            .clone()
            .or_else(|| env("CONNECTORS_PUBLIC_URL"))
            .or(file.public_url);
        if let Some(url) = &public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "{origin}: public_url `{url}` must start with http:// or https://"
                )));
            }
        }
        let log_format = env("CONNECTORS_LOG_FORMAT")
            .or(file.log_format)
            .unwrap_or_else(|| "text".into());
        let log_json = match log_format.as_str() {
            "text" => false,
            "json" => true,
            other => {
                return Err(ConfigError(format!(
                    "{origin}: log_format `{other}` must be `text` or `json`"
                )))
            }
        };
        let encryption_keys = match env("CONNECTORS_ENCRYPTION_KEYS") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::new)
                .collect(),
            None => file.encryption.keys,
        };
        let mut providers = file.providers;
        // Client credentials from the environment, for any built-in or configured type.
        for (name, value) in std::env::vars() {
            let Some(rest) = name.strip_prefix("CONNECTORS_PROVIDER_") else {
                continue;
            };
            let (ty, is_secret) = if let Some(ty) = rest.strip_suffix("_CLIENT_ID") {
                (ty, false)
            } else if let Some(ty) = rest.strip_suffix("_CLIENT_SECRET") {
                (ty, true)
            } else {
                continue;
            };
            let ty = ty.to_ascii_lowercase();
            let entry = providers.entry(ty).or_default();
            if is_secret {
                entry.client_secret = Some(Secret::new(value));
            } else {
                entry.client_id = Some(value);
            }
        }
        let providers = providers
            .into_iter()
            .map(|(k, v)| (k, v.finish()))
            .collect();
        let mut stripe = file.stripe;
        if let Some(key) = env("CONNECTORS_STRIPE_API_KEY") {
            stripe.api_key = Some(Secret::new(key));
        }
        if let Some(base) = env("CONNECTORS_STRIPE_API_BASE") {
            stripe.api_base = Some(base);
        }
        let metrics_bearer = file.metrics.bearer(&origin)?;
        let mut auth = file.auth;
        if let Some(oidc) = auth.oidc.as_mut() {
            if let Some(secret) = env("CONNECTORS_OIDC_CLIENT_SECRET") {
                oidc.client_secret = Some(Secret::new(secret));
            }
            if oidc.client_secret.is_none() {
                return Err(ConfigError(format!(
                    "{origin}: [auth.oidc] has no client_secret; set it there or in CONNECTORS_OIDC_CLIENT_SECRET (the secret the identity provider gave for client `{}`)",
                    oidc.client_id
                )));
            }
        }
        let mut database = file.database;
        if let Some(text) = env("CONNECTORS_DATABASE_MAX_CONNECTIONS") {
            match text.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_POOL_SIZE).contains(&n) => database.max_connections = Some(n),
                _ => {
                    return Err(ConfigError(format!(
                        "CONNECTORS_DATABASE_MAX_CONNECTIONS is `{text}`; it must be a number from 1 to {MAX_POOL_SIZE}; fix or unset it"
                    )))
                }
            }
        }
        Ok(Self {
            bind,
            public_url,
            data_dir,
            database_url,
            log_json,
            max_body_bytes: file.max_body_bytes.unwrap_or(64 * 1024),
            encryption_keys,
            providers,
            stripe,
            oauth: file.oauth,
            http: file.http,
            metrics_bearer,
            database,
            cache: file.cache,
            auth,
            proxy: file.proxy,
            webhooks: file.webhooks,
            audit: file.audit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = FileConfig::parse("bind = \"x\"\n[providers.acme\n", "cfg.toml").unwrap_err();
        assert!(err.0.starts_with("cfg.toml:2:"), "{err}");
    }

    #[test]
    fn the_audit_retention_defaults_to_a_year_and_is_bounded() {
        let file = FileConfig::parse("", "cfg.toml").unwrap();
        assert_eq!(file.audit.retention_days, 365);
        let file = FileConfig::parse("[audit]\nretention_days = 0\n", "cfg.toml").unwrap();
        assert_eq!(file.audit.retention_days, 0, "0 keeps entries forever");
        let err = FileConfig::parse("[audit]\nretention_days = 99999\n", "cfg.toml").unwrap_err();
        assert!(
            err.0.starts_with("cfg.toml:2:1: [audit] retention_days"),
            "{err}"
        );
        let err = FileConfig::parse("[audit]\nretention = 3\n", "cfg.toml").unwrap_err();
        assert!(err.0.contains("retention"), "{err}");
    }

    #[test]
    fn unknown_keys_are_located() {
        let err = FileConfig::parse(
            "bind = \"x\"\n[providers.acme]\nclient_idd = \"a\"\n",
            "cfg.toml",
        )
        .unwrap_err();
        assert!(err.0.starts_with("cfg.toml:3:1: unknown"), "{err}");
        assert!(err.0.contains("client_idd"), "{err}");
    }

    #[test]
    fn keys_are_located_where_written_not_where_first_mentioned() {
        let text = "# lease_secs and country are tuned below; client_idd was a typo\n\
                    [oauth]\n# refresh_margin_secs = 60\nlease_secs = 30\nrefresh_margin_secs = -5\n\
                    [providers.acme]\nclient_idd = \"a\"\n";
        let err = FileConfig::parse(text, "cfg.toml").unwrap_err();
        assert!(err.0.starts_with("cfg.toml:7:1: unknown"), "{err}");
        let text = "# country = \"usa\" is refused\n[stripe]\n  country = \"usa\"\n";
        let err = FileConfig::parse(text, "cfg.toml").unwrap_err();
        assert!(err.0.starts_with("cfg.toml:3:3: [stripe] country"), "{err}");
        let text = "# [oauth] refresh_margin_secs must not be negative\n[oauth]\nrefresh_margin_secs = -5\n";
        let err = FileConfig::parse(text, "cfg.toml").unwrap_err();
        assert!(
            err.0
                .starts_with("cfg.toml:3:1: [oauth] refresh_margin_secs"),
            "{err}"
        );
    }

    #[test]
    fn type_errors_name_line_and_column() {
        let err = FileConfig::parse("max_body_bytes = \"big\"\n", "cfg.toml").unwrap_err();
        assert!(err.0.starts_with("cfg.toml:1:"), "{err}");
    }

    #[test]
    fn provider_sections_parse() {
        let config = FileConfig::parse(
            "[providers.acme]\nauthorization_url = \"https://a/auth\"\ntoken_url = \"https://a/token\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
            "cfg.toml",
        )
        .unwrap();
        let acme = config.providers["acme"].clone().finish();
        assert_eq!(acme.client.unwrap().client_id, "c");
    }

    #[test]
    fn provider_api_sections_parse_and_their_mistakes_are_located() {
        let head = "[providers.acme]\nauthorization_url = \"https://id.acme.example/a\"\ntoken_url = \"https://id.acme.example/t\"\n[providers.acme.api]\n";
        let config = FileConfig::parse(
            &format!("{head}hosts = [{{ name = \"default\", base_url = \"https://api.acme.example\" }}]\n"),
            "cfg.toml",
        )
        .unwrap();
        let providers = config
            .providers
            .into_iter()
            .map(|(k, v)| (k, v.finish()))
            .collect();
        let catalog =
            connectors_catalog::Catalog::load(connectors_catalog::BUILTIN_CATALOG, &providers)
                .unwrap();
        let api = catalog.get("acme").unwrap().api();
        assert_eq!(
            api.base_url(None, &Default::default()).unwrap().as_str(),
            "https://api.acme.example/"
        );
        assert!(api.allows_request_header("accept") && api.exposes_response_header("retry-after"));
        for (body, expected) in [
            (
                "hosts = [{ name = \"default\", base_url = \"http://api.acme.example\" }]\n",
                "cfg.toml:5:9: API host `default`: base_url `http://api.acme.example` is not usable: plain http is accepted only for loopback hosts",
            ),
            (
                "# the token header\nrequest_headers = [\"accept\", \"x bad\"]\n",
                "cfg.toml:6:19: request_headers: `x bad` is not a header name",
            ),
            (
                "follow_redirects = false\n  response_headers = [\"set-cookie\"]\n",
                "cfg.toml:6:22: response_headers: `set-cookie` would show cookies",
            ),
            ("hosts_ = []\n", "cfg.toml:5:1: unknown field `hosts_`"),
        ] {
            let err = FileConfig::parse(&format!("{head}{body}"), "cfg.toml").unwrap_err();
            assert!(err.0.starts_with(expected), "{err}\nexpected {expected}");
            assert!(err.0.ends_with("; fix the config file"), "{err}");
        }
    }

    #[test]
    fn unusable_values_are_located() {
        let err = FileConfig::parse(
            "bind = \"127.0.0.1:1\"\n\n[oauth]\nlease_secs = 30\nrefresh_margin_secs = -5\n",
            "cfg.toml",
        )
        .unwrap_err();
        assert_eq!(
            err.0,
            "cfg.toml:5:1: [oauth] refresh_margin_secs is -5; it must be at least 0; fix the config file"
        );
        let err = FileConfig::parse("[stripe]\ncountry = \"usa\"\n", "cfg.toml").unwrap_err();
        assert!(
            err.0.starts_with("cfg.toml:2:1: [stripe] country `usa`"),
            "{err}"
        );
        let err =
            FileConfig::parse("[stripe]\napi_base = \"api.stripe.com\"\n", "cfg.toml").unwrap_err();
        assert!(err.0.contains("must start with https://"), "{err}");
        let err =
            FileConfig::parse("[http]\nbody_read_timeout_secs = 0\n", "cfg.toml").unwrap_err();
        assert_eq!(
            err.0,
            "cfg.toml:2:1: [http] body_read_timeout_secs is 0; it must be more than 0 and at most 3600 seconds; fix the config file"
        );
        let err = FileConfig::parse("[http]\n shutdown_drain_secs = -1\n", "cfg.toml").unwrap_err();
        assert!(
            err.0
                .starts_with("cfg.toml:2:2: [http] shutdown_drain_secs is -1"),
            "{err}"
        );
        let err = FileConfig::parse("[http]\nheader_read_timeout = 5\n", "cfg.toml").unwrap_err();
        assert!(err.0.starts_with("cfg.toml:2:1: unknown"), "{err}");
    }

    #[test]
    fn database_max_connections_is_checked_and_located() {
        let config = FileConfig::parse("[database]\nmax_connections = 32\n", "cfg.toml").unwrap();
        assert_eq!(config.database.max_connections, Some(32));
        assert_eq!(FileConfig::default().database.max_connections, None);
        let err = FileConfig::parse("# pool\n[database]\n  max_connections = 0\n", "cfg.toml")
            .unwrap_err();
        assert_eq!(
            err.0,
            "cfg.toml:3:3: [database] max_connections is 0; it must be from 1 to 1000; fix the config file"
        );
        let err = FileConfig::parse("[database]\nmax_connections = -1\n", "cfg.toml").unwrap_err();
        assert!(err.0.starts_with("cfg.toml:2:"), "{err}");
        let err = FileConfig::parse("[database]\nmax_conections = 4\n", "cfg.toml").unwrap_err();
        assert!(err.0.starts_with("cfg.toml:2:1: unknown"), "{err}");
    }

    #[test]
    fn auth_oidc_is_read_and_its_mistakes_are_located() {
        let ok = "[auth.oidc]\nissuer = \"https://id.example/tenant\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
        let config = FileConfig::parse(ok, "cfg.toml").unwrap();
        let sso = config.auth.oidc.as_ref().unwrap().sso().unwrap();
        assert_eq!(sso.display_name, "SSO");
        assert_eq!(sso.scopes, ["openid", "email"]);
        for scopes in [
            "\"openid  email profile\"",
            "[\"openid\", \"email\", \"profile\", \"email\"]",
        ] {
            let text = format!("{ok}scopes = {scopes}\ndisplay_name = \"Acme SSO\"\n");
            let sso = FileConfig::parse(&text, "cfg.toml")
                .unwrap()
                .auth
                .oidc
                .unwrap()
                .sso()
                .unwrap();
            assert_eq!(sso.scopes, ["openid", "email", "profile"], "{scopes}");
            assert_eq!(sso.display_name, "Acme SSO");
        }
        for (text, expected) in [
            (
                "[auth]\nsession_idle_secs = 60\n[auth.oidc]\nissuer = \"http://id.example\"\nclient_id = \"c\"\n",
                "cfg.toml:4:1: [auth.oidc] issuer `http://id.example` is not usable: plain http",
            ),
            (
                "[auth.oidc]\nissuer = \"https://id.example\"\n  client_id = \" \"\n",
                "cfg.toml:3:3: [auth.oidc] client_id is empty",
            ),
            (
                &format!("{ok}scopes = \"email profile\"\n"),
                "cfg.toml:5:1: [auth.oidc] scopes must include `openid`",
            ),
            (
                &format!("{ok}display_name = \"\"\n"),
                "cfg.toml:5:1: [auth.oidc] display_name must be 1 to 60 characters",
            ),
            (
                &format!("{ok}client_secrett = \"s\"\n"),
                "cfg.toml:5:1: unknown",
            ),
            (
                "[auth.oidc]\nclient_id = \"c\"\n",
                "cfg.toml:1:1: missing field `issuer`",
            ),
        ] {
            let err = FileConfig::parse(text, "cfg.toml").unwrap_err();
            assert!(err.0.starts_with(expected), "{err}\nexpected {expected}");
        }
    }

    #[test]
    fn http_timeouts_take_seconds_and_fractions() {
        let config = FileConfig::parse(
            "[http]\nheader_read_timeout_secs = 5\nbody_read_timeout_secs = 0.25\n",
            "cfg.toml",
        )
        .unwrap();
        assert_eq!(config.http.header_read_timeout(), Duration::from_secs(5));
        assert_eq!(config.http.body_read_timeout(), Duration::from_millis(250));
        assert_eq!(config.http.shutdown_drain(), Duration::from_secs(20));
    }
}
