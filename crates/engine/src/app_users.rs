//! App users (issue #13.3, wave2.md §4.3): the end users of an app, who
//! connect their own accounts. Two ways to name one, either enough:
//! tokens this server mints for the app's backend (its service token asks,
//! `mint_app_user_token`), and JWTs of the app's own identity provider,
//! checked against its JWKS (`app_user_settings`). Users are keyed by
//! (issuer, subject), never by email.
//!
//! A service token is never accepted as a user token, nor the reverse:
//! [`Engine::app_user`] takes only JWTs (never `b44s_`/`b44k_`), and only
//! EdDSA tokens of ours with `typ: app_user` or tokens of the app's
//! provider; [`Engine::authenticate_for_app`] turns a user token into
//! [`Principal::AppUser`], which every service or builder check refuses
//! with 403.
//!
//! Also the app's browser settings: which origins may call and be sent
//! back to after consent ([`return_to`], [`origin_allowed`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use connectors_oauth::oidc::{
    unverified_issuer, valid_user_id, verify_app_user_token, ASYMMETRIC_ALGORITHMS,
};
use connectors_oauth::{check_endpoint, AppUserPolicy, IdTokenError, Jwks};
use connectors_store::{AppUserRow, AppUserSettingsRow, IdentityProviderRow, StoreError};
use connectors_vault::{AppUserClaims, AppUserTokenRejected, Secret, APP_USER_TOKEN_TYPE};
use connectors_wire::{AppUserSettings, AppUserTokenRequest, IdentityProviderSettings};
use sha2::{Digest, Sha256};

use crate::limit::SlidingWindow;
use crate::principal::{Credential, API_KEY_PREFIX, SERVICE_TOKEN_PREFIX};
use crate::{AuthorizedApp, Engine, EngineError, Principal, Result, ServiceApp};

/// Lifetime of a minted token when the request names none, in seconds.
pub const DEFAULT_APP_USER_TOKEN_SECS: i64 = 3600;
/// The longest lifetime a minted token may ask for, in seconds.
pub const MAX_APP_USER_TOKEN_SECS: i64 = 86_400;
/// Tokens an app may mint per [`MINT_WINDOW_SECS`] (Base44's own limit is
/// about 60 a minute).
pub const MINTS_PER_WINDOW: usize = 60;
/// The window of [`MINTS_PER_WINDOW`], in seconds.
pub const MINT_WINDOW_SECS: i64 = 60;
/// Consents an app user may start per [`MINT_WINDOW_SECS`]: a person
/// clicking "Connect" again and again stays far below it.
pub const CONSENTS_PER_WINDOW: usize = 20;
/// At most this many allowed origins per app.
pub const MAX_ALLOWED_ORIGINS: usize = 50;
/// An app's provider keys are fetched again after this long (seconds)…
const KEYS_MAX_AGE_SECS: i64 = 3600;
/// …or on an unknown `kid`, but not more often than this (seconds), so a
/// flood of forged `kid`s cannot make us hammer the provider.
const KEYS_MIN_REFETCH_SECS: i64 = 30;
/// `last_seen_at` is written at most this often per user (seconds).
const LAST_SEEN_GRANULARITY_SECS: i64 = 60;
/// The longest display email or name kept, in characters.
const MAX_DISPLAY_CHARS: usize = 320;

/// An end user of an app, as a checked token names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUser {
    /// Opaque id (32 lowercase hex characters).
    pub id: String,
    /// The app.
    pub app_id: String,
    /// Who vouched: this server's public URL or the app's provider.
    pub issuer: String,
    /// The user's id at the issuer.
    pub subject: String,
    /// Display only.
    pub email: Option<String>,
    /// Display only.
    pub name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, coarse.
    pub last_seen_at: i64,
}

impl From<AppUserRow> for AppUser {
    fn from(r: AppUserRow) -> Self {
        Self {
            id: r.id,
            app_id: r.app_id,
            issuer: r.issuer,
            subject: r.subject,
            email: r.email,
            name: r.name,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
        }
    }
}

