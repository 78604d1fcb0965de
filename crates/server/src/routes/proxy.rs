//! `POST /api/apps/{app_id}/connectors/{type}/call` (`callApi`, #14): the
//! app's service token only; the engine (`proxy.rs`) does the call.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use axum::Json;
use connectors_wire::ProxyCallRequest;

use crate::auth::{ServiceApp, TypeParam};
use crate::error::ApiError;
use crate::extract::Json as Body;
use crate::state::AppState;

/// Answers the envelope (200 for any upstream status); `no-store`, since
/// it may carry the provider's data.
pub async fn call(
    State(state): State<AppState>,
    ServiceApp(app): ServiceApp,
    TypeParam(integration_type): TypeParam,
    Body(request): Body<ProxyCallRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let envelope = state
        .engine
        .call_api(&app, &integration_type, request)
        .await?;
    Ok(([(CACHE_CONTROL, "no-store")], Json(envelope)))
}
