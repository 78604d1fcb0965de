//! What every request passes first, once, around the router: its request
//! id (the client's `X-Request-ID`, kept as the npm CLI sends it, else a
//! fresh one), its span and its one log line, and the headers every answer
//! carries; then either the token route's fast path or the router.
//!
//! One hand-written service rather than tower-http's request-id, trace and
//! four set-header layers wrapped in a router: those cost a boxed clone of
//! the stack, a boxed future and several header and extension insertions
//! per request, a large share of what the token route spends.
//!
//! The fast path ([`crate::routes::tokens::fast`]) serves
//! `GET /api/apps/{app_id}/external-auth/tokens/{type}` without axum's
//! routing (route lookup, URL-parameter and extension maps, boxed route
//! clones, serde path extraction): the route every backend function calls,
//! often on each invocation. It takes only a plain GET without a body whose
//! two path segments need no percent-decoding; anything else goes to the
//! router. It calls the same checks, the same engine use case, the same
//! response builder and the same per-route count and deadline
//! ([`crate::endpoint::counted`]) as the router's handler, so both answer
//! alike (`crates/server/tests/it/fast_path.rs` compares them).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{self, Entry};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use connectors_engine::RequestContext;
use tower::ServiceExt;
use tracing::{Instrument, Span};

use crate::error::ErrorCause;
use crate::state::AppState;

/// The header of a request's id.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The server as hyper and the tests call it: cheap to clone.
#[derive(Clone, Debug)]
pub struct Front {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The router, with the body limits around it.
    router: Router,
    /// `None` without the fast path (every request through the router).
    fast: Option<Fast>,
}

/// What the fast path needs.
#[derive(Debug)]
pub(crate) struct Fast {
    pub(crate) state: AppState,
    /// The per-request deadline, as the router's routes have it.
    pub(crate) deadline: Duration,
    /// The route's place in the `/metrics` table.
    pub(crate) route: crate::metrics::RouteId,
}

impl Front {
    /// `router` behind the request id, span and response headers, with the
    /// token route's fast path over `fast` when given.
    pub(crate) fn new(router: Router, fast: Option<Fast>) -> Self {
        Self {
            inner: Arc::new(Inner { router, fast }),
        }
    }

    /// The same server without the fast path: every request through the
    /// router, for the tests that compare the two.
    #[cfg(feature = "test-support")]
    pub fn without_fast_path(&self) -> Self {
        Self::new(self.inner.router.clone(), None)
    }

    /// Answers one request of a connection from `peer` (hyper's service).
    /// The fast path never needs the body boxed nor the peer's address.
    pub(crate) fn serve_http(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Result<Response, Infallible>> + Send + 'static {
        let front = self.clone();
        async move {
            Ok(front
                .answer(request, Some(peer), move |request| {
                    let mut request = request.map(Body::new);
                    // The peer's address, for the per-address sign-in limit.
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                })
                .await)
        }
    }

    /// The request's id, span and log line and the response headers around
    /// the fast path or the router; `into_router` turns the request into
    /// what the router takes. The router runs in the request's audit
    /// context (its id and `peer`'s address: what the audit trail records);
    /// the fast path (the token route) records nothing, so it skips it.
    async fn answer<B>(
        self,
        request: hyper::Request<B>,
        peer: Option<SocketAddr>,
        into_router: impl FnOnce(hyper::Request<B>) -> Request,
    ) -> Response
    where
        B: HttpBody,
    {
        let started = Instant::now();
        let id = request_id(request.headers());
        let span = request_span(request.method(), request.uri().path(), &id);
        let fast = self
            .inner
            .fast
            .as_ref()
            .and_then(|fast| Some((fast, crate::routes::tokens::takes(&request)?)));
        let respond = async {
            tracing::debug!("started processing request");
            let mut response = match fast {
                Some((fast, at)) => {
                    let (parts, _empty) = request.into_parts();
                    crate::routes::tokens::fast(fast, parts, at).await
                }
                None => {
                    let context = RequestContext {
                        request_id: id.to_str().ok().map(str::to_owned),
                        client_address: peer.map(|p| p.ip().to_string()),
                    };
                    let routed = self.inner.router.clone().oneshot(into_router(request));
                    match context.scope(routed).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                }
            };
            finish(&mut response, id);
            log_response(&response, started.elapsed());
            response
        };
        respond.instrument(span).await
    }
}