/// A minted app-user token.
#[derive(Debug)]
pub struct MintedAppUserToken {
    /// The JWT.
    pub access_token: Secret,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// In-memory state of app users: the mint limit and the providers' keys.
#[derive(Default)]
pub(crate) struct AppUserState {
    /// Mints per app.
    mints: SlidingWindow,
    /// Consents started per app user.
    consents: SlidingWindow,
    /// Provider keys per `jwks_uri`.
    keys: Mutex<HashMap<String, Arc<tokio::sync::Mutex<KeySlot>>>>,
}

/// One provider's keys and when they were fetched (Unix seconds).
#[derive(Default)]
struct KeySlot {
    keys: Option<(Arc<Jwks>, i64)>,
    last_fetch: Option<i64>,
}

impl AppUserState {
    /// Counts a mint for `app_id` at `now_ms`, or says how many seconds to
    /// wait when the app minted [`MINTS_PER_WINDOW`] within the window.
    fn take_mint(&self, app_id: &str, now_ms: i64) -> std::result::Result<(), i64> {
        self.mints
            .take(app_id, now_ms, MINT_WINDOW_SECS * 1000, MINTS_PER_WINDOW)
    }

    /// Counts a consent started by app user `user_id`, or says how many
    /// seconds to wait after [`CONSENTS_PER_WINDOW`] within the window
    /// (each one stores an attempt).
    pub(crate) fn take_consent(&self, user_id: &str, now_ms: i64) -> std::result::Result<(), i64> {
        self.consents.take(
            user_id,
            now_ms,
            MINT_WINDOW_SECS * 1000,
            CONSENTS_PER_WINDOW,
        )
    }

    fn slot(&self, jwks_uri: &str) -> Arc<tokio::sync::Mutex<KeySlot>> {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(jwks_uri.to_owned())
            .or_default()
            .clone()
    }
}

fn bad(text: impl Into<String>) -> EngineError {
    EngineError::BadRequest(text.into())
}

/// A display text: trimmed, at most [`MAX_DISPLAY_CHARS`], no control
/// characters; `None` when empty.
fn display(what: &str, value: Option<&str>) -> Result<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > MAX_DISPLAY_CHARS || value.chars().any(char::is_control) {
        return Err(bad(format!(
            "`{what}` must be at most {MAX_DISPLAY_CHARS} characters without control characters"
        )));
    }
    Ok(Some(value.to_owned()))
}

impl Engine {
    /// Mints a token naming `request.user_id` as a user of the service
    /// token's app: an EdDSA JWT `{iss: public_url, aud: app, sub, email?,
    /// name?, iat, exp, jti, typ: app_user}`. Rate-limited per app.
    pub fn mint_app_user_token(
        &self,
        app: &ServiceApp,
        request: &AppUserTokenRequest,
    ) -> Result<MintedAppUserToken> {
        if !valid_user_id(&request.user_id) {
            return Err(bad(
                "`user_id` must be 1 to 255 characters without control characters: the user's id in your app (never their email, which may change)",
            ));
        }
        let email = display("email", request.email.as_deref())?;
        let name = display("name", request.name.as_deref())?;
        let expires_in = request.expires_in.unwrap_or(DEFAULT_APP_USER_TOKEN_SECS);
        if !(1..=MAX_APP_USER_TOKEN_SECS).contains(&expires_in) {
            return Err(bad(format!(
                "`expires_in` must be between 1 and {MAX_APP_USER_TOKEN_SECS} seconds; mint a new token when it runs out"
            )));
        }
        let now_ms = self.now_ms();
        self.inner
            .app_users
            .take_mint(app.app_id(), now_ms)
            .map_err(|retry_after_secs| EngineError::TooManyAppUserTokens { retry_after_secs })?;
        let now = now_ms.div_euclid(1000);
        let claims = AppUserClaims {
            iss: self.config().public_url.clone(),
            aud: app.app_id().to_owned(),
            sub: request.user_id.clone(),
            email,
            name,
            iat: now,
            exp: now + expires_in,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            typ: APP_USER_TOKEN_TYPE.into(),
        };
        Ok(MintedAppUserToken {
            access_token: self.keys().sign_app_user_token(&claims),
            expires_in,
        })
    }

    /// The public keys of minted tokens (`/.well-known/jwks.json`).
    pub fn app_user_jwks(&self) -> serde_json::Value {
        self.keys().app_user_jwks()
    }

