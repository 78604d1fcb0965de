//! Who is calling, and what a check grants: builders (API key or bearer)
//! reach the apps of their workspace, app service tokens reach their app's
//! tokens.
//!
//! A check returns a value ([`AuthorizedApp`], [`ServiceApp`]) that only this
//! module can build, and the use cases take that value instead of a bare app
//! id: a use case cannot be called without the check having been made.
//! A new kind of principal (builder session, app user, workspace connector)
//! is a new [`Principal`] variant plus an arm in the checks below; handlers
//! never match on a principal.

use connectors_store::{App, Builder};
use connectors_vault::hash_token;

use crate::cache::ReadCache;
use crate::last_use::Used;
use crate::{Engine, EngineError, Result};

/// Prefix of builder API keys (what the npm CLI recognises).
pub const API_KEY_PREFIX: &str = "b44k_";
/// Prefix of per-app service tokens.
pub const SERVICE_TOKEN_PREFIX: &str = "b44s_";

/// A credential as presented, before it is checked.
#[derive(Debug)]
pub enum Credential<'a> {
    /// The `api_key` header.
    ApiKey(&'a str),
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// Nothing presented.
    None,
}

/// A checked caller. Non-exhaustive so that new kinds of caller can be added
/// without touching code outside the engine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Principal {
    /// A builder, reaching the apps of their workspace.
    Builder(Builder),
    /// An app's server side, reaching only that app's tokens.
    Service {
        /// The app the token belongs to.
        app_id: String,
    },
    /// An end user of one app (`app_users.rs`): reaches only the app-user
    /// routes of that app; builder and service routes answer 403.
    AppUser(crate::AppUser),
}

/// Proof that a builder may act on an app: the builder use cases require it.
#[derive(Debug, Clone)]
pub struct AuthorizedApp {
    builder: Builder,
    app: App,
}

impl AuthorizedApp {
    /// The builder acting.
    pub fn builder(&self) -> &Builder {
        &self.builder
    }

    /// The app acted on, in the builder's workspace.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The app's id.
    pub fn app_id(&self) -> &str {
        &self.app.id
    }
}

/// Proof that the caller is an app's own service token: the token use cases
/// require it.
#[derive(Debug, Clone)]
pub struct ServiceApp {
    app_id: String,
}

impl ServiceApp {
    /// The app whose tokens may be handed out.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }
}

impl Engine {
    /// Checks a presented credential. Unknown or malformed → `Unauthorized`;
    /// revoked → `ApiKeyRevoked` / `ServiceTokenRevoked` / `LoginRevoked`
    /// (also 401, saying why). A bearer JWT is a login's access token
    /// (`device.rs`): it grants what the builder's API key would.
    ///
    /// Tokens are looked up by their SHA-256 hash, so no comparison of the
    /// secret itself happens here; a recent answer comes from the read
    /// cache (revocations invalidate it). A lookup also records the key's
    /// or token's last use, coarsely and off the request path
    /// (`last_use.rs`).
    pub async fn authenticate(&self, credential: Credential<'_>) -> Result<Principal> {
        let token = match credential {
            Credential::ApiKey(t) | Credential::Bearer(t) => t.trim(),
            Credential::None => return Err(EngineError::Unauthorized),
        };
        // A login's access token (a JWT, `base44 login`), only as a bearer.
        if matches!(credential, Credential::Bearer(_)) && crate::device::looks_like_jwt(token) {
            // Boxed, as every path that may reach the database: the token
            // route's future stays small (see `cached_principal_keyed`).
            return Box::pin(self.authenticate_login(token)).await;
        }
        // Service tokens only as a bearer (never in `api_key`).
        let is_service =
            token.starts_with(SERVICE_TOKEN_PREFIX) && matches!(credential, Credential::Bearer(_));
        if !(is_service || token.starts_with(API_KEY_PREFIX)) {
            return Err(EngineError::Unauthorized);
        }
        self.cached_principal(token, |_| async {
            let principal = if is_service {
                let owner = self
                    .store()
                    .app_by_service_token_hash(&hash_token(token))
                    .await?
                    .ok_or(EngineError::Unauthorized)?;
                if owner.revoked_at.is_some() {
                    return Err(EngineError::ServiceTokenRevoked);
                }
                self.record_use(Used::ServiceToken, owner.id, owner.last_used_at);
                Principal::Service {
                    app_id: owner.app_id,
                }
            } else {
                let owner = self
                    .store()
                    .builder_by_api_key_hash(&hash_token(token))
                    .await?
                    .ok_or(EngineError::Unauthorized)?;
                if owner.revoked_at.is_some() {
                    return Err(EngineError::ApiKeyRevoked);
                }
                self.record_use(Used::ApiKey, owner.id, owner.last_used_at);
                Principal::Builder(owner.builder)
            };
            Ok((principal, i64::MAX))
        })
        .await
    }

    /// The principal of a presented token: from the read cache when it
    /// holds a recent answer, else what `lookup` reads (given the time of
    /// the read, Unix ms), cached until the time it answers with (never
    /// served at or after it) unless an invalidation overtook the read.
    /// The one cache prologue and epilogue of every kind of credential.
    pub(crate) async fn cached_principal<F, Fut>(&self, token: &str, lookup: F) -> Result<Principal>
    where
        F: FnOnce(i64) -> Fut,
        Fut: std::future::Future<Output = Result<(Principal, i64)>>,
    {
        self.cached_principal_keyed(ReadCache::token_hash(token), lookup)
            .await
    }

    /// [`Self::cached_principal`] under a key of the caller's making (an
    /// app user's token is keyed with its app).
    pub(crate) async fn cached_principal_keyed<F, Fut>(
        &self,
        cache_key: [u8; 32],
        lookup: F,
    ) -> Result<Principal>
    where
        F: FnOnce(i64) -> Fut,
        Fut: std::future::Future<Output = Result<(Principal, i64)>>,
    {
        let cache = &self.inner.cache;
        let now_ms = self.now_ms();
        if let Some(principal) = cache.principal(&cache_key, now_ms) {
            return Ok(principal);
        }
        let ticket = cache.ticket();
        // A miss's lookup (a database read, a JWKS fetch) is boxed: inline,
        // its state would make the future of every read, hits included,
        // kilobytes large, copied on each move.
        let (principal, valid_until_ms) = Box::pin(lookup(now_ms)).await?;
        cache.put_principal(ticket, cache_key, principal.clone(), now_ms, valid_until_ms);
        Ok(principal)
    }

    /// The app a builder endpoint acts on, if the principal may reach it:
    /// another workspace's app is "not found", a service token is refused.
    pub async fn builder_app(&self, principal: &Principal, app_id: &str) -> Result<AuthorizedApp> {
        let builder = match principal {
            Principal::Builder(b) => b,
            Principal::Service { .. } | Principal::AppUser(_) => {
                return Err(EngineError::BuilderOnly)
            }
        };
        match self.store().get_app(app_id).await? {
            Some(app) if app.workspace_id == builder.workspace_id => Ok(AuthorizedApp {
                builder: builder.clone(),
                app,
            }),
            _ => Err(EngineError::AppNotFound(app_id.to_string())),
        }
    }

    /// Checks that the principal is the app's own service token.
    pub fn service_app(&self, principal: &Principal, app_id: &str) -> Result<ServiceApp> {
        match principal {
            Principal::Service { app_id: own } if own == app_id => Ok(ServiceApp {
                app_id: own.clone(),
            }),
            Principal::Service { .. } => Err(EngineError::Unauthorized),
            Principal::Builder(_) | Principal::AppUser(_) => Err(EngineError::ServiceOnly),
        }
    }
}
