//! `payments/stripe/*`: the app's Stripe claimable sandbox.

use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use connectors_wire::{StripeInstallResponse, StripeRemoveResponse, StripeStatusResponse};

use crate::auth::BuilderApp;
use crate::error::ApiError;
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
    BuilderApp(app): BuilderApp,
) -> Result<Json<StripeStatusResponse>, ApiError> {
    Ok(Json(state.engine.stripe_status(&app).await?))
}

async fn install(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Result<Json<StripeInstallResponse>, ApiError> {
    Ok(Json(state.engine.install_stripe(&app).await?))
}

async fn remove(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Result<Json<StripeRemoveResponse>, ApiError> {
    Ok(Json(state.engine.remove_stripe(&app).await?))
}
