//! `/metrics` in Prometheus text format (OpenMetrics): requests by route
//! template, method and status, latency histograms by route, and the
//! engine's snapshot (refreshes by outcome, cache counters, the database
//! pool, the background-refresh lag).
//!
//! Each server has its own registry (no process-global recorder), so tests
//! that run several servers in one process do not mix counts. Labels hold
//! axum's `MatchedPath` template, never the raw path: no ids or tokens
//! reach a label, and unmatched paths share one label.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use connectors_engine::EngineMetrics;
use connectors_vault::Secret;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::exponential_buckets;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::state::AppState;

/// Where the metrics are served.
pub const PATH: &str = "/metrics";

/// The label of every path no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The content type of the OpenMetrics text the crate writes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The method labels; extension methods would let a client mint labels, so
/// they share `other`.
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other",
];

/// The index of `method` in [`METHODS`].
pub(crate) fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::DELETE => 3,
        Method::PATCH => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Latency buckets: 0.5 ms doubling up to about 16 s, then `+Inf`.
const BUCKETS: usize = 16;
const FIRST_BOUND_NANOS: u64 = 500_000;

/// One latency histogram as plain atomics, so that recording takes no lock
/// (prometheus-client's `Histogram` locks a mutex per observation).
#[derive(Debug, Default)]
struct Latency {
    /// Per bucket (not cumulative); the last is `+Inf`.
    buckets: [AtomicU64; BUCKETS + 1],
    sum_nanos: AtomicU64,
}

impl Latency {
    fn observe(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let bucket = (0..BUCKETS)
            .find(|&i| nanos <= FIRST_BOUND_NANOS << i)
            .unwrap_or(BUCKETS);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }
}

/// A snapshot of a [`Latency`], in prometheus-client's histogram encoding.
#[derive(Debug)]
struct LatencySnapshot {
    sum: f64,
    count: u64,
    buckets: Vec<(f64, u64)>,
}

impl EncodeMetric for LatencySnapshot {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Distinct statuses one route and method keep without a lock; a route
/// answers a handful (200, 401, 404, 503, …). Any beyond go to `overflow`.
const STATUS_SLOTS: usize = 16;

/// Requests by status, for one route and method.
#[derive(Debug, Default)]
struct StatusCounts {
    /// (status, count); status 0 marks a free slot, claimed once for good.
    slots: [(AtomicU16, AtomicU64); STATUS_SLOTS],
    overflow: Mutex<Vec<(u16, u64)>>,
}

impl StatusCounts {
    fn increment(&self, status: u16) {
        for (code, count) in &self.slots {
            let mut seen = code.load(Relaxed);
            if seen == 0 {
                seen = match code.compare_exchange(0, status, Relaxed, Relaxed) {
                    Ok(_) => status,
                    Err(other) => other,
                };
            }
            if seen == status {
                count.fetch_add(1, Relaxed);
                return;
            }
        }
        let mut overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
        match overflow.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => overflow.push((status, 1)),
        }
    }

    /// (status, count) of every status seen, ascending.
    fn snapshot(&self) -> Vec<(u16, u64)> {
        let mut all: Vec<(u16, u64)> = self
            .slots
            .iter()
            .map(|(code, count)| (code.load(Relaxed), count.load(Relaxed)))
            // A slot claimed by a request still being counted reads 0.
            .filter(|&(code, count)| code != 0 && count != 0)
            .collect();
        all.extend(
            self.overflow
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter(),
        );
        all.sort_unstable();
        all
    }
}

#[derive(Debug, Default)]
struct MethodStats {
    statuses: StatusCounts,
    latency: Latency,
}

/// Everything counted under one route template, by method.
#[derive(Debug, Default)]
struct RouteStats {
    methods: [MethodStats; METHODS.len()],
}

/// The request counters and latency histograms of every route.
///
/// The table is built once, for every template of the router, so that
/// recording a request is a lookup by `&str` and a few atomic adds: no lock,
/// no allocation. A template missing from it (a route added without its
/// `openapi.json` entry, which the OpenAPI test refuses) is still counted,
/// under a lock.
#[derive(Debug)]
struct HttpStats {
    /// Each template's place in `routes`.
    index: HashMap<Box<str>, usize>,
    routes: Vec<(Box<str>, RouteStats)>,
    unmatched: RouteStats,
    late: Mutex<Vec<(Box<str>, Arc<RouteStats>)>>,
}

/// A route of the table, looked up once: counting under it needs no
/// hashing of its template (the token route's fast path).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RouteId(usize);

