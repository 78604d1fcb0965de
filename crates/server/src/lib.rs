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
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
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
/// 5xx), the body-read timeout (a pause longer than it fails the body read,
/// which the extractors answer with 408), the per-request timeout, the body
/// limit.
///
/// Outside all of them, the metrics layer counts each request under its
/// route template, with the latency the client saw.
pub fn app(state: AppState, http: &HttpTuning, max_body_bytes: usize) -> Router {
    let routes = routes::routes().route("/metrics", axum::routing::get(metrics::scrape));
    with_middleware(routes, http, max_body_bytes)
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .with_state(state)
}

fn with_middleware<S: Clone + Send + Sync + 'static>(
    routes: Router<S>,
    http: &HttpTuning,
    max_body_bytes: usize,
) -> Router<S> {
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
    let request_timeout = http.request_timeout();
    let csp = HeaderValue::from_str(&routes::pages::content_security_policy())
        .expect("the policy is ASCII");
    // Every response, pages and errors alike: a strict policy, no sniffing,
    // no framing, and no Referer that could carry a code or a link onward
    // (the account pages answer `same-origin` instead: `routes/signin.rs`).
    let headers = tower::ServiceBuilder::new()
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
        ));
    routes
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            deadline(request_timeout, request, next)
        }))
        .layer(RequestBodyTimeoutLayer::new(http.body_read_timeout()))
        .layer(headers)
        // Inside the trace layer, so the response it logs carries the id.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
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

/// Answers 503 in the error shape (or the failure page, on a page route)
/// when the request takes longer than `limit`.
async fn deadline(limit: Duration, request: Request, next: Next) -> Response {
    let page = routes::is_page_path(request.uri().path());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) if page => routes::pages::too_slow().into_response(),
        Err(_) => ApiError::too_slow(limit).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use connectors_testkit::CapturedLogs;

    use axum::body::Body;
    use axum::http::Request;
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

    #[tokio::test]
    async fn a_request_over_the_deadline_gets_503_in_the_error_shape_or_the_page() {
        let http = HttpTuning {
            request_timeout_secs: 0.2,
            ..HttpTuning::default()
        };
        let stuck = get(std::future::pending::<&'static str>);
        let routes: Router = Router::new()
            .route("/api/stuck", stuck.clone())
            .route("/connect/{id}", stuck);
        let router = with_middleware(routes, &http, 1024);
        let api = router
            .clone()
            .oneshot(Request::get("/api/stuck").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(api.status(), 503);
        let body = axum::body::to_bytes(api.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "TIMEOUT");
        assert!(json["detail"].as_str().unwrap().contains("0.2 s"), "{json}");
        let page = router
            .oneshot(Request::get("/connect/x").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(page.status(), 503);
        assert!(page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
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
