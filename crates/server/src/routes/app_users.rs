//! App users (issue #13.3): the public keys of minted app-user tokens,
//! minting them with an app's service token, and the builder's app-user
//! settings and list of users. The engine (`app_users.rs`) does the work.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use connectors_wire::{
    AppUserInfo, AppUserList, AppUserSettings, AppUserTokenRequest, AppUserTokenResponse,
};

use crate::auth::{BuilderApp, ServiceApp};
use crate::error::ApiError;
use crate::extract::Json as Body;
use crate::state::AppState;

/// Where the public keys are.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Routes relative to `/api/apps/{app_id}`.
pub fn app_router() -> Router<AppState> {
    Router::new()
        .route("/app-user-tokens", post(mint))
        .route("/app-user-settings", get(settings).put(put_settings))
        .route("/app-users", get(list_users))
}

/// `GET /.well-known/jwks.json`: public, cacheable for a few minutes (a
/// rotation publishes the new key before it signs anything the old one
/// does not also cover: both stay listed while the old one is in the ring).
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CACHE_CONTROL, "public, max-age=300")],
        Json(state.engine.app_user_jwks()),
    )
}

async fn mint(
    State(state): State<AppState>,
    ServiceApp(app): ServiceApp,
    Body(request): Body<AppUserTokenRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let minted = state.engine.mint_app_user_token(&app, &request)?;
    Ok((
        [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
        Json(AppUserTokenResponse {
            access_token: minted.access_token.expose().to_owned(),
            token_type: "Bearer".into(),
            expires_in: minted.expires_in,
        }),
    ))
}

async fn settings(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Result<Json<AppUserSettings>, ApiError> {
    Ok(Json(state.engine.app_user_settings(&app).await?))
}

async fn put_settings(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Body(settings): Body<AppUserSettings>,
) -> Result<Json<AppUserSettings>, ApiError> {
    Ok(Json(
        state.engine.put_app_user_settings(&app, &settings).await?,
    ))
}

async fn list_users(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Result<Json<AppUserList>, ApiError> {
    let users = state.engine.list_app_users(&app).await?;
    Ok(Json(AppUserList {
        app_users: users
            .into_iter()
            .map(|u| AppUserInfo {
                id: u.id,
                issuer: u.issuer,
                subject: u.subject,
                email: u.email,
                name: u.name,
                created_at: u.created_at,
                last_seen_at: u.last_seen_at,
            })
            .collect(),
    }))
}
