//! Builder endpoints under `/api/apps/{app_id}/external-auth/`.

use axum::extract::State;
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use connectors_wire::{
    AvailableIntegrations, ConnectorList, OAuthStatusQuery, OAuthStatusResponse,
    RemoveConnectorResponse, SetConnectorRequest, SetConnectorResponse,
};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json as Body, Path, Query};
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
    Json(state.engine.catalog().available())
}

async fn app_available_integrations(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(app_id): Path<String>,
) -> Result<Json<AvailableIntegrations>, ApiError> {
    state.engine.builder_app(&caller, &app_id).await?;
    Ok(Json(state.engine.catalog().available()))
}

async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(app_id): Path<String>,
) -> Result<Json<ConnectorList>, ApiError> {
    state.engine.builder_app(&caller, &app_id).await?;
    Ok(Json(state.engine.list_connectors(&app_id).await?))
}

async fn set(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((app_id, integration_type)): Path<(String, String)>,
    Body(request): Body<SetConnectorRequest>,
) -> Result<Json<SetConnectorResponse>, ApiError> {
    let (builder, app) = state.engine.builder_app(&caller, &app_id).await?;
    let answer = state
        .engine
        .set_connector(&builder, &app.id, &integration_type, request.scopes)
        .await?;
    Ok(Json(answer))
}

async fn remove(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((app_id, integration_type)): Path<(String, String)>,
) -> Result<Json<RemoveConnectorResponse>, ApiError> {
    state.engine.builder_app(&caller, &app_id).await?;
    Ok(Json(
        state
            .engine
            .remove_connector(&app_id, &integration_type)
            .await?,
    ))
}

async fn status(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(app_id): Path<String>,
    Query(query): Query<OAuthStatusQuery>,
) -> Result<Json<OAuthStatusResponse>, ApiError> {
    state.engine.builder_app(&caller, &app_id).await?;
    let answer = state
        .engine
        .attempt_status(&app_id, &query.integration_type, &query.connection_id)
        .await?;
    Ok(Json(answer))
}
