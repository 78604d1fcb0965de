//! Builder endpoints under `/api/apps/{app_id}/external-auth/`.

use axum::extract::State;
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use connectors_engine::IntegrationType;
use connectors_wire::{
    AvailableIntegrations, ConnectorList, OAuthStatusQuery, OAuthStatusResponse,
    RemoveConnectorResponse, SetConnectorRequest, SetConnectorResponse,
};

use crate::auth::{BuilderApp, TypeParam};
use crate::error::ApiError;
use crate::extract::{Json as Body, Query};
use crate::state::AppState;

/// Routes relative to `/api/apps/{app_id}/external-auth`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/available-integrations", get(app_available_integrations))
        .route("/list", get(list))
        .route("/integrations/{integration_type}", put(set))
        .route("/integrations/{integration_type}/remove", delete(remove))
        .route("/status", get(status))
}

/// `GET /api/external-auth/available-integrations`: the catalog is public.
pub async fn available_integrations(State(state): State<AppState>) -> Json<AvailableIntegrations> {
    Json(state.engine.available_integrations())
}

/// The same catalog, for a builder of the app (the npm CLI's path).
async fn app_available_integrations(
    State(state): State<AppState>,
    _: BuilderApp,
) -> Json<AvailableIntegrations> {
    Json(state.engine.available_integrations())
}

async fn list(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Result<Json<ConnectorList>, ApiError> {
    Ok(Json(state.engine.list_connectors(&app).await?))
}

async fn set(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    TypeParam(integration_type): TypeParam,
    Body(request): Body<SetConnectorRequest>,
) -> Result<Json<SetConnectorResponse>, ApiError> {
    let answer = state
        .engine
        .set_connector(&app, &integration_type, request.scopes)
        .await?;
    Ok(Json(answer))
}

async fn remove(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    TypeParam(integration_type): TypeParam,
) -> Result<Json<RemoveConnectorResponse>, ApiError> {
    Ok(Json(
        state
            .engine
            .remove_connector(&app, &integration_type)
            .await?,
    ))
}

async fn status(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Query(query): Query<OAuthStatusQuery>,
) -> Result<Json<OAuthStatusResponse>, ApiError> {
    // The query is a wire type (a plain string), so the type is checked here.
    let integration_type = IntegrationType::new(query.integration_type)
        .map_err(connectors_engine::EngineError::from)?;
    let answer = state
        .engine
        .attempt_status(&app, &integration_type, &query.connection_id)
        .await?;
    Ok(Json(answer))
}
