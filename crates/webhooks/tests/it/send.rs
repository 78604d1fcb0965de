//! One delivery attempt against a local receiver the test serves: what it
//! receives (checked with an HMAC computed here, not with our signing
//! code), and how each way of failing is reported.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use connectors_webhooks::secret;
use connectors_webhooks::send::{Message, Phase, Sender, SenderConfig, USER_AGENT_VALUE};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What the receiver saw: the path and headers and body of each request.
type Seen = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

fn receiver() -> (connectors_testkit::Served, Seen) {
    let seen: Seen = Arc::default();
    let record = |path: &'static str, seen: &Seen| {
        let seen = seen.clone();
        move |headers: HeaderMap, body: Bytes| {
            seen.lock().unwrap().push((path.to_string(), headers, body));
            std::future::ready(())
        }
    };
    let router = Router::new()
        .route(
            "/hook",
            post({
                let record = record("/hook", &seen);
                move |h: HeaderMap, b: Bytes| async move {
                    record(h, b).await;
                    (StatusCode::OK, "thanks ✓")
                }
            }),
        )
        .route(
            "/moved",
            post({
                let record = record("/moved", &seen);
                move |h: HeaderMap, b: Bytes| async move {
                    record(h, b).await;
                    (StatusCode::TEMPORARY_REDIRECT, [("location", "/hook")]).into_response()
                }
            }),
        )
        .route(
            "/broken",
            post({
                let record = record("/broken", &seen);
                move |h: HeaderMap, b: Bytes| async move {
                    record(h, b).await;
                    (StatusCode::INTERNAL_SERVER_ERROR, "x".repeat(5000))
                }
            }),
        )
        .route(
            "/busy",
            post(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", "120")],
                    "later",
                )
                    .into_response()
            }),
        )
        .route(
            "/chatty",
            post(|| async { (StatusCode::ACCEPTED, "y".repeat(100_000)) }),
        )
        .route(
            "/silent",
            post(|| async {
                std::future::pending::<()>().await;
            }),
        );
    (connectors_testkit::serve(router), seen)
}

fn sender(allow_private_networks: bool, timeout: Duration) -> Sender {
    Sender::new(SenderConfig {
        allow_private_networks,
        timeout,
        ..SenderConfig::default()
    })
}

/// HMAC-SHA256 of `{id}.{timestamp}.{body}` under the secret's key, base64.
fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_delivery_carries_the_standard_headers_and_both_signatures_of_a_rotation() {
    let (served, seen) = receiver();
    let (new, old) = (secret::generate(), secret::generate());
    let keys = [
        secret::parse(new.expose()).unwrap(),
        secret::parse(old.expose()).unwrap(),
    ];
    let body = r#"{"type":"connector.connected.v1","data":{"app_id":"a1","note":"日本語"}}"#;
    let message = Message::new("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1_767_225_600, body).unwrap();
    let url = format!("{}/hook?tenant=1", served.url).parse().unwrap();

    let attempt = sender(true, Duration::from_secs(10))
        .send(&url, &message, &keys)
        .await;
    assert!(attempt.delivered, "{attempt:?}");
    assert_eq!(
        (attempt.phase, attempt.status, attempt.error.as_deref()),
        (Phase::Responded, Some(200), None)
    );
    assert_eq!(attempt.response_excerpt, "thanks ✓");

    let seen = seen.lock().unwrap();
    let [(path, headers, received)] = &seen[..] else {
        panic!("one request expected: {seen:?}")
    };
    assert_eq!(path, "/hook");
    assert_eq!(received.as_ref(), body.as_bytes());
    let header = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .to_str()
            .unwrap()
    };
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("user-agent"), USER_AGENT_VALUE);
    assert_eq!(header("webhook-id"), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    assert_eq!(header("webhook-timestamp"), "1767225600");
    let signatures: Vec<&str> = header("webhook-signature").split(' ').collect();
    assert_eq!(
        signatures,
        [new.expose(), old.expose()].map(|s| expected_signature(
            s,
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            "1767225600",
            body.as_bytes()
        ))
    );
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let (served, seen) = receiver();
    let keys = [secret::parse(secret::generate().expose()).unwrap()];
    let message = Message::new("msg_1", 1_767_225_600, "{}").unwrap();
    let url = format!("{}/moved", served.url).parse().unwrap();
    let attempt = sender(true, Duration::from_secs(10))
        .send(&url, &message, &keys)
        .await;
    assert!(!attempt.delivered, "{attempt:?}");
    assert_eq!(attempt.status, Some(307));
    assert!(
        attempt
            .error
            .as_deref()
            .unwrap()
            .contains("set the endpoint's URL"),
        "{attempt:?}"
    );
    let paths: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(p, _, _)| p.clone())
        .collect();
    assert_eq!(paths, ["/moved"]);
}

