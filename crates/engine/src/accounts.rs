//! Builder accounts that sign in (issue #12.1): passwords set through
//! one-time invite links, server-side sessions, CSRF tokens for the forms,
//! and the limit on failed sign-ins.
//!
//! Every secret here is drawn with 256 bits and kept only as a hash:
//! passwords as argon2id PHC strings, invite tokens and session ids as
//! SHA-256 (they are random, so a fast hash is enough). Nothing here logs a
//! secret or answers one except the new session id and invite link, which
//! the caller hands to exactly one person.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use connectors_store::{App, Builder, NewInvite, Workspace};
use connectors_vault::{ct_eq, generate_token, hash_token, Secret};

use crate::admin::AdminError;
use crate::audit::{Actor, Audit};
use crate::principal::Principal;
use crate::{Engine, EngineError};

/// Where an invite link points: `{public_url}/invite/{token}`.
pub const INVITE_PATH: &str = "/invite";
/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password accepted, in bytes: hashing stays bounded work.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// A session's `last_seen_at` is written at most this often (seconds), so
/// reading pages does not write on every request.
const TOUCH_EVERY_SECS: i64 = 60;
/// The limit per client address is this many times the limit per account:
/// several people behind one address (an office) may each mistype a few
/// times.
pub const ADDRESS_LIMIT_FACTOR: i64 = 3;
/// Associated data of the sealed sign-in CSRF token.
const SIGNIN_CSRF_CONTEXT: &str = "signin_csrf";

/// The `[auth]` settings.
#[derive(Debug, Clone, Copy)]
pub struct AccountsConfig {
    /// A session unused this long ends (seconds).
    pub session_idle_secs: i64,
    /// A session ends this long after sign-in, used or not (seconds).
    pub session_max_secs: i64,
    /// How long an invite link can be used (seconds).
    pub invite_ttl_secs: i64,
    /// Failed sign-ins per account within the window before sign-in is
    /// refused (per address: [`ADDRESS_LIMIT_FACTOR`] times this).
    pub signin_max_failures: i64,
    /// The window failures are counted in (seconds).
    pub signin_window_secs: i64,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            session_idle_secs: 12 * 3600,
            session_max_secs: 7 * 24 * 3600,
            invite_ttl_secs: 7 * 24 * 3600,
            signin_max_failures: 10,
            signin_window_secs: 15 * 60,
        }
    }
}

/// Why an account use case refused; the texts are shown on the pages and
/// say what to do next. None says whether an email is known.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Unknown, used, superseded or expired invite token.
    #[error("This invite link cannot be used: it was already used, replaced by a newer one, or it expired. Ask the server's operator for a new one (`connectors-server invite --email <your email>`).")]
    InviteInvalid,
    /// Shorter than [`MIN_PASSWORD_CHARS`].
    #[error("The password must be at least {MIN_PASSWORD_CHARS} characters long; a few unrelated words make a good one.")]
    PasswordTooShort,
    /// Longer than [`MAX_PASSWORD_BYTES`].
    #[error("The password is longer than {MAX_PASSWORD_BYTES} bytes; choose a shorter one.")]
    PasswordTooLong,
    /// The confirmation differs.
    #[error("The two passwords differ; type the same password in both fields.")]
    PasswordsDiffer,
    /// Wrong password, unknown email, or no password set yet: one text.
    #[error("The email or the password is not right. Check both and try again; if you have not set a password yet, open the invite link the server's operator gave you.")]
    BadCredentials,
    /// Too many failures for the account or the address.
    #[error("Too many failed sign-ins for this account or from this address. Try again in {minutes} minute{plural} (after {at} UTC).", plural = if *minutes == 1 { "" } else { "s" }, at = clock_time(*retry_at))]
    RateLimited {
        /// Unix second from which sign-in is allowed again.
        retry_at: i64,
        /// Whole minutes until then, rounded up.
        minutes: i64,
    },
    /// Hashing a password failed (a bug, or the blocking pool is gone).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] EngineError),
}

