//! App users' own connections (#13.4) with the real SDK: `connectAppUser`
//! → consent in headless Chromium at a real OAuth server (`oidc-provider`,
//! through the workspace connector's own OAuth app) →
//! `getCurrentAppUserConnection` with the service token and that user's
//! token → `disconnectAppUser`; with the SDK mock's statuses for every
//! other caller.

use serde_json::{json, Value};

use base64::Engine as _;
use connectors_testkit::fake_oidc::{FakeIdp, Signing};

use crate::support::http_request;
use crate::support::oidc::consent;
use crate::workspace::{call, create, setup, Setup, CLIENT};

/// One SDK call: `scope` "user" for `base44.connectors`, else
/// `asServiceRole.connectors`.
fn sdk(
    setup: &Setup,
    service: Option<&str>,
    user: Option<&str>,
    scope: &str,
    call: &str,
    id: &str,
) -> Value {
    let server = &setup.server;
    let args = json!({"serverUrl": server.url, "appId": server.app_id(), "serviceToken": service,
        "token": user, "call": call, "type": id, "scope": scope});
    crate::support::sdk(&args)
}

fn base64url(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// A token the server mints for `user_id`, as the app's backend would ask.
fn mint(setup: &Setup, user_id: &str) -> String {
    let server = &setup.server;
    let (status, body) = call(
        server,
        "POST",
        &format!("/api/apps/{}/app-user-tokens", server.app_id()),
        server.service_token(),
        Some(json!({"user_id": user_id, "email": format!("{user_id}@example.com")})),
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

fn inactive_soon(setup: &Setup, token: &str) -> bool {
    for _ in 0..500 {
        if setup.oidc.introspect(CLIENT.0, CLIENT.1, true, token)["active"] != true {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

#[test]
fn each_user_connects_their_own_account_and_functions_read_only_theirs() {
    let s = setup();
    let (_, made) = create(&s.server, "Calendar");
    let id = made["id"].as_str().unwrap().to_string();
    let service = s.server.service_token().to_string();
    let alice = mint(&s, "alice");
    let bob = mint(&s, "bob");

    // Alice connects: the SDK resolves to a usable link; she consents.
    let started = sdk(&s, None, Some(&alice), "user", "connectAppUser", &id);
    assert_eq!(started["ok"], true, "{started}");
    let url = started["value"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/connect/", s.server.url)),
        "{url}"
    );
    let page = consent(json!({"url": url, "login": "alice", "timeoutMs": 30000}));
    assert_eq!(page["heading"], "Connected", "{page}");

    // Her function reads her token; the OAuth server says it is live.
    let got = sdk(
        &s,
        Some(&service),
        Some(&alice),
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(got["ok"], true, "{got}");
    let token = got["value"]["accessToken"].as_str().unwrap().to_string();
    assert_eq!(
        s.oidc.introspect(CLIENT.0, CLIENT.1, true, &token)["active"],
        true
    );
    assert!(!s.server.database_holds(&token), "stored sealed only");
    assert!(
        !s.server.database_holds(&alice),
        "user tokens are never stored"
    );

    // A scheduled job reads Alice's token by her name; builders see who
    // connected what (never a token).
    let named = format!(
        "/api/apps/{}/app-users/alice/connectors/{id}/token",
        s.server.app_id()
    );
    let (status, by_name) = call(&s.server, "GET", &named, &service, None);
    assert_eq!(
        (status, &by_name["access_token"]),
        (200, &json!(token)),
        "{by_name}"
    );
    assert_eq!(call(&s.server, "GET", &named, &alice, None).0, 403);
    let (status, _) = call(
        &s.server,
        "GET",
        &named.replace("/alice/", "/bob/"),
        &service,
        None,
    );
    assert_eq!(status, 404);
    let (status, listed) = call(
        &s.server,
        "GET",
        &format!("/api/apps/{}/app-user-connections", s.server.app_id()),
        s.server.api_key(),
        None,
    );
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["connections"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["connections"][0]["subject"], "alice");
    assert_eq!(listed["connections"][0]["status"], "active");
    assert!(!listed.to_string().contains(&token));
    let page = connectors_testkit::runtime().block_on(async {
        let mut browser = crate::signin::Browser::new(&s.server);
        let invite = crate::signin::invite_path(&s.server);
        crate::signin::accept_invite(&mut browser, &invite).await;
        browser
            .get(&format!(
                "/apps/{}/editor/workspace/app-connections",
                s.server.app_id()
            ))
            .await
    });
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("<h2 id=\"app-users\">App users</h2>"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("alice@example.com"),
        "the dashboard lists her: {}",
        page.text
    );

    // Bob has none; no user is 401; a user token as the service token 403.
    let none = sdk(
        &s,
        Some(&service),
        Some(&bob),
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(
        (&none["status"], &none["code"]),
        (&json!(404), &json!("NOT_FOUND")),
        "{none}"
    );
    let nobody = sdk(
        &s,
        Some(&service),
        None,
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(nobody["status"], 401, "{nobody}");
    let swapped = sdk(
        &s,
        Some(&alice),
        Some(&alice),
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(swapped["status"], 403, "{swapped}");
    assert_eq!(
        swapped["message"],
        "This endpoint is only accessible to service tokens"
    );
    // A service token cannot start a user's connection.
    let (status, _) = call(
        &s.server,
        "POST",
        &format!(
            "/api/apps/{}/app-user-auth/connectors/{id}/initiate",
            s.server.app_id()
        ),
        &service,
        None,
    );
    assert_eq!(status, 403);
    // Not a per-user connector of this workspace: the mock's 404.
    let unknown = sdk(
        &s,
        None,
        Some(&bob),
        "user",
        "connectAppUser",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
    );
    assert_eq!(
        (&unknown["status"], &unknown["code"]),
        (&json!(404), &json!("NOT_FOUND")),
        "{unknown}"
    );
    // Bob disconnecting what he never connected: the mock's 404, no code.
    let (status, body) = call(
        &s.server,
        "DELETE",
        &format!(
            "/api/apps/{}/app-user-auth/connectors/{id}",
            s.server.app_id()
        ),
        &bob,
        None,
    );
    assert_eq!(
        (status, body),
        (
            404,
            json!({"detail": "No active connection found for this connector"})
        )
    );

    // Bob's connection ended by a builder (another app's builder could
    // not reach it; an unknown user is the mock's 404).
    let bob_consent = sdk(&s, None, Some(&bob), "user", "connectAppUser", &id);
    let page = consent(json!({"url": bob_consent["value"], "login": "bob", "timeoutMs": 30000}));
    assert_eq!(page["heading"], "Connected", "{page}");
    let (_, listed) = call(
        &s.server,
        "GET",
        &format!("/api/apps/{}/app-user-connections", s.server.app_id()),
        s.server.api_key(),
        None,
    );
    let bob_id = listed["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "bob")
        .map(|c| c["user_id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{listed}"));
    let end = |user: &str| {
        call(
            &s.server,
            "DELETE",
            &format!(
                "/api/apps/{}/app-user-connections/{user}/{id}",
                s.server.app_id()
            ),
            s.server.api_key(),
            None,
        )
    };
    assert_eq!(end("ffffffffffffffffffffffffffffffff").0, 404);
    let (status, ended) = end(&bob_id);
    assert_eq!(status, 200, "{ended}");
    let bobs = sdk(
        &s,
        Some(&service),
        Some(&bob),
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(bobs["status"], 404, "{bobs}");
    assert_eq!(end(&bob_id).0, 404);

    // Carol's token comes from the app's own identity provider (checked by
    // its JWKS): she connects and reads her own token the same way; a
    // forged, expired or other-audience token of hers is refused.
    let idp = FakeIdp::start("unused", "unused");
    let (status, body) = call(
        &s.server,
        "PUT",
        &format!("/api/apps/{}/app-user-settings", s.server.app_id()),
        s.server.api_key(),
        Some(
            json!({"identity_provider": {"issuer": idp.issuer, "jwks_uri": idp.jwks_uri(), "audience": "my-app"}}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let now = s.server.engine.config().clock.now_secs();
    let carol_claims = |extra: Value| {
        let mut c = json!({"iss": idp.issuer, "aud": "my-app", "sub": "carol", "iat": now, "exp": now + 600});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let carol = idp.sign(&carol_claims(json!({})), Signing::Published, "k1");
    let started = sdk(&s, None, Some(&carol), "user", "connectAppUser", &id);
    let page = consent(json!({"url": started["value"], "login": "carol", "timeoutMs": 30000}));
    assert_eq!(page["heading"], "Connected", "{page}");
    let hers = sdk(
        &s,
        Some(&service),
        Some(&carol),
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(hers["ok"], true, "{hers}");
    assert_ne!(
        hers["value"]["accessToken"], got["value"]["accessToken"],
        "her own grant"
    );
    for bad in [
        idp.sign(&carol_claims(json!({})), Signing::Forged, "k1"),
        idp.sign(
            &carol_claims(json!({"exp": now - 120})),
            Signing::Published,
            "k1",
        ),
        idp.sign(
            &carol_claims(json!({"aud": "another-app"})),
            Signing::Published,
            "k1",
        ),
    ] {
        let refused = sdk(
            &s,
            Some(&service),
            Some(&bad),
            "service",
            "getCurrentAppUserConnection",
            &id,
        );
        assert_eq!(refused["status"], 401, "{refused}");
    }
    let none_alg = format!(
        "{}.{}.",
        base64url(r#"{"alg":"none","typ":"JWT"}"#),
        base64url(&carol_claims(json!({})).to_string())
    );
    let refused = sdk(
        &s,
        Some(&service),
        Some(&none_alg),
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(refused["status"], 401, "alg none: {refused}");

    // Alice disconnects: gone for her function, revoked at the provider.
    let gone = sdk(&s, None, Some(&alice), "user", "disconnectAppUser", &id);
    assert_eq!(gone, json!({"ok": true, "value": null}));
    let after = sdk(
        &s,
        Some(&service),
        Some(&alice),
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(after["status"], 404, "{after}");
    assert!(
        inactive_soon(&s, &token),
        "the disconnected grant is revoked"
    );
}

/// The app's page connects its user in a popup (wave2.md §1.4): from an
/// allowed origin the CORS preflight is granted, the consent runs in the
/// popup, and the page hears `{type: "base44:connector", …}` from exactly
/// its own origin; from another origin the browser gets no CORS grant, so
/// nothing is sent and no message comes.
#[test]
fn a_page_on_an_allowed_origin_connects_in_a_popup_and_hears_the_outcome() {
    let s = setup();
    let (_, made) = create(&s.server, "Calendar");
    let id = made["id"].as_str().unwrap().to_string();
    let alice = mint(&s, "alice");
    let allowed = crate::support::free_port();
    let (status, body) = call(
        &s.server,
        "PUT",
        &format!("/api/apps/{}/app-user-settings", s.server.app_id()),
        s.server.api_key(),
        Some(json!({"allowed_origins": [format!("http://127.0.0.1:{allowed}")]})),
    );
    assert_eq!(status, 200, "{body}");
    let run = |port: u16| {
        connectors_testkit::oidc::run_browser_script(
            "popup.mjs",
            &json!({"serverUrl": s.server.url, "appId": s.server.app_id(), "connectorId": id,
                "userToken": alice, "appPort": port, "login": "alice", "timeoutMs": 30000}),
        )
    };
    let outcome = run(allowed);
    assert_eq!(outcome["fetch"], "ok", "{outcome:#}");
    assert_eq!(outcome["popupClosed"], true, "{outcome:#}");
    let messages = outcome["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{outcome:#}");
    assert_eq!(
        messages[0]["origin"],
        s.server.url.as_str(),
        "the message comes from our landing page"
    );
    assert_eq!(
        messages[0]["data"],
        json!({"type": "base44:connector", "connector_id": id, "status": "connected"})
    );
    let got = sdk(
        &s,
        Some(s.server.service_token()),
        Some(&alice),
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(got["ok"], true, "{got}");

    // Another origin: no CORS grant, nothing sent, no message.
    let other = run(crate::support::free_port());
    assert_eq!(other["fetch"], "blocked", "{other:#}");
    assert_eq!(other["messages"], json!([]), "{other:#}");
}

/// One user's token at expiry, read by 300 functions at once, is refreshed
/// once; with the provider rotating refresh tokens, 20 rounds in a row and
/// never an `invalid_grant` (the same single flight and lease as builder
/// connectors, under the user's own key).
#[test]
fn a_users_token_is_refreshed_once_under_300_concurrent_reads() {
    let _alone = crate::support::one_load_test_at_a_time();
    let time = connectors_engine::TestClock::new();
    let s = crate::workspace::setup_with(time.clock(), "refresh_margin_secs = 0");
    let (_, made) = create(&s.server, "Calendar");
    let id = made["id"].as_str().unwrap().to_string();
    // Long enough to outlive the rounds' clock moves (20 × an hour).
    let (status, minted) = call(
        &s.server,
        "POST",
        &format!("/api/apps/{}/app-user-tokens", s.server.app_id()),
        s.server.service_token(),
        Some(json!({"user_id": "alice", "expires_in": 86400})),
    );
    assert_eq!(status, 200, "{minted}");
    let alice = minted["access_token"].as_str().unwrap().to_string();
    let started = sdk(&s, None, Some(&alice), "user", "connectAppUser", &id);
    let page = consent(json!({"url": started["value"], "login": "alice", "timeoutMs": 30000}));
    assert_eq!(page["heading"], "Connected", "{page}");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(300)
        .build()
        .unwrap();
    let url = format!(
        "{}/api/apps/{}/app-user-auth/connectors/{id}/token",
        s.server.url,
        s.server.app_id()
    );
    let service = format!("Bearer {}", s.server.service_token());
    let user = format!("Bearer {alice}");
    let read_all = || {
        runtime.block_on(async {
            let tasks: Vec<_> = (0..300)
                .map(|_| {
                    let request = client
                        .get(&url)
                        .header("authorization", &service)
                        .header("on-behalf-of", &user);
                    tokio::spawn(async move {
                        let response = request.send().await.unwrap();
                        let status = response.status().as_u16();
                        let body: Value = response.json().await.unwrap();
                        (
                            status,
                            body["access_token"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                        )
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        })
    };
    let mut previous = read_all()[0].1.clone();
    s.oidc.control("POST", "reset", None);
    for round in 1..=20u64 {
        time.advance(std::time::Duration::from_secs(3601));
        let answers = read_all();
        assert!(
            answers.iter().all(|(status, _)| *status == 200),
            "round {round}: {answers:?}"
        );
        let tokens: std::collections::BTreeSet<&str> =
            answers.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            tokens.len(),
            1,
            "round {round}: callers got different tokens"
        );
        let token = tokens.into_iter().next().unwrap().to_string();
        assert_ne!(token, previous, "round {round}: not refreshed");
        previous = token;
        let stats = s.oidc.stats();
        assert_eq!(
            stats["token_requests"]["refresh_token"], round,
            "round {round}: {stats}"
        );
    }
    let stats = s.oidc.stats();
    assert_eq!(
        stats["refresh_errors"]["invalid_grant"]
            .as_u64()
            .unwrap_or(0),
        0,
        "{stats}"
    );
    assert_eq!(
        s.oidc.introspect(CLIENT.0, CLIENT.1, true, &previous)["active"],
        true
    );
}

/// A consent the user refuses at the provider ends on a page for them, not
/// for a builder: it tells the opener (or the app's page) `failed`, and
/// names no CLI.
#[test]
fn a_refused_consent_tells_the_app_it_failed() {
    let s = setup();
    let (_, made) = create(&s.server, "Calendar");
    let id = made["id"].as_str().unwrap().to_string();
    let alice = mint(&s, "alice");
    let app_page = "http://127.0.0.1:9/settings";
    call(
        &s.server,
        "PUT",
        &format!("/api/apps/{}/app-user-settings", s.server.app_id()),
        s.server.api_key(),
        Some(json!({"allowed_origins": ["http://127.0.0.1:9"]})),
    );
    let bearer = format!("Bearer {alice}");
    let (status, body) = crate::support::http_request(
        "POST",
        &format!(
            "{}/api/apps/{}/app-user-auth/connectors/{id}/initiate",
            s.server.url,
            s.server.app_id()
        ),
        &[("authorization", &bearer), ("x-origin-url", app_page)],
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let url = serde_json::from_str::<Value>(&body).unwrap()["redirect_url"]
        .as_str()
        .unwrap()
        .to_string();
    let (callback, cookie) = crate::support::oidc::consent_until_callback(&url);
    assert!(
        callback.contains("/api/external-auth/callback?"),
        "{callback}"
    );
    let state = callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let refused = format!(
        "{}?error=access_denied&error_description=The+user+said+no&state={state}",
        callback.split_once('?').unwrap().0
    );
    let (status, head, page) =
        connectors_testkit::http("GET", &refused, &[("cookie", &cookie)], None).unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<h1>Not connected</h1>"), "{page}");
    assert!(page.contains("data-status=\"failed\""), "{page}");
    assert!(page.contains("access_denied (The user said no)"), "{page}");
    assert!(
        page.contains("http://127.0.0.1:9/settings?connector_id=")
            && page.contains("connector_status=failed"),
        "{page}"
    );
    assert!(
        !page.contains("base44 connectors"),
        "no builder's words: {page}"
    );
    assert!(
        head.to_lowercase().contains("script-src 'sha256-"),
        "{head}"
    );
    let got = sdk(
        &s,
        Some(s.server.service_token()),
        Some(&alice),
        "service",
        "getCurrentAppUserConnection",
        &id,
    );
    assert_eq!(got["status"], 404, "{got}");
}

/// A builder ends one user's connection from the dashboard (asked first,
/// revoked at the provider). An app user's consent link that can no longer
/// be used lands like a failed consent, in the user's words (never the
/// builders' "run `base44 connectors push`"): back on the app's page with
/// `connector_status=failed`, by a `<noscript>` refresh too.
#[test]
fn builders_disconnect_a_user_on_the_dashboard_and_dead_links_land_in_the_app() {
    let time = connectors_engine::TestClock::new();
    let s = crate::workspace::setup_with(time.clock(), "");
    let (_, made) = create(&s.server, "Calendar");
    let id = made["id"].as_str().unwrap().to_string();
    let dave = mint(&s, "dave");
    let started = sdk(&s, None, Some(&dave), "user", "connectAppUser", &id);
    let used = started["value"].as_str().unwrap().to_string();
    let page = consent(json!({"url": used, "login": "dave", "timeoutMs": 30000}));
    assert_eq!(page["heading"], "Connected", "{page}");
    let service = s.server.service_token().to_string();
    let read = || {
        sdk(
            &s,
            Some(&service),
            Some(&dave),
            "service",
            "getCurrentAppUserConnection",
            &id,
        )
    };
    let token = read()["value"]["accessToken"].as_str().unwrap().to_string();

    // Per-user connections turned off: the user's token is not served
    // (on again: it is).
    let switch = |on: bool| {
        let (status, body) = call(
            &s.server,
            "PUT",
            &format!(
                "/api/workspace/{}/connectors/{id}",
                s.server.boot.workspace_id
            ),
            s.server.api_key(),
            Some(json!({"per_user_connection_enabled": on})),
        );
        assert_eq!(status, 200, "{body}");
    };
    switch(false);
    let off = read();
    assert_eq!(
        (&off["status"], &off["code"]),
        (&json!(403), &json!("FORBIDDEN")),
        "{off}"
    );
    switch(true);
    let again = read();
    assert_eq!(again["ok"], true, "{again}");

    let (disconnect, page) = connectors_testkit::runtime().block_on(async {
        let mut browser = crate::signin::Browser::new(&s.server);
        let invite = crate::signin::invite_path(&s.server);
        crate::signin::accept_invite(&mut browser, &invite).await;
        let connections = format!(
            "/apps/{}/editor/workspace/app-connections",
            s.server.app_id()
        );
        let page = browser.get(&connections).await;
        let at = page
            .text
            .find("/disconnect\">Disconnect…</a>")
            .unwrap_or_else(|| panic!("no Disconnect… link: {}", page.text));
        let start = page.text[..at].rfind("href=\"").unwrap() + 6;
        let path = format!("{}/disconnect", &page.text[start..at]);
        assert!(
            path.starts_with(&format!("{connections}/app-users/")),
            "{path}"
        );
        let confirm = browser.get(&path).await;
        assert_eq!(confirm.status, 200, "{}", confirm.text);
        assert!(
            confirm.text.contains("dave@example.com"),
            "{}",
            confirm.text
        );
        let csrf = crate::dashboard::form_token(&confirm, &path);
        let cross = browser
            .post_from(Some("https://evil.example"), &path, &[("csrf", &csrf)])
            .await;
        assert_eq!(cross.status, 403, "{}", cross.text);
        let done = browser.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(done.status, 303, "{}", done.text);
        let back = browser
            .get(done.headers["location"].to_str().unwrap())
            .await;
        (
            browser.post(&path, &[("csrf", &csrf)]).await.status,
            back.text,
        )
    });
    assert!(page.contains("Disconnected the user"), "{page}");
    assert_eq!(disconnect, 404, "a second disconnect finds nothing");
    assert_eq!(read()["status"], 404);
    assert!(inactive_soon(&s, &token), "revoked at the provider");

    // A link started once the app has a return URL, never opened.
    let (status, body) = call(
        &s.server,
        "PUT",
        &format!("/api/apps/{}/app-user-settings", s.server.app_id()),
        s.server.api_key(),
        Some(json!({"allowed_origins": ["https://app.example.com"],
            "default_return_url": "https://app.example.com/connected"})),
    );
    assert_eq!(status, 200, "{body}");
    let unopened = sdk(&s, None, Some(&dave), "user", "connectAppUser", &id);
    let unopened = unopened["value"].as_str().unwrap().to_string();

    // The used link, and the unopened one once expired.
    let (status, text) = http_request("GET", &used, &[], None).unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("Not connected") && text.contains("already used"),
        "{text}"
    );
    assert!(!text.contains("connectors push"), "{text}");
    time.advance(std::time::Duration::from_secs(3601));
    let (status, text) = http_request("GET", &unopened, &[], None).unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("took too long"), "{text}");
    assert!(!text.contains("connectors push"), "{text}");
    assert!(
        text.contains(&format!(
            "<noscript><meta http-equiv=\"refresh\" content=\"0; url=https://app.example.com/connected?connector_id={id}&amp;connector_status=failed\"></noscript>"
        )),
        "{text}"
    );
}

/// Each start stores an attempt, so one user may start at most 20 a
/// minute (429 `RATE_LIMITED`, saying how long to wait); other users are
/// not held back.
#[test]
fn one_user_cannot_start_consents_without_end() {
    let s = setup();
    let (_, made) = create(&s.server, "Calendar");
    let id = made["id"].as_str().unwrap().to_string();
    let path = format!(
        "/api/apps/{}/app-user-auth/connectors/{id}/initiate",
        s.server.app_id()
    );
    let erin = mint(&s, "erin");
    for _ in 0..20 {
        let (status, body) = call(&s.server, "POST", &path, &erin, None);
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = call(&s.server, "POST", &path, &erin, None);
    assert_eq!(
        (status, &body["code"]),
        (429, &json!("RATE_LIMITED")),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("seconds"),
        "{body}"
    );
    let frank = mint(&s, "frank");
    assert_eq!(call(&s.server, "POST", &path, &frank, None).0, 200);
}