#[tokio::test]
async fn errors_statuses_and_long_answers_are_reported_as_they_are() {
    let (served, _seen) = receiver();
    let keys = [secret::parse(secret::generate().expose()).unwrap()];
    let message = Message::new("msg_1", 1_767_225_600, "{}").unwrap();
    let sender = sender(true, Duration::from_secs(10));

    let broken = sender
        .send(
            &format!("{}/broken", served.url).parse().unwrap(),
            &message,
            &keys,
        )
        .await;
    assert!(!broken.delivered);
    assert_eq!(
        (broken.phase, broken.status, broken.error.as_deref()),
        (Phase::Responded, Some(500), None)
    );
    assert_eq!(broken.response_excerpt, "x".repeat(1024));
    assert_eq!(broken.retry_after, None);

    // A pause the receiver asks for comes back with the failure.
    let busy = sender
        .send(
            &format!("{}/busy", served.url).parse().unwrap(),
            &message,
            &keys,
        )
        .await;
    assert_eq!(
        (busy.delivered, busy.status, busy.retry_after),
        (false, Some(503), Some(Duration::from_secs(120)))
    );

    // Over the 16 KiB read: still a 2xx, so delivered.
    let chatty = sender
        .send(
            &format!("{}/chatty", served.url).parse().unwrap(),
            &message,
            &keys,
        )
        .await;
    assert!(chatty.delivered, "{chatty:?}");
    assert_eq!((chatty.status, chatty.error.as_deref()), (Some(202), None));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    let refused = sender.send(&closed.parse().unwrap(), &message, &keys).await;
    assert!(!refused.delivered);
    assert_eq!((refused.phase, refused.status), (Phase::NotSent, None));
    assert!(refused.error.unwrap().contains("could not connect"));

    let unsigned = sender
        .send(
            &format!("{}/hook", served.url).parse().unwrap(),
            &message,
            &[],
        )
        .await;
    assert_eq!(unsigned.phase, Phase::NotSent);
    assert!(unsigned.error.unwrap().contains("rotate its secret"));
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let (served, _seen) = receiver();
    let keys = [secret::parse(secret::generate().expose()).unwrap()];
    let message = Message::new("msg_1", 1_767_225_600, "{}").unwrap();
    let url = format!("{}/silent", served.url).parse().unwrap();
    let attempt = sender(true, Duration::from_millis(300))
        .send(&url, &message, &keys)
        .await;
    assert!(!attempt.delivered);
    assert_eq!((attempt.phase, attempt.status), (Phase::TimedOut, None));
    assert!(attempt.error.unwrap().contains("no response within 0.3 s"));
    assert!(attempt.elapsed >= Duration::from_millis(300));
}

#[tokio::test]
async fn private_addresses_are_refused_before_sending_unless_allowed() {
    let (served, seen) = receiver();
    let keys = [secret::parse(secret::generate().expose()).unwrap()];
    let message = Message::new("msg_1", 1_767_225_600, "{}").unwrap();
    let port = served.addr.port();
    let strict = sender(false, Duration::from_secs(10));
    for (url, says) in [
        (
            format!("https://127.0.0.1:{port}/hook"),
            "private, loopback or reserved",
        ),
        (format!("http://127.0.0.1:{port}/hook"), "must use https"),
        (format!("https://localhost:{port}/hook"), "local host name"),
    ] {
        let attempt = strict.send(&url.parse().unwrap(), &message, &keys).await;
        assert_eq!(
            (attempt.delivered, attempt.phase, attempt.status),
            (false, Phase::NotSent, None),
            "{url}"
        );
        assert!(
            attempt.error.as_deref().unwrap().contains(says),
            "{url}: {attempt:?}"
        );
    }
    assert!(seen.lock().unwrap().is_empty());
}
