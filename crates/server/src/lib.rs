//! The connectors HTTP server: routes, principals, errors, pages and the
//! operations around them (config, bootstrap, graceful shutdown).
//!
//! Central items: [`app`] builds the server with its middleware, [`serve`]
//! runs it on a caller-bound listener until a shutdown future resolves,
//! [`ApiError`] turns every failure into the documented JSON error shape.
//! This is the only crate that knows axum; the work lives in
//! `connectors-engine`.
#![deny(missing_docs)]

pub mod admin;
pub mod auth;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod extract;
pub mod front;
pub mod http;
pub mod metrics;
pub mod routes;
pub mod run;
pub mod session;
pub mod setup;
pub mod state;
#[cfg(feature = "test-support")]
pub mod testing;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::config::HttpTuning;

pub use error::ApiError;
pub use front::Front;
pub use http::{serve, shutdown_signal};
pub use state::AppState;

/// The server with its middleware, outermost first: [`Front`] (request id,
/// kept from the client when sent, as the npm CLI does; the span and the
/// one log line of a request: method, path, status, latency and request
/// id, never headers or bodies, the one log line of a 5xx; the security
/// headers), which serves the token route itself ([`front`]) and hands the
/// rest to the router: the body-read timeout (a pause longer than it fails
/// the body read, which the extractors answer with 408), the body limit;
/// then, around each route ([`endpoint`]), the count under its route
/// template and the per-request timeout.
pub fn app(state: AppState, http: &HttpTuning, max_body_bytes: usize) -> Front {
    let routes = routes::routes()
        .route(metrics::PATH, axum::routing::get(metrics::scrape))
        .layer(endpoint::EndpointLayer::new(
            state.metrics.clone(),
            http.request_timeout(),
        ))
        .with_state(state.clone());
    // The token route's template is in the table (`openapi.json` lists it);
    // were it not, the route would simply go through the router.
    let fast = state
        .metrics
        .route_id(routes::tokens::PATH)
        .map(|route| front::Fast {
            state,
            deadline: http.request_timeout(),
            route,
        });
    Front::new(with_body_limits(routes, http, max_body_bytes), fast)
}

/// Wraps the whole of `routes` once (not each route, as `Router::layer`
/// would: axum clones every layered level of a route for each request).
fn with_body_limits(routes: Router, http: &HttpTuning, max_body_bytes: usize) -> Router {
    let stack = tower::ServiceBuilder::new()
        .layer(RequestBodyTimeoutLayer::new(http.body_read_timeout()))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .service(routes);
    Router::new().fallback_service(stack)
}

#[cfg(test)]
mod tests {
    use connectors_testkit::CapturedLogs;

    use axum::body::Body;
    use axum::http::Request;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use connectors_engine::EngineError;
    use connectors_vault::VaultError;
    use tower::ServiceExt;

    use super::*;
    use crate::error::ErrorCause;

    #[tokio::test]
    async fn a_server_error_is_logged_once_with_its_request_id_and_cause() {
        let logs = CapturedLogs::default();
        let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::DEBUG));
        // Tests on other threads may have cached the request span's callsite
        // as uninteresting before this thread's subscriber existed.
        tracing::callsite::rebuild_interest_cache();
        let routes: Router = Router::new().route(
            "/boom",
            get(|| async {
                ApiError::Engine(EngineError::Vault(VaultError::UnknownKey("k9".into())))
            }),
        );
        let router = Front::new(with_body_limits(routes, &HttpTuning::default(), 1024), None);
        let request = Request::get("/boom")
            .header("x-request-id", "req-4711")
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        let text = logs.text();
        let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "{text}");
        assert!(
            errors[0].contains("req-4711") && errors[0].contains("no encryption key `k9`"),
            "{text}"
        );
    }

    #[test]
    fn turning_an_error_into_a_response_logs_nothing() {
        let logs = CapturedLogs::default();
        let response =
            tracing::subscriber::with_default(logs.subscriber(tracing::Level::TRACE), || {
                ApiError::Engine(EngineError::Vault(VaultError::Corrupt)).into_response()
            });
        assert_eq!(response.status(), 500);
        assert!(response.extensions().get::<ErrorCause>().is_some());
        assert!(logs.text().is_empty());
    }
}
