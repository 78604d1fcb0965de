//! Single sign-on with the operator's OpenID Connect provider (`[auth.oidc]`,
//! issue #12.1): the authorization-code flow with PKCE (S256), `state` and
//! `nonce`, ending in the same session as a password sign-in.
//!
//! Nothing of a sign-in in progress is stored: `state`, `nonce`, the PKCE
//! verifier, where to go afterwards and the expiry are sealed with the
//! server's key into one short-lived cookie (the browser binding), which
//! every replica can open and no one else can make or read. The callback is
//! accepted only with that cookie and the `state` it holds.
//!
//! SSO never creates accounts: it signs in the existing builder whose email
//! the provider asserts as verified. The operator invites builders.

use std::collections::BTreeMap;
use std::sync::Arc;

use connectors_oauth::oidc::{id_token, verify_id_token};
use connectors_oauth::{
    authorization_url, new_pkce, new_state, AuthorizationRequest, ClientCredentials, Grant,
    IdTokenCheck, IdTokenClaims, IdTokenError, Jwks, OAuthSpec, OidcError, PkceVerifier,
    ProviderMetadata, TokenError,
};
use connectors_vault::{ct_eq, generate_token, Secret};

use crate::accounts::NewSession;
use crate::{Engine, EngineError};

/// Where the sign-in page's SSO button posts.
pub const SSO_START_PATH: &str = "/signin/oidc";
/// The redirect URI to register at the identity provider:
/// `{public_url}/signin/oidc/callback`.
pub const SSO_CALLBACK_PATH: &str = "/signin/oidc/callback";
/// Associated data of the sealed browser binding.
const BINDING_CONTEXT: &str = "sso_binding";
/// The discovery document is fetched again after this long (seconds).
const METADATA_MAX_AGE_SECS: i64 = 3600;
/// The signing keys are fetched again after this long (seconds)…
const KEYS_MAX_AGE_SECS: i64 = 3600;
/// …or when a token names a key the set lacks, but not more often than
/// this (seconds): a flood of forged `kid`s cannot make us hammer the
/// provider.
const KEYS_MIN_REFETCH_SECS: i64 = 60;

/// `[auth.oidc]`: the operator's identity provider.
#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// The issuer; its discovery document must name exactly this.
    pub issuer: String,
    /// Our client id at the provider.
    pub client_id: String,
    /// Our client secret there.
    pub client_secret: Secret,
    /// The provider's name on the button: "Sign in with {display_name}".
    pub display_name: String,
    /// Scopes asked for (`openid` among them).
    pub scopes: Vec<String>,
}

/// Why a single sign-on was refused. Shown on the page, so each text says
/// what to do next; none holds a secret. Emails appear only where they are
/// the person's own, as their provider asserted it.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// `[auth.oidc]` is not set.
    #[error("Single sign-on is not set up on this server. Sign in with your email and password.")]
    NotConfigured,
    /// The provider's discovery document or keys cannot be had.
    #[error("The identity provider cannot be used right now: {0}. Try again in a minute or sign in with your email and password; if this persists, the server's operator should check [auth.oidc].")]
    Unavailable(String),
    /// The browser brought no binding cookie.
    #[error("This sign-in was not started in this browser, or its cookie was lost. Start again from the sign-in page.")]
    NoBinding,
    /// The binding cookie is not one this server made.
    #[error("This sign-in's cookie is damaged or was not made by this server. Start again from the sign-in page.")]
    BindingInvalid,
    /// The binding is older than `[oauth] state_ttl_secs`.
    #[error("This sign-in took too long and expired. Start again from the sign-in page.")]
    Expired,
    /// The callback's `state` is missing or not the binding's.
    #[error("This answer of the identity provider does not belong to the sign-in this browser started (its state differs; a newer sign-in may have replaced it). Start again from the sign-in page.")]
    StateMismatch,
    /// The callback's `iss` (RFC 9207) is another issuer, or missing
    /// though the provider promises it.
    #[error("This answer did not come from the configured identity provider (its `iss` differs). Start again from the sign-in page.")]
    WrongIssuer,
    /// The provider answered `error=` (the person declined, for instance).
    #[error("The identity provider did not sign you in: {0}. Start again from the sign-in page.")]
    Provider(String),
    /// The callback has no code.
    #[error("The identity provider's answer has no authorization code. Start again from the sign-in page.")]
    MissingCode,
    /// The code exchange failed.
    #[error("The identity provider did not accept this sign-in: {0}. Start again from the sign-in page.")]
    Exchange(String),
    /// The token response has no ID token, or the ID token was refused.
    #[error("The identity provider's ID token was refused: {0}. Start again from the sign-in page; if this keeps happening, the server's operator should check [auth.oidc].")]
    IdToken(String),
    /// Neither the ID token nor userinfo says an email.
    #[error("The identity provider did not tell this server your email address. The server's operator should make sure [auth.oidc] scopes include `email` and the provider releases it.")]
    NoEmail,
    /// The provider does not vouch for the email.
    #[error("Your identity provider has not verified the email address {0}, so it cannot sign you in here. Verify the address with your provider, or sign in with your email and password.")]
    EmailUnverified(String),
    /// No builder has the email.
    #[error("No builder on this server has the email address {0}. Single sign-on signs in only builders the server's operator invited; ask the operator for an invite (`connectors-server invite --email {0}`).")]
    UnknownEmail(String),
    /// Our side failed.
    #[error(transparent)]
    Internal(#[from] EngineError),
}

