//! The connectors HTTP server: routes, principals, errors, pages and the
//! operations around them (config, bootstrap, graceful shutdown).
//!
//! Central items: [`app`] builds the router with its middleware, [`serve`]
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
pub mod http;
pub mod metrics;
pub mod routes;
pub mod run;
pub mod session;
pub mod setup;
pub mod state;
#[cfg(feature = "test-support")]
pub mod testing;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;
use axum::Router;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::config::HttpTuning;
use crate::error::ErrorCause;

pub use error::ApiError;
pub use http::{serve, shutdown_signal};
pub use state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The router with its middleware, outermost first: request id (kept from
/// the client when sent, as the npm CLI does), tracing (method, path, status,
/// latency and request id; never headers or bodies; the one log line of a
/// 5xx), the security headers, the body-read timeout (a pause longer than it
/// fails the body read, which the extractors answer with 408), the body
/// limit; then, around each route ([`endpoint`]), the count under its route
/// template and the per-request timeout.
pub fn app(state: AppState, http: &HttpTuning, max_body_bytes: usize) -> Router {
    let routes = routes::routes()
        .route(metrics::PATH, axum::routing::get(metrics::scrape))
        .layer(endpoint::EndpointLayer::new(
            state.metrics.clone(),
            http.request_timeout(),
        ))
        .with_state(state);
    with_middleware(routes, http, max_body_bytes)
}

/// Wraps the whole of `routes` once (not each route, as `Router::layer`
/// would: axum clones every layered level of a route for each request).
fn with_middleware(routes: Router, http: &HttpTuning, max_body_bytes: usize) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            let path = loggable_path(request.uri().path());
            tracing::info_span!("request", method = %request.method(), path = %path, request_id)
        })
        .on_response(log_response)
        // `log_response` already logs every 5xx once.
        .on_failure(());
    let csp = HeaderValue::from_str(&routes::pages::content_security_policy())
        .expect("the policy is ASCII");
    let stack = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
        .layer(trace)
        // Inside the trace layer, so the response it logs carries the id.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // Every response, pages and errors alike: a strict policy, no
        // sniffing, no framing, and no Referer that could carry a code or a
        // link onward (the account pages answer `same-origin` instead:
        // `routes/signin.rs`).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(RequestBodyTimeoutLayer::new(http.body_read_timeout()))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .service(routes);
    Router::new().fallback_service(stack)
}

/// A random (v4) UUID for a request that brings no id, as tower-http's
/// `MakeRequestUuid` makes, but from the thread's CSPRNG rather than a
/// `getrandom` system call per request, and formatted without a `String`.
#[derive(Clone, Copy, Debug)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
        let text = id.hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

/// The path as logged: an invite link's token is a secret, so it is
/// left out.
fn loggable_path(path: &str) -> &str {
    match path.strip_prefix(connectors_engine::INVITE_PATH) {
        Some(rest) if rest.starts_with('/') => "/invite/{token}",
        _ => path,
    }
}

/// Logs the end of a request inside its span (so with its request id): a
/// 5xx once, with the cause its response carries ([`ErrorCause`]), at
/// `error` for a 500 and `warn` for an upstream's failure; the rest at
/// `debug`, as tower-http does.
fn log_response(response: &Response, latency: Duration, _span: &Span) {
    let status = response.status();
    let latency_ms = latency.as_millis();
    let cause = response
        .extensions()
        .get::<ErrorCause>()
        .map(|c| c.0.as_str());
    // Also on the event itself, so a subscriber that drops span fields
    // still ties the failure to its request.
    let request_id = response
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    if status.is_server_error() {
        let cause = cause.unwrap_or("-");
        if status == axum::http::StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(
                status = status.as_u16(),
                latency_ms,
                request_id,
                cause,
                "request failed"
            );
        } else {
            tracing::warn!(
                status = status.as_u16(),
                latency_ms,
                request_id,
                cause,
                "request failed"
            );
        }
    } else {
        tracing::debug!(
            status = status.as_u16(),
            latency_ms,
            "finished processing request"
        );
    }
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
        let router = with_middleware(routes, &HttpTuning::default(), 1024);
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
    fn a_generated_request_id_is_a_fresh_v4_uuid() {
        let request = Request::get("/").body(()).unwrap();
        let ids: Vec<String> = (0..2)
            .map(|_| {
                let id = RandomRequestId.make_request_id(&request).unwrap();
                id.header_value().to_str().unwrap().to_string()
            })
            .collect();
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{id}");
            assert_eq!(id, &parsed.hyphenated().to_string());
        }
        assert_ne!(ids[0], ids[1]);
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
