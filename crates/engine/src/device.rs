//! `base44 login` (RFC 8628 device authorization, protocol.md §2.2–2.3,
//! wave2.md §5): a CLI asks for a device code, a signed-in builder approves
//! its user code, the CLI's poll gets an access token (a short-lived JWT, see
//! `connectors_vault::jwt`) and a refresh token; refresh tokens rotate, and a
//! replayed one revokes its whole login.
//!
//! Only hashes of device codes and refresh tokens are stored. The access
//! token's `sid` names its login, so revoking the login refuses its
//! outstanding access tokens too (checked in [`Engine::authenticate`], one
//! indexed read, cached up to the token's `exp`).
//!
//! Concurrent refreshes with one refresh token: the first to commit wins and
//! the other is answered `invalid_grant` without revoking anything while the
//! token was rotated at most [`DeviceSettings::reuse_grace_ms`] ago (two CLI
//! processes sharing an auth.json, a retried request); later, a replay is
//! taken for a stolen token and revokes the login. Nothing re-sends the
//! winner's tokens: they are not stored, only their hashes.

use connectors_store::{
    Builder, DeviceCodeRow, DeviceCodeStatus, DeviceDecision, LoginFamilyRow, NewRefreshToken,
    RotateOutcome,
};
use connectors_vault::{generate_token, hash_token, AccessClaims, Secret, TokenRejected};
use rand::Rng;

use crate::audit::{Actor, Audit};
use crate::limit::SlidingWindow;
use crate::{Engine, EngineError, Principal, Result};

/// The device-code grant type (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The npm CLI's client id (ours sends the same).
pub const CLI_CLIENT_ID: &str = "base44_cli";
/// Where builders enter the user code (`verification_uri`).
pub const VERIFICATION_PATH: &str = "/device";
/// The access tokens' `aud`: this server's builder API.
pub const ACCESS_TOKEN_AUDIENCE: &str = "base44-connectors";

/// Clients that may log in, with the name the verification page shows.
const CLIENTS: &[(&str, &str)] = &[(CLI_CLIENT_ID, "Base44 CLI")];
/// The scopes a login may ask for (the npm CLI asks for all three).
const SCOPES: &[&str] = &["apps:read", "apps:write", "sandbox:write"];
/// RFC 8628 §6.1: base-20 consonants, no vowels (no words), no look-alikes.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
/// Prefix of refresh tokens, so a leaked one is recognizable.
const REFRESH_TOKEN_PREFIX: &str = "b44r_";
/// Device-code rows are kept this long past expiry, so a late poll hears
/// `expired_token` rather than `invalid_grant`.
const KEEP_EXPIRED_MS: i64 = 3_600_000;

/// Lifetimes and limits of the device login (`[auth]` in the server config).
#[derive(Debug, Clone)]
pub struct DeviceSettings {
    /// Access-token lifetime, seconds.
    pub access_token_ttl_secs: i64,
    /// Refresh-token lifetime, seconds (each rotation starts a new one).
    pub refresh_token_ttl_secs: i64,
    /// How long a device code may be approved and polled, seconds.
    pub device_code_ttl_secs: i64,
    /// The poll interval handed out, seconds.
    pub interval_secs: i64,
    /// A refresh token replayed at most this long after its rotation is
    /// refused without revoking its login (see the module comment).
    pub reuse_grace_ms: i64,
    /// Wrong user codes a builder may enter per window.
    pub max_code_failures: usize,
    /// Wrong user codes all builders together may enter per window.
    pub max_code_failures_global: usize,
    /// The window of both limits, seconds.
    pub code_failure_window_secs: i64,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 86_400,
            device_code_ttl_secs: 600,
            interval_secs: 5,
            reuse_grace_ms: 5_000,
            max_code_failures: 5,
            max_code_failures_global: 200,
            code_failure_window_secs: 600,
        }
    }
}

