//! Workspace connectors (#13): the admin API, with Base44's App Management
//! paths and field names, and an app's connections of them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use connectors_wire::{
    CreateWorkspaceConnector, DeletedWorkspaceConnector, Disconnected, OAuthRedirectUris,
    OAuthStatusResponse, SetConnectorResponse, UpdateWorkspaceConnector, WorkspaceConnectionList,
    WorkspaceConnector, WorkspaceConnectorList,
};
use serde::Deserialize;

use crate::auth::{BuilderApp, BuilderWorkspace, ConnectorIdParam};
use crate::error::ApiError;
use crate::extract::{Json as Body, Query};
use crate::state::AppState;

/// The workspace-connector routes, at their full paths.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/workspace/{workspace_id}/connectors",
            get(list).post(create),
        )
        .route(
            "/api/workspace/{workspace_id}/connectors/{connector_id}",
            put(update).delete(delete),
        )
        .route("/api/apps/{app_id}/oauth-redirect-uris", get(redirect_uris))
        .route(
            "/api/apps/{app_id}/external-auth/connectors",
            get(connections),
        )
        .route(
            "/api/apps/{app_id}/external-auth/connectors/{connector_id}",
            put(connect).delete(disconnect),
        )
        .route(
            "/api/apps/{app_id}/external-auth/connectors/{connector_id}/status",
            get(status),
        )
}

async fn list(
    State(state): State<AppState>,
    BuilderWorkspace(workspace): BuilderWorkspace,
) -> Result<Json<WorkspaceConnectorList>, ApiError> {
    Ok(Json(
        state.engine.list_workspace_connectors(&workspace).await?,
    ))
}

async fn create(
    State(state): State<AppState>,
    BuilderWorkspace(workspace): BuilderWorkspace,
    Body(request): Body<CreateWorkspaceConnector>,
) -> Result<(StatusCode, Json<WorkspaceConnector>), ApiError> {
    let created = state
        .engine
        .create_workspace_connector(&workspace, request)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn update(
    State(state): State<AppState>,
    BuilderWorkspace(workspace): BuilderWorkspace,
    ConnectorIdParam(id): ConnectorIdParam,
    Body(patch): Body<UpdateWorkspaceConnector>,
) -> Result<Json<WorkspaceConnector>, ApiError> {
    Ok(Json(
        state
            .engine
            .update_workspace_connector(&workspace, &id, patch)
            .await?,
    ))
}

async fn delete(
    State(state): State<AppState>,
    BuilderWorkspace(workspace): BuilderWorkspace,
    ConnectorIdParam(id): ConnectorIdParam,
) -> Result<Json<DeletedWorkspaceConnector>, ApiError> {
    Ok(Json(
        state
            .engine
            .delete_workspace_connector(&workspace, &id)
            .await?,
    ))
}

async fn redirect_uris(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Json<OAuthRedirectUris> {
    Json(state.engine.oauth_redirect_uris(&app))
}

async fn connections(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Result<Json<WorkspaceConnectionList>, ApiError> {
    Ok(Json(state.engine.list_workspace_connections(&app).await?))
}

/// The query of `PUT …/connectors/{connector_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectQuery {
    /// Start a new consent even when the connection is active.
    #[serde(default)]
    reconnect: bool,
}

async fn connect(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    ConnectorIdParam(id): ConnectorIdParam,
    Query(query): Query<ConnectQuery>,
) -> Result<Json<SetConnectorResponse>, ApiError> {
    Ok(Json(
        state
            .engine
            .connect_workspace_connector(&app, &id, query.reconnect)
            .await?,
    ))
}

async fn disconnect(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    ConnectorIdParam(id): ConnectorIdParam,
) -> Result<Json<Disconnected>, ApiError> {
    Ok(Json(
        state
            .engine
            .disconnect_workspace_connector(&app, &id)
            .await?,
    ))
}

/// The query of `GET …/connectors/{connector_id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    connection_id: String,
}

async fn status(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    ConnectorIdParam(id): ConnectorIdParam,
    Query(query): Query<StatusQuery>,
) -> Result<Json<OAuthStatusResponse>, ApiError> {
    Ok(Json(
        state
            .engine
            .workspace_connection_status(&app, &id, &query.connection_id)
            .await?,
    ))
}
