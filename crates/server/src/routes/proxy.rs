//! `POST /api/apps/{app_id}/connectors/{type}/call` (`callApi`, #14): the
//! app's service token only; the engine (`proxy.rs`) does the call.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use connectors_engine::EngineError;
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
) -> Result<Response, ApiError> {
    match state
        .engine
        .call_api(&app, &integration_type, request)
        .await
    {
        Ok(answer) => {
            let e = &answer.envelope;
            state.metrics.record_proxy(
                integration_type.as_str(),
                &e.phase,
                e.status_code,
                answer.upstream_time,
            );
            Ok(([(CACHE_CONTROL, "no-store")], Json(answer.envelope)).into_response())
        }
        Err(e @ EngineError::ProxyQuotaExhausted) => Ok(quota_exhausted(&e)),
        Err(e) => Err(e.into()),
    }
}

/// 402 with the body `@base44/sdk`'s tests expect (its `message` and
/// `extra_data.reason`), plus our `detail` and `code`.
fn quota_exhausted(e: &EngineError) -> Response {
    (
        StatusCode::PAYMENT_REQUIRED,
        Json(serde_json::json!({
            "message": "You have reached the limit of integrations for this month",
            "extra_data": {"reason": "integration_credits_limit_reached"},
            "detail": e.to_string(),
            "code": e.code(),
        })),
    )
        .into_response()
}
