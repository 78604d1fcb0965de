//! `payments/stripe/*`: the app's Stripe claimable sandbox.

use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use connectors_wire::{StripeInstallResponse, StripeRemoveResponse, StripeStatusResponse};

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
    let (_, app) = state.engine.builder_app(&caller, &app_id).await?;
    Ok(Json(state.engine.stripe_status(&app).await?))
}

async fn install(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(app_id): Path<String>,
) -> Result<Json<StripeInstallResponse>, ApiError> {
    let (builder, app) = state.engine.builder_app(&caller, &app_id).await?;
    Ok(Json(state.engine.install_stripe(&builder, &app).await?))
}

async fn remove(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(app_id): Path<String>,
) -> Result<Json<StripeRemoveResponse>, ApiError> {
    let (_, app) = state.engine.builder_app(&caller, &app_id).await?;
    Ok(Json(state.engine.remove_stripe(&app).await?))
}
