//! What runs around each route, inside the router: the count of the request
//! under its route template ([`Metrics`]) and the per-request deadline.
//!
//! Everything else (request id, tracing, security headers, body limits)
//! wraps the router once, in [`crate::app`] and [`crate::front`]. A layer given to
//! `Router::layer` wraps every route on its own, and each level is cloned
//! for every request on the way down; only what needs the route (the
//! `MatchedPath` template) belongs here. One hand-written service rather
//! than two `from_fn` layers: no boxed future, no per-request clone of the
//! stack below beyond the one axum makes.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::error::ApiError;
use crate::metrics::{Metrics, RouteId};
use crate::routes;

/// Counts each request under its route template once it is answered, and
/// answers 503 (in the error shape, or the failure page on a page route)
/// when it takes longer than the deadline; that 503 is counted too.
#[derive(Clone, Debug)]
pub struct EndpointLayer {
    metrics: Arc<Metrics>,
    deadline: Duration,
}

impl EndpointLayer {
    /// Counts into `metrics`; a request may take `deadline`.
    pub fn new(metrics: Arc<Metrics>, deadline: Duration) -> Self {
        Self { metrics, deadline }
    }
}

impl<S> Layer<S> for EndpointLayer {
    type Service = Endpoint<S>;

    fn layer(&self, inner: S) -> Endpoint<S> {
        Endpoint {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`EndpointLayer`].
#[derive(Clone, Debug)]
pub struct Endpoint<S> {
    inner: S,
    layer: EndpointLayer,
}

impl<S> Service<Request> for Endpoint<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EndpointFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .cloned()
            .map(Route::Matched);
        let page = routes::page_kind(request.uri().path());
        let method = request.method().clone();
        counted(
            &self.layer.metrics,
            self.layer.deadline,
            &method,
            route,
            page,
            self.inner.call(request),
        )
    }
}

/// The route template a request is counted under.
pub(crate) enum Route {
    /// The router's match.
    Matched(MatchedPath),
    /// A route served before the router (`crate::front`'s fast path),
    /// looked up in the table once.
    Known(RouteId),
}

/// `answer` under the deadline, counted into `metrics` under `route` when
/// it is answered; `page` picks the 503 of a page. What the layer does
/// around each route, and the token route's fast path around its answer.
pub(crate) fn counted<F: Future>(
    metrics: &Arc<Metrics>,
    deadline: Duration,
    method: &axum::http::Method,
    route: Option<Route>,
    page: Option<routes::pages::PageKind>,
    answer: F,
) -> EndpointFuture<F> {
    EndpointFuture {
        inner: tokio::time::timeout(deadline, answer),
        count: Some(Count {
            metrics: metrics.clone(),
            started: Instant::now(),
            method: crate::metrics::method_index(method),
            route,
            page,
            deadline,
        }),
    }
}

/// What the future needs to count the request when it is answered.
struct Count {
    metrics: Arc<Metrics>,
    started: Instant,
    method: usize,
    route: Option<Route>,
    page: Option<routes::pages::PageKind>,
    deadline: Duration,
}

pin_project_lite::pin_project! {
    /// The response future of [`Endpoint`] (and of [`counted`]).
    pub struct EndpointFuture<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        count: Option<Count>,
    }
}

impl<F, R> Future for EndpointFuture<F>
where
    F: Future<Output = R>,
    R: Answered,
{
    type Output = R;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answered = std::task::ready!(this.inner.poll(cx));
        let count = this
            .count
            .take()
            .expect("an EndpointFuture is not polled after it is ready");
        let response = match answered {
            Ok(answer) => answer.response(),
            Err(_) => match count.page {
                Some(kind) => {
                    routes::pages::FailurePage::new(kind, routes::pages::PageProblem::TooSlow)
                        .into_response()
                }
                None => ApiError::too_slow(count.deadline).into_response(),
            },
        };
        let (status, latency) = (response.status().as_u16(), count.started.elapsed());
        match &count.route {
            Some(Route::Known(id)) => {
                count
                    .metrics
                    .record_known(count.method, *id, status, latency)
            }
            Some(Route::Matched(m)) => {
                count
                    .metrics
                    .record(count.method, Some(m.as_str()), status, latency)
            }
            None => count.metrics.record(count.method, None, status, latency),
        }
        Poll::Ready(R::from_response(response))
    }
}

/// What the counted future yields: a response, or a service's result that
/// is never an error.
pub(crate) trait Answered {
    fn response(self) -> Response;
    fn from_response(response: Response) -> Self;
}

impl Answered for Response {
    fn response(self) -> Response {
        self
    }

    fn from_response(response: Response) -> Self {
        response
    }
}

impl Answered for Result<Response, Infallible> {
    fn response(self) -> Response {
        match self {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    fn from_response(response: Response) -> Self {
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use axum::Router;
    use connectors_engine::EngineMetrics;
    use tower::ServiceExt;

    use super::*;
    use crate::config::HttpTuning;

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
        let metrics = Arc::new(Metrics::new(None));
        let router = routes.layer(EndpointLayer::new(metrics.clone(), http.request_timeout()));
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
        // Counted under their routes, as the client saw them.
        let text = metrics.render(EngineMetrics::default()).unwrap();
        for route in ["/api/stuck", "/connect/{id}"] {
            let line = format!(
                "connectors_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"503\"}} 1"
            );
            assert!(text.contains(&line), "{text}");
        }
    }
}