    /// The principal of a credential presented on a route of `app_id`: a
    /// bearer JWT that is not a login token is checked as a user of that
    /// app ([`Principal::AppUser`], which builder and service checks refuse
    /// with 403); everything else as [`Engine::authenticate`] does. So a
    /// valid user token of this app on a service route is 403, and one of
    /// another app, or garbage, is 401.
    pub async fn authenticate_for_app(
        &self,
        credential: Credential<'_>,
        app_id: &str,
    ) -> Result<Principal> {
        if let Credential::Bearer(token) = credential {
            let token = token.trim();
            if crate::device::looks_like_jwt(token) && !crate::device::is_login_token(token) {
                // Boxed: see `Engine::cached_principal_keyed`.
                return Box::pin(self.app_user(app_id, token))
                    .await
                    .map(Principal::AppUser);
            }
        }
        self.authenticate(credential).await
    }

    /// Who `bearer` names as a user of `app_id`, or `Unauthorized`. Our own
    /// tokens (issuer = public URL) are checked with the ring's keys; the
    /// app's identity provider's with its JWKS; any other issuer, any
    /// service token, API key or login token is refused. The user's row is
    /// created on first sight. Cached by token until its `exp`.
    pub async fn app_user(&self, app_id: &str, bearer: &str) -> Result<AppUser> {
        let token = bearer.trim();
        if token.starts_with(SERVICE_TOKEN_PREFIX)
            || token.starts_with(API_KEY_PREFIX)
            || !crate::device::looks_like_jwt(token)
        {
            return Err(EngineError::Unauthorized);
        }
        // Keyed by app too: two apps may trust one provider and audience.
        let key: [u8; 32] = Sha256::new()
            .chain_update(b"app-user")
            .chain_update(app_id.len().to_be_bytes())
            .chain_update(app_id)
            .chain_update(token)
            .finalize()
            .into();
        let principal = self
            .cached_principal_keyed(key, |now_ms| async move {
                let (user, valid_until_ms) = self.check_app_user(app_id, token, now_ms).await?;
                Ok((Principal::AppUser(user), valid_until_ms))
            })
            .await?;
        match principal {
            Principal::AppUser(user) if user.app_id == app_id => Ok(user),
            _ => Err(EngineError::Unauthorized),
        }
    }

    async fn check_app_user(
        &self,
        app_id: &str,
        token: &str,
        now_ms: i64,
    ) -> Result<(AppUser, i64)> {
        let now = now_ms.div_euclid(1000);
        let issuer = unverified_issuer(token).ok_or(EngineError::Unauthorized)?;
        let public_url = &self.config().public_url;
        let (subject, email, name, exp) = if &issuer == public_url {
            let claims = self
                .keys()
                .verify_app_user_token(token, public_url, app_id, now)
                .map_err(|e| match e {
                    AppUserTokenRejected::Expired | AppUserTokenRejected::Invalid => {
                        EngineError::Unauthorized
                    }
                })?;
            (claims.sub, claims.email, claims.name, claims.exp)
        } else {
            let provider = self
                .store()
                .app_user_settings(app_id)
                .await?
                .and_then(|s| s.identity_provider)
                .filter(|p| p.issuer == issuer)
                .ok_or(EngineError::Unauthorized)?;
            let policy = AppUserPolicy {
                issuer: &provider.issuer,
                audience: &provider.audience,
                user_id_claim: &provider.user_id_claim,
                email_claim: &provider.email_claim,
                algorithms: &provider.algorithms,
                now_secs: now,
            };
            let keys = self.provider_keys(&provider.jwks_uri, false).await?;
            let identity = match verify_app_user_token(token, &policy, &keys) {
                Err(IdTokenError::UnknownKey) => {
                    // The provider may have rotated its keys since.
                    let keys = self.provider_keys(&provider.jwks_uri, true).await?;
                    verify_app_user_token(token, &policy, &keys)
                }
                other => other,
            }
            .map_err(|e| {
                tracing::debug!(app_id, reason = %e, "an app-user token of the app's identity provider was refused");
                EngineError::Unauthorized
            })?;
            (
                identity.subject,
                identity.email,
                identity.name,
                identity.expires_at,
            )
        };
        let user = self
            .record_app_user(app_id, &issuer, &subject, email, name, now)
            .await?;
        Ok((user, exp.saturating_mul(1000)))
    }

