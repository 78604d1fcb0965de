//! `callApi` (#14) with the real SDK: an app's function calls a local
//! upstream through our server with the connection's token (consented at a
//! real OAuth server), and every way the upstream can answer, fail or
//! refuse comes back in the envelope with its honest phase.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::oidc::consent;
use crate::support::{http_request, TestServer};

/// What the upstream saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    /// Tokens `/once401` has refused (each is refused once, then forever).
    refused: Mutex<HashSet<String>>,
    posts_401: AtomicUsize,
}

type Shared = Arc<Seen>;

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn echo(
    State(seen): State<Shared>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let shown: serde_json::Map<String, Value> = headers
        .iter()
        .filter(|(n, _)| n.as_str() != "authorization")
        .map(|(n, v)| (n.to_string(), json!(v.to_str().unwrap_or(""))))
        .collect();
    (
        [
            ("x-ratelimit-remaining", "42"),
            ("set-cookie", "session=upstream"),
            ("x-internal", "hidden"),
        ],
        axum::Json(json!({
            "method": method.as_str(), "path": uri.path(), "query": uri.query(),
            "headers": shown, "body": body, "authorized": bearer(&headers).starts_with("Bearer ")
        })),
    )
        .into_response()
}

async fn bad_request(State(seen): State<Shared>) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "text is required"})),
    )
        .into_response()
}

/// A PNG-like body with every byte value, so any text decoding shows.
fn png_bytes() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    bytes.extend(0..=255u8);
    bytes
}

async fn png(State(seen): State<Shared>) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    ([("content-type", "image/png")], png_bytes()).into_response()
}

async fn slow(State(seen): State<Shared>) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    StatusCode::NO_CONTENT.into_response()
}

/// Refuses each token the first time it is seen here, and from then on:
/// a refresh (a new token) gets through.
async fn once_401(
    State(seen): State<Shared>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let token = bearer(&headers);
    let mut refused = seen.refused.lock().unwrap();
    if refused.contains(&token) || refused.is_empty() {
        refused.insert(token);
        if method == axum::http::Method::POST {
            seen.posts_401.fetch_add(1, Ordering::SeqCst);
        }
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_token"})),
        )
            .into_response();
    }
    axum::Json(json!({"ok": true})).into_response()
}

async fn always_401(State(seen): State<Shared>) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    (StatusCode::UNAUTHORIZED, "no").into_response()
}

async fn redirect_away(State(seen): State<Shared>) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::FOUND,
        [("location", "http://localhost:9/stolen")],
    )
        .into_response()
}

fn upstream(seen: Shared) -> Router {
    Router::new()
        .route("/v1/echo", any(echo))
        .route("/v1/bad", any(bad_request))
        .route("/v1/png", get(png))
        .route("/v1/slow", get(slow))
        .route("/v1/once401", any(once_401))
        .route("/v1/always401", get(always_401))
        .route("/v1/redirect", get(redirect_away))
        .with_state(seen)
}

/// A socket that reads a request and resets the connection.
fn resetting_upstream() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    connectors_testkit::runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await;
            // Linger 0: the close is a reset, as a crashed upstream's would be.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(std::time::Duration::ZERO));
            drop(stream);
        }
    });
    url
}

struct Setup {
    _oidc: connectors_testkit::oidc::OidcServer,
    _upstream: connectors_testkit::Served,
    server: TestServer,
    seen: Shared,
}

fn setup() -> Setup {
    let seen = Shared::default();
    let upstream = connectors_testkit::serve(upstream(seen.clone()));
    let reset = resetting_upstream();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let mut oidc = None;
    let base = upstream.url.clone();
    let server = connectors_testkit::runtime().block_on(
        TestServer::builder()
            .config(|public_url| {
                let provider = crate::oauth_e2e::oidc_for(public_url, 3600, true);
                let config = format!(
                    r#"{}
[providers.oidc_custom.api]
hosts = [{{ name = "default", base_url = "{base}/v1" }}, {{ name = "raw", base_url = "{reset}" }}, {{ name = "closed", base_url = "{closed}" }}]
request_headers = ["x-trace"]

[proxy]
allow_private_networks = true
timeout_secs = 1
"#,
                    crate::oauth_e2e::config_for(&provider, public_url, "")
                );
                oidc = Some(provider);
                config
            })
            .serve()
            .start(),
    );
    let s = Setup {
        _oidc: oidc.expect("the OAuth server started"),
        _upstream: upstream,
        server,
        seen,
    };
    // The builder connects the app's connector at the OAuth server.
    let (status, put) = crate::workspace::call(
        &s.server,
        "PUT",
        &format!(
            "/api/apps/{}/external-auth/integrations/oidc_custom",
            s.server.app_id()
        ),
        s.server.api_key(),
        Some(json!({"scopes": ["contacts.read"]})),
    );
    assert_eq!(status, 200, "{put}");
    let page = consent(json!({"url": put["redirect_url"], "login": "alice", "timeoutMs": 30000}));
    assert_eq!(page["ok"], true, "{page}");
    s
}

