//! The builders' dashboard over HTTP (issue #12.3): who may see it, what it
//! shows of a pushed connector, and that its actions (Reconnect, Remove,
//! keys and tokens) go through the same use cases as the API, behind the
//! same form checks as every page. The consent in a browser is in
//! `browser_reconnect_…` below.

use axum::body::Body;
use axum::http::Request;
use connectors_engine::{BootstrapRequest, ImportCredentials, TestClock};
use connectors_vault::Secret;

use crate::oauth_e2e::{cli, write, InProcess};
use crate::signin::{accept_invite, hidden, invite_path, Browser};
use crate::support::{call, Answer, TestServer};

/// On a test clock, so the pages' relative times are exact.
pub(crate) async fn dashboard_server() -> TestServer {
    TestServer::builder()
        .clock(TestClock::new().clock())
        .bootstrap(BootstrapRequest {
            workspace_name: "Acme workspace".into(),
            builder_email: "owner@example.com".into(),
            app_name: "Acme app".into(),
        })
        .start()
        .await
}

/// A browser signed in as the bootstrap builder.
pub(crate) async fn signed_in(server: &TestServer) -> Browser {
    let mut browser = Browser::new(server);
    let path = invite_path(server);
    assert_eq!(accept_invite(&mut browser, &path).await.status, 303);
    browser
}

fn connections(server: &TestServer) -> String {
    format!("/apps/{}/editor/workspace/app-connections", server.app_id())
}

fn overview(server: &TestServer) -> String {
    format!("/apps/{}/editor/workspace/overview", server.app_id())
}

async fn api(server: &TestServer, method: &str, path: &str, key: &str) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("api_key", key);
    if method == "PUT" {
        request = request.header("content-type", "application/json");
    }
    let body = if method == "PUT" {
        Body::from(r#"{"scopes":["https://www.googleapis.com/auth/calendar.readonly"]}"#)
    } else {
        Body::empty()
    };
    call(&server.router, request.body(body).unwrap()).await
}