    /// The app user's row: read, and written only when new, when the
    /// display fields changed, or when its last sighting is a while ago.
    async fn record_app_user(
        &self,
        app_id: &str,
        issuer: &str,
        subject: &str,
        email: Option<String>,
        name: Option<String>,
        now: i64,
    ) -> Result<AppUser> {
        let existing = self
            .store()
            .app_user_by_subject(app_id, issuer, subject)
            .await?;
        if let Some(row) = &existing {
            if row.email == email
                && row.name == name
                && now - row.last_seen_at < LAST_SEEN_GRANULARITY_SECS
            {
                return Ok(row.clone().into());
            }
        }
        let row = AppUserRow {
            id: uuid::Uuid::new_v4().simple().to_string(),
            app_id: app_id.to_owned(),
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
            email,
            name,
            created_at: now,
            last_seen_at: now,
        };
        match self.store().upsert_app_user(&row).await {
            Ok(row) => Ok(row.into()),
            // The app is gone.
            Err(StoreError::Conflict(_)) => Err(EngineError::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }

    /// An app provider's keys: kept for [`KEYS_MAX_AGE_SECS`]; fetched
    /// again earlier when `stale` (a token named a key the set lacks), but
    /// at most once per [`KEYS_MIN_REFETCH_SECS`], failed fetches included.
    async fn provider_keys(&self, jwks_uri: &str, stale: bool) -> Result<Arc<Jwks>> {
        let now = self.now();
        let slot = self.inner.app_users.slot(jwks_uri);
        let mut slot = slot.lock().await;
        let recently_fetched = slot
            .last_fetch
            .is_some_and(|at| now - at < KEYS_MIN_REFETCH_SECS);
        if let Some((keys, at)) = &slot.keys {
            if (stale && recently_fetched) || (!stale && now - at < KEYS_MAX_AGE_SECS) {
                return Ok(keys.clone());
            }
        } else if recently_fetched {
            return Err(EngineError::IdentityProviderUnavailable(format!(
                "its keys at `{jwks_uri}` could not be fetched a moment ago"
            )));
        }
        slot.last_fetch = Some(now);
        match self.oauth().jwks(jwks_uri).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                slot.keys = Some((keys.clone(), now));
                Ok(keys)
            }
            Err(e) => match &slot.keys {
                Some((keys, _)) => {
                    tracing::warn!(error = %e, "an app's identity provider: refreshing its keys failed; using the ones fetched before");
                    Ok(keys.clone())
                }
                None => Err(EngineError::IdentityProviderUnavailable(e.to_string())),
            },
        }
    }

    /// An app's app-user settings (defaults when never set).
    pub async fn app_user_settings(&self, app: &AuthorizedApp) -> Result<AppUserSettings> {
        self.app_user_settings_of(app.app_id()).await
    }

    /// The app-user settings of `app_id`, for the engine's own use cases
    /// (consent's return URL, CORS): defaults when never set.
    pub async fn app_user_settings_of(&self, app_id: &str) -> Result<AppUserSettings> {
        Ok(self
            .store()
            .app_user_settings(app_id)
            .await?
            .map(settings_to_wire)
            .unwrap_or_default())
    }

    /// Replaces an app's app-user settings after checking every field;
    /// answers them as stored (origins normalized).
    pub async fn put_app_user_settings(
        &self,
        app: &AuthorizedApp,
        settings: &AppUserSettings,
    ) -> Result<AppUserSettings> {
        let checked = check_settings(settings)?;
        let row = AppUserSettingsRow {
            app_id: app.app_id().to_owned(),
            allowed_origins: checked.allowed_origins.clone(),
            default_return_url: checked.default_return_url.clone(),
            identity_provider: checked
                .identity_provider
                .as_ref()
                .map(|p| IdentityProviderRow {
                    issuer: p.issuer.clone(),
                    jwks_uri: p.jwks_uri.clone(),
                    audience: p.audience.clone(),
                    user_id_claim: p.user_id_claim.clone(),
                    email_claim: p.email_claim.clone(),
                    algorithms: p.algorithms.clone(),
                }),
            updated_at: self.now(),
        };
        self.store().put_app_user_settings(&row).await?;
        // A provider no longer trusted must not keep its users signed in.
        self.inner.cache.forget_principals();
        let provider = match &row.identity_provider {
            Some(p) => format!("identity provider {}", p.issuer),
            None => "no identity provider".into(),
        };
        self.audit(
            &crate::audit::Actor::builder(app.builder()),
            crate::audit::Audit::on(app, "app_user_settings.updated").detail(format!(
                "{} allowed origin{}; {provider}",
                row.allowed_origins.len(),
                if row.allowed_origins.len() == 1 {
                    ""
                } else {
                    "s"
                }
            )),
        )
        .await;
        Ok(checked)
    }

