//! An app's event log and webhook endpoints (#15), for its builders: the
//! engine (`events.rs`, `webhooks.rs`) does the work.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use connectors_wire::events::{
    CreateWebhookEndpoint, EventPage, RotateWebhookSecret, UpdateWebhookEndpoint,
    WebhookDeliveryLog, WebhookEndpoint, WebhookEndpointList, WebhookTestQueued,
};
use serde::Deserialize;

use crate::auth::BuilderApp;
use crate::error::ApiError;
use crate::extract::{Json as Body, Path, Query};
use crate::state::AppState;

/// Routes relative to `/api/apps/{app_id}`.
pub fn app_router() -> Router<AppState> {
    Router::new()
        .route("/events", get(events))
        .route("/webhooks", get(list).post(create))
        .route(
            "/webhooks/{endpoint_id}",
            get(show).patch(update).delete(remove),
        )
        .route("/webhooks/{endpoint_id}/rotate-secret", post(rotate))
        .route("/webhooks/{endpoint_id}/test", post(test))
        .route("/webhooks/{endpoint_id}/deliveries", get(deliveries))
}

#[derive(Debug, Deserialize)]
struct EndpointSegment {
    endpoint_id: String,
}

/// The query of `GET …/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// The query of `GET …/deliveries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    #[serde(default)]
    limit: Option<i64>,
}

async fn events(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Query(query): Query<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    Ok(Json(
        state
            .engine
            .list_events(&app, query.after.as_deref(), query.limit)
            .await?,
    ))
}

async fn list(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Result<Json<WebhookEndpointList>, ApiError> {
    Ok(Json(state.engine.list_webhook_endpoints(&app).await?))
}

/// The secret is in this answer only: never cached.
const NO_STORE: [(axum::http::HeaderName, &str); 2] =
    [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")];

async fn create(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Body(request): Body<CreateWebhookEndpoint>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.engine.create_webhook_endpoint(&app, request).await?;
    Ok((StatusCode::CREATED, NO_STORE, Json(created)))
}

async fn show(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Path(EndpointSegment { endpoint_id }): Path<EndpointSegment>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(
        state.engine.webhook_endpoint(&app, &endpoint_id).await?,
    ))
}

async fn update(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Path(EndpointSegment { endpoint_id }): Path<EndpointSegment>,
    Body(patch): Body<UpdateWebhookEndpoint>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(
        state
            .engine
            .update_webhook_endpoint(&app, &endpoint_id, patch)
            .await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Path(EndpointSegment { endpoint_id }): Path<EndpointSegment>,
) -> Result<StatusCode, ApiError> {
    state
        .engine
        .delete_webhook_endpoint(&app, &endpoint_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Path(EndpointSegment { endpoint_id }): Path<EndpointSegment>,
    Body(request): Body<RotateWebhookSecret>,
) -> Result<impl IntoResponse, ApiError> {
    let rotated = state
        .engine
        .rotate_webhook_secret(&app, &endpoint_id, request)
        .await?;
    Ok((NO_STORE, Json(rotated)))
}

async fn test(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Path(EndpointSegment { endpoint_id }): Path<EndpointSegment>,
) -> Result<(StatusCode, Json<WebhookTestQueued>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(state.engine.send_test_event(&app, &endpoint_id).await?),
    ))
}

async fn deliveries(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Path(EndpointSegment { endpoint_id }): Path<EndpointSegment>,
    Query(query): Query<LogQuery>,
) -> Result<Json<WebhookDeliveryLog>, ApiError> {
    Ok(Json(
        state
            .engine
            .webhook_deliveries(&app, &endpoint_id, query.limit)
            .await?,
    ))
}