impl From<connectors_store::StoreError> for SsoError {
    fn from(e: connectors_store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// A single sign-on started: send the browser to `url`, holding `binding`
/// in a cookie for the callback.
#[derive(Debug)]
pub struct SsoStart {
    /// The provider's authorization URL.
    pub url: String,
    /// The cookie's value (sealed; opaque to the browser).
    pub binding: Secret,
    /// How long the cookie is needed, in seconds.
    pub binding_ttl_secs: i64,
}

/// What the provider's redirect to [`SSO_CALLBACK_PATH`] carried.
#[derive(Debug, Default)]
pub struct SsoCallback {
    /// Our state.
    pub state: Option<String>,
    /// The authorization code.
    pub code: Option<String>,
    /// The provider's refusal.
    pub error: Option<String>,
    /// Its explanation.
    pub error_description: Option<String>,
    /// The issuer of the answer (RFC 9207), when the provider sends it.
    pub iss: Option<String>,
}

/// A finished single sign-on.
#[derive(Debug)]
pub struct SsoSignedIn {
    /// The new session, as a password sign-in opens it.
    pub session: NewSession,
    /// The local path to go to (the `next` given at the start).
    pub next: String,
}

/// The provider, as discovered.
struct Provider {
    metadata: ProviderMetadata,
    spec: OAuthSpec,
    fetched_at: i64,
}

/// Discovery and signing keys, fetched lazily and kept; failures are not
/// kept, so the next sign-in tries again.
#[derive(Default)]
pub(crate) struct SsoCache {
    provider: tokio::sync::Mutex<Option<Arc<Provider>>>,
    keys: tokio::sync::Mutex<Option<(Arc<Jwks>, i64)>>,
}

/// What the binding cookie seals.
struct Binding {
    expires_at: i64,
    state: String,
    nonce: String,
    verifier: String,
    next: String,
}

impl Binding {
    fn encode(&self) -> String {
        format!(
            "v1\n{}\n{}\n{}\n{}\n{}",
            self.expires_at, self.state, self.nonce, self.verifier, self.next
        )
    }

    fn decode(text: &str) -> Option<Self> {
        let mut parts = text.splitn(6, '\n');
        if parts.next()? != "v1" {
            return None;
        }
        Some(Self {
            expires_at: parts.next()?.parse().ok()?,
            state: parts.next()?.to_owned(),
            nonce: parts.next()?.to_owned(),
            verifier: parts.next()?.to_owned(),
            next: parts.next()?.to_owned(),
        })
    }
}

/// A provider's text, shortened and stripped of control characters before
/// it is shown.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Whether `issuer` can name an identity provider (`[auth.oidc] issuer`):
/// an `https` URL (plain `http` only to a loopback host) without query,
/// fragment or user information. The reason otherwise.
pub fn check_sso_issuer(issuer: &str) -> Result<(), String> {
    connectors_oauth::oidc::check_issuer(issuer)
}

impl Engine {
    fn sso(&self) -> Result<&SsoConfig, SsoError> {
        self.config().sso.as_ref().ok_or(SsoError::NotConfigured)
    }

    /// The provider's name for the sign-in button, when SSO is set up.
    pub fn sso_display_name(&self) -> Option<&str> {
        self.config().sso.as_ref().map(|s| s.display_name.as_str())
    }

    /// Fetches the provider's discovery document now (the server calls it
    /// at start, so a wrong issuer shows in the log before anyone signs in).
    pub async fn check_sso(&self) -> Result<(), SsoError> {
        self.sso_provider().await.map(|_| ())
    }

    /// The discovered provider: kept for [`METADATA_MAX_AGE_SECS`]; when a
    /// later fetch fails, the kept one serves on.
    async fn sso_provider(&self) -> Result<Arc<Provider>, SsoError> {
        let sso = self.sso()?;
        let now = self.now();
        let mut slot = self.inner.sso_cache.provider.lock().await;
        if let Some(p) = slot
            .as_ref()
            .filter(|p| now - p.fetched_at < METADATA_MAX_AGE_SECS)
        {
            return Ok(p.clone());
        }
        match self.oauth().discover(&sso.issuer).await {
            Ok(metadata) => {
                let provider = Arc::new(Provider {
                    spec: metadata.spec(),
                    metadata,
                    fetched_at: now,
                });
                *slot = Some(provider.clone());
                Ok(provider)
            }
            Err(e) => match slot.as_ref() {
                Some(stale) => {
                    tracing::warn!(error = %e, "single sign-on: refreshing the discovery document failed; using the one fetched before");
                    Ok(stale.clone())
                }
                None => Err(unavailable(e)),
            },
        }
    }

    /// The provider's signing keys: kept for [`KEYS_MAX_AGE_SECS`], fetched
    /// again earlier when `stale` (a token named a key the set lacks) and
    /// the set is older than [`KEYS_MIN_REFETCH_SECS`].
    async fn sso_keys(&self, provider: &Provider, stale: bool) -> Result<Arc<Jwks>, SsoError> {
        let Some(uri) = &provider.metadata.jwks_uri else {
            return Ok(Arc::new(Jwks::default()));
        };
        let now = self.now();
        let mut slot = self.inner.sso_cache.keys.lock().await;
        if let Some((keys, at)) = slot.as_ref() {
            let age = now - at;
            let fresh = if stale {
                age < KEYS_MIN_REFETCH_SECS
            } else {
                age < KEYS_MAX_AGE_SECS
            };
            if fresh {
                return Ok(keys.clone());
            }
        }
        let keys = Arc::new(self.oauth().jwks(uri).await.map_err(unavailable)?);
        *slot = Some((keys.clone(), now));
        Ok(keys)
    }

    /// Starts a single sign-on that comes back to `next` (a local path; the
    /// caller has checked it).
    pub async fn start_sso(&self, next: &str) -> Result<SsoStart, SsoError> {
        let sso = self.sso()?;
        let provider = self.sso_provider().await?;
        let state = new_state();
        let nonce = generate_token("", 32);
        let pkce = new_pkce();
        let mut spec = provider.spec.clone();
        spec.authorization_params
            .insert("nonce".into(), nonce.expose().to_owned());
        let redirect_uri = self.sso_redirect_uri();
        let url = authorization_url(&AuthorizationRequest {
            spec: &spec,
            client_id: &sso.client_id,
            redirect_uri: &redirect_uri,
            scopes: &sso.scopes,
            state: state.expose(),
            pkce_challenge: Some(&pkce.challenge),
            connection_config: &BTreeMap::new(),
        })
        .map_err(|e| SsoError::Unavailable(e.to_string()))?;
        let ttl = self.config().state_ttl_secs;
        let next = if next.starts_with('/') && !next.contains(['\n', '\r']) {
            next
        } else {
            "/"
        };
        let binding = Binding {
            expires_at: self.now() + ttl,
            state: state.expose().to_owned(),
            nonce: nonce.expose().to_owned(),
            verifier: pkce.verifier.secret().expose().to_owned(),
            next: next.to_owned(),
        };
        let sealed = self
            .keys()
            .seal(binding.encode().as_bytes(), BINDING_CONTEXT);
        Ok(SsoStart {
            url: url.into(),
            binding: Secret::new(sealed),
            binding_ttl_secs: ttl,
        })
    }

    fn sso_redirect_uri(&self) -> String {
        format!("{}{SSO_CALLBACK_PATH}", self.config().public_url)
    }

    /// Finishes a single sign-on at the callback: the browser's `binding`
    /// cookie and `state` first, then the code exchange, the ID token, the
    /// email, and the builder with that email.
    pub async fn finish_sso(
        &self,
        callback: SsoCallback,
        binding: Option<&str>,
    ) -> Result<SsoSignedIn, SsoError> {
        let sso = self.sso()?;
        let binding = binding.ok_or(SsoError::NoBinding)?;
        let binding = self
            .keys()
            .open(binding, BINDING_CONTEXT)
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .and_then(|b| Binding::decode(&b))
            .ok_or(SsoError::BindingInvalid)?;
        if self.now() >= binding.expires_at {
            return Err(SsoError::Expired);
        }
        if !callback
            .state
            .as_deref()
            .is_some_and(|s| ct_eq(s.as_bytes(), binding.state.as_bytes()))
        {
            return Err(SsoError::StateMismatch);
        }
        let provider = self.sso_provider().await?;
        match &callback.iss {
            Some(iss) if iss != &provider.metadata.issuer => return Err(SsoError::WrongIssuer),
            None if provider.metadata.iss_parameter_supported => return Err(SsoError::WrongIssuer),
            _ => {}
        }
        if let Some(error) = &callback.error {
            let reason = match &callback.error_description {
                Some(d) => format!("{} ({})", clean(error), clean(d)),
                None => clean(error),
            };
            return Err(SsoError::Provider(reason));
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(SsoError::MissingCode)?;
        let redirect_uri = self.sso_redirect_uri();
        let client = ClientCredentials {
            client_id: sso.client_id.clone(),
            client_secret: Some(sso.client_secret.clone()),
        };
        let grant = Grant::AuthorizationCode {
            code,
            redirect_uri: &redirect_uri,
            pkce_verifier: Some(PkceVerifier::new(Secret::new(binding.verifier))),
        };
        let tokens = self
            .oauth()
            .exchange(&provider.spec, &client, grant, &BTreeMap::new())
            .await
            .map_err(|e| {
                SsoError::Exchange(match e {
                    TokenError::Permanent { error, description } => match description {
                        Some(d) => format!("it refused the code: {error} ({d})"),
                        None => format!("it refused the code: {error}"),
                    },
                    TokenError::Transient { reason, .. } => format!("it is unavailable ({reason})"),
                })
            })?;
        let id_token = id_token(&tokens).ok_or_else(|| {
            SsoError::IdToken(
                "the token response has no `id_token` (the scopes must include `openid`)".into(),
            )
        })?;
        let claims = self
            .verify_sso_id_token(sso, &provider, id_token.expose(), &binding.nonce)
            .await?;
        let (email, verified) = self
            .sso_email(&provider, &claims, &tokens.access_token)
            .await?;
        let email = email.ok_or(SsoError::NoEmail)?;
        if verified != Some(true) {
            self.audit_failed_signin(
                &email,
                "single sign-on: the identity provider has not verified this email",
            )
            .await;
            return Err(SsoError::EmailUnverified(email));
        }
        // Builders of several workspaces may share an email; the oldest
        // is signed in (as a password sign-in tries them in that order).
        let builder = self
            .store()
            .builder_logins(&email)
            .await?
            .into_iter()
            .next()
            .map(|login| login.builder)
            .ok_or_else(|| SsoError::UnknownEmail(email.clone()))?;
        let session = self.open_session(builder).await?;
        self.audit_signin(&session.builder, "single sign-on").await;
        Ok(SsoSignedIn {
            session,
            next: binding.next,
        })
    }

    async fn verify_sso_id_token(
        &self,
        sso: &SsoConfig,
        provider: &Provider,
        id_token: &str,
        nonce: &str,
    ) -> Result<IdTokenClaims, SsoError> {
        let check = IdTokenCheck {
            issuer: &sso.issuer,
            client_id: &sso.client_id,
            client_secret: &sso.client_secret,
            nonce,
            now_secs: self.now(),
        };
        let keys = self.sso_keys(provider, false).await?;
        match verify_id_token(id_token, &check, &keys) {
            Err(IdTokenError::UnknownKey) => {
                // The provider may have rotated its keys since we fetched them.
                let keys = self.sso_keys(provider, true).await?;
                verify_id_token(id_token, &check, &keys)
            }
            other => other,
        }
        .map_err(|e| SsoError::IdToken(e.to_string()))
    }

    /// The email and whether it is verified: from the ID token when it says
    /// both, else from userinfo (whose `sub` must be the token's, Core
    /// §5.3.2), else what the token said.
    async fn sso_email(
        &self,
        provider: &Provider,
        claims: &IdTokenClaims,
        access_token: &Secret,
    ) -> Result<(Option<String>, Option<bool>), SsoError> {
        if claims.email.is_some() && claims.email_verified.is_some() {
            return Ok((claims.email.clone(), claims.email_verified));
        }
        let Some(endpoint) = &provider.metadata.userinfo_endpoint else {
            return Ok((claims.email.clone(), claims.email_verified));
        };
        let info = self
            .oauth()
            .userinfo(endpoint, access_token)
            .await
            .map_err(unavailable)?;
        if info.sub.as_deref() != Some(claims.sub.as_str()) {
            return Err(SsoError::IdToken(
                "userinfo describes another subject than the ID token".into(),
            ));
        }
        Ok((
            info.email.or_else(|| claims.email.clone()),
            info.email_verified.or(claims.email_verified),
        ))
    }
}

fn unavailable(e: OidcError) -> SsoError {
    SsoError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_round_trips_and_keeps_next_whole() {
        let b = Binding {
            expires_at: 42,
            state: "s".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            next: "/apps/x?a=1|b".into(),
        };
        let back = Binding::decode(&b.encode()).unwrap();
        assert_eq!(
            (
                back.expires_at,
                back.state,
                back.nonce,
                back.verifier,
                back.next
            ),
            (
                42,
                "s".into(),
                "n".into(),
                "v".into(),
                "/apps/x?a=1|b".into()
            )
        );
        assert!(Binding::decode("v2\n1\ns\nn\nv\n/").is_none());
        assert!(Binding::decode("v1\nx\ns\nn\nv\n/").is_none());
        assert!(Binding::decode("v1\n1\ns\nn").is_none());
    }
}
