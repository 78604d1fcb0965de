//! Provider faults as a matrix (issue #10.9): for the code exchange, the
//! refresh and the revocation, the provider's token endpoint answers 500,
//! 503 with `Retry-After`, nothing (a timeout), an HTML page, `200` with an
//! OAuth error, malformed JSON, or closes the connection.
//!
//! The endpoint is `connectors_testkit::faults::FaultyEndpoint` in front of
//! a real `oidc-provider`: it forwards until a fault is armed. Our server
//! runs in this process on a test clock, on a runtime whose threads log
//! everything (every target, `TRACE`) into a buffer, which must hold no
//! token, code, verifier or client secret the endpoint saw pass.
//!
//! Expected, for every cell: a clear error naming the provider; a transient
//! fault leaves the connector as it was and a later call recovers; a
//! permanent one (`200` with `invalid_grant`) marks a refreshed connector
//! `expired` with the provider's reason and fails a consent attempt with it.

use std::time::{Duration, Instant};

use connectors_engine::{ImportCredentials, TestClock};
use connectors_testkit::faults::{Fault, FaultyEndpoint};
use connectors_testkit::CapturedLogs;
use connectors_vault::Secret;
use serde_json::{json, Value};

use crate::support::oidc::{consent, consent_until_callback, OidcServer};
use crate::support::{http_request, TestServer, TokenServer};

const TYPE: &str = "oidc_custom";
const PROVIDER: &str = "OIDC test provider";
const CLIENT_SECRET: &str = "custom-secret-canary-41c7e2";

/// Everything our server and its parts log, as text.
#[derive(Clone, Default)]
struct Logs(CapturedLogs);

impl Logs {
    fn text(&self) -> String {
        self.0.text()
    }