/// `callApi("oidc_custom", request)` with the real SDK.
fn call_api(s: &Setup, service: &str, request: Value) -> Value {
    let args = json!({"serverUrl": s.server.url, "appId": s.server.app_id(), "serviceToken": service,
        "call": "callApi", "args": ["oidc_custom", request]});
    crate::support::sdk(&args)
}

fn refreshes(s: &Setup) -> u64 {
    connectors_testkit::runtime()
        .block_on(s.server.engine.metrics())
        .unwrap()
        .refreshes
        .ok
}

#[test]
fn functions_call_the_api_through_the_proxy_and_hear_how_far_each_call_got() {
    let s = setup();
    let service = s.server.service_token().to_string();

    // JSON GET with the query merged and an allowed header; others dropped.
    let got = call_api(
        &s,
        &service,
        json!({"path": "/echo?a=1", "query": {"q": "base44", "max_results": 10},
            "headers": {"x-trace": "t-1", "x-other": "dropped", "authorization": "Bearer stolen", "cookie": "c=1"}}),
    );
    assert_eq!(got["ok"], true, "{got}");
    let v = &got["value"];
    assert_eq!(
        (&v["success"], &v["phase"], &v["status"]),
        (&json!(true), &json!("responded"), &json!(200)),
        "{v}"
    );
    assert_eq!(v["data"]["method"], "GET");
    assert_eq!(v["data"]["path"], "/v1/echo");
    assert_eq!(v["data"]["query"], "a=1&max_results=10&q=base44", "{v}");
    assert_eq!(v["data"]["authorized"], true);
    let headers = &v["data"]["headers"];
    assert_eq!(headers["x-trace"], "t-1", "{headers}");
    for dropped in ["x-other", "cookie"] {
        assert!(
            headers.get(dropped).is_none(),
            "{dropped} forwarded: {headers}"
        );
    }
    // Rate-limit headers exposed; cookies and the rest not.
    assert_eq!(v["headers"], json!({"x-ratelimit-remaining": "42"}), "{v}");
    assert_eq!(v["creditsCharged"], 0);

    // JSON POST.
    let posted = call_api(
        &s,
        &service,
        json!({"method": "POST", "path": "/echo", "body": {"text": "hé"}}),
    );
    assert_eq!(
        posted["value"]["data"]["body"], r#"{"text":"hé"}"#,
        "{posted}"
    );
    assert_eq!(
        posted["value"]["data"]["headers"]["content-type"],
        "application/json"
    );

    // An upstream 400 resolves (no throw) as responded.
    let bad = call_api(
        &s,
        &service,
        json!({"method": "POST", "path": "/bad", "body": {}}),
    );
    assert_eq!(bad["ok"], true, "{bad}");
    assert_eq!(
        (
            &bad["value"]["success"],
            &bad["value"]["phase"],
            &bad["value"]["status"]
        ),
        (&json!(false), &json!("responded"), &json!(400))
    );
    assert_eq!(bad["value"]["data"], json!({"error": "text is required"}));

    // Binary bytes ≥ 0x80 round-trip exactly.
    let image = call_api(&s, &service, json!({"path": "/png"}));
    let v = &image["value"];
    assert_eq!(
        (&v["contentType"], &v["data"]),
        (&json!("image/png"), &Value::Null),
        "{v}"
    );
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["dataBase64"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, png_bytes());

    // Slow → timed_out; reset after the request → sent_unconfirmed; a
    // refused port → not_sent. All with status null.
    for (request, phase) in [
        (json!({"path": "/slow"}), "timed_out"),
        (json!({"host": "raw", "path": "/x"}), "sent_unconfirmed"),
        (json!({"host": "closed", "path": "/x"}), "not_sent"),
    ] {
        let out = call_api(&s, &service, request.clone());
        let v = &out["value"];
        assert_eq!(
            (&v["success"], &v["phase"], &v["status"]),
            (&json!(false), &json!(phase), &Value::Null),
            "{request}: {out}"
        );
        assert!(v["data"]["error"].is_string(), "{out}");
    }

    // The metrics count them by type, phase and status class.
    let (_, metrics) =
        http_request("GET", &format!("{}/metrics", s.server.url), &[], None).unwrap();
    for line in [
        r#"connectors_proxy_calls_total{integration_type="oidc_custom",phase="responded",status_class="2xx"} 3"#,
        r#"connectors_proxy_calls_total{integration_type="oidc_custom",phase="responded",status_class="4xx"} 1"#,
        r#"connectors_proxy_calls_total{integration_type="oidc_custom",phase="timed_out",status_class="none"} 1"#,
        r#"connectors_proxy_calls_total{integration_type="oidc_custom",phase="not_sent",status_class="none"} 1"#,
        r#"connectors_proxy_upstream_duration_seconds_count{integration_type="oidc_custom"} 7"#,
    ] {
        assert!(metrics.contains(line), "{line} not in {metrics}");
    }

    // A redirect to another host is not followed.
    let moved = call_api(&s, &service, json!({"path": "/redirect"}));
    assert_eq!(moved["value"]["status"], 302, "{moved}");

    // Refused before any request reaches the upstream.
    let before = s.seen.requests.load(Ordering::SeqCst);
    for request in [
        json!({"path": "//evil.example/x"}),
        json!({"path": "http://127.0.0.1/"}),
        json!({"path": "/../../x"}),
        json!({"path": "/%2e%2e/x"}),
        json!({"host": "nowhere", "path": "/echo"}),
    ] {
        let out = call_api(&s, &service, request.clone());
        assert_eq!(
            (&out["ok"], &out["status"]),
            (&json!(false), &json!(400)),
            "{request}: {out}"
        );
    }
    assert_eq!(
        s.seen.requests.load(Ordering::SeqCst),
        before,
        "the upstream saw none"
    );

    // Only the app's own service token.
    let (status, _) = http_request(
        "POST",
        &format!(
            "{}/api/apps/{}/connectors/oidc_custom/call",
            s.server.url,
            s.server.app_id()
        ),
        &[
            ("api_key", s.server.api_key()),
            ("content-type", "application/json"),
        ],
        Some(r#"{"path": "/echo"}"#),
    )
    .unwrap();
    assert_eq!(status, 403, "a builder key");
    let other = connectors_testkit::runtime().block_on(async {
        let app = s
            .server
            .engine
            .create_app(&s.server.boot.workspace_id, "other")
            .await
            .unwrap();
        s.server
            .engine
            .create_service_token(&app.id)
            .await
            .unwrap()
            .secret
            .expose()
            .to_string()
    });
    let refused = call_api(&s, &other, json!({"path": "/echo"}));
    assert_eq!(refused["status"], 401, "{refused}");
    let unknown = {
        let args = json!({"serverUrl": s.server.url, "appId": s.server.app_id(), "serviceToken": service,
            "call": "callApi", "args": ["slack", {"path": "/x"}]});
        crate::support::sdk(&args)
    };
    assert_eq!(
        (&unknown["status"], &unknown["code"]),
        (&json!(404), &json!("NOT_FOUND")),
        "{unknown}"
    );
}

#[test]
fn a_401_refreshes_once_and_replays_only_idempotent_calls() {
    let s = setup();
    let service = s.server.service_token().to_string();
    let start = refreshes(&s);

    // The first token is refused: one refresh, the GET replayed with the new one.
    let got = call_api(&s, &service, json!({"path": "/once401"}));
    assert_eq!(
        (&got["value"]["success"], &got["value"]["status"]),
        (&json!(true), &json!(200)),
        "{got}"
    );
    assert_eq!(refreshes(&s), start + 1);

    // A POST refused: refreshed, but not sent again.
    s.seen.refused.lock().unwrap().clear();
    let posted = call_api(
        &s,
        &service,
        json!({"method": "POST", "path": "/once401", "body": {}}),
    );
    assert_eq!(posted["value"]["status"], 401, "{posted}");
    assert_eq!(
        s.seen.posts_401.load(Ordering::SeqCst),
        1,
        "one POST reached the upstream"
    );
    assert_eq!(refreshes(&s), start + 2);

    // Always refused: exactly one refresh, one replay, and the 401 stands.
    let before = s.seen.requests.load(Ordering::SeqCst);
    let always = call_api(&s, &service, json!({"path": "/always401"}));
    assert_eq!(
        (&always["value"]["phase"], &always["value"]["status"]),
        (&json!("responded"), &json!(401)),
        "{always}"
    );
    assert_eq!(refreshes(&s), start + 3);
    assert_eq!(s.seen.requests.load(Ordering::SeqCst), before + 2);
}

/// A server whose custom type `acme` calls `base` (and a closed port as
/// host `closed`), with `proxy` as its `[proxy]` section and a token
/// imported for the app (no consent needed: nothing here refreshes).
fn imported_server(base: &str, proxy: &str) -> TestServer {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    connectors_testkit::runtime().block_on(async {
        let server = TestServer::builder()
            .config(|public_url| {
                format!(
                    r#"public_url = "{public_url}"

[providers.acme]
display_name = "Acme"
authorization_url = "https://auth.acme.example/authorize"
token_url = "https://auth.acme.example/token"
client_id = "acme-client"
client_secret = "acme-secret"

[providers.acme.api]
hosts = [{{ name = "default", base_url = "{base}/v1" }}, {{ name = "closed", base_url = "{closed}" }}]

[proxy]
{proxy}
"#
                )
            })
            .serve()
            .start()
            .await;
        server
            .engine
            .import_credentials(connectors_engine::ImportCredentials {
                app_id: server.app_id().to_string(),
                integration_type: "acme".into(),
                builder_email: None,
                access_token: connectors_vault::Secret::new("acme-access"),
                refresh_token: None,
                expires_in: Some(3600),
                scopes: vec![],
                connection_config: None,
            })
            .await
            .unwrap();
        server
    })
}

fn call_acme(server: &TestServer, request: Value) -> (u16, Value) {
    crate::workspace::call(
        server,
        "POST",
        &format!("/api/apps/{}/connectors/acme/call", server.app_id()),
        server.service_token(),
        Some(request),
    )
}

/// With `[proxy] allow_private_networks` off (the default), an API host on
/// loopback is never called: `not_sent`, and the upstream sees nothing.
#[test]
fn private_networks_are_off_limits_by_default() {
    let seen = Shared::default();
    let upstream = connectors_testkit::serve(upstream(seen.clone()));
    let server = imported_server(&upstream.url, "");
    let (status, body) = call_acme(&server, json!({"path": "/echo"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["phase"], &body["status_code"], &body["success"]),
        (&json!("not_sent"), &Value::Null, &json!(false)),
        "{body}"
    );
    assert!(
        body["data"]["error"]
            .as_str()
            .unwrap()
            .contains("allow_private_networks"),
        "{body}"
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
}

/// `[proxy] monthly_calls`: each call that reached the upstream costs one
/// credit (one that was `not_sent` is given back); beyond the quota, the
/// SDK's 402 body.
#[test]
fn a_monthly_quota_charges_calls_and_then_answers_402() {
    let seen = Shared::default();
    let upstream = connectors_testkit::serve(upstream(seen.clone()));
    let server = imported_server(
        &upstream.url,
        "allow_private_networks = true\nmonthly_calls = 2",
    );
    let (_, refused) = call_acme(&server, json!({"host": "closed", "path": "/x"}));
    assert_eq!(
        (&refused["phase"], &refused["credits_charged"]),
        (&json!("not_sent"), &json!(0)),
        "{refused}"
    );
    for _ in 0..2 {
        let (status, body) = call_acme(&server, json!({"path": "/echo"}));
        assert_eq!(
            (status, &body["success"], &body["credits_charged"]),
            (200, &json!(true), &json!(1)),
            "{body}"
        );
    }
    let (status, body) = call_acme(&server, json!({"path": "/echo"}));
    assert_eq!(status, 402, "{body}");
    assert_eq!(
        (&body["message"], &body["extra_data"]["reason"]),
        (
            &json!("You have reached the limit of integrations for this month"),
            &json!("integration_credits_limit_reached")
        ),
        "{body}"
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 2);
}