    /// An app's users, oldest first (the builder's list).
    pub async fn list_app_users(&self, app: &AuthorizedApp) -> Result<Vec<AppUser>> {
        Ok(self
            .store()
            .list_app_users(app.app_id())
            .await?
            .into_iter()
            .map(AppUser::from)
            .collect())
    }
}

fn settings_to_wire(row: AppUserSettingsRow) -> AppUserSettings {
    AppUserSettings {
        allowed_origins: row.allowed_origins,
        default_return_url: row.default_return_url,
        identity_provider: row.identity_provider.map(|p| IdentityProviderSettings {
            issuer: p.issuer,
            jwks_uri: p.jwks_uri,
            audience: p.audience,
            user_id_claim: p.user_id_claim,
            email_claim: p.email_claim,
            algorithms: p.algorithms,
        }),
    }
}

/// The origin of a URL a browser may be at or go to: `http(s)` only, no
/// user information; `None` otherwise. Parsed as browsers parse it
/// (WHATWG: backslashes, IDNA, case, default ports), so the comparison is
/// of origins, not of strings.
fn web_origin(url: &url::Url) -> Option<String> {
    if !matches!(url.scheme(), "https" | "http")
        || !url.username().is_empty()
        || url.password().is_some()
        || url.host().is_none()
    {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// An allowed origin as given by a builder: `scheme://host[:port]` only,
/// https (http for loopback hosts); answered in its normal form.
fn check_origin(text: &str) -> Result<String> {
    let refuse = |why: &str| {
        bad(format!(
            "allowed origin `{text}` {why}: give exactly `https://host[:port]` (http only for localhost), with no path, query or fragment"
        ))
    };
    let url = url::Url::parse(text.trim()).map_err(|_| refuse("is not a URL"))?;
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err(refuse("is not https"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("has more than an origin"));
    }
    // A trailing `/` is the only path a bare origin parses to; a written
    // one is still refused, since browsers never send it.
    if text.trim().ends_with('/') {
        return Err(refuse("ends with `/`"));
    }
    web_origin(&url).ok_or_else(|| refuse("holds user information"))
}

fn check_settings(settings: &AppUserSettings) -> Result<AppUserSettings> {
    if settings.allowed_origins.len() > MAX_ALLOWED_ORIGINS {
        return Err(bad(format!(
            "at most {MAX_ALLOWED_ORIGINS} allowed origins; list only the origins your app is served from"
        )));
    }
    let mut origins: Vec<String> = Vec::new();
    for origin in &settings.allowed_origins {
        let origin = check_origin(origin)?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    let default_return_url = match settings.default_return_url.as_deref() {
        None => None,
        Some(text) => {
            let url = check_endpoint(text).map_err(|why| {
                bad(format!(
                    "`default_return_url` `{text}` is not usable: {why}"
                ))
            })?;
            let origin = web_origin(&url);
            if !origin.as_ref().is_some_and(|o| origins.contains(o)) {
                return Err(bad(format!(
                    "`default_return_url` `{text}` is not on one of the allowed origins; add its origin to `allowed_origins`"
                )));
            }
            Some(url.to_string())
        }
    };
    let identity_provider = match &settings.identity_provider {
        None => None,
        Some(p) => {
            connectors_oauth::oidc::check_issuer(&p.issuer).map_err(|why| {
                bad(format!(
                    "identity provider issuer `{}` is not usable: {why}",
                    p.issuer
                ))
            })?;
            check_endpoint(&p.jwks_uri).map_err(|why| {
                bad(format!(
                    "identity provider jwks_uri `{}` is not usable: {why}",
                    p.jwks_uri
                ))
            })?;
            if p.audience.trim().is_empty() {
                return Err(bad(
                    "identity provider audience must not be empty: give the `aud` your provider puts in this app's tokens",
                ));
            }
            for (what, claim) in [
                ("user_id_claim", &p.user_id_claim),
                ("email_claim", &p.email_claim),
            ] {
                if claim.is_empty() || claim.len() > 100 || claim.chars().any(char::is_control) {
                    return Err(bad(format!(
                        "identity provider `{what}` must be a claim name of 1 to 100 characters"
                    )));
                }
            }
            if p.algorithms.is_empty() {
                return Err(bad(
                    "identity provider algorithms must not be empty; the default is RS256, ES256, EdDSA",
                ));
            }
            for alg in &p.algorithms {
                if !ASYMMETRIC_ALGORITHMS.contains(&alg.as_str()) {
                    return Err(bad(format!(
                        "identity provider algorithm `{alg}` is not accepted; use some of {}",
                        ASYMMETRIC_ALGORITHMS.join(", ")
                    )));
                }
            }
            let mut algorithms: Vec<String> = Vec::new();
            for alg in &p.algorithms {
                if !algorithms.contains(alg) {
                    algorithms.push(alg.clone());
                }
            }
            Some(IdentityProviderSettings {
                issuer: p.issuer.clone(),
                jwks_uri: p.jwks_uri.clone(),
                audience: p.audience.clone(),
                user_id_claim: p.user_id_claim.clone(),
                email_claim: p.email_claim.clone(),
                algorithms,
            })
        }
    };
    Ok(AppUserSettings {
        allowed_origins: origins,
        default_return_url,
        identity_provider,
    })
}

/// Where the end user is sent back to after consent: `candidate` (the
/// SDK's `X-Origin-URL`, the full page URL) when its origin is exactly one
/// of the allowed origins, else the app's `default_return_url`, else none.
/// The candidate is answered as parsed (what a browser would load), never
/// as given.
pub fn return_to(settings: &AppUserSettings, candidate: Option<&str>) -> Option<String> {
    let allowed = |origin: &str| settings.allowed_origins.iter().any(|o| o == origin);
    candidate
        .filter(|c| c.len() <= 4096)
        .and_then(|c| url::Url::parse(c).ok())
        .filter(|url| web_origin(url).is_some_and(|o| allowed(&o)))
        .map(String::from)
        .or_else(|| settings.default_return_url.clone())
}

/// Whether a browser's `Origin` header is one of the app's allowed origins
/// (for CORS). Browsers send an origin in its normal form (lowercase,
/// punycode, no default port), which is how the list is stored, so the
/// comparison is exact, byte for byte, as CORS itself compares.
pub fn origin_allowed(settings: &AppUserSettings, origin: &str) -> bool {
    settings.allowed_origins.iter().any(|o| o == origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(origins: &[&str], default: Option<&str>) -> AppUserSettings {
        AppUserSettings {
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            default_return_url: default.map(str::to_owned),
            identity_provider: None,
        }
    }

    #[test]
    fn return_to_compares_parsed_origins_never_prefixes() {
        let s = settings(
            &["https://app.example.com", "http://localhost:5173"],
            Some("https://app.example.com/done"),
        );
        let ok = |c: &str| return_to(&s, Some(c));
        assert_eq!(
            ok("https://app.example.com/page?x=1#f").as_deref(),
            Some("https://app.example.com/page?x=1#f")
        );
        // Case, default port and IDNA normalize as in a browser.
        assert_eq!(
            ok("HTTPS://App.Example.COM:443/a").as_deref(),
            Some("https://app.example.com/a")
        );
        assert_eq!(
            ok("http://localhost:5173/x").as_deref(),
            Some("http://localhost:5173/x")
        );
        let fallback = Some("https://app.example.com/done".to_string());
        for evil in [
            "https://app.example.com.evil.com/",
            "https://app.example.com@evil.com/",
            "https://user@app.example.com/",
            "https://evil.com\\@app.example.com/",
            "https://evil.com/https://app.example.com",
            "http://app.example.com/",
            "https://app.example.com:8443/",
            "javascript:alert(1)//https://app.example.com",
            "data:text/html,https://app.example.com",
            "//app.example.com/",
            "http://localhost:5174/",
            "",
        ] {
            assert_eq!(ok(evil), fallback, "{evil}");
        }
        // The backslash form browsers read as a path stays on the origin.
        assert_eq!(
            ok("https://app.example.com\\@evil.com").as_deref(),
            Some("https://app.example.com/@evil.com")
        );
        assert_eq!(return_to(&s, None), fallback);
        assert_eq!(
            return_to(&settings(&[], None), Some("https://x.example/")),
            None
        );
    }

    #[test]
    fn origin_allowed_takes_exact_origins_only() {
        let s = settings(
            &["https://app.example.com", "https://xn--bcher-kva.example"],
            None,
        );
        assert!(origin_allowed(&s, "https://app.example.com"));
        assert!(origin_allowed(&s, "https://xn--bcher-kva.example"));
        for no in [
            "https://app.example.com:443",
            "https://App.example.com",
            "https://bücher.example",
            "https://app.exa\tmple.com",
            "null",
            "https://app.example.com/",
            "https://app.example.com/x",
            "https://app.example.com.evil.com",
            "http://app.example.com",
            "https://user@app.example.com",
            "",
            "app.example.com",
        ] {
            assert!(!origin_allowed(&s, no), "{no}");
        }
    }

    #[test]
    fn settings_are_checked_with_clear_errors() {
        let ok = check_settings(&settings(
            &[
                "https://App.Example.com",
                "http://127.0.0.1:3000",
                "https://app.example.com:443",
            ],
            Some("https://app.example.com/back"),
        ))
        .unwrap();
        assert_eq!(
            ok.allowed_origins,
            ["https://app.example.com", "http://127.0.0.1:3000"]
        );
        let refused = |s: AppUserSettings, needle: &str| {
            let e = check_settings(&s).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        };
        refused(settings(&["http://app.example.com"], None), "is not https");
        refused(
            settings(&["https://app.example.com/x"], None),
            "more than an origin",
        );
        refused(settings(&["https://app.example.com/"], None), "ends with");
        refused(
            settings(&["https://a@app.example.com"], None),
            "user information",
        );
        refused(settings(&["app.example.com"], None), "not a URL");
        refused(
            settings(
                &["https://app.example.com"],
                Some("https://other.example/x"),
            ),
            "not on one of the allowed origins",
        );
        refused(
            settings(
                &["https://app.example.com"],
                Some("http://app.example.com/x"),
            ),
            "plain http",
        );
        let many: Vec<String> = (0..51).map(|i| format!("https://a{i}.example")).collect();
        refused(
            AppUserSettings {
                allowed_origins: many,
                ..Default::default()
            },
            "at most 50",
        );
        let provider = |issuer: &str, algs: &[&str]| AppUserSettings {
            identity_provider: Some(IdentityProviderSettings {
                issuer: issuer.into(),
                jwks_uri: "https://idp.example/jwks".into(),
                audience: "app".into(),
                user_id_claim: "sub".into(),
                email_claim: "email".into(),
                algorithms: algs.iter().map(|a| a.to_string()).collect(),
            }),
            ..Default::default()
        };
        assert!(check_settings(&provider("https://idp.example", &["RS256"])).is_ok());
        refused(provider("http://idp.example", &["RS256"]), "not usable");
        refused(provider("https://idp.example", &["HS256"]), "not accepted");
        refused(provider("https://idp.example", &["none"]), "not accepted");
        refused(provider("https://idp.example", &[]), "must not be empty");
    }

    #[test]
    fn mints_are_limited_per_app_within_the_window() {
        let s = AppUserState::default();
        for i in 0..MINTS_PER_WINDOW as i64 {
            s.take_mint("a", i).unwrap();
        }
        assert_eq!(s.take_mint("a", 1_000), Err(59));
        assert!(s.take_mint("b", 1_000).is_ok());
        assert!(
            s.take_mint("a", 60_001).is_ok(),
            "the first one left the window"
        );
    }
}