/// For calls without a socket (the tests'), with any body the router takes.
impl<B> tower::Service<hyper::Request<B>> for Front
where
    B: HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: hyper::Request<B>) -> Self::Future {
        let front = self.clone();
        Box::pin(async move { Ok(front.answer(request, None, |r| r.map(Body::new)).await) })
    }
}

/// The client's request id, else a fresh one.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    match headers.get(&REQUEST_ID) {
        Some(id) => id.clone(),
        None => fresh_request_id(),
    }
}

/// A random (v4) UUID, as tower-http's `MakeRequestUuid` makes, but from
/// the thread's CSPRNG rather than a `getrandom` system call per request,
/// and formatted without a `String`.
fn fresh_request_id() -> HeaderValue {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
    let text = id.hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).expect("a UUID is a header value")
}

/// The span of a request: method, path and request id; never headers or
/// bodies.
fn request_span(method: &Method, path: &str, id: &HeaderValue) -> Span {
    let request_id = id.to_str().unwrap_or("-");
    let path = loggable_path(path);
    tracing::info_span!("request", method = %method, path = %path, request_id)
}

/// The path as logged: an invite link's token is a secret, so it is
/// left out.
fn loggable_path(path: &str) -> &str {
    match path.strip_prefix(connectors_engine::INVITE_PATH) {
        Some(rest) if rest.starts_with('/') => "/invite/{token}",
        _ => path,
    }
}

/// The Content-Security-Policy of every answer, computed once.
static CONTENT_SECURITY_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    HeaderValue::from_str(&crate::routes::pages::content_security_policy())
        .expect("the policy is ASCII")
});

/// The headers of every answer, pages and errors alike, unless the answer
/// set its own: its length (as axum's routes set it, so the fast path's
/// answers have it in the same place), a strict policy, no sniffing, no
/// framing, no Referer that could carry a code or a link onward (the
/// account pages answer `same-origin` instead: `routes/signin.rs`), and the
/// request id. In this order, the one the answers have always had.
fn finish(response: &mut Response, id: HeaderValue) {
    let length = response.body().size_hint().exact();
    let headers = response.headers_mut();
    if let (Some(length), Entry::Vacant(slot)) = (length, headers.entry(header::CONTENT_LENGTH)) {
        slot.insert(HeaderValue::from(length));
    }
    let fixed = [
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY.clone(),
        ),
        (REQUEST_ID, id),
    ];
    for (name, value) in fixed {
        if let Entry::Vacant(slot) = headers.entry(name) {
            slot.insert(value);
        }
    }
}

/// Logs the end of a request inside its span (so with its request id): a
/// 5xx once, with the cause its response carries ([`ErrorCause`]), at
/// `error` for a 500 and `warn` for an upstream's failure; the rest at
/// `debug`.
fn log_response(response: &Response, latency: Duration) {
    let status = response.status();
    let latency_ms = latency.as_millis();
    if !status.is_server_error() {
        tracing::debug!(
            status = status.as_u16(),
            latency_ms,
            "finished processing request"
        );
        return;
    }
    let cause = response
        .extensions()
        .get::<ErrorCause>()
        .map_or("-", |c| c.0.as_str());
    // Also on the event itself, so a subscriber that drops span fields
    // still ties the failure to its request.
    let request_id = response
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    if status == StatusCode::INTERNAL_SERVER_ERROR {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_request_id_is_a_fresh_v4_uuid() {
        let ids: Vec<String> = (0..2)
            .map(|_| fresh_request_id().to_str().unwrap().to_string())
            .collect();
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{id}");
            assert_eq!(id, &parsed.hyphenated().to_string());
        }
        assert_ne!(ids[0], ids[1]);
    }
}