async fn push_googlecalendar(server: &TestServer) {
    let put = api(
        server,
        "PUT",
        &format!(
            "/api/apps/{}/external-auth/integrations/googlecalendar",
            server.app_id()
        ),
        server.api_key(),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
}

/// The CSRF token of the first form posting to `action` on a page.
pub(crate) fn form_token(page: &Answer, action: &str) -> String {
    let at = page
        .text
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form posting to {action} in {}", page.text));
    hidden(&page.text[at..], "csrf")
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_sign_in_and_back() {
    let server = dashboard_server().await;
    let mut browser = Browser::new(&server);
    for page in [connections(&server), overview(&server)] {
        let answer = browser.get(&page).await;
        assert_eq!(answer.status, 303, "{}", answer.text);
        let location = answer.headers["location"].to_str().unwrap();
        assert_eq!(
            location,
            format!(
                "/signin?next={}",
                percent_encoding::utf8_percent_encode(&page, percent_encoding::NON_ALPHANUMERIC)
            )
        );
    }
    // A form post without a session changes nothing: it is sent to sign in.
    let post = browser
        .post(
            &format!("{}/googlecalendar/remove", connections(&server)),
            &[("csrf", "x")],
        )
        .await;
    assert_eq!(post.status, 303);
}

#[tokio::test]
async fn the_connections_page_shows_a_pushed_connector_and_removes_it_after_confirmation() {
    let server = dashboard_server().await;
    push_googlecalendar(&server).await;
    let mut browser = signed_in(&server).await;

    // The home page links to the app's pages.
    let home = browser.get("/").await;
    assert!(home.text.contains(&connections(&server)), "{}", home.text);
    assert!(home.text.contains(&overview(&server)), "{}", home.text);

    let page = browser.get(&connections(&server)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    for needle in [
        "Google Calendar",
        "Not connected",
        "https://www.googleapis.com/auth/calendar.readonly",
        "nobody yet",
        ">Connect</button>",
        "Remove…",
    ] {
        assert!(page.text.contains(needle), "{needle} in {}", page.text);
    }
    // Point 4's headers, and no caching of a signed-in page.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "same-origin");
    // The providers the operator configured, and what the others need.
    assert!(page.text.contains("CONNECTORS_PROVIDER_HUBSPOT_CLIENT_ID"));

    // Credentials arrive (as after a consent): active, with their expiry.
    server
        .engine
        .import_credentials(ImportCredentials {
            app_id: server.app_id().to_string(),
            integration_type: "googlecalendar".into(),
            builder_email: Some("owner@example.com".into()),
            access_token: Secret::new("canary-access-7c1e"),
            refresh_token: Some(Secret::new("canary-refresh-7c1e")),
            expires_in: Some(3600),
            scopes: vec!["https://www.googleapis.com/auth/calendar.readonly".into()],
            connection_config: None,
        })
        .await
        .unwrap();
    let page = browser.get(&connections(&server)).await;
    for needle in [
        "Active",
        "owner@example.com",
        "in 1 h",
        ">Reconnect</button>",
    ] {
        assert!(page.text.contains(needle), "{needle} in {}", page.text);
    }
    assert!(!page.text.contains("canary"), "no token on the page");

    // Remove: a confirmation page first; the post from another site or
    // without the session's token is refused; then it goes.
    let remove = format!("{}/googlecalendar/remove", connections(&server));
    let confirm = browser.get(&remove).await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    assert!(
        confirm.text.contains("Remove Google Calendar</button>"),
        "{}",
        confirm.text
    );
    // No confirmation for a connector the app does not have.
    let absent = browser
        .get(&format!("{}/slack/remove", connections(&server)))
        .await;
    assert_eq!(absent.status, 404, "{}", absent.text);
    let csrf = form_token(&confirm, &remove);
    let cross = browser
        .post_from(Some("https://evil.example"), &remove, &[("csrf", &csrf)])
        .await;
    assert_eq!(cross.status, 403, "{}", cross.text);
    let forged = browser.post(&remove, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, 403, "{}", forged.text);
    let list = format!("/api/apps/{}/external-auth/list", server.app_id());
    assert!(api(&server, "GET", &list, server.api_key())
        .await
        .text
        .contains("googlecalendar"));

    let done = browser.post(&remove, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 303, "{}", done.text);
    let back = done.headers["location"].to_str().unwrap().to_string();
    assert_eq!(
        back,
        format!("{}?removed=googlecalendar", connections(&server))
    );
    let after = browser.get(&back).await;
    assert!(after.text.contains("Removed"), "{}", after.text);
    assert!(after.text.contains("No connectors yet"), "{}", after.text);
    let listed = api(&server, "GET", &list, server.api_key()).await;
    assert!(!listed.text.contains("googlecalendar"), "{}", listed.text);
}

#[tokio::test]
async fn reconnect_starts_a_consent_even_for_an_active_connector() {
    let server = dashboard_server().await;
    push_googlecalendar(&server).await;
    let mut browser = signed_in(&server).await;
    let reconnect = format!("{}/googlecalendar/reconnect", connections(&server));
    let page = browser.get(&connections(&server)).await;
    let csrf = form_token(&page, &reconnect);
    let go = browser.post(&reconnect, &[("csrf", &csrf)]).await;
    assert_eq!(go.status, 303, "{}", go.text);
    let to = go.headers["location"].to_str().unwrap();
    assert!(to.starts_with(&format!("{}/connect/", server.url)), "{to}");

    // Unknown and other apps' connectors get pages, not JSON or a 500.
    let missing = browser
        .post(
            &format!("{}/slack/reconnect", connections(&server)),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert!(missing.text.contains("slack"), "{}", missing.text);
    let other = browser
        .get("/apps/not-an-app/editor/workspace/app-connections")
        .await;
    assert_eq!(other.status, 404, "{}", other.text);
    assert!(other.text.contains("no app `not-an-app` in your workspace"));
    let nonsense = browser
        .post(
            &format!("{}/Not%20A%20Type/reconnect", connections(&server)),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(nonsense.status, 404, "{}", nonsense.text);
}

#[tokio::test]
async fn keys_made_on_the_dashboard_work_and_revoked_ones_are_refused_at_once() {
    let server = dashboard_server().await;
    let mut browser = signed_in(&server).await;
    let base = overview(&server);
    let page = browser.get(&base).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Your API keys"), "{}", page.text);

    // An API key, shown once.
    let create = format!("{base}/api-keys");
    let made = browser
        .post(&create, &[("csrf", &form_token(&page, &create))])
        .await;
    assert_eq!(made.status, 200, "{}", made.text);
    assert_eq!(made.headers["cache-control"], "no-store");
    let key = secret_on(&made);
    assert!(key.starts_with("b44k_"), "{key}");
    let keys = api(&server, "GET", "/api/api-keys", &key).await;
    assert_eq!(keys.status, 200, "{}", keys.text);
    let id = keys.json()["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| key.starts_with(k["prefix"].as_str().unwrap_or("-")))
        .map(|k| k["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("the new key is listed: {}", keys.text));
    let page = browser.get(&base).await;
    assert!(!page.text.contains(&key), "never shown again");
    assert!(page.text.contains(">Last used<"), "{}", page.text);

    // Its use shows up as its last use (written off the request path, so
    // wait for it).
    let prefix = &key[..10];
    let mut row = String::new();
    for _ in 0..500 {
        row = row_of(&browser.get(&base).await, prefix);
        if row.contains("just now") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        row.contains("just now") && !row.contains("Never"),
        "the key's row shows its last use: {row}"
    );

    // Revoked after confirmation: the next request with it gets 401.
    let revoke = format!("{base}/api-keys/{id}/revoke");
    let confirm = browser.get(&revoke).await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    let done = browser
        .post(&revoke, &[("csrf", &form_token(&confirm, &revoke))])
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(api(&server, "GET", "/api/api-keys", &key).await.status, 401);

    // A service token the same way: it reads tokens, then is refused.
    let create = format!("{base}/service-tokens");
    let page = browser.get(&base).await;
    let made = browser
        .post(&create, &[("csrf", &form_token(&page, &create))])
        .await;
    let token = secret_on(&made);
    assert!(token.starts_with("b44s_"), "{token}");
    let row = row_of(&browser.get(&base).await, &token[..10]);
    assert!(row.contains("Never"), "not used yet: {row}");
    let read = |token: String| {
        let server = &server;
        async move {
            let request = Request::get(format!(
                "/api/apps/{}/external-auth/tokens/googlecalendar",
                server.app_id()
            ))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
            call(&server.router, request).await.status
        }
    };
    assert_eq!(read(token.clone()).await, 404, "valid token, no connector");
    let tokens = api(
        &server,
        "GET",
        &format!("/api/apps/{}/service-tokens", server.app_id()),
        server.api_key(),
    )
    .await;
    let id = tokens.json()["service_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| token.starts_with(t["prefix"].as_str().unwrap_or("-")))
        .map(|t| t["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("the new token is listed: {}", tokens.text));
    let revoke = format!("{base}/service-tokens/{id}/revoke");
    let confirm = browser.get(&revoke).await;
    let done = browser
        .post(&revoke, &[("csrf", &form_token(&confirm, &revoke))])
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(read(token).await, 401);
}

/// The table row of the key or token that starts with `prefix`.
fn row_of(page: &Answer, prefix: &str) -> String {
    let at = page
        .text
        .find(&format!("<code>{prefix}"))
        .unwrap_or_else(|| panic!("no row for {prefix} on {}", page.text));
    let rest = &page.text[at..];
    rest[..rest.find("</tr>").unwrap_or(rest.len())].to_string()
}

/// The secret a "New …" page shows.
fn secret_on(page: &Answer) -> String {
    let at = page
        .text
        .find("id=\"new-secret\"")
        .unwrap_or_else(|| panic!("no secret on {}", page.text));
    let rest = &page.text[at..];
    let value = &rest[rest.find("value=\"").unwrap() + 7..];
    value[..value.find('"').unwrap()].to_string()
}

/// Acceptance of #12.3 in Chromium: a connector pushed by the npm CLI
/// shows on the dashboard as not connected; its Connect button runs the
/// consent at a real OAuth server (oidc-provider) and the page then says
/// it is active; Remove (after its confirmation) removes it. Then the
/// Webhooks tab (#15.3): an endpoint added through the form (its secret
/// shown once), a test event delivered to a receiver here and listed in
/// its log, one failing until it is disabled with the notice, one disabled
/// by hand. `DASHBOARD_SCREENSHOTS=/dir` keeps the pages' screenshots.
#[tokio::test]
async fn browser_connect_at_a_real_oauth_server_then_remove() {
    let mut oidc = None;
    let server = TestServer::builder()
        .bootstrap(BootstrapRequest {
            workspace_name: "Acme workspace".into(),
            builder_email: "owner@example.com".into(),
            app_name: "Acme app".into(),
        })
        .config(|public_url| {
            let provider = crate::oauth_e2e::oidc_for(public_url, 3600, true);
            let config = crate::oauth_e2e::config_for(&provider, public_url, "");
            oidc = Some(provider);
            // Deliveries to the receiver below (on loopback), one attempt
            // each, and an endpoint failing for a second disabled.
            format!(
                "{config}\n[webhooks]\nallow_private_networks = true\nretry_schedule_secs = []\n\
                 poll_interval_ms = 20\ndisable_after_secs = 1\ntimeout_secs = 5\n"
            )
        })
        .serve()
        .deliveries()
        .start()
        .await;
    let _oidc = oidc.expect("the OAuth server started with ours");
    let receiver = connectors_testkit::serve(
        axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
            )
            .route(
                "/fail",
                axum::routing::post(|| async {
                    (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "<b>down</b> for maintenance",
                    )
                }),
            ),
    );
    // The npm CLI pushes the connector file (it starts a consent that
    // nobody opens: the dashboard's Connect starts another).
    let work = tempfile::tempdir().unwrap();
    write(
        &work.path().join("connectors/oidc_custom.jsonc"),
        r#"{"type": "oidc_custom", "scopes": ["contacts.read"]}"#,
    );
    let server = InProcess(server);
    let (server, pushed) = tokio::task::spawn_blocking(move || {
        let pushed = cli(
            &server,
            work.path(),
            &["connectors", "push", "-y", "--json"],
        );
        (server, pushed)
    })
    .await
    .unwrap();
    assert_eq!(pushed["results"][0]["action"], "needs_oauth", "{pushed}");
    let server = server.0;
    // A workspace connector the app is not connected to (its section).
    let workspace = server
        .engine
        .operator_workspace(Some(server.boot.workspace_id.clone()))
        .await
        .unwrap();
    server
        .engine
        .create_workspace_connector(
            &workspace,
            serde_json::from_value(serde_json::json!({
                "integration_type": "googlecalendar", "name": "Sales calendar",
                "client_id": "ws-client", "scopes": ["calendar.read"]
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let args = serde_json::json!({
        "base": server.url,
        "invite": server.boot.login_url.expose(),
        "email": "owner@example.com",
        "password": crate::signin::PASSWORD,
        "appId": server.app_id(),
        "connector": "OIDC test provider",
        "hookUrl": format!("{}/hook", receiver.url),
        "failUrl": format!("{}/fail", receiver.url),
        "screenshots": std::env::var("DASHBOARD_SCREENSHOTS").ok(),
    });
    let outcome = tokio::task::spawn_blocking(move || {
        connectors_testkit::oidc::run_browser_script("dashboard.mjs", &args)
    })
    .await
    .unwrap();
    assert_eq!(outcome["ok"], true, "{outcome:#}");
}

/// Another workspace's app, its connectors and its tokens, and another
/// builder's API keys, are "not found" to a signed-in builder, whatever
/// the page or form (the same ids an attacker could guess or learn).
#[tokio::test]
async fn other_workspaces_apps_keys_and_tokens_are_not_found() {
    let server = dashboard_server().await;
    let engine = &server.engine;
    let theirs = engine.create_workspace("Theirs").await.unwrap();
    let their_app = engine.create_app(&theirs.id, "Their app").await.unwrap();
    let their_builder = engine
        .create_builder(&theirs.id, "them@example.com")
        .await
        .unwrap();
    let their_key = engine.create_api_key(&their_builder.id).await.unwrap();
    let their_token = engine.create_service_token(&their_app.id).await.unwrap();
    let put = call(
        &server.router,
        Request::put(format!(
            "/api/apps/{}/external-auth/integrations/googlecalendar",
            their_app.id
        ))
        .header("api_key", their_key.secret.expose())
        .header("content-type", "application/json")
        .body(Body::from(r#"{"scopes":["a"]}"#))
        .unwrap(),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);

    let mut browser = signed_in(&server).await;
    let own = browser.get(&overview(&server)).await;
    let csrf = form_token(&own, &format!("{}/api-keys", overview(&server)));
    let their_base = format!("/apps/{}/editor/workspace", their_app.id);
    for page in [
        format!("{their_base}/overview"),
        format!("{their_base}/app-connections"),
        format!("{their_base}/app-connections/googlecalendar/remove"),
        format!(
            "{their_base}/overview/service-tokens/{}/revoke",
            their_token.id
        ),
        // Their key through our own app's page.
        format!("{}/api-keys/{}/revoke", overview(&server), their_key.id),
    ] {
        let answer = browser.get(&page).await;
        assert_eq!(answer.status, 404, "GET {page}: {}", answer.text);
    }
    for form in [
        format!("{their_base}/app-connections/googlecalendar/remove"),
        format!("{their_base}/app-connections/googlecalendar/reconnect"),
        format!("{their_base}/overview/api-keys"),
        format!("{their_base}/overview/service-tokens"),
        format!(
            "{their_base}/overview/service-tokens/{}/revoke",
            their_token.id
        ),
        format!("{}/api-keys/{}/revoke", overview(&server), their_key.id),
        // Their service token through our own app's form.
        format!(
            "{}/service-tokens/{}/revoke",
            overview(&server),
            their_token.id
        ),
    ] {
        let answer = browser.post(&form, &[("csrf", &csrf)]).await;
        assert_eq!(answer.status, 404, "POST {form}: {}", answer.text);
    }
    // All of theirs still works.
    let listed = api(
        &server,
        "GET",
        &format!("/api/apps/{}/external-auth/list", their_app.id),
        their_key.secret.expose(),
    )
    .await;
    assert!(listed.text.contains("googlecalendar"), "{}", listed.text);
    let tokens = api(
        &server,
        "GET",
        &format!("/api/apps/{}/service-tokens", their_app.id),
        their_key.secret.expose(),
    )
    .await;
    assert!(
        tokens.text.contains("\"revoked_at\":null"),
        "{}",
        tokens.text
    );
}

#[tokio::test]
async fn workspace_connectors_are_connected_and_disconnected_from_the_dashboard() {
    let server = dashboard_server().await;
    let workspace = server
        .engine
        .operator_workspace(Some(server.boot.workspace_id.clone()))
        .await
        .unwrap();
    let made = server
        .engine
        .create_workspace_connector(
            &workspace,
            serde_json::from_value(serde_json::json!({
                "integration_type": "googlecalendar", "name": "Sales calendar",
                "client_id": "ws-client", "client_secret": "ws-secret",
                "scopes": ["https://www.googleapis.com/auth/calendar.readonly"]
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let mut browser = signed_in(&server).await;
    let page = browser.get(&connections(&server)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Sales calendar"), "{}", page.text);
    assert!(page.text.contains(&made.id), "{}", page.text);
    let base = format!("{}/workspace/{}", connections(&server), made.id);
    let connect = format!("{base}/connect");
    let csrf = form_token(&page, &connect);
    assert!(!page.text.contains(&format!("{base}/disconnect")));

    let cross = browser
        .post_from(Some("https://evil.example"), &connect, &[("csrf", &csrf)])
        .await;
    assert_eq!(cross.status, 403, "{}", cross.text);
    let go = browser.post(&connect, &[("csrf", &csrf)]).await;
    assert_eq!(go.status, 303, "{}", go.text);
    let to = go.headers["location"].to_str().unwrap();
    assert!(to.starts_with(&format!("{}/connect/", server.url)), "{to}");

    // The connection exists now (consent pending): it can be disconnected.
    let page = browser.get(&connections(&server)).await;
    assert!(
        page.text.contains(&format!("{base}/disconnect")),
        "{}",
        page.text
    );
    let confirm = browser.get(&format!("{base}/disconnect")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    let disconnect = format!("{base}/disconnect");
    let done = browser
        .post(&disconnect, &[("csrf", &form_token(&confirm, &disconnect))])
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    let back = browser
        .get(done.headers["location"].to_str().unwrap())
        .await;
    assert!(back.text.contains("Disconnected the app"), "{}", back.text);
    assert_eq!(browser.get(&disconnect).await.status, 404);

    // Switched off by a workspace admin: no Connect, and a post is refused.
    server
        .engine
        .update_workspace_connector(
            &workspace,
            &made.id,
            serde_json::from_value(serde_json::json!({"builder_connection_enabled": false}))
                .unwrap(),
        )
        .await
        .unwrap();
    let page = browser.get(&connections(&server)).await;
    assert!(
        page.text.contains("turned off builder connections"),
        "{}",
        page.text
    );
    let refused = browser.post(&connect, &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    // Another workspace's connector id is not found.
    let other = browser
        .post(
            &format!(
                "{}/workspace/aaaaaaaaaaaaaaaaaaaaaaaa/connect",
                connections(&server)
            ),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(other.status, 404, "{}", other.text);
}