impl From<connectors_store::StoreError> for AccountError {
    fn from(e: connectors_store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// `HH:MM` of a Unix second, UTC.
fn clock_time(unix: i64) -> String {
    let day = unix.rem_euclid(86_400);
    format!("{:02}:{:02}", day / 3600, day % 3600 / 60)
}

/// An invite link made for a builder; the link is the secret.
#[derive(Debug)]
pub struct Invitation {
    /// Whose password it sets.
    pub builder_email: String,
    /// Their workspace.
    pub workspace_id: String,
    /// Whether the builder was created for it.
    pub created_builder: bool,
    /// `{public_url}/invite/{token}`, single use, shown once.
    pub url: Secret,
    /// Unix second it stops working.
    pub expires_at: i64,
}

/// A session just opened: the id goes into the cookie and nowhere else.
#[derive(Debug)]
pub struct NewSession {
    /// The cookie's value.
    pub id: Secret,
    /// Who signed in.
    pub builder: Builder,
    /// The cookie's lifetime (the absolute expiry).
    pub max_age_secs: i64,
}

/// A builder signed in by a live session.
#[derive(Debug, Clone)]
pub struct SignedInBuilder {
    principal: Principal,
    builder: Builder,
    csrf: String,
}

impl SignedInBuilder {
    /// The caller, with the same authorization as their API key.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The builder.
    pub fn builder(&self) -> &Builder {
        &self.builder
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        ct_eq(self.csrf.as_bytes(), presented.as_bytes())
    }
}

/// The CSRF token of a session: derived from its id, so it needs no
/// storage and only the session's holder can know it (the id is 256 random
/// bits in an HttpOnly cookie).
fn session_csrf(session_id: &str) -> String {
    hash_token(&format!("csrf\0{session_id}"))
}

/// What a builder's home page shows.
#[derive(Debug)]
pub struct Home {
    /// The builder's workspace.
    pub workspace: Workspace,
    /// Its apps.
    pub apps: Vec<App>,
}

fn hasher() -> Argon2<'static> {
    // argon2id, version 0x13, m = 19 MiB, t = 2, p = 1 (OWASP's minimum).
    Argon2::default()
}

/// A hash of a password nobody knows, with the same parameters: an unknown
/// email costs the same verification as a known one.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let unguessable = generate_token("", 32);
        hasher()
            .hash_password(
                unguessable.expose().as_bytes(),
                &SaltString::generate(&mut OsRng),
            )
            .expect("argon2 hashes with default parameters")
            .to_string()
    })
}

fn check_password(password: &str, confirm: &str) -> Result<(), AccountError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::PasswordTooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::PasswordTooShort);
    }
    if !ct_eq(password.as_bytes(), confirm.as_bytes()) {
        return Err(AccountError::PasswordsDiffer);
    }
    Ok(())
}

/// Hashing is CPU-bound work of tens of milliseconds: off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AccountError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))
}

impl Engine {
    fn accounts(&self) -> &AccountsConfig {
        &self.config().accounts
    }

    /// Makes a one-time link with which the builder `email` of the
    /// workspace sets a password (creating the builder when needed); it
    /// replaces the builder's older links.
    pub async fn invite(
        &self,
        workspace_id: &str,
        email: &str,
    ) -> std::result::Result<Invitation, AdminError> {
        if !self
            .store()
            .list_workspaces()
            .await?
            .iter()
            .any(|w| w.id == workspace_id)
        {
            return Err(AdminError::Engine(EngineError::BadRequest(format!(
                "no workspace `{workspace_id}`; see `connectors-server list`"
            ))));
        }
        let (builder, created_builder) =
            match self.store().find_builder(workspace_id, email).await? {
                Some(b) => (b, false),
                None => (self.create_builder(workspace_id, email).await?, true),
            };
        let (url, expires_at) = self.invite_builder(&builder.id).await?;
        Ok(Invitation {
            builder_email: builder.email,
            workspace_id: builder.workspace_id,
            created_builder,
            url,
            expires_at,
        })
    }

    /// A new invite link for a builder, and when it expires.
    pub(crate) async fn invite_builder(&self, builder_id: &str) -> crate::Result<(Secret, i64)> {
        let token = generate_token("", 32);
        let now = self.now();
        let expires_at = now + self.accounts().invite_ttl_secs;
        self.store()
            .create_invite(&NewInvite {
                token_hash: hash_token(token.expose()),
                builder_id: builder_id.to_string(),
                created_at: now,
                expires_at,
            })
            .await?;
        let url = Secret::new(format!(
            "{}{INVITE_PATH}/{}",
            self.config().public_url,
            token.expose()
        ));
        Ok((url, expires_at))
    }

    /// The email an unexpired invite token is for (the invite page shows it).
    pub async fn invite_email(&self, token: &str) -> Result<String, AccountError> {
        self.store()
            .invite_builder(&hash_token(token), self.now())
            .await?
            .map(|b| b.email)
            .ok_or(AccountError::InviteInvalid)
    }

