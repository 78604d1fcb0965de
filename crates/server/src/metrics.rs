//! `/metrics` in Prometheus text format (OpenMetrics): requests by route
//! template, method and status, latency histograms by route, and the
//! engine's snapshot (refreshes by outcome, cache counters, the database
//! pool, the background-refresh lag).
//!
//! Each server has its own registry (no process-global recorder), so tests
//! that run several servers in one process do not mix counts. Labels hold
//! axum's `MatchedPath` template, never the raw path: no ids or tokens
//! reach a label, and unmatched paths share one label.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use connectors_engine::EngineMetrics;
use connectors_vault::Secret;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::state::AppState;

/// The label of every path no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The content type of the OpenMetrics text the crate writes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// One server's metrics and who may read them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    engine: Arc<Mutex<EngineMetrics>>,
    bearer: Option<Secret>,
}

impl Metrics {
    /// A fresh registry; `bearer` is the token `/metrics` asks for, if any.
    pub fn new(bearer: Option<Secret>) -> Self {
        let mut registry = Registry::with_prefix("connectors");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))) as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template, from routing to the response",
            latency.clone(),
        );
        let engine = Arc::new(Mutex::new(EngineMetrics::default()));
        registry.register_collector(Box::new(EngineCollector(engine.clone())));
        Self {
            registry,
            requests,
            latency,
            engine,
            bearer,
        }
    }

    fn record(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method,
                route: route.to_string(),
            })
            .observe(seconds);
    }

    fn render(&self, snapshot: EngineMetrics) -> Result<String, std::fmt::Error> {
        *self.engine.lock().unwrap_or_else(|e| e.into_inner()) = snapshot;
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// A bounded method label: extension methods would let a client mint labels.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts each request under its route template once it is
/// answered.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    metrics.record(
        method,
        route.as_deref().unwrap_or(UNMATCHED),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let metrics = &state.metrics;
    if let Some(expected) = &metrics.bearer {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !expected.ct_eq(given) {
            return ApiError::Request {
                status: StatusCode::UNAUTHORIZED,
                code: "UNAUTHORIZED",
                detail: "/metrics needs `Authorization: Bearer <token>` with the token of \
                         [metrics] in the server config"
                    .into(),
            }
            .into_response();
        }
    }
    let snapshot = match state.engine.metrics().await {
        Ok(snapshot) => snapshot,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match metrics.render(snapshot) {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Writes the engine's last snapshot, taken by `scrape` just before.
#[derive(Debug)]
struct EngineCollector(Arc<Mutex<EngineMetrics>>);

impl Collector for EngineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        let r = m.refreshes;
        let refreshes = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "refreshes",
            "Provider refresh calls by outcome: ok, transient (retried later), permanent \
             (connector expired), lost_race (answer discarded: the lease had passed on)",
            None,
            refreshes.metric_type(),
        )?;
        for (outcome, n) in [
            ("ok", r.ok),
            ("transient", r.transient),
            ("permanent", r.permanent),
            ("lost_race", r.lost_race),
        ] {
            ConstCounter::new(n).encode(family.encode_family(&[("outcome", outcome)])?)?;
        }
        let c = m.cache;
        for (name, help, n) in [
            (
                "cache_hits",
                "Reads (principals, tokens) answered from the cache",
                c.hits,
            ),
            (
                "cache_misses",
                "Reads (principals, tokens) that went to the database",
                c.misses,
            ),
            (
                "cache_evictions",
                "Cache entries dropped for room",
                c.evictions,
            ),
            (
                "cache_invalidations",
                "Invalidations of cache entries because the database changed",
                c.invalidations,
            ),
            (
                "cache_resets",
                "Times the cache was emptied because the database change feed was lost",
                c.resets,
            ),
        ] {
            let counter = ConstCounter::new(n);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let in_use = m.pool.size.saturating_sub(m.pool.idle);
        for (name, help, value) in [
            (
                "db_pool_in_use",
                "Database connections serving a query",
                in_use as i64,
            ),
            (
                "db_pool_idle",
                "Open database connections waiting for work",
                m.pool.idle as i64,
            ),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let lag = ConstGauge::new(m.refresh_lag_secs);
        lag.encode(encoder.encode_descriptor(
            "refresh_lag_seconds",
            "How far the most overdue refreshable token is past its refresh margin (0: none is)",
            None,
            lag.metric_type(),
        )?)?;
        Ok(())
    }
}