/// An OAuth error of the device and token endpoints (RFC 6749 §5.2, RFC
/// 8628 §3.5): `error` is [`DeviceError::code`], `error_description` the text.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// A parameter is missing or malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// The client id is not one this server knows.
    #[error("unknown client_id `{0}`: this server accepts `base44_cli`")]
    InvalidClient(String),
    /// A scope this server does not grant.
    #[error("unknown scope `{0}`: this server grants apps:read, apps:write and sandbox:write")]
    InvalidScope(String),
    /// A grant type other than the device code and refresh token.
    #[error("unsupported grant_type `{0}`: use urn:ietf:params:oauth:grant-type:device_code or refresh_token")]
    UnsupportedGrantType(String),
    /// Not approved yet: poll again after `interval`.
    #[error("the code has not been approved yet; keep polling every interval")]
    AuthorizationPending,
    /// Polled faster than `interval`.
    #[error("polling too fast; wait the interval between polls")]
    SlowDown,
    /// The builder denied the request.
    #[error("the login was denied; run `base44 login` again to ask anew")]
    AccessDenied,
    /// The device code expired before it was approved.
    #[error("the device code expired before it was approved; run `base44 login` again")]
    ExpiredToken,
    /// An unknown, used, expired or revoked device code or refresh token.
    #[error("{0}")]
    InvalidGrant(String),
    /// Our fault; answered as `server_error` without details.
    #[error(transparent)]
    Internal(#[from] EngineError),
}

impl DeviceError {
    /// The OAuth `error` value.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient(_) => "invalid_client",
            Self::InvalidScope(_) => "invalid_scope",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::Internal(_) => "server_error",
        }
    }
}

impl From<connectors_store::StoreError> for DeviceError {
    fn from(e: connectors_store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// The answer to `POST /oauth/device/code`.
#[derive(Debug)]
pub struct DeviceAuthorization {
    /// What the client polls with (only its hash is stored).
    pub device_code: Secret,
    /// What the builder types, shown `XXXX-XXXX`.
    pub user_code: String,
    /// `{public_url}/device`.
    pub verification_uri: String,
    /// The same with `?user_code=…` (a convenience; never auto-approves).
    pub verification_uri_complete: String,
    /// Seconds until the device code expires.
    pub expires_in: i64,
    /// Seconds between polls.
    pub interval: i64,
}

/// Tokens issued by a poll or a refresh.
#[derive(Debug)]
pub struct IssuedTokens {
    /// The JWT for `Authorization: Bearer`.
    pub access_token: Secret,
    /// Its lifetime, seconds.
    pub expires_in: i64,
    /// The next refresh token (single use).
    pub refresh_token: Secret,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// `GET /oauth/userinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The builder's email.
    pub email: String,
    /// A display name (builders have none yet: the email).
    pub name: String,
}

/// A pending request as the verification page shows it before the builder
/// approves or denies (RFC 8628 §5.4: name the client and the scopes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLoginRequest {
    /// The user code, shown `XXXX-XXXX`.
    pub user_code: String,
    /// The client's display name, e.g. "Base44 CLI".
    pub client_name: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Unix ms.
    pub expires_at_ms: i64,
}

/// Whether a bearer token is shaped like a JWT (ours start with a JSON
/// header, base64url `eyJ`); API keys and service tokens have prefixes.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Whether a JWT is signed HS256, as login tokens are (and app-user tokens
/// never): only to route it to its verifier, which checks everything.
pub(crate) fn is_login_token(token: &str) -> bool {
    jsonwebtoken::decode_header(token).is_ok_and(|h| h.alg == jsonwebtoken::Algorithm::HS256)
}

/// `ABCD-EFGH` → `ABCDEFGH`, case-insensitively, ignoring dashes and
/// spaces; `None` when it cannot be one of our codes.
fn normalize_user_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

fn display_user_code(code: &str) -> String {
    format!("{}-{}", &code[..4], &code[4..])
}

fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..USER_CODE_LEN)
        .map(|_| USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char)
        .collect()
}

