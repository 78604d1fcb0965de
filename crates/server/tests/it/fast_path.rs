//! The token route's fast path (`crates/server/src/front.rs`) answers byte
//! for byte what the router answers: one server, served twice on loopback,
//! once as it runs (fast path on) and once with every request through the
//! router, and the same raw requests to both; only the `date` line may
//! differ. Success, every refusal, an expired connector, a token within its
//! refresh margin (refreshed through the normal path: the provider sees one
//! refresh per read), the deadline, and requests the fast path leaves to
//! the router.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use connectors_engine::{ImportCredentials, TestClock};
use connectors_server::config::HttpTuning;
use connectors_vault::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestServer, PROVIDERS_TOML};

/// What the provider's token endpoint does.
const ANSWER: u8 = 0;
const REFUSE: u8 = 1;
const HANG: u8 = 2;

/// A provider whose refreshes answer one fixed token, refuse the grant
/// (`invalid_grant`) or never answer, and count themselves.
struct Provider {
    mode: Arc<AtomicU8>,
    refreshes: Arc<AtomicUsize>,
    served: connectors_testkit::Served,
}

fn provider() -> Provider {
    let mode = Arc::new(AtomicU8::new(ANSWER));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let (m, r) = (mode.clone(), refreshes.clone());
    let router = Router::new().route(
        "/token",
        post(move || {
            let (m, r) = (m.clone(), r.clone());
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                match m.load(Ordering::SeqCst) {
                    ANSWER => (
                        axum::http::StatusCode::OK,
                        axum::Json(serde_json::json!({
                            "access_token": "at-refreshed",
                            "refresh_token": "rt-refreshed",
                            "token_type": "Bearer",
                            "expires_in": 3600
                        })),
                    ),
                    REFUSE => (
                        axum::http::StatusCode::BAD_REQUEST,
                        axum::Json(serde_json::json!({"error": "invalid_grant"})),
                    ),
                    _ => std::future::pending().await,
                }
            }
        }),
    );
    Provider {
        mode,
        refreshes,
        served: connectors_testkit::serve(router),
    }
}

/// The server (fast path on, served by the test server) and the same
/// server with every request through the router, on its own socket.
struct Twins {
    t: TestServer,
    time: TestClock,
    fast: String,
    router_only: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn twins(provider: &Provider, extra: &str) -> Twins {
    let base = provider.served.url.clone();
    let time = TestClock::new();
    let t = TestServer::builder()
        .clock(time.clock())
        .config(|_| {
            format!(
                r#"{PROVIDERS_TOML}
[providers.refreshco]
display_name = "Refresh Co"
authorization_url = "{base}/authorize"
token_url = "{base}/token"
client_id = "refresh-client"
client_secret = "refresh-secret"
{extra}"#
            )
        })
        .serve()
        .start()
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let router_only = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router_only_front = t.router.without_fast_path();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        connectors_server::serve(
            listener,
            router_only_front,
            &HttpTuning::default(),
            shutdown,
        )
        .await
    });
    let fast = t.url.trim_start_matches("http://").to_string();
    Twins {
        t,
        time,
        fast,
        router_only,
        _stop: stop,
    }
}

