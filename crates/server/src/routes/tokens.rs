//! `GET /api/apps/{app_id}/external-auth/tokens/{type}`: the only route that
//! hands out provider tokens, and only to the app's own service token.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use axum::Json;
use connectors_wire::ConnectorTokenResponse;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

/// Answers a fresh token; `Cache-Control: no-store` keeps it out of caches.
pub async fn token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((app_id, integration_type)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    state.engine.service_app(&caller, &app_id)?;
    let answer: ConnectorTokenResponse = state
        .engine
        .connector_token(&app_id, &integration_type)
        .await?;
    Ok(([(CACHE_CONTROL, "no-store")], Json(answer)))
}