fn client_name(client_id: &str) -> Option<&'static str> {
    CLIENTS
        .iter()
        .find(|(id, _)| *id == client_id)
        .map(|(_, name)| *name)
}

fn check_client(client_id: &str) -> Result<(), DeviceError> {
    match client_name(client_id) {
        Some(_) => Ok(()),
        None if client_id.is_empty() => Err(DeviceError::InvalidRequest(
            "client_id is required (the Base44 CLI sends `base44_cli`)".into(),
        )),
        None => Err(DeviceError::InvalidClient(
            client_id.chars().take(100).collect(),
        )),
    }
}

/// Wrong user codes entered in the last window, per builder and overall
/// (RFC 8628 §5.1: the code has ~34.5 bits, so guessing must be slow).
/// Kept in memory: each replica limits on its own, so with N replicas a
/// guesser gets at most N times the budget, still far from the 2.56e10
/// codes.
#[derive(Default)]
pub(crate) struct CodeEntryLimits {
    failures: SlidingWindow,
}

/// The key counting every builder's failures together.
const ALL_BUILDERS: &str = "";

impl CodeEntryLimits {
    /// `Some(seconds to wait)` when `builder_id` may not try now.
    fn blocked(&self, builder_id: &str, now: i64, s: &DeviceSettings) -> Option<i64> {
        let window = s.code_failure_window_secs * 1000;
        self.failures
            .blocked(builder_id, now, window, s.max_code_failures)
            .or_else(|| {
                self.failures
                    .blocked(ALL_BUILDERS, now, window, s.max_code_failures_global)
            })
    }

    fn fail(&self, builder_id: &str, now: i64) {
        self.failures.record(ALL_BUILDERS, now);
        self.failures.record(builder_id, now);
    }
}

impl Engine {
    fn device(&self) -> &DeviceSettings {
        &self.config().device
    }

