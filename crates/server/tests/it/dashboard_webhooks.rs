//! The dashboard's webhook endpoints (#15.3) over HTTP: the add form's
//! checks (a cross-site post, a bad URL kept as typed), the secret shown
//! once and never on a page that can be reloaded, the endpoint actions
//! behind the form checks, and an endpoint that failed for the configured
//! span disabled with a notice saying what to do. The same pages in
//! Chromium are in `dashboard::browser_connect_…` (`tests/js/dashboard.mjs`).

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use connectors_engine::{BootstrapRequest, TestClock};
use serde_json::Value;

use crate::dashboard::{dashboard_server, form_token, signed_in};
use crate::signin::Browser;
use crate::support::{call, Answer, TestServer};

fn webhooks(server: &TestServer) -> String {
    format!("/apps/{}/editor/workspace/webhooks", server.app_id())
}

/// An endpoint's page, as the pages write it (its id percent-encoded).
fn endpoint_page(list: &str, id: &str) -> String {
    format!(
        "{list}/{}",
        percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
    )
}

/// The app's endpoints, as the JSON API shows them.
async fn api_endpoints(server: &TestServer) -> Vec<Value> {
    let answer = call(
        &server.router,
        axum::http::Request::get(format!("/api/apps/{}/webhooks", server.app_id()))
            .header("api_key", server.api_key())
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["endpoints"].as_array().unwrap().clone()
}

/// The `whsec_…` value a page shows.
fn shown_secret(page: &Answer) -> String {
    let at = page
        .text
        .find("value=\"whsec_")
        .unwrap_or_else(|| panic!("no secret on {}", page.text));
    let rest = &page.text[at + 7..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn endpoints_are_added_from_the_dashboard_with_the_secret_shown_once() {
    let server = dashboard_server().await;
    let mut browser = signed_in(&server).await;
    let list = webhooks(&server);

    // A tab of the app's dashboard, like the audit trail.
    let overview = browser
        .get(&format!(
            "/apps/{}/editor/workspace/overview",
            server.app_id()
        ))
        .await;
    assert!(
        overview.text.contains(&format!("href=\"{list}\"")),
        "{}",
        overview.text
    );
    let page = browser.get(&list).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.headers["cache-control"], "no-store");
    for needle in [
        "No webhook endpoints yet",
        "<legend>Event types</legend>",
        "None checked: all events",
        "value=\"connector.connected.v1\"",
        "aria-current=\"page\">Webhooks</a>",
    ] {
        assert!(page.text.contains(needle), "{needle} in {}", page.text);
    }
    let csrf = form_token(&page, &list);

    // From another site, or without this session's token: refused, nothing made.
    let good = [
        ("csrf", csrf.as_str()),
        ("url", "https://hooks.example.com/in"),
        ("description", "Billing receiver"),
        ("event_types", "connector.connected.v1"),
        ("event_types", "connector.disconnected.v1"),
    ];
    let cross = browser
        .post_from(Some("https://evil.example"), &list, &good)
        .await;
    assert_eq!(cross.status, 403, "{}", cross.text);
    assert!(cross.text.contains("another site"), "{}", cross.text);
    let mut forged = good;
    forged[0].1 = "forged";
    assert_eq!(browser.post(&list, &forged).await.status, 403);
    assert!(api_endpoints(&server).await.is_empty());

    // A URL the engine refuses: the page again with why, and the form as
    // typed (URL, description, the checked boxes).
    for bad in [
        "ftp://hooks.example.com/in",
        "https://10.1.2.3/in",
        "not a url",
    ] {
        let mut form = good;
        form[1].1 = bad;
        let refused = browser.post(&list, &form).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
        assert_eq!(refused.headers["cache-control"], "no-store");
        assert!(
            refused.text.contains("role=\"alert\" id=\"form-error\""),
            "{}",
            refused.text
        );
        for kept in [
            format!("value=\"{bad}\""),
            "value=\"Billing receiver\"".into(),
            "value=\"connector.connected.v1\" checked".into(),
            "value=\"connector.disconnected.v1\" checked".into(),
        ] {
            assert!(refused.text.contains(&kept), "{kept} in {}", refused.text);
        }
        assert!(
            !refused
                .text
                .contains("value=\"connector.expired.v1\" checked"),
            "{}",
            refused.text
        );
    }
    assert!(api_endpoints(&server).await.is_empty());

    // Added: the secret on the POST's answer, never cached, with how to
    // verify; not on the list, not in the database as typed.
    let added = browser.post(&list, &good).await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.headers["cache-control"], "no-store");
    let secret = shown_secret(&added);
    for needle in [
        "not shown again",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "HMAC-SHA256",
    ] {
        assert!(added.text.contains(needle), "{needle} in {}", added.text);
    }
    let endpoints = api_endpoints(&server).await;
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    let endpoint = &endpoints[0];
    let id = endpoint["id"].as_str().unwrap().to_string();
    assert_eq!(endpoint["url"], "https://hooks.example.com/in");
    assert_eq!(endpoint["description"], "Billing receiver");
    assert_eq!(
        endpoint["event_types"],
        serde_json::json!(["connector.connected.v1", "connector.disconnected.v1"])
    );
    let page = browser.get(&list).await;
    assert!(
        page.text.contains("https://hooks.example.com/in"),
        "{}",
        page.text
    );
    assert!(!page.text.contains(&secret), "the secret is shown once");
    assert!(!page.text.contains("whsec_"), "{}", page.text);
    assert!(!server.database_holds(&secret), "the secret is sealed");

    // None checked: all events.
    let all = browser
        .post(
            &list,
            &[("csrf", &csrf), ("url", "https://hooks.example.com/all")],
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    let page = browser.get(&list).await;
    assert!(page.text.contains("All events"), "{}", page.text);
    let all_id = api_endpoints(&server).await[1]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Rotate: asks first; then a new secret, once; the old one overlaps.
    let base = endpoint_page(&list, &id);
    let rotate = format!("{base}/rotate-secret");
    let confirm = browser.get(&rotate).await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    assert!(
        confirm.text.contains("Rotate secret</button>"),
        "{}",
        confirm.text
    );
    assert!(!confirm.text.contains("whsec_"), "{}", confirm.text);
    let token = form_token(&confirm, &rotate);
    let cross = browser
        .post_from(Some("https://evil.example"), &rotate, &[("csrf", &token)])
        .await;
    assert_eq!(cross.status, 403, "{}", cross.text);
    let rotated = browser.post(&rotate, &[("csrf", &token)]).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.headers["cache-control"], "no-store");
    let new_secret = shown_secret(&rotated);
    assert_ne!(new_secret, secret);
    assert!(
        rotated.text.contains("keeps signing too until"),
        "{}",
        rotated.text
    );
    let page = browser.get(&list).await;
    assert!(!page.text.contains("whsec_"), "{}", page.text);
    assert!(page.text.contains("Previous secret"), "{}", page.text);

    // Disable: said so, with Enable; no test event to a disabled endpoint.
    let disabled = browser
        .post(&format!("{base}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(disabled.status, 303, "{}", disabled.text);
    let page = browser
        .get(disabled.headers["location"].to_str().unwrap())
        .await;
    assert!(
        page.text.contains("Disabled webhook endpoint"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("no deliveries are sent"),
        "{}",
        page.text
    );
    assert!(page.text.contains(&format!("action=\"{base}/enable\"")));
    assert!(!page.text.contains(&format!("action=\"{base}/test\"")));
    assert_eq!(api_endpoints(&server).await[0]["enabled"], false);
    let refused = browser
        .post(&format!("{base}/test"), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("enable it first"), "{}", refused.text);
    let enabled = browser
        .post(&format!("{base}/enable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(enabled.status, 303, "{}", enabled.text);
    assert_eq!(api_endpoints(&server).await[0]["enabled"], true);
    let tested = browser
        .post(&format!("{base}/test"), &[("csrf", &csrf)])
        .await;
    assert_eq!(tested.status, 303, "{}", tested.text);
    let to = tested.headers["location"].to_str().unwrap();
    assert!(to.starts_with(&format!("{base}?tested=evt")), "{to}");
    let log = browser.get(to).await;
    assert_eq!(log.status, 200, "{}", log.text);
    assert!(log.text.contains("Queued test event"), "{}", log.text);

    // Delete: asks first; refused cross-site; then gone.
    let delete = format!("{}/delete", endpoint_page(&list, &all_id));
    let confirm = browser.get(&delete).await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    assert!(
        confirm.text.contains("Delete endpoint</button>"),
        "{}",
        confirm.text
    );
    let token = form_token(&confirm, &delete);
    let cross = browser
        .post_from(Some("https://evil.example"), &delete, &[("csrf", &token)])
        .await;
    assert_eq!(cross.status, 403, "{}", cross.text);
    assert_eq!(api_endpoints(&server).await.len(), 2);
    let done = browser.post(&delete, &[("csrf", &token)]).await;
    assert_eq!(done.status, 303, "{}", done.text);
    let page = browser
        .get(done.headers["location"].to_str().unwrap())
        .await;
    assert!(
        page.text.contains("Deleted webhook endpoint"),
        "{}",
        page.text
    );
    assert_eq!(api_endpoints(&server).await.len(), 1);

    // An endpoint this app does not have: not found, page or form.
    for path in [
        format!("{list}/{all_id}"),
        format!("{list}/{all_id}/delete"),
        format!("{list}/{all_id}/rotate-secret"),
        format!("{list}/we_000000000000000000000000"),
    ] {
        let answer = browser.get(&path).await;
        assert_eq!(answer.status, 404, "GET {path}: {}", answer.text);
        assert!(
            answer.text.contains("no such webhook endpoint"),
            "{}",
            answer.text
        );
    }
    for action in ["test", "enable", "disable", "rotate-secret", "delete"] {
        let path = format!("{list}/{all_id}/{action}");
        let answer = browser.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(answer.status, 404, "POST {path}: {}", answer.text);
    }
}

/// Another workspace's app's endpoints are not found, and its page is not
/// the signed-in builder's.
#[tokio::test]
async fn other_apps_endpoints_are_not_found() {
    let server = dashboard_server().await;
    let engine = &server.engine;
    let theirs = engine.create_workspace("Theirs").await.unwrap();
    let their_app = engine.create_app(&theirs.id, "Their app").await.unwrap();
    let their_builder = engine
        .create_builder(&theirs.id, "them@example.com")
        .await
        .unwrap();
    let their_key = engine.create_api_key(&their_builder.id).await.unwrap();
    let made = call(
        &server.router,
        axum::http::Request::post(format!("/api/apps/{}/webhooks", their_app.id))
            .header("api_key", their_key.secret.expose())
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                r#"{"url":"https://hooks.example.com/theirs"}"#,
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let their_id = made.json()["endpoint"]["id"].as_str().unwrap().to_string();

    let mut browser = signed_in(&server).await;
    let own = browser.get(&webhooks(&server)).await;
    let csrf = form_token(&own, &webhooks(&server));
    let theirs = format!("/apps/{}/editor/workspace/webhooks", their_app.id);
    for page in [
        theirs.clone(),
        format!("{theirs}/{their_id}"),
        // Their endpoint through our own app's pages.
        format!("{}/{their_id}", webhooks(&server)),
        format!("{}/{their_id}/delete", webhooks(&server)),
    ] {
        let answer = browser.get(&page).await;
        assert_eq!(answer.status, 404, "GET {page}: {}", answer.text);
    }
    for form in [
        theirs.clone(),
        format!("{theirs}/{their_id}/delete"),
        format!("{}/{their_id}/delete", webhooks(&server)),
        format!("{}/{their_id}/disable", webhooks(&server)),
        format!("{}/{their_id}/rotate-secret", webhooks(&server)),
    ] {
        let answer = browser
            .post(&form, &[("csrf", &csrf), ("url", "https://x.example.com")])
            .await;
        assert_eq!(answer.status, 404, "POST {form}: {}", answer.text);
    }
    assert!(own.text.contains("No webhook endpoints yet"));
}

/// A receiver that always answers 500 with some HTML.
fn failing_receiver() -> connectors_testkit::Served {
    connectors_testkit::serve(axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<b>receiver down</b> & out",
            )
        }),
    ))
}

/// Reloads `path` until its text says `needle` (the delivery worker runs
/// beside the test).
async fn wait_for_page(browser: &mut Browser, path: &str, needle: &str) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = browser.get(path).await;
        if page.text.contains(needle) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} on {path}: {}",
            page.text
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn an_endpoint_failing_for_the_configured_span_is_disabled_with_a_notice() {
    let time = TestClock::new();
    let server = TestServer::builder()
        .clock(time.clock())
        .bootstrap(BootstrapRequest {
            workspace_name: "Acme workspace".into(),
            builder_email: "owner@example.com".into(),
            app_name: "Acme app".into(),
        })
        .config(|_| {
            "[webhooks]\nallow_private_networks = true\nretry_schedule_secs = []\n\
             poll_interval_ms = 20\ndisable_after_secs = 60\ntimeout_secs = 5\n"
                .to_string()
        })
        .deliveries()
        .start()
        .await;
    let receiver = failing_receiver();
    let mut browser = signed_in(&server).await;
    let list = webhooks(&server);
    let page = browser.get(&list).await;
    let csrf = form_token(&page, &list);
    let url = format!("{}/hook", receiver.url);
    let added = browser.post(&list, &[("csrf", &csrf), ("url", &url)]).await;
    assert_eq!(added.status, 200, "{}", added.text);
    let id = api_endpoints(&server).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = endpoint_page(&list, &id);

    // A test event fails once (no retries here): the log says how, the
    // receiver's answer escaped.
    let tested = browser
        .post(&format!("{base}/test"), &[("csrf", &csrf)])
        .await;
    assert_eq!(tested.status, 303, "{}", tested.text);
    let log = wait_for_page(&mut browser, &base, "<table").await;
    for needle in [
        "<caption>Latest delivery attempts",
        "<th scope=\"col\">Time</th>",
        "<th scope=\"col\">Event type</th>",
        "<th scope=\"col\">Event id</th>",
        "<th scope=\"col\">Attempt</th>",
        "<th scope=\"col\">Status code</th>",
        "<th scope=\"col\">Error</th>",
        "<th scope=\"col\">Delivery status</th>",
        "webhook.test.v1",
        ">500 ",
        ">Failed<",
        "not a 2xx answer",
        "&lt;b&gt;receiver down&lt;/b&gt; &amp; out",
    ] {
        assert!(log.text.contains(needle), "{needle} in {}", log.text);
    }
    assert!(!log.text.contains("<b>receiver down</b>"), "{}", log.text);
    let page = browser.get(&list).await;
    assert!(page.text.contains("Failing since"), "{}", page.text);
    assert!(!page.text.contains("Deliveries stopped"), "{}", page.text);

    // Failing for longer than `disable_after_secs`: the next failure
    // disables it, and the list says so and what to do.
    time.advance(Duration::from_secs(61));
    let tested = browser
        .post(&format!("{base}/test"), &[("csrf", &csrf)])
        .await;
    assert_eq!(tested.status, 303, "{}", tested.text);
    let page = wait_for_page(&mut browser, &list, "Deliveries stopped").await;
    for needle in [
        "every delivery to this URL failed for a minute",
        "Fix the receiver",
        "then select Enable",
        "Deliveries to an endpoint stopped",
        &format!("action=\"{base}/enable\""),
    ] {
        assert!(page.text.contains(needle), "{needle} in {}", page.text);
    }
    assert_eq!(api_endpoints(&server).await[0]["enabled"], false);

    // Enabled again: the notice goes, and so does the failure streak.
    let enabled = browser
        .post(&format!("{base}/enable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(enabled.status, 303, "{}", enabled.text);
    let page = browser
        .get(enabled.headers["location"].to_str().unwrap())
        .await;
    assert!(!page.text.contains("Deliveries stopped"), "{}", page.text);
    assert!(!page.text.contains("Failing since"), "{}", page.text);
    let endpoint = &api_endpoints(&server).await[0];
    assert_eq!(endpoint["enabled"], true);
    assert_eq!(endpoint["failing_since"], Value::Null);
}