/// Sends `raw` (one request, `connection: close`) and reads the whole
/// answer, without its `date` line (the one thing that may differ).
async fn wire(addr: &str, raw: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    String::from_utf8(answer)
        .unwrap()
        .split("\r\n")
        .filter(|line| !line.starts_with("date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A raw GET (or `method`) of `path` with `headers` and a fixed request id.
fn raw(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers.iter().any(|(n, _)| *n == "x-request-id") {
        text.push_str("x-request-id: req-fast-path\r\n");
    }
    text.push_str("\r\n");
    text
}

impl Twins {
    /// Both answers to `raw`, checked equal; the fast path's is returned.
    async fn same(&self, raw: &str) -> String {
        let fast = wire(&self.fast, raw).await;
        let routed = wire(&self.router_only, raw).await;
        assert_eq!(
            fast, routed,
            "the fast path and the router differ on\n{raw}"
        );
        fast
    }

    fn path(&self, ty: &str) -> String {
        format!("/api/apps/{}/external-auth/tokens/{ty}", self.t.app_id())
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.t.service_token())
    }

    async fn import(&self, ty: &str, expires_in: Option<i64>) {
        self.t
            .engine
            .import_credentials(ImportCredentials {
                app_id: self.t.app_id().to_string(),
                integration_type: ty.into(),
                builder_email: Some("owner@example.com".into()),
                access_token: Secret::new("at-imported"),
                refresh_token: Some(Secret::new("rt-imported")),
                expires_in,
                scopes: vec![],
                connection_config: None,
            })
            .await
            .unwrap();
    }

    /// `refreshco` holds an hour's token with 30 s left: imported, then
    /// the engine's clock moved on.
    async fn near_expiry(&self) {
        self.import("refreshco", Some(3600)).await;
        self.time.advance(Duration::from_secs(3600 - 30));
    }
}

/// A request's extra headers.
type Headers<'a> = Vec<(&'a str, &'a str)>;

fn status(answer: &str) -> u16 {
    answer[9..12].parse().unwrap()
}

#[tokio::test]
async fn the_fast_path_answers_what_the_router_answers() {
    let provider = provider();
    let twins = twins(&provider, "").await;
    let t = &twins.t;
    twins.import("acme_crm", None).await;
    let bearer = twins.bearer();
    let auth = [("authorization", bearer.as_str())];

    // Success: twice each (the second from the read cache), the body and
    // every header in the same order.
    for _ in 0..2 {
        let ok = twins
            .same(&raw("GET", &twins.path("acme_crm"), &auth))
            .await;
        assert_eq!(status(&ok), 200, "{ok}");
        assert!(ok.contains("\"access_token\":\"at-imported\""), "{ok}");
        assert!(ok.contains("cache-control: no-store\r\n"), "{ok}");
        assert!(ok.contains("x-request-id: req-fast-path\r\n"), "{ok}");
    }
    // A generated request id: fresh on each answer, the rest the same.
    let path = twins.path("acme_crm");
    let unnamed = format!(
        "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: {bearer}\r\n\r\n"
    );
    let (a, b) = (
        wire(&twins.fast, &unnamed).await,
        wire(&twins.router_only, &unnamed).await,
    );
    let without_id = |s: &str| {
        s.split("\r\n")
            .map(|l| match l.strip_prefix("x-request-id: ") {
                Some(id) => {
                    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
                    "x-request-id: <uuid>"
                }
                None => l,
            })
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    assert_eq!(without_id(&a), without_id(&b));

    // Refusals.
    let other_ws = t.engine.create_workspace("other").await.unwrap();
    let other_app = t.engine.create_app(&other_ws.id, "other").await.unwrap();
    let other_token = t.engine.create_service_token(&other_app.id).await.unwrap();
    let other_bearer = format!("Bearer {}", other_token.secret.expose());
    let key = t.api_key().to_string();
    let key_bearer = format!("Bearer {key}");
    let cases: Vec<(u16, Headers, String)> = vec![
        (401, vec![], twins.path("acme_crm")),
        (
            401,
            vec![("authorization", "Bearer b44s_not-a-token")],
            twins.path("acme_crm"),
        ),
        (
            401,
            vec![("authorization", "Bearer")],
            twins.path("acme_crm"),
        ),
        (
            401,
            vec![("authorization", "Basic dXNlcjpwYXNz")],
            twins.path("acme_crm"),
        ),
        (
            401,
            vec![("authorization", other_bearer.as_str())],
            twins.path("acme_crm"),
        ),
        (403, vec![("api_key", key.as_str())], twins.path("acme_crm")),
        (
            403,
            vec![("authorization", key_bearer.as_str())],
            twins.path("acme_crm"),
        ),
        // A service token in `api_key` is not accepted there.
        (
            401,
            vec![("api_key", t.service_token())],
            twins.path("acme_crm"),
        ),
        // Not connected, not in the catalog, not a valid type, Stripe.
        (404, auth.to_vec(), twins.path("slack")),
        (404, auth.to_vec(), twins.path("no_such_type")),
        (400, auth.to_vec(), twins.path("bad.type")),
        (404, auth.to_vec(), twins.path("stripe")),
        // Another app's id with this app's token.
        (
            401,
            auth.to_vec(),
            format!("/api/apps/{}/external-auth/tokens/acme_crm", other_app.id),
        ),
        // A query string is ignored, as the router ignores it.
        (
            200,
            auth.to_vec(),
            format!("{}?x=1", twins.path("acme_crm")),
        ),
    ];
    let mut statuses = Vec::new();
    for (expected, headers, path) in cases {
        let answer = twins.same(&raw("GET", &path, &headers)).await;
        assert_eq!(status(&answer), expected, "{path} {headers:?}: {answer}");
        statuses.push(expected);
    }

    // What the fast path leaves to the router is answered alike too.
    let encoded = format!("/api/apps/{}/external-auth/tokens/acme%5Fcrm", t.app_id());
    for (expected, method, path) in [
        (200, "HEAD", twins.path("acme_crm")),
        (405, "POST", twins.path("acme_crm")),
        (200, "GET", encoded),
        (404, "GET", format!("{}/", twins.path("acme_crm"))),
    ] {
        let answer = twins.same(&raw(method, &path, &auth)).await;
        assert_eq!(status(&answer), expected, "{method} {path}: {answer}");
    }
    // A GET with a body.
    let with_body = raw("GET", &twins.path("acme_crm"), &auth).replace(
        "connection: close\r\n",
        "connection: close\r\ncontent-length: 5\r\n",
    ) + "hello";
    assert_eq!(status(&twins.same(&with_body).await), 200);

    // Both ways count under the route's template: every GET above but the
    // trailing slash's, once per way.
    let mut gets = std::collections::BTreeMap::new();
    // Success twice, the unnamed one, the encoded path, the body.
    *gets.entry(200).or_insert(0) += 2 + 1 + 1 + 1;
    for status in statuses {
        *gets.entry(status).or_insert(0) += 1;
    }
    let metrics = wire(&twins.fast, &raw("GET", "/metrics", &[])).await;
    for (status, n) in gets {
        let line = format!(
            "connectors_http_requests_total{{method=\"GET\",route=\"{}\",status=\"{status}\"}} {}",
            connectors_server::routes::tokens::PATH,
            2 * n
        );
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }
}

#[tokio::test]
async fn near_expiry_and_expired_tokens_take_the_normal_paths_on_both() {
    let provider = provider();
    let twins = twins(&provider, "").await;
    let bearer = twins.bearer();
    let auth = [("authorization", bearer.as_str())];
    let request = raw("GET", &twins.path("refreshco"), &auth);

    // Within the refresh margin (an hour's token with 30 s left, the
    // margin being 60 s): each read refreshes (a token within the margin
    // is never served from the cache), on either path.
    for round in 1..=2 {
        twins.near_expiry().await;
        let fast = wire(&twins.fast, &request).await;
        assert_eq!(provider.refreshes.load(Ordering::SeqCst), 2 * round - 1);
        twins.near_expiry().await;
        let routed = wire(&twins.router_only, &request).await;
        assert_eq!(provider.refreshes.load(Ordering::SeqCst), 2 * round);
        assert_eq!(fast, routed);
        assert_eq!(status(&fast), 200, "{fast}");
        assert!(fast.contains("\"access_token\":\"at-refreshed\""), "{fast}");
    }
    // Now fresh: from the cache, no refresh.
    twins.same(&request).await;
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 4);

    // The provider refuses the grant: the connector is expired, and both
    // answer 409 from then on, without calling the provider again.
    provider.mode.store(REFUSE, Ordering::SeqCst);
    twins.near_expiry().await;
    let first = wire(&twins.fast, &request).await;
    assert_eq!(status(&first), 409, "{first}");
    let refreshes = provider.refreshes.load(Ordering::SeqCst);
    for _ in 0..2 {
        let answer = twins.same(&request).await;
        assert_eq!(status(&answer), 409, "{answer}");
        assert!(answer.contains("REAUTHORIZATION_REQUIRED"), "{answer}");
    }
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), refreshes);
}

#[tokio::test]
async fn the_fast_path_keeps_the_request_deadline() {
    let provider = provider();
    provider.mode.store(HANG, Ordering::SeqCst);
    let twins = twins(&provider, "[http]\nrequest_timeout_secs = 0.3\n").await;
    let bearer = twins.bearer();
    let request = raw(
        "GET",
        &twins.path("refreshco"),
        &[("authorization", bearer.as_str())],
    );
    twins.near_expiry().await;
    let fast = wire(&twins.fast, &request).await;
    twins.near_expiry().await;
    let routed = wire(&twins.router_only, &request).await;
    assert_eq!(fast, routed);
    assert_eq!(status(&fast), 503, "{fast}");
    assert!(fast.contains("\"code\":\"TIMEOUT\""), "{fast}");
}