impl HttpStats {
    fn new<'a>(templates: impl IntoIterator<Item = &'a str>) -> Self {
        let mut routes: Vec<(Box<str>, RouteStats)> = templates
            .into_iter()
            .map(|t| (t.into(), RouteStats::default()))
            .collect();
        routes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        routes.dedup_by(|a, b| a.0 == b.0);
        Self {
            index: routes
                .iter()
                .enumerate()
                .map(|(i, (t, _))| (t.clone(), i))
                .collect(),
            routes,
            unmatched: RouteStats::default(),
            late: Mutex::default(),
        }
    }

    fn count(stats: &RouteStats, method: usize, status: u16, latency: Duration) {
        let m = &stats.methods[method];
        m.statuses.increment(status);
        m.latency.observe(latency);
    }

    fn record_known(&self, method: usize, route: RouteId, status: u16, latency: Duration) {
        Self::count(&self.routes[route.0].1, method, status, latency);
    }

    fn record(&self, method: usize, route: Option<&str>, status: u16, latency: Duration) {
        let count = |stats: &RouteStats| Self::count(stats, method, status, latency);
        let Some(route) = route else {
            return count(&self.unmatched);
        };
        if let Some(&i) = self.index.get(route) {
            return count(&self.routes[i].1);
        }
        let stats = {
            let mut late = self.late.lock().unwrap_or_else(|e| e.into_inner());
            match late.iter().find(|(t, _)| &**t == route) {
                Some((_, stats)) => stats.clone(),
                None => {
                    let stats = Arc::new(RouteStats::default());
                    late.push((route.into(), stats.clone()));
                    stats
                }
            }
        };
        count(&stats);
    }

    /// Calls `each` with every route template and its stats, sorted by
    /// template, `unmatched` last.
    fn for_each(
        &self,
        mut each: impl FnMut(&str, &RouteStats) -> Result<(), std::fmt::Error>,
    ) -> Result<(), std::fmt::Error> {
        let late = self.late.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut all: Vec<(&str, &RouteStats)> = self
            .routes
            .iter()
            .map(|(t, s)| (&**t, s))
            .chain(late.iter().map(|(t, s)| (&**t, &**s)))
            .collect();
        all.sort_unstable_by_key(|&(t, _)| t);
        all.push((UNMATCHED, &self.unmatched));
        for (template, stats) in all {
            each(template, stats)?;
        }
        Ok(())
    }
}

/// Writes the request families from [`HttpStats`].
#[derive(Debug)]
struct HttpCollector(Arc<HttpStats>);

impl Collector for HttpCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut requests = encoder.encode_descriptor(
            "http_requests",
            "HTTP requests by method, route template and status",
            None,
            MetricType::Counter,
        )?;
        self.0.for_each(|route, stats| {
            for (method, m) in METHODS.iter().zip(&stats.methods) {
                for (status, n) in m.statuses.snapshot() {
                    let labels = (
                        [("method", *method), ("route", route)],
                        [("status", status)],
                    );
                    ConstCounter::new(n).encode(requests.encode_family(&labels)?)?;
                }
            }
            Ok(())
        })?;
        let bounds =
            exponential_buckets(0.0005, 2.0, BUCKETS as u16).chain(std::iter::once(f64::INFINITY));
        let bounds: Vec<f64> = bounds.collect();
        let mut latency = encoder.encode_descriptor(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template, from routing to the response",
            None,
            MetricType::Histogram,
        )?;
        self.0.for_each(|route, stats| {
            for (method, m) in METHODS.iter().zip(&stats.methods) {
                let buckets: Vec<(f64, u64)> = bounds
                    .iter()
                    .zip(&m.latency.buckets)
                    .map(|(&bound, n)| (bound, n.load(Relaxed)))
                    .collect();
                let count = buckets.iter().map(|(_, n)| n).sum();
                if count == 0 {
                    continue;
                }
                let snapshot = LatencySnapshot {
                    sum: Duration::from_nanos(m.latency.sum_nanos.load(Relaxed)).as_secs_f64(),
                    count,
                    buckets,
                };
                let labels = [("method", *method), ("route", route)];
                snapshot.encode(latency.encode_family(&labels)?)?;
            }
            Ok(())
        })
    }
}

/// Labels of the proxy's families: the type (bounded by the catalog and
/// the operator's providers: a call with no API description is refused
/// before it counts), and for calls the phase and status class.
type ProxyLabels = Vec<(&'static str, String)>;

/// `callApi` calls and their upstream time (#14.7).
#[derive(Debug)]
struct ProxyStats {
    calls: Family<ProxyLabels, Counter>,
    upstream: Family<ProxyLabels, Histogram, fn() -> Histogram>,
}

fn upstream_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// One server's metrics and who may read them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http: Arc<HttpStats>,
    proxy: ProxyStats,
    engine: Arc<Mutex<EngineMetrics>>,
    bearer: Option<Secret>,
}

