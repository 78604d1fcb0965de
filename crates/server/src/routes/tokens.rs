//! `GET /api/apps/{app_id}/external-auth/tokens/{type}`: the only route that
//! hands out provider tokens, and only to the app's own service token.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use axum::Json;
use connectors_wire::ConnectorTokenResponse;

use crate::auth::{ConnectorIdParam, ServiceApp, TypeParam};
use crate::error::ApiError;
use crate::state::AppState;

/// Answers a fresh token; `Cache-Control: no-store` keeps it out of caches.
pub async fn token(
    State(state): State<AppState>,
    ServiceApp(app): ServiceApp,
    TypeParam(integration_type): TypeParam,
) -> Result<impl IntoResponse, ApiError> {
    let answer: ConnectorTokenResponse = state
        .engine
        .connector_token(&app, &integration_type)
        .await?;
    Ok(([(CACHE_CONTROL, "no-store")], Json(answer)))
}

/// `GET /api/apps/{app_id}/external-auth/tokens/connectors/{connector_id}`
/// (`getWorkspaceConnection`): the app's shared connection of a workspace
/// connector.
pub async fn workspace_token(
    State(state): State<AppState>,
    ServiceApp(app): ServiceApp,
    ConnectorIdParam(connector_id): ConnectorIdParam,
) -> Result<impl IntoResponse, ApiError> {
    let answer: ConnectorTokenResponse = state
        .engine
        .workspace_connection_token(&app, &connector_id)
        .await?;
    Ok(([(CACHE_CONTROL, "no-store")], Json(answer)))
}