    /// Sets the password of the invite's builder, uses the invite up, ends
    /// the builder's other sessions and opens a new one.
    pub async fn accept_invite(
        &self,
        token: &str,
        password: &str,
        confirm: &str,
    ) -> Result<NewSession, AccountError> {
        check_password(password, confirm)?;
        let token_hash = hash_token(token);
        // Checked first, so a dead link does not cost a hash.
        self.store()
            .invite_builder(&token_hash, self.now())
            .await?
            .ok_or(AccountError::InviteInvalid)?;
        let password = Secret::new(password);
        let hash = blocking(move || {
            hasher()
                .hash_password(
                    password.expose().as_bytes(),
                    &SaltString::generate(&mut OsRng),
                )
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
        let builder = self
            .store()
            .accept_invite(&token_hash, &hash, self.now())
            .await?
            .ok_or(AccountError::InviteInvalid)?;
        let session = self.open_session(builder).await?;
        self.audit(
            &Actor::builder(&session.builder),
            Audit::workspace(&session.builder.workspace_id, "signin.succeeded")
                .target(&session.builder.email)
                .detail("password set with an invite link"),
        )
        .await;
        Ok(session)
    }

    /// Signs a builder in by email and password. `client_address` is the
    /// peer's IP, for the per-address limit. While the account or the
    /// address is over its limit even the right password is refused.
    ///
    /// A sign-in that succeeds clears the account's count, so the owner's
    /// typos do not add up across sign-ins to a lock-out (clearing it takes
    /// the password, which a guesser lacks). The address's count stays:
    /// one right password (a guesser's own account) must not buy an
    /// address another round of guesses at everyone else's.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client_address: Option<&str>,
    ) -> Result<NewSession, AccountError> {
        let config = *self.accounts();
        let now = self.now();
        let since = now - config.signin_window_secs;
        let account_key = format!("account:{}", email.trim().to_lowercase());
        let mut limits = vec![(account_key.clone(), config.signin_max_failures)];
        if let Some(address) = client_address {
            limits.push((
                format!("address:{address}"),
                config.signin_max_failures * ADDRESS_LIMIT_FACTOR,
            ));
        }
        for (key, limit) in &limits {
            let (count, oldest) = self.store().signin_failures(key, since).await?;
            if count >= *limit {
                let retry_at = oldest.unwrap_or(now) + config.signin_window_secs;
                let minutes = ((retry_at - now).max(1) + 59) / 60;
                return Err(AccountError::RateLimited { retry_at, minutes });
            }
        }
        let candidates: Vec<(Builder, String)> = self
            .store()
            .builder_logins(email.trim())
            .await?
            .into_iter()
            .filter_map(|l| l.password_hash.map(|h| (l.builder, h)))
            .collect();
        let password = Secret::new(password);
        let hashes: Vec<String> = candidates.iter().map(|(_, h)| h.clone()).collect();
        let matched = blocking(move || {
            if password.expose().len() > MAX_PASSWORD_BYTES {
                return None;
            }
            let verify = |hash: &str| {
                PasswordHash::new(hash).is_ok_and(|parsed| {
                    hasher()
                        .verify_password(password.expose().as_bytes(), &parsed)
                        .is_ok()
                })
            };
            if hashes.is_empty() {
                // The same work as for a known email, then the same answer.
                let _ = verify(dummy_hash());
                return None;
            }
            hashes.iter().position(|h| verify(h))
        })
        .await?;
        match matched {
            Some(i) => {
                let builder = candidates.into_iter().nth(i).expect("a matched index").0;
                self.store().clear_signin_failures(&account_key).await?;
                let session = self.open_session(builder).await?;
                self.audit_signin(&session.builder, "password").await;
                Ok(session)
            }
            None => {
                let keys: Vec<String> = limits.into_iter().map(|(k, _)| k).collect();
                self.store()
                    .record_signin_failure(&keys, now, since)
                    .await?;
                self.audit_failed_signin(email.trim(), "password: wrong email or password")
                    .await;
                Err(AccountError::BadCredentials)
            }
        }
    }

    /// Records a sign-in by `method`.
    pub(crate) async fn audit_signin(&self, builder: &Builder, method: &str) {
        self.audit(
            &Actor::builder(builder),
            Audit::workspace(&builder.workspace_id, "signin.succeeded")
                .target(&builder.email)
                .detail(method),
        )
        .await;
    }

    /// Records a failed sign-in as `email` in the workspace of each builder
    /// with that email (an email no builder has belongs to no workspace's
    /// trail; the sign-in limit still counts it). By `anonymous`, labelled
    /// with the email tried: the person is not known to be its owner.
    pub(crate) async fn audit_failed_signin(&self, email: &str, why: &str) {
        let logins = match self.store().builder_logins(email).await {
            Ok(logins) => logins,
            Err(e) => {
                tracing::error!(error = %e, "an audit entry could not be written");
                return;
            }
        };
        let mut workspaces: Vec<String> =
            logins.into_iter().map(|l| l.builder.workspace_id).collect();
        workspaces.sort();
        workspaces.dedup();
        let actor = Actor::Anonymous {
            tried: Some(email.to_string()),
        };
        for workspace_id in workspaces {
            self.audit(
                &actor,
                Audit::workspace(&workspace_id, "signin.failed")
                    .target(email)
                    .detail(why),
            )
            .await;
        }
    }

    pub(crate) async fn open_session(&self, builder: Builder) -> crate::Result<NewSession> {
        let config = *self.accounts();
        let now = self.now();
        // Sessions past either expiry are gone for good; sweep them here
        // rather than in a background task.
        self.store()
            .delete_stale_sessions(
                now - config.session_idle_secs,
                now - config.session_max_secs,
            )
            .await?;
        let id = generate_token("", 32);
        self.store()
            .create_session(&hash_token(id.expose()), &builder.id, now)
            .await?;
        Ok(NewSession {
            id,
            builder,
            max_age_secs: config.session_max_secs,
        })
    }

    /// The builder of a live session, renewing its idle expiry; `None` for
    /// an unknown or expired one (which is deleted).
    pub async fn session(&self, session_id: &str) -> crate::Result<Option<SignedInBuilder>> {
        let config = *self.accounts();
        let id_hash = hash_token(session_id);
        let Some(row) = self.store().get_session(&id_hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        if now - row.last_seen_at >= config.session_idle_secs
            || now - row.created_at >= config.session_max_secs
        {
            self.store().delete_session(&id_hash).await?;
            return Ok(None);
        }
        if now - row.last_seen_at >= TOUCH_EVERY_SECS {
            self.store().touch_session(&id_hash, now).await?;
        }
        Ok(Some(SignedInBuilder {
            principal: Principal::Builder(row.builder.clone()),
            builder: row.builder,
            csrf: session_csrf(session_id),
        }))
    }

    /// Ends a session (nothing happens for an unknown one).
    pub async fn sign_out(&self, session_id: &str) -> crate::Result<()> {
        self.store().delete_session(&hash_token(session_id)).await?;
        Ok(())
    }

    /// A CSRF pair for forms shown before a session exists (sign-in,
    /// invite): a random value for a cookie, and the form's token, that
    /// value sealed with the server's key (a signed double submit: every
    /// replica shares the keys, and no one else can make a token).
    pub fn anonymous_csrf(&self) -> (Secret, String) {
        let cookie = generate_token("", 32);
        let token = self
            .keys()
            .seal(cookie.expose().as_bytes(), SIGNIN_CSRF_CONTEXT);
        (cookie, token)
    }

    /// The form token for an existing anonymous CSRF `cookie`.
    pub fn seal_anonymous_csrf(&self, cookie: &str) -> String {
        self.keys().seal(cookie.as_bytes(), SIGNIN_CSRF_CONTEXT)
    }

    /// Whether `token` is the sealed `cookie` (constant-time comparison).
    pub fn anonymous_csrf_matches(&self, cookie: &str, token: &str) -> bool {
        match self.keys().open(token, SIGNIN_CSRF_CONTEXT) {
            Ok(opened) => ct_eq(&opened, cookie.as_bytes()),
            Err(_) => false,
        }
    }

    /// The signed-in builder's workspace and its apps.
    pub async fn home(&self, signed_in: &SignedInBuilder) -> crate::Result<Home> {
        let workspace_id = &signed_in.builder.workspace_id;
        let workspace = self
            .store()
            .list_workspaces()
            .await?
            .into_iter()
            .find(|w| &w.id == workspace_id)
            .ok_or(EngineError::Store(connectors_store::StoreError::Corrupt(
                "builders (a builder's workspace is missing)",
            )))?;
        let apps = self.store().list_apps(Some(workspace_id)).await?;
        Ok(Home { workspace, apps })
    }
}

#[cfg(test)]
mod tests;
