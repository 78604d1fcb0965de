//! Who is calling: builders (API key or bearer) and app service tokens.

use connectors_store::{App, Builder};
use connectors_vault::{ct_eq, hash_token};

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

/// A checked caller.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A builder, reaching the apps of their workspace.
    Builder(Builder),
    /// An app's server side, reaching only that app's tokens.
    Service {
        /// The app the token belongs to.
        app_id: String,
    },
}

impl Engine {
    /// Checks a presented credential. Unknown, revoked or malformed → `Unauthorized`.
    pub async fn authenticate(&self, credential: Credential<'_>) -> Result<Principal> {
        let token = match credential {
            Credential::ApiKey(t) | Credential::Bearer(t) => t.trim(),
            Credential::None => return Err(EngineError::Unauthorized),
        };
        if token.starts_with(API_KEY_PREFIX) {
            let hash = hash_token(token);
            let owner = self
                .inner
                .store
                .builder_by_api_key_hash(&hash)
                .await?
                .ok_or(EngineError::Unauthorized)?;
            // The lookup is by hash; re-check in constant time so equality
            // never depends on a short-circuiting comparison.
            if !ct_eq(owner.key_hash.as_bytes(), hash.as_bytes()) {
                return Err(EngineError::Unauthorized);
            }
            return Ok(Principal::Builder(owner.builder));
        }
        if token.starts_with(SERVICE_TOKEN_PREFIX) && matches!(credential, Credential::Bearer(_)) {
            let hash = hash_token(token);
            let owner = self
                .inner
                .store
                .app_by_service_token_hash(&hash)
                .await?
                .ok_or(EngineError::Unauthorized)?;
            if !ct_eq(owner.token_hash.as_bytes(), hash.as_bytes()) {
                return Err(EngineError::Unauthorized);
            }
            return Ok(Principal::Service {
                app_id: owner.app_id,
            });
        }
        Err(EngineError::Unauthorized)
    }

    /// The app a builder endpoint acts on, if the principal may reach it.
    pub async fn builder_app(&self, principal: &Principal, app_id: &str) -> Result<(Builder, App)> {
        let builder = match principal {
            Principal::Builder(b) => b,
            Principal::Service { .. } => return Err(EngineError::BuilderOnly),
        };
        match self.inner.store.get_app(app_id).await? {
            Some(app) if app.workspace_id == builder.workspace_id => Ok((builder.clone(), app)),
            _ => Err(EngineError::AppNotFound(app_id.to_string())),
        }
    }

    /// Checks that the principal is the app's own service token.
    pub fn service_app(&self, principal: &Principal, app_id: &str) -> Result<()> {
        match principal {
            Principal::Service { app_id: own } if ct_eq(own.as_bytes(), app_id.as_bytes()) => {
                Ok(())
            }
            Principal::Service { .. } => Err(EngineError::Unauthorized),
            Principal::Builder(_) => Err(EngineError::ServiceOnly),
        }
    }
}