    /// `POST /oauth/device/code`: a new device code and user code.
    pub async fn start_device_login(
        &self,
        client_id: &str,
        scope: Option<&str>,
    ) -> Result<DeviceAuthorization, DeviceError> {
        check_client(client_id)?;
        let scope = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            None => SCOPES.join(" "),
            Some(s) => {
                let asked: Vec<&str> = s.split_whitespace().collect();
                if let Some(bad) = asked.iter().find(|a| !SCOPES.contains(a)) {
                    return Err(DeviceError::InvalidScope(bad.chars().take(100).collect()));
                }
                asked.join(" ")
            }
        };
        let s = self.device().clone();
        let now = self.now_ms();
        self.store()
            .purge_device_codes(now - KEEP_EXPIRED_MS)
            .await?;
        let device_code = generate_token("", 32);
        let mut tries = 0;
        let user_code = loop {
            let user_code = new_user_code();
            let row = DeviceCodeRow {
                device_code_hash: hash_token(device_code.expose()),
                user_code: user_code.clone(),
                client_id: client_id.to_string(),
                scope: scope.clone(),
                status: DeviceCodeStatus::Pending,
                builder_id: None,
                interval_secs: s.interval_secs,
                last_poll_at: None,
                created_at: now,
                expires_at: now + s.device_code_ttl_secs * 1000,
            };
            match self.store().create_device_code(&row).await {
                Ok(()) => break user_code,
                // Another pending request drew the same user code.
                Err(connectors_store::StoreError::Conflict(_)) if tries < 5 => tries += 1,
                Err(e) => return Err(e.into()),
            }
        };
        let shown = display_user_code(&user_code);
        let verification_uri = format!("{}{VERIFICATION_PATH}", self.config().public_url);
        Ok(DeviceAuthorization {
            device_code,
            verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
            verification_uri,
            user_code: shown,
            expires_in: s.device_code_ttl_secs,
            interval: s.interval_secs,
        })
    }

    /// `POST /oauth/token` with the device-code grant: one poll.
    pub async fn poll_device_login(
        &self,
        client_id: &str,
        device_code: &str,
    ) -> Result<IssuedTokens, DeviceError> {
        check_client(client_id)?;
        if device_code.is_empty() {
            return Err(DeviceError::InvalidRequest(
                "device_code is required: the one POST /oauth/device/code answered".into(),
            ));
        }
        let hash = hash_token(device_code);
        let unknown =
            || DeviceError::InvalidGrant("unknown device code; run `base44 login` again".into());
        let row = self
            .store()
            .device_code_by_hash(&hash)
            .await?
            .ok_or_else(unknown)?;
        if row.client_id != client_id {
            return Err(unknown());
        }
        if row.status == DeviceCodeStatus::Used {
            return Err(DeviceError::InvalidGrant(
                "this device code was already used; run `base44 login` again".into(),
            ));
        }
        let now = self.now_ms();
        if row.expires_at <= now {
            return Err(DeviceError::ExpiredToken);
        }
        // The npm CLI polls at once, then `interval` after each answer:
        // a second of tolerance keeps it from ever hearing slow_down.
        let min_gap_ms = (row.interval_secs * 1000 - 1000).max(0);
        if !self
            .store()
            .record_device_poll(&hash, now, min_gap_ms)
            .await?
        {
            return Err(DeviceError::SlowDown);
        }
        match row.status {
            DeviceCodeStatus::Pending => Err(DeviceError::AuthorizationPending),
            DeviceCodeStatus::Denied => Err(DeviceError::AccessDenied),
            DeviceCodeStatus::Used => Err(unknown()),
            DeviceCodeStatus::Approved => {
                let (refresh_token, next) = self.new_refresh_token(now);
                let family_id = uuid::Uuid::new_v4().simple().to_string();
                match self
                    .store()
                    .redeem_device_code(&hash, &family_id, &next, now)
                    .await?
                {
                    Some(family) => Ok(self.issue(&family, refresh_token, now)),
                    // Another poll took it, or it expired meanwhile.
                    None if self.now_ms() >= row.expires_at => Err(DeviceError::ExpiredToken),
                    None => Err(DeviceError::InvalidGrant(
                        "this device code was already used; run `base44 login` again".into(),
                    )),
                }
            }
        }
    }

    /// `POST /oauth/token` with `grant_type=refresh_token`: rotation.
    pub async fn refresh_login(
        &self,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<IssuedTokens, DeviceError> {
        check_client(client_id)?;
        if refresh_token.is_empty() {
            return Err(DeviceError::InvalidRequest(
                "refresh_token is required".into(),
            ));
        }
        let now = self.now_ms();
        let (token, next) = self.new_refresh_token(now);
        let outcome = self
            .store()
            .rotate_refresh_token(
                &hash_token(refresh_token),
                &next,
                now,
                self.device().reuse_grace_ms,
            )
            .await?;
        let again = "; run `base44 login` again";
        match outcome {
            RotateOutcome::Rotated(family) if family.client_id == client_id => {
                Ok(self.issue(&family, token, now))
            }
            RotateOutcome::Rotated(_) | RotateOutcome::Unknown => Err(DeviceError::InvalidGrant(
                format!("unknown refresh token{again}"),
            )),
            RotateOutcome::Expired => Err(DeviceError::InvalidGrant(format!(
                "the refresh token has expired{again}"
            ))),
            RotateOutcome::Revoked => Err(DeviceError::InvalidGrant(format!(
                "this login was revoked{again}"
            ))),
            RotateOutcome::RotatedRecently => Err(DeviceError::InvalidGrant(format!(
                "this refresh token was just used by another request; use the tokens it got, or{}",
                &again[1..]
            ))),
            RotateOutcome::Reused => {
                tracing::warn!("a rotated refresh token was used again: its login is revoked");
                self.inner.cache.forget_principals();
                Err(DeviceError::InvalidGrant(format!(
                    "this refresh token was already used, so its login was revoked{again}"
                )))
            }
        }
    }

    /// What the verification page shows for a code before the builder
    /// decides. Counts as a code entry (wrong codes are rate-limited).
    pub async fn device_login_request(
        &self,
        user_code: &str,
        builder: &Builder,
    ) -> Result<DeviceLoginRequest> {
        let row = self.checked_code_entry(user_code, builder).await?;
        Ok(DeviceLoginRequest {
            user_code: display_user_code(&row.user_code),
            client_name: client_name(&row.client_id)
                .unwrap_or("an unknown client")
                .to_string(),
            scopes: row.scope.split_whitespace().map(String::from).collect(),
            expires_at_ms: row.expires_at,
        })
    }

    /// Approves (`approve`) or denies a pending device login as `builder`,
    /// after the builder saw what asks (the page; never automatically).
    /// Wrong codes are limited per builder and overall
    /// ([`DeviceSettings::max_code_failures`]).
    pub async fn decide_device_login(
        &self,
        user_code: &str,
        builder: &Builder,
        approve: bool,
    ) -> Result<()> {
        let row = self.checked_code_entry(user_code, builder).await?;
        let decision = if approve {
            DeviceDecision::Approve(&builder.id)
        } else {
            DeviceDecision::Deny(&builder.id)
        };
        if self
            .store()
            .decide_device_code(&row.user_code, decision, self.now_ms())
            .await?
        {
            let action = if approve {
                "device_login.approved"
            } else {
                "device_login.denied"
            };
            let client = client_name(&row.client_id).unwrap_or("an unknown client");
            self.audit(
                &Actor::builder(builder),
                Audit::workspace(&builder.workspace_id, action)
                    .target(client)
                    .detail(format!("scopes: {}", row.scope)),
            )
            .await;
            Ok(())
        } else {
            // Decided or expired since it was read.
            Err(EngineError::UserCodeNotFound)
        }
    }

    async fn checked_code_entry(
        &self,
        user_code: &str,
        builder: &Builder,
    ) -> Result<DeviceCodeRow> {
        let now = self.now_ms();
        let s = self.device();
        let limits = &self.inner.code_entry;
        if let Some(retry_after_secs) = limits.blocked(&builder.id, now, s) {
            return Err(EngineError::TooManyCodeAttempts { retry_after_secs });
        }
        let found = match normalize_user_code(user_code) {
            Some(code) => self.store().pending_device_code(&code, now).await?,
            None => None,
        };
        found.ok_or_else(|| {
            limits.fail(&builder.id, now);
            EngineError::UserCodeNotFound
        })
    }

    /// `GET /oauth/userinfo`: who the bearer is.
    pub fn userinfo(&self, principal: &Principal) -> Result<UserInfo> {
        match principal {
            Principal::Builder(b) => Ok(UserInfo {
                email: b.email.clone(),
                name: b.email.clone(),
            }),
            Principal::Service { .. } | Principal::AppUser(_) => Err(EngineError::BuilderOnly),
        }
    }

    /// Revokes every login of a builder (their refresh tokens and the
    /// access tokens issued for them); how many logins.
    pub async fn revoke_logins(&self, builder: &Builder) -> Result<u64> {
        let n = self
            .store()
            .revoke_logins(&builder.id, self.now_ms())
            .await?;
        self.inner.cache.forget_principals();
        Ok(n)
    }

    /// The operator's `revoke-logins --email E`: [`Engine::revoke_logins`]
    /// of the builder with that email in a workspace.
    pub async fn revoke_logins_for(
        &self,
        workspace_id: &str,
        email: &str,
    ) -> std::result::Result<u64, crate::AdminError> {
        let builder = self
            .store()
            .find_builder(workspace_id, email)
            .await?
            .ok_or_else(|| crate::AdminError::NoBuilder {
                email: email.to_string(),
                workspace_id: workspace_id.to_string(),
            })?;
        let n = self.revoke_logins(&builder).await?;
        self.audit(
            &Actor::Operator,
            Audit::workspace(&builder.workspace_id, "login.revoked")
                .target(&builder.email)
                .detail(format!(
                    "{n} login{} revoked",
                    if n == 1 { "" } else { "s" }
                )),
        )
        .await;
        Ok(n)
    }

    /// A bearer JWT: verified (signature, issuer, audience, expiry on the
    /// engine clock), then its login read (revoked → refused). Cached by
    /// the token's hash, never past its `exp`.
    pub(crate) async fn authenticate_login(&self, token: &str) -> Result<Principal> {
        self.cached_principal(token, |now_ms| async move {
            let claims = self
                .keys()
                .verify_access_token(
                    token,
                    &self.config().public_url,
                    ACCESS_TOKEN_AUDIENCE,
                    now_ms.div_euclid(1000),
                )
                .map_err(|e| match e {
                    TokenRejected::Expired => EngineError::LoginExpired,
                    TokenRejected::Invalid => EngineError::Unauthorized,
                })?;
            let family = self
                .store()
                .login_family(&claims.sid)
                .await?
                .filter(|f| f.builder.id == claims.bid)
                .ok_or(EngineError::Unauthorized)?;
            if family.revoked_at.is_some() {
                return Err(EngineError::LoginRevoked);
            }
            Ok((
                Principal::Builder(family.builder),
                claims.exp.saturating_mul(1000),
            ))
        })
        .await
    }

    fn new_refresh_token(&self, now: i64) -> (Secret, NewRefreshToken) {
        let token = generate_token(REFRESH_TOKEN_PREFIX, 32);
        let row = NewRefreshToken {
            token_hash: hash_token(token.expose()),
            expires_at: now + self.device().refresh_token_ttl_secs * 1000,
        };
        (token, row)
    }

    fn issue(&self, family: &LoginFamilyRow, refresh_token: Secret, now_ms: i64) -> IssuedTokens {
        let ttl = self.device().access_token_ttl_secs;
        let iat = now_ms.div_euclid(1000);
        let access_token = self.keys().sign_access_token(&AccessClaims {
            sub: family.builder.email.clone(),
            iss: self.config().public_url.clone(),
            aud: ACCESS_TOKEN_AUDIENCE.into(),
            iat,
            exp: iat + ttl,
            bid: family.builder.id.clone(),
            sid: family.id.clone(),
        });
        IssuedTokens {
            access_token,
            expires_in: ttl,
            refresh_token,
            scope: family.scope.clone(),
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn user_codes_normalize_case_dash_and_spaces() {
        assert_eq!(
            normalize_user_code("bcdf-ghjk").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(
            normalize_user_code(" BCDF GHJK ").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(normalize_user_code("BCDFGHJ"), None);
        assert_eq!(
            normalize_user_code("ABCD-EFGH"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(normalize_user_code("ＢCDF-GHJK"), None);
        let code = new_user_code();
        assert_eq!(normalize_user_code(&display_user_code(&code)), Some(code));
    }

    #[test]
    fn code_entry_is_limited_per_builder_and_overall() {
        let s = DeviceSettings {
            max_code_failures: 2,
            max_code_failures_global: 3,
            code_failure_window_secs: 10,
            ..DeviceSettings::default()
        };
        let l = CodeEntryLimits::default();
        assert_eq!(l.blocked("a", 0, &s), None);
        l.fail("a", 0);
        l.fail("a", 1_000);
        assert_eq!(l.blocked("a", 2_000, &s), Some(8));
        assert_eq!(l.blocked("b", 2_000, &s), None);
        l.fail("b", 2_000);
        assert_eq!(l.blocked("c", 3_000, &s), Some(7), "global cap");
        assert_eq!(l.blocked("a", 10_001, &s), None, "the window passed");
    }
}
