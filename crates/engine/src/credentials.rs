//! Listing and revoking API keys and service tokens, for the operator (admin
//! commands) and for builders (their own keys, their apps' tokens).
//!
//! Each credential kind has ONE revocation use case ([`Engine::revoke_api_key`],
//! [`Engine::revoke_service_token`]) that every caller goes through, so a
//! principal cache has one place to be invalidated. Listings never carry a
//! secret or its hash, only the stored display prefix.

use connectors_store::{ApiKeyInfo, ServiceTokenInfo};

use crate::audit::{Actor, Audit};
use crate::principal::{AuthorizedApp, Principal};
use crate::{Engine, EngineError, IssuedSecret, Result};

/// Whose API keys a listing or revocation may touch.
#[derive(Debug, Clone, Copy)]
pub enum ApiKeyScope<'a> {
    /// The operator: any key (a listing optionally narrowed to a workspace).
    Operator {
        /// Only this workspace's keys, when listing.
        workspace_id: Option<&'a str>,
    },
    /// A caller: only a builder's own keys; a service token is refused.
    Caller(&'a Principal),
}

/// Whose service tokens a listing or revocation may touch.
#[derive(Debug, Clone, Copy)]
pub enum ServiceTokenScope<'a> {
    /// The operator: any token (a listing optionally narrowed to an app).
    Operator {
        /// Only this app's tokens, when listing.
        app_id: Option<&'a str>,
    },
    /// A builder acting on an app of their workspace: only that app's tokens.
    App(&'a AuthorizedApp),
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The credential's id.
    pub id: String,
    /// When it was revoked (Unix seconds): now, or earlier if it already was.
    pub revoked_at: i64,
    /// Whether it had been revoked before this call (revoking is idempotent).
    pub already_revoked: bool,
}

impl Engine {
    /// Issues an API key for the calling builder (a service token is
    /// refused): the secret is in the answer only, to be shown once.
    pub async fn create_own_api_key(&self, caller: &Principal) -> Result<IssuedSecret> {
        let builder = match caller {
            Principal::Builder(builder) => builder,
            Principal::Service { .. } | Principal::AppUser(_) => {
                return Err(EngineError::BuilderOnly)
            }
        };
        self.issue_api_key(
            &builder.id,
            Some(&builder.workspace_id),
            &Actor::builder(builder),
        )
        .await
    }

    /// Issues another service token for an app the builder may manage.
    pub async fn create_app_service_token(&self, app: &AuthorizedApp) -> Result<IssuedSecret> {
        self.issue_service_token(
            app.app_id(),
            Some(&app.app().workspace_id),
            &Actor::builder(app.builder()),
        )
        .await
    }

    /// API keys in `scope`, oldest first.
    pub async fn list_api_keys(&self, scope: ApiKeyScope<'_>) -> Result<Vec<ApiKeyInfo>> {
        let (workspace_id, builder_id) = match scope {
            ApiKeyScope::Operator { workspace_id } => (workspace_id, None),
            ApiKeyScope::Caller(principal) => (None, Some(caller_builder(principal)?)),
        };
        Ok(self.store().list_api_keys(workspace_id, builder_id).await?)
    }

    /// Revokes an API key: from the next request on, it is refused with 401
    /// (also the key that made this request). Idempotent. A key outside
    /// `scope` is "not found", exactly like an id that does not exist, so
    /// ids cannot be probed. The only place an API key is revoked.
    pub async fn revoke_api_key(&self, id: &str, scope: ApiKeyScope<'_>) -> Result<Revocation> {
        let not_found = || EngineError::ApiKeyNotFound(id.to_string());
        // A service token is refused before any lookup (403, not 404).
        let owner = match scope {
            ApiKeyScope::Caller(principal) => Some(caller_builder(principal)?),
            ApiKeyScope::Operator { .. } => None,
        };
        let key = self.store().get_api_key(id).await?.ok_or_else(not_found)?;
        if owner.is_some_and(|owner| owner != key.builder_id) {
            return Err(not_found());
        }
        let now = self.now();
        let revoked = self.store().revoke_api_key(id, now).await;
        self.inner.cache.forget_principals();
        if revoked? {
            let actor = match scope {
                ApiKeyScope::Operator { .. } => Actor::Operator,
                ApiKeyScope::Caller(principal) => Actor::of(principal),
            };
            self.audit(
                &actor,
                Audit::workspace(&key.workspace_id, "api_key.revoked")
                    .target(format!("{}…", key.display_prefix))
                    .detail(format!("key {} of {}", key.id, key.builder_email)),
            )
            .await;
            return Ok(Revocation {
                id: key.id,
                revoked_at: now,
                already_revoked: false,
            });
        }
        // Revoked before (or by a racing call): answer when.
        let key = self.store().get_api_key(id).await?.ok_or_else(not_found)?;
        Ok(Revocation {
            id: key.id,
            revoked_at: key.revoked_at.unwrap_or(now),
            already_revoked: true,
        })
    }

    /// Service tokens in `scope`, oldest first.
    pub async fn list_service_tokens(
        &self,
        scope: ServiceTokenScope<'_>,
    ) -> Result<Vec<ServiceTokenInfo>> {
        let app_id = match scope {
            ServiceTokenScope::Operator { app_id } => app_id,
            ServiceTokenScope::App(app) => Some(app.app_id()),
        };
        Ok(self.store().list_service_tokens(None, app_id).await?)
    }

    /// Revokes a service token: from the next request on, it is refused with
    /// 401. Idempotent. A token of another app is "not found", like an id
    /// that does not exist. The only place a service token is revoked.
    pub async fn revoke_service_token(
        &self,
        id: &str,
        scope: ServiceTokenScope<'_>,
    ) -> Result<Revocation> {
        let not_found = || EngineError::ServiceTokenNotFound(id.to_string());
        let token = self
            .store()
            .get_service_token(id)
            .await?
            .ok_or_else(not_found)?;
        if let ServiceTokenScope::App(app) = scope {
            if token.app_id != app.app_id() {
                return Err(not_found());
            }
        }
        let now = self.now();
        let revoked = self.store().revoke_service_token(id, now).await;
        self.inner.cache.forget_principals();
        if revoked? {
            let actor = match scope {
                ServiceTokenScope::Operator { .. } => Actor::Operator,
                ServiceTokenScope::App(app) => Actor::builder(app.builder()),
            };
            self.audit(
                &actor,
                Audit::app(&token.workspace_id, &token.app_id, "service_token.revoked")
                    .target(format!("{}…", token.display_prefix))
                    .detail(format!("token {}", token.id)),
            )
            .await;
            return Ok(Revocation {
                id: token.id,
                revoked_at: now,
                already_revoked: false,
            });
        }
        let token = self
            .store()
            .get_service_token(id)
            .await?
            .ok_or_else(not_found)?;
        Ok(Revocation {
            id: token.id,
            revoked_at: token.revoked_at.unwrap_or(now),
            already_revoked: true,
        })
    }
}

/// The builder id of a caller that must be a builder.
fn caller_builder(principal: &Principal) -> Result<&str> {
    match principal {
        Principal::Builder(builder) => Ok(&builder.id),
        Principal::Service { .. } | Principal::AppUser(_) => Err(EngineError::BuilderOnly),
    }
}
