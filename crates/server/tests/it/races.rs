//! Concurrent use cases on one connector (issue #10, item 1): a PUT, a
//! DELETE, a consent and a refresh racing each other never answer a 5xx,
//! never leave a consent link that would bring back a removed connector, and
//! never hand out a token of a removed connector.
//!
//! Stress tests that assert the absence of failures: they cannot flake into
//! a failure when the code is right, only miss one when it is wrong, so each
//! runs several hundred racing requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::routing::post;
use axum::Router;
use connectors_engine::ImportCredentials;
use connectors_vault::Secret;
use tokio::sync::Notify;

use crate::support::{call, in_process, Answer, TestServer};

fn request(t: &TestServer, method: &str, path: &str, body: Option<String>) -> Request<Body> {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header("api_key", t.api_key());
    match body {
        Some(b) => builder
            .header("content-type", "application/json")
            .body(Body::from(b))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// Whether a `GET external-auth/list` answer lists `ty`.
fn lists(answer: &Answer, ty: &str) -> bool {
    answer.json()["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["integration_type"] == ty)
}

/// One burst: `n` PUTs and DELETEs of `ty`, interleaved, all at once.
/// Answers every PUT's `connection_id`; fails on any 5xx, any refused PUT
/// and any DELETE answering other than 200 or 404.
async fn burst(t: &TestServer, ty: &str, n: usize) -> Vec<String> {
    let app = t.app_id();
    let put = format!("/api/apps/{app}/external-auth/integrations/{ty}");
    let remove = format!("/api/apps/{app}/external-auth/integrations/{ty}/remove");
    let mut tasks = Vec::new();
    for i in 0..n {
        let req = if i % 2 == 0 {
            request(t, "PUT", &put, Some(r#"{"scopes":["read"]}"#.into()))
        } else {
            request(t, "DELETE", &remove, None)
        };
        let router = t.router.clone();
        tasks.push(tokio::spawn(async move {
            (i % 2 == 0, call(&router, req).await)
        }));
    }
    let mut ids = Vec::new();
    let mut failures = Vec::new();
    for task in tasks {
        let (is_put, answer) = task.await.unwrap();
        let ok = if is_put {
            answer.status == 200
        } else {
            answer.status == 200 || answer.status == 404
        };
        if !ok {
            failures.push(format!(
                "{} → {} {}",
                if is_put { "PUT" } else { "DELETE" },
                answer.status,
                answer.text
            ));
            continue;
        }
        if is_put {
            if let Some(id) = answer.json()["connection_id"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} racing requests failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    ids
}

/// After a burst: every link a PUT handed out either opens consent for a
/// connector that exists, or is refused saying the connector was removed.
async fn every_link_is_live_or_refused(t: &TestServer, ty: &str, ids: &[String]) {
    let app = t.app_id();
    let list = call(
        &t.router,
        request(
            t,
            "GET",
            &format!("/api/apps/{app}/external-auth/list"),
            None,
        ),
    )
    .await;
    let exists = lists(&list, ty);
    let mut dangling = Vec::new();
    for id in ids {
        let page = call(
            &t.router,
            Request::builder()
                .uri(format!("/connect/{id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let opens = (300..400).contains(&page.status);
        let refused_as_removed = (400..500).contains(&page.status) && page.text.contains("removed");
        if !(opens && exists || refused_as_removed) {
            dangling.push(format!(
                "{id}: {} (connector exists: {exists})",
                page.status
            ));
        }
    }
    assert!(
        dangling.is_empty(),
        "{} of {} consent links neither open for a live connector nor are refused as removed, e.g. {:?}",
        dangling.len(),
        ids.len(),
        &dangling[..dangling.len().min(3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_puts_and_deletes_never_fail_nor_leave_a_link_to_a_removed_connector() {
    let t = in_process().await;
    for _ in 0..3 {
        let ids = burst(&t, "acme_crm", 200).await;
        every_link_is_live_or_refused(&t, "acme_crm", &ids).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_puts_and_deletes_of_an_authorized_connector_never_fail() {
    let t = in_process().await;
    for _ in 0..3 {
        t.engine
            .import_credentials(ImportCredentials {
                app_id: t.app_id().to_string(),
                integration_type: "acme_crm".into(),
                builder_email: Some("owner@example.com".into()),
                access_token: Secret::new("at"),
                refresh_token: None,
                expires_in: None,
                scopes: vec!["read".into()],
                connection_config: None,
            })
            .await
            .unwrap();
        let ids = burst(&t, "acme_crm", 200).await;
        every_link_is_live_or_refused(&t, "acme_crm", &ids).await;
    }
}

/// A token endpoint that holds each refresh until the test lets it answer,
/// and records revocations.
struct SlowProvider {
    arrived: Arc<Notify>,
    release: Arc<Notify>,
    revoked: Arc<AtomicUsize>,
    served: connectors_testkit::Served,
}

fn slow_provider() -> SlowProvider {
    let arrived = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let revoked = Arc::new(AtomicUsize::new(0));
    let (a, r, v) = (arrived.clone(), release.clone(), revoked.clone());
    let router = Router::new()
        .route(
            "/token",
            post(move || {
                let (a, r) = (a.clone(), r.clone());
                async move {
                    a.notify_one();
                    r.notified().await;
                    axum::Json(serde_json::json!({
                        "access_token": "at-new-after-removal",
                        "refresh_token": "rt-new-after-removal",
                        "token_type": "Bearer",
                        "expires_in": 3600
                    }))
                }
            }),
        )
        .route(
            "/revoke",
            post(move || {
                let v = v.clone();
                async move {
                    v.fetch_add(1, Ordering::SeqCst);
                    ""
                }
            }),
        );
    SlowProvider {
        arrived,
        release,
        revoked,
        served: connectors_testkit::serve(router),
    }
}

/// A server whose `slowco` integration talks to `provider`.
async fn server_for(provider: &SlowProvider) -> TestServer {
    let base = provider.served.url.clone();
    TestServer::builder()
        .providers(&format!(
            r#"
[providers.slowco]
display_name = "Slow Co"
description = "A provider that answers refreshes when the test says so"
authorization_url = "{base}/authorize"
token_url = "{base}/token"
revocation_url = "{base}/revoke"
client_id = "slow-client"
client_secret = "slow-secret"
"#
        ))
        .start()
        .await
}

/// Waits until the provider has seen `n` revocations.
async fn revocations(provider: &SlowProvider, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while provider.revoked.load(Ordering::SeqCst) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "revocations seen: {}",
            provider.revoked.load(Ordering::SeqCst)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connector_removed_during_its_refresh_stays_removed_and_its_new_grant_is_revoked() {
    let provider = slow_provider();
    let t = server_for(&provider).await;
    t.engine
        .import_credentials(ImportCredentials {
            app_id: t.app_id().to_string(),
            integration_type: "slowco".into(),
            builder_email: Some("owner@example.com".into()),
            access_token: Secret::new("at-old"),
            refresh_token: Some(Secret::new("rt-old")),
            expires_in: Some(0),
            scopes: vec![],
            connection_config: None,
        })
        .await
        .unwrap();
    let token = Request::builder()
        .uri(format!(
            "/api/apps/{}/external-auth/tokens/slowco",
            t.app_id()
        ))
        .header("authorization", format!("Bearer {}", t.service_token()))
        .body(Body::empty())
        .unwrap();
    let router = t.router.clone();
    let pending = tokio::spawn(async move { call(&router, token).await });
    // The refresh is at the provider: remove the connector now.
    provider.arrived.notified().await;
    let removed = call(
        &t.router,
        request(
            &t,
            "DELETE",
            &format!(
                "/api/apps/{}/external-auth/integrations/slowco/remove",
                t.app_id()
            ),
            None,
        ),
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    provider.release.notify_one();
    let answer = pending.await.unwrap();
    assert_eq!(
        answer.status, 404,
        "a token request for a connector removed during its refresh: {}",
        answer.text
    );
    assert!(!answer.text.contains("at-new-after-removal"));
    let list = call(
        &t.router,
        request(
            &t,
            "GET",
            &format!("/api/apps/{}/external-auth/list", t.app_id()),
            None,
        ),
    )
    .await;
    assert!(!lists(&list, "slowco"), "{}", list.text);
    // Both grants are revoked: the removed one and the one the refresh got.
    revocations(&provider, 2).await;
}

/// A removal while the callback exchanges the code: the page says the
/// connector was removed, the connector stays removed, and the grant the
/// exchange obtained is revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connector_removed_during_the_code_exchange_stays_removed() {
    let provider = slow_provider();
    let t = server_for(&provider).await;
    let app = t.app_id().to_string();
    let put = call(
        &t.router,
        request(
            &t,
            "PUT",
            &format!("/api/apps/{app}/external-auth/integrations/slowco"),
            Some(r#"{"scopes":["read"]}"#.into()),
        ),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let id = put.json()["connection_id"].as_str().unwrap().to_string();
    let opened = call(
        &t.router,
        Request::builder()
            .uri(format!("/connect/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!((300..400).contains(&opened.status), "{}", opened.text);
    let location = opened.headers["location"].to_str().unwrap().to_string();
    let state = location
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("state="))
        .unwrap()
        .to_string();
    let cookie = opened.headers["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let callback = Request::builder()
        .uri(format!("/oauth/callback?state={state}&code=the-code"))
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let router = t.router.clone();
    let pending = tokio::spawn(async move { call(&router, callback).await });
    provider.arrived.notified().await;
    let removed = call(
        &t.router,
        request(
            &t,
            "DELETE",
            &format!("/api/apps/{app}/external-auth/integrations/slowco/remove"),
            None,
        ),
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    provider.release.notify_one();
    let page = pending.await.unwrap();
    assert!(
        (400..500).contains(&page.status) && page.text.contains("removed"),
        "{} {}",
        page.status,
        page.text
    );
    let list = call(
        &t.router,
        request(
            &t,
            "GET",
            &format!("/api/apps/{app}/external-auth/list"),
            None,
        ),
    )
    .await;
    assert!(!lists(&list, "slowco"), "{}", list.text);
    revocations(&provider, 1).await;
}

/// Stripe's `POST /v2/core/claimable_sandboxes`, answering when the test
/// says so (the wire format of `crates/stripe`).
fn slow_stripe(arrived: Arc<Notify>, release: Arc<Notify>) -> connectors_testkit::Served {
    let router = Router::new().route(
        "/v2/core/claimable_sandboxes",
        post(move || {
            let (a, r) = (arrived.clone(), release.clone());
            async move {
                a.notify_one();
                r.notified().await;
                axum::Json(serde_json::json!({
                    "id": "clmsbx_race",
                    "object": "v2.core.claimable_sandbox",
                    "created": "2026-01-01T00:00:00.000Z",
                    "livemode": false,
                    "status": "unclaimed",
                    "onboarding_link_details": {
                        "url": "https://dashboard.stripe.com/onboard_sandbox/race",
                        "expires_at": "2099-01-01T00:00:00.000Z"
                    },
                    "sandbox_details": {"account": "acct_race", "api_keys": {
                        "secret": {"id": "sk_id", "secret_key": {"token": "sk_test_race_canary"}},
                        "publishable": {"id": "pk_id", "publishable_key": {"token": "pk_test_race"}}
                    }}
                }))
            }
        }),
    );
    connectors_testkit::serve(router)
}

/// `DELETE payments/stripe` while an install is creating the sandbox at
/// Stripe: the install still answers (it comes after the removal) and its
/// sandbox is the app's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stripe_install_outliving_a_removal_still_installs() {
    let (arrived, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let stripe = slow_stripe(arrived.clone(), release.clone());
    let base = stripe.url.clone();
    let t = TestServer::builder()
        .config(move |_| {
            format!("[stripe]\napi_key = \"sk_test_platform\"\napi_base = \"{base}\"\ntimeout_secs = 5\n")
        })
        .start()
        .await;
    let app = t.app_id().to_string();
    let install = request(
        &t,
        "POST",
        &format!("/api/apps/{app}/payments/stripe/install"),
        None,
    );
    let router = t.router.clone();
    let pending = tokio::spawn(async move { call(&router, install).await });
    arrived.notified().await;
    let removed = call(
        &t.router,
        request(
            &t,
            "DELETE",
            &format!("/api/apps/{app}/payments/stripe"),
            None,
        ),
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    release.notify_one();
    let installed = pending.await.unwrap();
    assert_eq!(installed.status, 200, "{}", installed.text);
    assert_eq!(installed.json()["already_installed"], false);
    let token = call(
        &t.router,
        Request::builder()
            .uri(format!("/api/apps/{app}/external-auth/tokens/stripe"))
            .header("authorization", format!("Bearer {}", t.service_token()))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(token.status, 200, "{}", token.text);
    assert_eq!(token.json()["access_token"], "sk_test_race_canary");
}
