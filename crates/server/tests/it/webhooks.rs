//! Connection events and their webhooks (#15), end to end: a real OAuth
//! server, consent in headless Chromium, our server in this process with
//! its delivery worker, and a receiver that checks every delivery with the
//! published Standard Webhooks algorithm, written here from the spec
//! (HMAC-SHA256 over `id.timestamp.body` under the base64 key after
//! `whsec_`), not with our own signing code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use connectors_engine::TestClock;
use connectors_testkit::faults::{Fault, FaultyEndpoint};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::oidc::{consent, OidcServer};
use crate::support::{http_request, TestServer, TokenServer};

const TYPE: &str = "oidc_custom";

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// Standard Webhooks verification, from the spec: the signed content is
/// `{id}.{timestamp}.{body}`, the key the base64 after `whsec_`, each
/// `v1,<base64>` of the space-separated header a candidate, and a
/// timestamp more than five minutes from `now` is refused.
pub fn verify(secret: &str, d: &Delivery, now_secs: i64) -> Result<(), String> {
    let ts: i64 = d.timestamp.parse().map_err(|_| "bad timestamp")?;
    if (now_secs - ts).abs() > 300 {
        return Err(format!("stale timestamp {ts} at {now_secs}"));
    }
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").ok_or("no whsec_ prefix")?)
        .map_err(|_| "secret is not base64")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{}.{}.{}", d.id, d.timestamp, d.body).as_bytes());
    let expected = mac.finalize().into_bytes();
    for candidate in d.signature.split(' ') {
        if let Some(sig) = candidate.strip_prefix("v1,") {
            if let Ok(bytes) = STANDARD.decode(sig) {
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
                mac.update(format!("{}.{}.{}", d.id, d.timestamp, d.body).as_bytes());
                if mac.verify_slice(&bytes).is_ok() {
                    debug_assert_eq!(bytes.as_slice(), expected.as_slice());
                    return Ok(());
                }
            }
        }
    }
    Err("no signature matches".into())
}

#[derive(Default)]
struct ReceiverState {
    /// Every request, in arrival order (accepted or not).
    seen: Vec<Delivery>,
    /// Attempts per webhook-id so far.
    attempts: HashMap<String, usize>,
    /// Refuse (500) the first this many attempts of every id.
    fail_first: usize,
    /// Ids being handled right now, and how often one arrived while it was.
    in_flight: HashMap<String, usize>,
    overlaps: usize,
    /// Hold each request until released (at most a minute).
    hold: bool,
    /// Answer 410 Gone to everything.
    gone: bool,
}

/// A webhook receiver on a port of this machine.
#[derive(Clone)]
pub struct Receiver {
    state: Arc<Mutex<ReceiverState>>,
    release: Arc<tokio::sync::Notify>,
    pub url: String,
}

/// Marks a request handled when its handler ends, also when the sender
/// hung up (hyper then drops the handler).
struct InFlight(Arc<Mutex<ReceiverState>>, String);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(n) = self.0.lock().unwrap().in_flight.get_mut(&self.1) {
            *n -= 1;
        }
    }
}

type Shared = (Arc<Mutex<ReceiverState>>, Arc<tokio::sync::Notify>);

impl Receiver {
    pub fn start(rt: &tokio::runtime::Runtime) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let release = Arc::new(tokio::sync::Notify::new());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state((state.clone(), release.clone()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            state,
            release,
            url,
        }
    }

    /// Answers 410 Gone from now on.
    pub fn gone(&self) {
        self.state.lock().unwrap().gone = true;
    }

    /// Holds every request from now on until [`Receiver::release`].
    pub fn hold(&self) {
        self.state.lock().unwrap().hold = true;
    }

    /// Answers the held requests and holds no more.
    pub fn release(&self) {
        self.state.lock().unwrap().hold = false;
        self.release.notify_waiters();
    }

    pub fn fail_first(&self, n: usize) {
        self.state.lock().unwrap().fail_first = n;
    }

