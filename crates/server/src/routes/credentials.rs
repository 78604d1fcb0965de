//! Builders' own credentials: `GET/DELETE /api/api-keys[/{key_id}]` (the
//! caller's API keys) and `GET/DELETE /api/apps/{app_id}/service-tokens[/{token_id}]`
//! (an app's service tokens). Revocation is the engine's one use case per
//! kind; listings carry only display prefixes.

use axum::extract::State;
use axum::routing::{delete, get};
use axum::{Json, Router};
use connectors_engine::{ApiKeyInfo, ApiKeyScope, Revocation, ServiceTokenInfo, ServiceTokenScope};
use connectors_wire::{ApiKeyList, CredentialInfo, RevokeResponse, ServiceTokenList};
use serde::Deserialize;

use crate::auth::{BuilderApp, Caller};
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

/// Routes relative to `/api/api-keys`.
pub fn api_key_router() -> Router<AppState> {
    Router::new()
        .route("/", get(list_api_keys))
        .route("/{key_id}", delete(revoke_api_key))
}

/// Routes relative to `/api/apps/{app_id}/service-tokens`.
pub fn service_token_router() -> Router<AppState> {
    Router::new()
        .route("/", get(list_service_tokens))
        .route("/{token_id}", delete(revoke_service_token))
}

#[derive(Deserialize)]
struct KeySegment {
    key_id: String,
}

#[derive(Deserialize)]
struct TokenSegment {
    token_id: String,
}

async fn list_api_keys(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<ApiKeyList>, ApiError> {
    let keys = state
        .engine
        .list_api_keys(ApiKeyScope::Caller(&caller))
        .await?;
    Ok(Json(ApiKeyList {
        api_keys: keys.into_iter().map(api_key_info).collect(),
    }))
}

async fn revoke_api_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(KeySegment { key_id }): Path<KeySegment>,
) -> Result<Json<RevokeResponse>, ApiError> {
    let done = state
        .engine
        .revoke_api_key(&key_id, ApiKeyScope::Caller(&caller))
        .await?;
    Ok(Json(revoke_response(done)))
}

async fn list_service_tokens(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Result<Json<ServiceTokenList>, ApiError> {
    let tokens = state
        .engine
        .list_service_tokens(ServiceTokenScope::App(&app))
        .await?;
    Ok(Json(ServiceTokenList {
        service_tokens: tokens.into_iter().map(service_token_info).collect(),
    }))
}

async fn revoke_service_token(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Path(TokenSegment { token_id }): Path<TokenSegment>,
) -> Result<Json<RevokeResponse>, ApiError> {
    let done = state
        .engine
        .revoke_service_token(&token_id, ServiceTokenScope::App(&app))
        .await?;
    Ok(Json(revoke_response(done)))
}

fn api_key_info(k: ApiKeyInfo) -> CredentialInfo {
    CredentialInfo {
        id: k.id,
        prefix: k.display_prefix,
        created_at: k.created_at,
        revoked_at: k.revoked_at,
        last_used_at: k.last_used_at,
    }
}

fn service_token_info(t: ServiceTokenInfo) -> CredentialInfo {
    CredentialInfo {
        id: t.id,
        prefix: t.display_prefix,
        created_at: t.created_at,
        revoked_at: t.revoked_at,
        last_used_at: t.last_used_at,
    }
}

fn revoke_response(r: Revocation) -> RevokeResponse {
    RevokeResponse {
        id: r.id,
        revoked_at: r.revoked_at,
        already_revoked: r.already_revoked,
    }
}