    /// A runtime whose every thread logs into these logs.
    fn runtime(&self) -> tokio::runtime::Runtime {
        let dispatch = tracing::Dispatch::new(self.0.subscriber(tracing::Level::TRACE));
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || {
                // For the thread's whole life: its tasks are the server's.
                std::mem::forget(tracing::dispatcher::set_default(&dispatch));
            })
            .build()
            .unwrap()
    }

    /// Waits until `count` lines contain all of `needles`; returns them.
    fn wait_for_lines(&self, needles: &[&str], count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines: Vec<String> = self
                .text()
                .lines()
                .filter(|l| needles.iter().all(|n| l.contains(n)))
                .map(str::to_owned)
                .collect();
            if lines.len() >= count {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "no {count} log lines with {needles:?}:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The real OAuth server, the faulty endpoint in front of its token and
/// revocation endpoints, and our server (in this process, on a test clock).
struct Harness {
    server: TestServer,
    proxy: FaultyEndpoint,
    oidc: OidcServer,
    time: TestClock,
    logs: Logs,
    rt: tokio::runtime::Runtime,
}

impl Harness {
    fn start() -> Harness {
        let logs = Logs::default();
        let rt = logs.runtime();
        let time = TestClock::new();
        let mut parts = None;
        let builder = TestServer::builder()
            .config(|public_url| {
                let oidc = OidcServer::start(json!({
                    "port": 0,
                    "clients": [{"client_id": "custom-client", "client_secret": CLIENT_SECRET,
                        "redirect_uris": [format!("{public_url}/oauth/callback")],
                        "token_endpoint_auth_method": "client_secret_basic"}],
                    "scopes": ["openid", "offline_access", "contacts.read", "calendar.read"],
                    "accessTokenTtl": 3600,
                    "rotateRefreshToken": true,
                    "pkceRequired": true,
                }));
                let issuer = oidc.endpoint("issuer");
                let proxy = FaultyEndpoint::start(&issuer);
                let through = |name: &str| oidc.endpoint(name).replace(&issuer, &proxy.url);
                let config = format!(
                    r#"
[oauth]
provider_timeout_secs = 1
refresh_attempts = 2

[providers.{TYPE}]
display_name = "{PROVIDER}"
authorization_url = "{auth}"
token_url = "{token}"
revocation_url = "{revoke}"
client_id = "custom-client"
client_secret = "{CLIENT_SECRET}"
client_auth = "client_secret_basic"
required_scopes = ["openid", "offline_access"]
"#,
                    auth = oidc.endpoint("authorization_endpoint"),
                    token = through("token_endpoint"),
                    revoke = through("revocation_endpoint"),
                );
                parts = Some((oidc, proxy));
                config
            })
            .clock(time.clock())
            .serve();
        let server = rt.block_on(builder.start());
        let (oidc, proxy) = parts.expect("the OAuth server started with ours");
        Harness {
            server,
            proxy,
            oidc,
            time,
            logs,
            rt,
        }
    }

    fn builder_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let key = self.server.api_key().to_string();
        let (status, text) = http_request(
            method,
            &format!(
                "{}/api/apps/{}/external-auth/{path}",
                self.server.url,
                self.server.app_id()
            ),
            &[("api_key", &key)],
            body.map(|b| b.to_string()).as_deref(),
        )
        .unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn put(&self, scopes: &[&str]) -> Value {
        let (status, body) = self.builder_call(
            "PUT",
            &format!("integrations/{TYPE}"),
            Some(json!({ "scopes": scopes })),
        );
        assert_eq!(status, 200, "{body}");
        body
    }

    fn status(&self) -> Option<String> {
        let (_, list) = self.builder_call("GET", "list", None);
        list["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["integration_type"] == TYPE)
            .map(|i| i["status"].as_str().unwrap().to_string())
    }

    fn attempt(&self, id: &str) -> String {
        let (_, body) = self.builder_call(
            "GET",
            &format!("status?integration_type={TYPE}&connection_id={id}"),
            None,
        );
        body["status"].as_str().unwrap_or_default().to_string()
    }

    /// Consents in headless Chromium; returns the new access token.
    fn authorize(&self, scopes: &[&str]) -> String {
        let answer = self.put(scopes);
        let page = consent(json!({"url": answer["redirect_url"], "login": "alice"}));
        assert_eq!(page["heading"], "Authorization complete", "{page}");
        let (status, body) = self.server.token(TYPE);
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// The stored credentials' version (moves with every stored refresh).
    fn version(&self) -> Option<i64> {
        let store = self.server.engine.store();
        self.rt
            .block_on(store.get_credentials(&connectors_store::ConnectorKey::new(
                self.server.app_id(),
                TYPE.parse().expect("a valid type"),
            )))
            .unwrap()
            .map(|c| c.version)
    }

    /// Requests the endpoint received since `from`.
    fn requests_since(&self, from: usize) -> usize {
        self.proxy.seen().len() - from
    }

    /// No secret the endpoint saw pass, nor the client secret, is in the logs.
    fn assert_nothing_secret_logged(&self) {
        let logs = self.logs.text();
        assert!(
            logs.contains(TYPE),
            "the log capture is empty or broken:\n{logs}"
        );
        let mut secrets = self.proxy.secrets();
        secrets.push(CLIENT_SECRET.to_string());
        assert!(secrets.len() > 3, "{secrets:?}");
        for secret in secrets {
            assert!(
                !logs.contains(&secret),
                "a secret ({}…) is in the logs:\n{logs}",
                secret.chars().take(4).collect::<String>()
            );
        }
    }
}

fn detail(body: &Value) -> String {
    body["detail"].as_str().unwrap_or_default().to_string()
}

#[test]
fn provider_faults_at_code_exchange() {
    let h = Harness::start();
    // A connector with a grant: a failed re-consent must leave it working.
    let token = h.authorize(&["contacts.read"]);
    for fault in Fault::ALL {
        // Scopes the grant lacks, so that each push starts a consent.
        let answer = h.put(&["contacts.read", "calendar.read"]);
        let id = answer["connection_id"].as_str().unwrap().to_string();
        let (callback, cookie) = consent_until_callback(answer["redirect_url"].as_str().unwrap());
        let from = h.proxy.seen().len();
        h.proxy.arm(fault, 3);
        let (status, page) = http_request("GET", &callback, &[("cookie", &cookie)], None).unwrap();
        h.proxy.disarm();
        assert_eq!(status, 502, "{fault:?}: {page}");
        assert!(
            page.contains(PROVIDER),
            "{fault:?} names no provider: {page}"
        );
        let said = if fault.is_transient() {
            "is unavailable"
        } else {
            "refused the code: invalid_grant"
        };
        assert!(page.contains(said), "{fault:?}: {page}");
        assert!(page.contains("base44 connectors push"), "{fault:?}: {page}");
        // A single-use code is sent once.
        assert_eq!(h.requests_since(from), 1, "{fault:?}");
        assert_eq!(h.attempt(&id), "FAILED", "{fault:?}");
        // The connector keeps its grant and its token.
        assert_eq!(h.status().as_deref(), Some("active"), "{fault:?}");
        let (status, body) = h.server.token(TYPE);
        assert_eq!(status, 200, "{fault:?}: {body}");
        assert_eq!(body["access_token"], token.as_str(), "{fault:?}");
    }
    // A later consent goes through.
    let fresh = h.authorize(&["contacts.read", "calendar.read"]);
    assert_ne!(fresh, token);
    h.assert_nothing_secret_logged();
}

#[test]
fn provider_faults_at_refresh() {
    let h = Harness::start();
    let mut token = h.authorize(&["contacts.read"]);
    // The matrix, plus a short `Retry-After` the same request waits out.
    let mut cells: Vec<(Fault, usize)> = Fault::ALL.iter().map(|f| (*f, 2)).collect();
    cells.push((Fault::Unavailable(1), 1));
    for (fault, times) in cells {
        h.time.advance(Duration::from_secs(3601));
        let version = h.version();
        let from = h.proxy.seen().len();
        h.proxy.arm(fault, times);
        let (status, body) = h.server.token(TYPE);
        h.proxy.disarm();
        let requests = h.requests_since(from);
        if fault == Fault::Unavailable(1) {
            // Waited as asked, then the retry went through.
            assert_eq!(status, 200, "{fault:?}: {body}");
            assert_eq!(requests, 2, "{fault:?}");
            assert_ne!(body["access_token"], token.as_str());
            token = body["access_token"].as_str().unwrap().to_string();
            continue;
        }
        let text = detail(&body);
        assert!(
            text.contains(TYPE) && text.contains(PROVIDER),
            "{fault:?} names no provider: {body}"
        );
        if fault.is_transient() {
            assert_eq!(status, 503, "{fault:?}: {body}");
            assert_eq!(body["code"], "PROVIDER_UNAVAILABLE", "{fault:?}: {body}");
            assert!(text.contains("try again"), "{fault:?}: {body}");
            // A long `Retry-After` is not retried in the same request.
            let expected = if fault == Fault::Unavailable(120) {
                1
            } else {
                2
            };
            assert_eq!(requests, expected, "{fault:?}");
            if fault == Fault::Unavailable(120) {
                assert!(text.contains("retry after 120 s"), "{body}");
            }
            // As it was: active, the same credentials.
            assert_eq!(h.status().as_deref(), Some("active"), "{fault:?}");
            assert_eq!(h.version(), version, "{fault:?}");
            // And the next call recovers.
            let (status, body) = h.server.token(TYPE);
            assert_eq!(status, 200, "{fault:?}: recovery: {body}");
            assert_ne!(body["access_token"], token.as_str(), "{fault:?}");
            token = body["access_token"].as_str().unwrap().to_string();
        } else {
            assert_eq!(status, 409, "{fault:?}: {body}");
            assert_eq!(body["code"], "REAUTHORIZATION_REQUIRED", "{body}");
            assert!(text.contains("invalid_grant"), "{body}");
            assert!(text.contains("base44 connectors push"), "{body}");
            assert_eq!(requests, 1, "a refused refresh is not retried");
            assert_eq!(h.status().as_deref(), Some("expired"));
            // The reason stays, and the provider is not asked again.
            let from = h.proxy.seen().len();
            let (status, again) = h.server.token(TYPE);
            assert_eq!(status, 409);
            assert!(detail(&again).contains("invalid_grant"), "{again}");
            assert_eq!(h.requests_since(from), 0);
            // Consent again recovers.
            token = h.authorize(&["contacts.read"]);
        }
    }
    h.assert_nothing_secret_logged();
}

#[test]
fn provider_faults_at_revocation() {
    let h = Harness::start();
    for (i, fault) in Fault::ALL.into_iter().enumerate() {
        let (access, refresh) = (
            format!("canary-access-{i}-8d2f41"),
            format!("canary-refresh-{i}-8d2f41"),
        );
        h.rt.block_on(h.server.engine.import_credentials(ImportCredentials {
            app_id: h.server.app_id().to_string(),
            integration_type: TYPE.into(),
            builder_email: None,
            access_token: Secret::new(access.as_str()),
            refresh_token: Some(Secret::new(refresh.as_str())),
            expires_in: Some(3600),
            scopes: vec!["contacts.read".into()],
            connection_config: None,
        }))
        .unwrap();
        let from = h.proxy.seen().len();
        h.proxy.arm(fault, 2);
        let (status, body) = h.builder_call("DELETE", &format!("integrations/{TYPE}/remove"), None);
        assert_eq!(status, 200, "{fault:?}: {body}");
        // The final word of the background revocation (no retry follows).
        let lines = h
            .logs
            .wait_for_lines(&["revocation failed (connector removed anyway) "], i + 1);
        h.proxy.disarm();
        let line = &lines[i];
        assert!(
            line.contains(TYPE) && line.contains(PROVIDER),
            "{fault:?}: {line}"
        );
        let said = if fault.is_transient() {
            "retry later"
        } else {
            "invalid_grant"
        };
        assert!(line.contains(said), "{fault:?}: {line}");
        // Transient faults are retried once, unless the provider asks for a long wait.
        let expected = match fault {
            Fault::ErrorBody | Fault::Unavailable(120) => 1,
            _ => 2,
        };
        assert_eq!(h.requests_since(from), expected, "{fault:?}");
        // The connector is gone all the same.
        assert_eq!(h.status(), None, "{fault:?}");
        assert_eq!(h.server.token(TYPE).0, 404);
        assert!(!h.logs.text().contains(&refresh) && !h.logs.text().contains(&access));
    }
    // A transient fault, then the retry: the real grant is revoked.
    let token = h.authorize(&["contacts.read"]);
    let from = h.proxy.seen().len();
    h.proxy.arm(Fault::Close, 1);
    let (status, _) = h.builder_call("DELETE", &format!("integrations/{TYPE}/remove"), None);
    assert_eq!(status, 200);
    h.logs
        .wait_for_lines(&["revoked removed connector's token"], 1);
    assert_eq!(h.requests_since(from), 2);
    let info = h
        .oidc
        .introspect("custom-client", CLIENT_SECRET, true, &token);
    assert_eq!(info["active"], false, "{info}");
    h.assert_nothing_secret_logged();
}

/// `/metrics` (issue #11.4) after real refreshes: one stored, one transient
/// failure, one permanent refusal; the lag gauge while a token is overdue;
/// route templates, never ids or secrets, in the labels.
#[test]
fn metrics_show_refresh_outcomes_lag_and_route_templates() {
    let h = Harness::start();
    let scrape = || {
        let (status, text) =
            http_request("GET", &format!("{}/metrics", h.server.url), &[], None).unwrap();
        assert_eq!(status, 200, "{text}");
        text
    };
    let line = |text: &str, prefix: &str| -> f64 {
        let found = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{text}"));
        found.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let first = h.authorize(&["contacts.read"]);
    let before = scrape();
    assert_eq!(line(&before, "connectors_refresh_lag_seconds "), 0.0);
    // An overdue token: an hour past expiry, so about 3660 s past its margin.
    h.time.advance(Duration::from_secs(7200));
    let overdue = scrape();
    let lag = line(&overdue, "connectors_refresh_lag_seconds ");
    assert!((3600.0..3700.0).contains(&lag), "{overdue}");
    // Refreshed: ok.
    let (status, body) = h.server.token(TYPE);
    assert_eq!(status, 200, "{body}");
    let second = body["access_token"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    // A transient failure (both tries), then a permanent refusal.
    h.time.advance(Duration::from_secs(3601));
    h.proxy.arm(Fault::Status500, 2);
    assert_eq!(h.server.token(TYPE).0, 503);
    h.proxy.disarm();
    h.time.advance(Duration::from_secs(3601));
    h.proxy.arm(Fault::ErrorBody, 1);
    assert_eq!(h.server.token(TYPE).0, 409);
    h.proxy.disarm();
    let (status, _) =
        http_request("GET", &format!("{}/no/such/path", h.server.url), &[], None).unwrap();
    assert_eq!(status, 404);

    let text = scrape();
    for (outcome, n) in [
        ("ok", 1.0),
        ("transient", 1.0),
        ("permanent", 1.0),
        ("lost_race", 0.0),
    ] {
        let prefix = format!("connectors_refreshes_total{{outcome=\"{outcome}\"}} ");
        assert_eq!(line(&text, &prefix), n, "{outcome}:\n{text}");
    }
    // The expired connector is no longer refreshable: no lag.
    assert_eq!(
        line(&text, "connectors_refresh_lag_seconds "),
        0.0,
        "{text}"
    );
    let tokens = "route=\"/api/apps/{app_id}/external-auth/tokens/{integration_type}\"";
    for (status, n) in [(200, 2.0), (503, 1.0), (409, 1.0)] {
        let prefix = format!(
            "connectors_http_requests_total{{method=\"GET\",{tokens},status=\"{status}\"}} "
        );
        assert_eq!(line(&text, &prefix), n, "{status}:\n{text}");
    }
    // Ours, and the browser's favicon during consent.
    let unmatched =
        "connectors_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} ";
    assert!(line(&text, unmatched) >= 1.0, "{text}");
    assert!(
        text.contains(&format!(
            "connectors_http_request_duration_seconds_count{{method=\"GET\",{tokens}}} 4"
        )),
        "{text}"
    );
    // The cache: reads went to the database, the refreshes and the expiry
    // invalidated, nothing was evicted, the change feed (PostgreSQL) held.
    assert!(
        line(&text, "connectors_cache_misses_total ") >= 1.0,
        "{text}"
    );
    assert!(
        line(&text, "connectors_cache_invalidations_total ") >= 2.0,
        "{text}"
    );
    for family in [
        "connectors_cache_hits_total ",
        "connectors_cache_evictions_total 0",
        "connectors_cache_resets_total 0",
        "connectors_db_pool_in_use ",
        "connectors_db_pool_idle ",
    ] {
        assert!(text.contains(family), "no `{family}`:\n{text}");
    }
    assert!(line(&text, "connectors_db_pool_idle ") >= 1.0, "{text}");
    // Labels hold templates: no id, token or secret anywhere.
    for secret in [
        h.server.app_id(),
        h.server.service_token(),
        h.server.api_key(),
        first.as_str(),
        second.as_str(),
        CLIENT_SECRET,
        "/no/such/path",
    ] {
        assert!(!text.contains(secret), "`{secret}` in:\n{text}");
    }
    for seen in h.proxy.secrets() {
        assert!(
            !text.contains(&seen),
            "a secret the provider saw is in:\n{text}"
        );
    }
}