impl Metrics {
    /// A fresh registry with a counter table for every route of
    /// [`crate::app`]; `bearer` is the token `/metrics` asks for, if any.
    pub fn new(bearer: Option<Secret>) -> Self {
        let mut registry = Registry::with_prefix("connectors");
        let http = Arc::new(HttpStats::new(
            crate::routes::templates().iter().map(String::as_str),
        ));
        registry.register_collector(Box::new(HttpCollector(http.clone())));
        let engine = Arc::new(Mutex::new(EngineMetrics::default()));
        registry.register_collector(Box::new(EngineCollector(engine.clone())));
        let proxy = ProxyStats {
            calls: Family::default(),
            upstream: Family::new_with_constructor(upstream_histogram as fn() -> Histogram),
        };
        registry.register(
            "proxy_calls",
            "callApi calls by integration type, phase (not_sent, sent_unconfirmed, timed_out, \
             responded) and upstream status class (2xx … 5xx, none)",
            proxy.calls.clone(),
        );
        registry.register(
            "proxy_upstream_duration_seconds",
            "Time callApi calls waited for the upstream, by integration type (a replay after \
             a 401 adds its own)",
            proxy.upstream.clone(),
        );
        Self {
            registry,
            http,
            proxy,
            engine,
            bearer,
        }
    }

    /// Counts one `callApi` call.
    pub(crate) fn record_proxy(
        &self,
        integration_type: &str,
        phase: &str,
        status: Option<u16>,
        upstream: Duration,
    ) {
        let class = status.map_or_else(|| "none".to_string(), |s| format!("{}xx", s / 100));
        self.proxy
            .calls
            .get_or_create(&vec![
                ("integration_type", integration_type.to_string()),
                ("phase", phase.to_string()),
                ("status_class", class),
            ])
            .inc();
        self.proxy
            .upstream
            .get_or_create(&vec![("integration_type", integration_type.to_string())])
            .observe(upstream.as_secs_f64());
    }

    /// The table's place of `template`, if the table has it.
    pub(crate) fn route_id(&self, template: &str) -> Option<RouteId> {
        self.http.index.get(template).map(|&i| RouteId(i))
    }

    /// Counts one answered request under a route found by [`Self::route_id`].
    pub(crate) fn record_known(
        &self,
        method: usize,
        route: RouteId,
        status: u16,
        latency: Duration,
    ) {
        self.http.record_known(method, route, status, latency);
    }

    /// Counts one answered request; `route` is its `MatchedPath` template,
    /// `None` when no route matched.
    pub(crate) fn record(
        &self,
        method: usize,
        route: Option<&str>,
        status: u16,
        latency: Duration,
    ) {
        self.http.record(method, route, status, latency);
    }

    pub(crate) fn render(&self, snapshot: EngineMetrics) -> Result<String, std::fmt::Error> {
        *self.engine.lock().unwrap_or_else(|e| e.into_inner()) = snapshot;
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
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
        let d = m.deliveries;
        let deliveries = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered (2xx), retrying (failed, another \
             attempt scheduled), gave_up (the last attempt failed)",
            None,
            deliveries.metric_type(),
        )?;
        for (outcome, n) in [
            ("delivered", d.delivered),
            ("retrying", d.retrying),
            ("gave_up", d.gave_up),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn render(http: Arc<HttpStats>) -> String {
        let mut registry = Registry::with_prefix("connectors");
        registry.register_collector(Box::new(HttpCollector(http)));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn counts_survive_a_route_missing_from_the_table_and_many_statuses() {
        let http = Arc::new(HttpStats::new(["/known"]));
        let get = method_index(&Method::GET);
        let ms = Duration::from_millis(1);
        // More distinct statuses than a route keeps without a lock.
        for status in 200..200 + STATUS_SLOTS as u16 + 4 {
            http.record(get, Some("/known"), status, ms);
        }
        http.record(get, Some("/known"), 200, ms);
        http.record(get, Some("/late/{id}"), 404, ms);
        http.record(get, Some("/late/{id}"), 404, Duration::from_secs(60));
        http.record(
            method_index(&Method::from_bytes(b"PURGE").unwrap()),
            None,
            405,
            ms,
        );
        let text = render(http);
        let count = |labels: &str| {
            let prefix = format!("connectors_http_requests_total{{{labels}}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .unwrap_or_else(|| panic!("no {prefix}in\n{text}"))
                .to_string()
        };
        assert_eq!(count("method=\"GET\",route=\"/known\",status=\"200\""), "2");
        assert_eq!(count("method=\"GET\",route=\"/known\",status=\"219\""), "1");
        assert_eq!(
            count("method=\"GET\",route=\"/late/{id}\",status=\"404\""),
            "2"
        );
        assert_eq!(
            count("method=\"other\",route=\"unmatched\",status=\"405\""),
            "1"
        );
        for line in [
            "connectors_http_request_duration_seconds_count{method=\"GET\",route=\"/known\"} 21",
            "connectors_http_request_duration_seconds_bucket{le=\"0.001\",method=\"GET\",route=\"/known\"} 21",
            "connectors_http_request_duration_seconds_bucket{le=\"0.0005\",method=\"GET\",route=\"/known\"} 0",
            "connectors_http_request_duration_seconds_sum{method=\"GET\",route=\"/late/{id}\"} 60.001",
            "connectors_http_request_duration_seconds_bucket{le=\"+Inf\",method=\"GET\",route=\"/late/{id}\"} 2",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        // Nothing for a method or route that saw no request.
        assert!(!text.contains("method=\"POST\""), "{text}");
    }
}
