//! The router: every route of the server, grouped by audience.

pub mod app_user_auth;
pub mod app_users;
pub mod audit;
pub mod connectors;
pub mod credentials;
pub mod dashboard;
pub mod device;
pub mod device_page;
pub mod pages;
pub mod proxy;
pub mod signin;
pub mod sso;
pub mod stripe;
pub mod tokens;
pub mod webhooks;
pub mod workspace;

use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use connectors_engine::Health;

use crate::error::ApiError;
use crate::state::AppState;

/// The OpenAPI 3 document of the whole API.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// All routes, without middleware.
pub fn routes() -> Router<AppState> {
    let app_routes = Router::new()
        .nest("/external-auth", connectors::router())
        .nest("/payments/stripe", stripe::router())
        .nest("/service-tokens", credentials::service_token_router())
        .merge(app_users::app_router())
        .merge(webhooks::app_router());
    Router::new()
        // The hot path, at its full path rather than nested: a nested route
        // rewrites each request's URI without its prefix.
        .route(
            "/api/apps/{app_id}/external-auth/tokens/{integration_type}",
            get(tokens::token),
        )
        .route("/healthz", get(healthz))
        .route(app_users::JWKS_PATH, get(app_users::jwks))
        .route("/openapi.json", get(openapi))
        .route(
            "/api/external-auth/available-integrations",
            get(connectors::available_integrations),
        )
        .route(
            "/api/apps/{app_id}/external-auth/tokens/connectors/{connector_id}",
            get(tokens::workspace_token),
        )
        .route(
            "/api/apps/{app_id}/connectors/{integration_type}/call",
            post(proxy::call),
        )
        .merge(workspace::router())
        .merge(audit::router())
        .merge(app_user_auth::router())
        .merge(device::router())
        .merge(dashboard::router())
        .nest("/api/api-keys", credentials::api_key_router())
        .nest("/api/apps/{app_id}", app_routes)
        .route(
            "/connect/{connection_id}",
            get(pages::connect)
                .post(pages::connect_form)
                .fallback(pages::method_not_allowed),
        )
        .route(
            connectors_engine::CALLBACK_PATH,
            get(pages::callback).fallback(pages::method_not_allowed),
        )
        .route(
            connectors_engine::EXTERNAL_CALLBACK_PATH,
            get(pages::external_callback).fallback(pages::method_not_allowed),
        )
        .route(
            &format!("{}/{{token}}", connectors_engine::STRIPE_CLAIM_PATH),
            get(pages::stripe_claim).fallback(pages::method_not_allowed),
        )
        .route("/", get(signin::home).fallback(pages::method_not_allowed))
        .route(
            crate::session::SIGNIN_PATH,
            get(signin::signin_page)
                .post(signin::signin_post)
                .fallback(pages::method_not_allowed),
        )
        .route(
            connectors_engine::SSO_START_PATH,
            post(sso::start).fallback(pages::method_not_allowed),
        )
        .route(
            connectors_engine::SSO_CALLBACK_PATH,
            get(sso::callback).fallback(pages::method_not_allowed),
        )
        .route(
            &format!("{}/{{token}}", connectors_engine::INVITE_PATH),
            get(signin::invite_page)
                .post(signin::invite_post)
                .fallback(pages::method_not_allowed),
        )
        .route(
            "/signout",
            post(signin::signout).fallback(pages::method_not_allowed),
        )
        .route(
            device_page::DEVICE_PATH,
            get(device_page::device_page)
                .post(device_page::device_decision)
                .fallback(pages::method_not_allowed),
        )
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
}

/// The path template of every route [`crate::app`] serves: those of
/// `openapi.json` (which the OpenAPI test holds to [`routes`]) and
/// `/metrics`.
pub fn templates() -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
    let paths = doc["paths"].as_object().expect("openapi.json has paths");
    paths
        .keys()
        .cloned()
        .chain(std::iter::once(crate::metrics::PATH.to_string()))
        .collect()
}

/// `{status, detail?}` rather than the error shape: probers read `status`.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.engine.health().await {
        Health::Ok => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))),
        Health::DatabaseUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                serde_json::json!({"status": "unavailable", "detail": "the database does not answer"}),
            ),
        ),
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Which browser page family `path` is under, if any: a failure there is
/// answered with that family's HTML failure page rather than JSON.
pub fn page_kind(path: &str) -> Option<pages::PageKind> {
    use pages::PageKind::{Account, Consent};
    if path.starts_with("/connect/")
        || path == "/connect"
        || path.starts_with(connectors_engine::CALLBACK_PATH)
        || path.starts_with(connectors_engine::EXTERNAL_CALLBACK_PATH)
        || path.starts_with(connectors_engine::STRIPE_CLAIM_PATH)
    {
        Some(Consent)
    } else if path == "/"
        || path == crate::session::SIGNIN_PATH
        || path.starts_with("/signin/")
        || path == "/signout"
        || path == device_page::DEVICE_PATH
        || dashboard::is_dashboard_path(path)
        || path == dashboard::WORKSPACE_AUDIT_PATH
        || path.starts_with(connectors_engine::INVITE_PATH)
    {
        Some(Account)
    } else {
        None
    }
}

async fn fallback(method: Method, uri: Uri) -> Response {
    match page_kind(uri.path()) {
        Some(kind) => pages::FailurePage::new(kind, pages::PageProblem::NotFound).into_response(),
        None => ApiError::no_route(method.as_str(), uri.path()).into_response(),
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::Request {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "METHOD_NOT_ALLOWED",
        detail: format!(
            "{method} is not allowed on {}; see /openapi.json for the methods of each path",
            uri.path()
        ),
    }
}
