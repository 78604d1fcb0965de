//! `payments/stripe/*`: until Stripe provisioning exists, Stripe is never installed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use connectors_wire::StripeStatusResponse;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

/// Routes relative to `/api/apps/{app_id}/payments/stripe`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status", get(status))
        .route("/install", post(install))
        .route("/", delete(remove))
}

async fn status(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(app_id): Path<String>,
) -> Result<Json<StripeStatusResponse>, ApiError> {
    state.engine.builder_app(&caller, &app_id).await?;
    Ok(Json(StripeStatusResponse {
        stripe_mode: None,
        sandbox_claim_url: None,
    }))
}

async fn install(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(app_id): Path<String>,
) -> Result<Json<()>, ApiError> {
    state.engine.builder_app(&caller, &app_id).await?;
    Err(ApiError::Request {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "STRIPE_NOT_CONFIGURED",
        detail: "Stripe sandboxes are not available on this server: the operator must set a platform key under [stripe] api_key in the server config".into(),
    })
}

async fn remove(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(app_id): Path<String>,
) -> Result<Json<()>, ApiError> {
    state.engine.builder_app(&caller, &app_id).await?;
    Err(ApiError::Request {
        status: StatusCode::NOT_FOUND,
        code: "NOT_FOUND",
        detail: "Stripe is not installed for this app; nothing to remove".into(),
    })
}