    pub fn seen(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn overlaps(&self) -> usize {
        self.state.lock().unwrap().overlaps
    }

    /// Waits until a delivery matching `pred` has arrived `count` times.
    pub fn wait_for(
        &self,
        what: &str,
        count: usize,
        pred: impl Fn(&Delivery) -> bool,
    ) -> Vec<Delivery> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found: Vec<Delivery> = self.seen().into_iter().filter(|d| pred(d)).collect();
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no {count} deliveries of {what}; seen: {:?}",
                self.seen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn receive(
    State((state, release)): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let delivery = Delivery {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (attempt, fail_first, hold, gone) = {
        let mut s = state.lock().unwrap();
        let flying = s.in_flight.entry(delivery.id.clone()).or_default();
        *flying += 1;
        if *flying > 1 {
            s.overlaps += 1;
        }
        s.seen.push(delivery.clone());
        let n = s.attempts.entry(delivery.id.clone()).or_default();
        *n += 1;
        (*n, s.fail_first, s.hold, s.gone)
    };
    let _flying = InFlight(state.clone(), delivery.id.clone());
    if hold {
        let released = release.notified();
        if state.lock().unwrap().hold {
            let _ = tokio::time::timeout(Duration::from_secs(60), released).await;
        }
    }
    if gone {
        StatusCode::GONE
    } else if attempt <= fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

struct Harness {
    server: TestServer,
    proxy: FaultyEndpoint,
    _oidc: OidcServer,
    time: TestClock,
    receiver: Receiver,
    rt: tokio::runtime::Runtime,
}

impl Harness {
    fn start() -> Harness {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let receiver = Receiver::start(&rt);
        let time = TestClock::new();
        let mut parts = None;
        let builder = TestServer::builder()
            .config(|public_url| {
                let oidc = OidcServer::start(json!({
                    "port": 0,
                    "clients": [{"client_id": "custom-client", "client_secret": "custom-secret",
                        "redirect_uris": [format!("{public_url}/oauth/callback")],
                        "token_endpoint_auth_method": "client_secret_basic"}],
                    "scopes": ["openid", "offline_access", "contacts.read"],
                    "accessTokenTtl": 3600,
                    "pkceRequired": true,
                }));
                let issuer = oidc.endpoint("issuer");
                let proxy = FaultyEndpoint::start(&issuer);
                let config = format!(
                    r#"
[oauth]
provider_timeout_secs = 2
refresh_attempts = 1

[webhooks]
allow_private_networks = true
retry_schedule_secs = [0, 0, 0]
poll_interval_ms = 20
timeout_secs = 5

[providers.{TYPE}]
display_name = "OIDC test provider"
authorization_url = "{auth}"
token_url = "{token}"
client_id = "custom-client"
client_secret = "custom-secret"
client_auth = "client_secret_basic"
required_scopes = ["openid", "offline_access"]
"#,
                    auth = oidc.endpoint("authorization_endpoint"),
                    token = oidc.endpoint("token_endpoint").replace(&issuer, &proxy.url),
                );
                parts = Some((oidc, proxy));
                config
            })
            .clock(time.clock())
            .deliveries()
            .serve();
        let server = rt.block_on(builder.start());
        let (oidc, proxy) = parts.expect("the OAuth server started with ours");
        Harness {
            server,
            proxy,
            _oidc: oidc,
            time,
            receiver,
            rt,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let key = self.server.api_key().to_string();
        let (status, text) = http_request(
            method,
            &format!(
                "{}/api/apps/{}/{path}",
                self.server.url,
                self.server.app_id()
            ),
            &[("api_key", &key), ("content-type", "application/json")],
            body.map(|b| b.to_string()).as_deref(),
        )
        .unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn authorize(&self) -> String {
        let (status, answer) = self.call(
            "PUT",
            &format!("external-auth/integrations/{TYPE}"),
            Some(json!({ "scopes": ["contacts.read"] })),
        );
        assert_eq!(status, 200, "{answer}");
        let page = consent(json!({"url": answer["redirect_url"], "login": "alice"}));
        assert_eq!(page["heading"], "Authorization complete", "{page}");
        let (status, body) = self.server.token(TYPE);
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    fn now_secs(&self) -> i64 {
        self.time.clock().now_secs()
    }
}

fn of_type(ty: &'static str) -> impl Fn(&Delivery) -> bool {
    move |d| d.json()["type"] == ty
}

#[test]
fn webhooks_deliver_signed_connection_events_with_retries_and_a_log() {
    let h = Harness::start();
    let (status, created) = h.call(
        "POST",
        "webhooks",
        Some(json!({ "url": h.receiver.url, "description": "test receiver" })),
    );
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{created}");
    let endpoint_id = created["endpoint"]["id"].as_str().unwrap().to_string();
    // The secret is shown once: never in a read.
    let (_, listed) = h.call("GET", "webhooks", None);
    assert!(!listed.to_string().contains(&secret), "{listed}");

    // Connected, after a consent.
    let token = h.authorize();
    let connected = h
        .receiver
        .wait_for("connected", 1, of_type("connector.connected.v1"));
    let d = &connected[0];
    verify(&secret, d, h.now_secs()).expect("a valid signature");
    let event = d.json();
    assert_eq!(
        event["id"],
        d.id.as_str(),
        "the body's id is the webhook-id"
    );
    assert_eq!(event["app_id"], h.server.app_id());
    assert_eq!(event["data"]["kind"], "builder");
    assert_eq!(event["data"]["integration_type"], TYPE);
    assert!(event["data"]["scopes"].as_array().is_some(), "{event}");
    assert!(
        !d.body.contains(&token),
        "a token in a webhook body: {}",
        d.body
    );
    // A stale timestamp fails the receiver's check, the signature aside.
    let stale = verify(&secret, d, h.now_secs() + 301).unwrap_err();
    assert!(stale.contains("stale"), "{stale}");
    let mut tampered = d.clone();
    tampered.body = tampered.body.replace("builder", "workspace");
    verify(&secret, &tampered, h.now_secs()).unwrap_err();

    // Disconnected, after a push removes it: the first two attempts fail,
    // the third lands with the same webhook-id.
    h.receiver.fail_first(2);
    let (status, removed) = h.call(
        "DELETE",
        &format!("external-auth/integrations/{TYPE}/remove"),
        None,
    );
    assert_eq!(status, 200, "{removed}");
    let attempts = h
        .receiver
        .wait_for("disconnected x3", 3, of_type("connector.disconnected.v1"));
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(
        attempts.iter().all(|a| a.id == attempts[0].id),
        "{attempts:?}"
    );
    for a in &attempts {
        verify(&secret, a, h.now_secs()).expect("every attempt is signed");
        assert_eq!(a.json()["data"]["by"], "builder");
    }
    // The delivery log shows the two failures and the success.
    let deadline = Instant::now() + Duration::from_secs(30);
    let log = loop {
        let (status, log) = h.call("GET", &format!("webhooks/{endpoint_id}/deliveries"), None);
        assert_eq!(status, 200, "{log}");
        let of_it: Vec<Value> = log["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["event_id"] == attempts[0].id.as_str())
            .cloned()
            .collect();
        if of_it.len() == 3 && of_it.iter().any(|a| a["delivery_status"] == "delivered") {
            break of_it;
        }
        assert!(Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let statuses: Vec<i64> = log
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![204, 500, 500], "newest first: {log:?}");
    h.receiver.fail_first(0);

    // The log to replay: in order, resumable from a cursor.
    let (status, page) = h.call("GET", "events", None);
    assert_eq!(status, 200, "{page}");
    let types: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["connector.connected.v1", "connector.disconnected.v1"],
        "{page}"
    );
    let first = page["events"][0]["cursor"].as_str().unwrap();
    let (_, rest) = h.call("GET", &format!("events?after={first}&limit=1"), None);
    assert_eq!(rest["events"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["events"][0]["type"], "connector.disconnected.v1");
    assert_eq!(rest["events"][0]["id"], attempts[0].id.as_str());
    let (status, bad) = h.call("GET", "events?after=x", None);
    assert_eq!(status, 400, "{bad}");

    // A refresh refused with invalid_grant: refresh_failed (permanent),
    // then expired.
    h.authorize();
    h.time.advance(Duration::from_secs(3601));
    h.proxy.arm(Fault::ErrorBody, 5);
    let (status, body) = h.server.token(TYPE);
    h.proxy.disarm();
    assert_eq!(status, 409, "{body}");
    let failed = h
        .receiver
        .wait_for("refresh_failed", 1, of_type("connector.refresh_failed.v1"));
    let data = &failed[0].json()["data"];
    assert_eq!(data["permanent"], true, "{data}");
    assert_eq!(data["reason"], "invalid_grant", "{data}");
    let expired = h
        .receiver
        .wait_for("expired", 1, of_type("connector.expired.v1"));
    verify(&secret, &expired[0], h.now_secs()).expect("signed");

    // A test event reaches this endpoint only, and is in no app's log.
    let (status, queued) = h.call("POST", &format!("webhooks/{endpoint_id}/test"), None);
    assert_eq!(status, 202, "{queued}");
    h.receiver.wait_for("test", 1, of_type("webhook.test.v1"));

    // After a rotation both secrets sign during the overlap.
    let (status, rotated) = h.call(
        "POST",
        &format!("webhooks/{endpoint_id}/rotate-secret"),
        Some(json!({})),
    );
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    h.call("POST", &format!("webhooks/{endpoint_id}/test"), None);
    let tests = h
        .receiver
        .wait_for("second test", 2, of_type("webhook.test.v1"));
    let last = tests.last().unwrap();
    verify(&new_secret, last, h.now_secs()).expect("the new secret signs");
    verify(&secret, last, h.now_secs()).expect("the old secret still signs");
    assert_eq!(h.receiver.overlaps(), 0);

    // `/metrics` counts the attempts.
    let (status, metrics) =
        http_request("GET", &format!("{}/metrics", h.server.url), &[], None).unwrap();
    assert_eq!(status, 200, "{metrics}");
    for outcome in ["delivered", "retrying"] {
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "connectors_webhook_deliveries_total{{outcome=\"{outcome}\"}}"
                ))
            })
            .unwrap_or_else(|| panic!("no {outcome} line: {metrics}"));
        assert!(!line.ends_with(" 0"), "{line}");
    }

    // Nothing any body carried is a token.
    for d in h.receiver.seen() {
        assert!(!d.body.contains(&token), "{}", d.body);
        assert!(
            !d.body.contains("access_token") && !d.body.contains("refresh_token"),
            "{}",
            d.body
        );
    }
    drop(h.rt);
}

#[test]
fn webhook_endpoints_refuse_bad_targets_and_other_apps() {
    let h = Harness::start();
    for (url, needle) in [
        ("ftp://example.com/x", "https"),
        ("https://user:pw@example.com/x", ""),
        ("not a url", ""),
    ] {
        let (status, body) = h.call("POST", "webhooks", Some(json!({ "url": url })));
        assert_eq!(status, 400, "{url}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(needle), "{body}");
    }
    let (status, body) = h.call(
        "POST",
        "webhooks",
        Some(json!({ "url": h.receiver.url, "event_types": ["connector.nope.v1"] })),
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = h.call("GET", "webhooks/we_000000000000000000000000", None);
    assert_eq!(status, 404, "{body}");
    // A service token is not a builder.
    let (status, _) = http_request(
        "GET",
        &format!("{}/api/apps/{}/events", h.server.url, h.server.app_id()),
        &[(
            "authorization",
            &format!("Bearer {}", h.server.service_token()),
        )],
        None,
    )
    .unwrap();
    assert_eq!(status, 403);
}

/// The operator's commands: add (secret printed once), list (no secret),
/// disable and enable, delete; a wrong app or URL is a clear refusal.
#[test]
fn operators_manage_webhooks_with_admin_commands() {
    let server = crate::support::start_server("[webhooks]\nallow_private_networks = true\n", &[]);
    let app = server.app_id();
    let text = |o: std::process::Output| {
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let (ok, out) = text(server.admin(
        &[
            "create-webhook",
            "--app-id",
            &app,
            "--url",
            "http://127.0.0.1:9/hook",
            "--event-type",
            "connector.connected.v1",
        ],
        None,
    ));
    assert!(ok, "{out}");
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("webhook_endpoint_id: "))
        .unwrap()
        .to_string();
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert!(secret.starts_with("whsec_"), "{out}");
    let (ok, listed) = text(server.admin(&["list-webhooks", "--app-id", &app], None));
    assert!(
        ok && listed.contains(&id) && listed.contains("enabled=true"),
        "{listed}"
    );
    assert!(!listed.contains(&secret), "{listed}");
    let (ok, out) = text(server.admin(
        &[
            "set-webhook-enabled",
            "--app-id",
            &app,
            "--id",
            &id,
            "--enabled",
            "false",
        ],
        None,
    ));
    assert!(ok && out.contains("enabled=false"), "{out}");
    let (ok, out) = text(server.admin(&["delete-webhook", "--app-id", &app, "--id", &id], None));
    assert!(ok, "{out}");
    let (ok, out) = text(server.admin(
        &[
            "create-webhook",
            "--app-id",
            "nope",
            "--url",
            "https://example.com/h",
        ],
        None,
    ));
    assert!(!ok && out.contains("nope"), "{out}");
    let (ok, out) = text(server.admin(
        &[
            "create-webhook",
            "--app-id",
            &app,
            "--url",
            "ftp://example.com/h",
        ],
        None,
    ));
    assert!(!ok && out.contains("https"), "{out}");
    // The audit trail names the operator.
    let (status, audit) = http_request(
        "GET",
        &format!("{}/api/apps/{app}/audit", server.url),
        &[("api_key", &server.api_key())],
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{audit}");
    assert!(
        audit.contains("webhook_endpoint.created") && audit.contains("operator"),
        "{audit}"
    );
}

/// A receiver answering 410 Gone asks for no more: the endpoint is
/// disabled at once, with a reason saying so, and the delivery ends.
#[test]
fn a_receiver_that_answers_gone_disables_its_endpoint() {
    let h = Harness::start();
    let (_, created) = h.call("POST", "webhooks", Some(json!({ "url": h.receiver.url })));
    let id = created["endpoint"]["id"].as_str().unwrap().to_string();
    h.receiver.gone();
    let (status, _) = h.call("POST", &format!("webhooks/{id}/test"), None);
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    let endpoint = loop {
        let (_, endpoint) = h.call("GET", &format!("webhooks/{id}"), None);
        if endpoint["enabled"] == false {
            break endpoint;
        }
        assert!(Instant::now() < deadline, "{endpoint}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{endpoint}"
    );
    let (_, log) = h.call("GET", &format!("webhooks/{id}/deliveries"), None);
    assert_eq!(log["attempts"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log["attempts"][0]["delivery_status"], "failed", "{log}");
    assert_eq!(h.receiver.seen().len(), 1);
}
