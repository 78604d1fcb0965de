//! `base44 login` over HTTP (#12.2): every answer and error shape of
//! `POST /oauth/device/code`, `POST /oauth/token` and `GET /oauth/userinfo`,
//! login tokens on builder routes, rotation and reuse, on an in-process
//! server with a test clock. The user code is approved through the engine's
//! use case (what the verification page calls).

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use connectors_engine::{Builder, TestClock};
use serde_json::{json, Value};

use crate::support::{call, Answer, TestServer};

const FORM: &str = "application/x-www-form-urlencoded";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn server(time: &TestClock) -> TestServer {
    TestServer::builder().clock(time.clock()).start().await
}

async fn post(t: &TestServer, path: &str, content_type: &str, body: &str) -> Answer {
    let request = Request::post(path)
        .header("content-type", content_type)
        .body(Body::from(body.to_string()))
        .unwrap();
    call(&t.router, request).await
}

async fn get(t: &TestServer, path: &str, bearer: &str) -> Answer {
    let request = Request::get(path)
        .header("authorization", format!("Bearer {bearer}"))
        .body(Body::empty())
        .unwrap();
    call(&t.router, request).await
}

fn oauth_error(a: &Answer) -> String {
    assert_eq!(a.status, 400, "{}", a.text);
    let v = a.json();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error", "error_description"], "{v}");
    assert!(!v["error_description"].as_str().unwrap().is_empty());
    v["error"].as_str().unwrap().to_string()
}

async fn owner(t: &TestServer) -> Builder {
    t.engine
        .store()
        .find_builder(&t.boot.workspace_id, &t.boot.builder_email)
        .await
        .unwrap()
        .unwrap()
}

async fn start(t: &TestServer) -> Value {
    let a = post(
        t,
        "/oauth/device/code",
        "application/json",
        r#"{"client_id":"base44_cli","scope":"apps:read apps:write sandbox:write"}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.headers["cache-control"], "no-store");
    a.json()
}

async fn poll(t: &TestServer, device_code: &str) -> Answer {
    let body = format!(
        "grant_type={}&device_code={device_code}&client_id=base44_cli",
        urlenc(GRANT)
    );
    post(t, "/oauth/token", FORM, &body).await
}

async fn refresh(t: &TestServer, refresh_token: &str) -> Answer {
    let body =
        format!("grant_type=refresh_token&refresh_token={refresh_token}&client_id=base44_cli");
    post(t, "/oauth/token", FORM, &body).await
}

fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A completed login: (access token, refresh token).
pub(crate) async fn login(t: &TestServer, time: &TestClock) -> (String, String) {
    let d = start(t).await;
    let code = d["device_code"].as_str().unwrap();
    assert_eq!(oauth_error(&poll(t, code).await), "authorization_pending");
    t.engine
        .decide_device_login(d["user_code"].as_str().unwrap(), &owner(t).await, true)
        .await
        .unwrap();
    time.advance(Duration::from_secs(5));
    let a = poll(t, code).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let v = a.json();
    (
        v["access_token"].as_str().unwrap().into(),
        v["refresh_token"].as_str().unwrap().into(),
    )
}

#[tokio::test]
async fn device_code_answers_rfc8628_fields_for_json_and_form_bodies() {
    let time = TestClock::new();
    let t = server(&time).await;
    let d = start(&t).await;
    let user_code = d["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code
        .chars()
        .filter(|c| *c != '-')
        .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)));
    assert_eq!(d["verification_uri"], format!("{}/device", t.url));
    assert_eq!(
        d["verification_uri_complete"],
        format!("{}/device?user_code={user_code}", t.url)
    );
    assert_eq!(d["expires_in"], 600);
    assert_eq!(d["interval"], 5);
    assert!(d["device_code"].as_str().unwrap().len() >= 43);
    assert!(!t.database_holds(d["device_code"].as_str().unwrap()));

    let form = post(
        &t,
        "/oauth/device/code",
        FORM,
        "client_id=base44_cli&scope=apps%3Aread",
    )
    .await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert_ne!(form.json()["device_code"], d["device_code"]);
}

#[tokio::test]
async fn every_error_is_400_json_with_error_and_description() {
    let time = TestClock::new();
    let t = server(&time).await;
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "/oauth/device/code",
            "application/json",
            r#"{"client_id":"evil"}"#,
            "invalid_client",
        ),
        (
            "/oauth/device/code",
            "application/json",
            r#"{}"#,
            "invalid_request",
        ),
        (
            "/oauth/device/code",
            "application/json",
            r#"{"client_id":"base44_cli","scope":"admin"}"#,
            "invalid_scope",
        ),
        (
            "/oauth/device/code",
            "application/json",
            "[1]",
            "invalid_request",
        ),
        (
            "/oauth/device/code",
            "application/json",
            "{",
            "invalid_request",
        ),
        (
            "/oauth/device/code",
            "application/json",
            r#"{"client_id":7}"#,
            "invalid_request",
        ),
        (
            "/oauth/device/code",
            "text/plain",
            "client_id=base44_cli",
            "invalid_request",
        ),
        (
            "/oauth/device/code",
            FORM,
            "client_id=base44_cli&client_id=base44_cli",
            "invalid_request",
        ),
        (
            "/oauth/token",
            FORM,
            "client_id=base44_cli",
            "invalid_request",
        ),
        (
            "/oauth/token",
            FORM,
            "grant_type=password&client_id=base44_cli",
            "unsupported_grant_type",
        ),
        (
            "/oauth/token",
            FORM,
            "grant_type=refresh_token&client_id=nobody&refresh_token=x",
            "invalid_client",
        ),
        (
            "/oauth/token",
            FORM,
            "grant_type=refresh_token&client_id=base44_cli",
            "invalid_request",
        ),
        (
            "/oauth/token",
            FORM,
            "grant_type=refresh_token&client_id=base44_cli&refresh_token=b44r_nope",
            "invalid_grant",
        ),
        (
            "/oauth/token",
            "application/json",
            r#"{"grant_type":"refresh_token","client_id":"base44_cli","refresh_token":"b44r_nope"}"#,
            "invalid_grant",
        ),
    ];
    for (path, content_type, body, error) in cases {
        let a = post(&t, path, content_type, body).await;
        assert_eq!(&oauth_error(&a), error, "{path} {body}");
    }
    let unknown = format!(
        "grant_type={}&client_id=base44_cli&device_code=nope",
        urlenc(GRANT)
    );
    assert_eq!(
        oauth_error(&post(&t, "/oauth/token", FORM, &unknown).await),
        "invalid_grant"
    );
}

#[tokio::test]
async fn polls_pending_slow_down_denied_expired_and_single_use() {
    let time = TestClock::new();
    let t = server(&time).await;
    let builder = owner(&t).await;

    // The npm CLI's rhythm: at once, then `interval` after each answer.
    let d = start(&t).await;
    let code = d["device_code"].as_str().unwrap();
    assert_eq!(oauth_error(&poll(&t, code).await), "authorization_pending");
    time.advance(Duration::from_millis(4_100));
    assert_eq!(
        oauth_error(&poll(&t, code).await),
        "authorization_pending",
        "within the tolerance"
    );
    time.advance(Duration::from_millis(1_000));
    assert_eq!(
        oauth_error(&poll(&t, code).await),
        "slow_down",
        "a second later"
    );
    time.advance(Duration::from_secs(5));
    assert_eq!(oauth_error(&poll(&t, code).await), "authorization_pending");

    // Deny.
    let user_code = d["user_code"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .replace('-', "");
    t.engine
        .decide_device_login(&user_code, &builder, false)
        .await
        .unwrap();
    time.advance(Duration::from_secs(5));
    assert_eq!(oauth_error(&poll(&t, code).await), "access_denied");
    let again = t
        .engine
        .decide_device_login(&user_code, &builder, true)
        .await;
    assert!(again.is_err(), "a decided code cannot be decided again");

    // Expiry, then approval of an expired code is refused.
    let late = start(&t).await;
    time.advance(Duration::from_secs(601));
    assert_eq!(
        oauth_error(&poll(&t, late["device_code"].as_str().unwrap()).await),
        "expired_token"
    );
    let late_code = late["user_code"].as_str().unwrap();
    assert!(t
        .engine
        .decide_device_login(late_code, &builder, true)
        .await
        .is_err());

    // Single use.
    let ok = start(&t).await;
    let ok_code = ok["device_code"].as_str().unwrap();
    t.engine
        .decide_device_login(ok["user_code"].as_str().unwrap(), &builder, true)
        .await
        .unwrap();
    let first = poll(&t, ok_code).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let v = first.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 900);
    assert_eq!(v["scope"], "apps:read apps:write sandbox:write");
    assert!(v["refresh_token"].as_str().unwrap().starts_with("b44r_"));
    time.advance(Duration::from_secs(5));
    assert_eq!(oauth_error(&poll(&t, ok_code).await), "invalid_grant");
}

#[tokio::test]
async fn a_login_token_works_on_builder_routes_and_userinfo_until_it_expires() {
    let time = TestClock::new();
    let t = server(&time).await;
    let (access, refresh_token) = login(&t, &time).await;
    assert!(!t.database_holds(&refresh_token), "only its hash is stored");
    assert!(!t.database_holds(&access));

    let who = get(&t, "/oauth/userinfo", &access).await;
    assert_eq!(who.status, 200, "{}", who.text);
    assert_eq!(
        who.json(),
        json!({"email": "owner@example.com", "name": "owner@example.com"})
    );

    let list = format!("/api/apps/{}/external-auth/list", t.app_id());
    assert_eq!(get(&t, &list, &access).await.status, 200);
    // A builder token is not a service token.
    let tokens = format!("/api/apps/{}/external-auth/tokens/acme_crm", t.app_id());
    assert_eq!(get(&t, &tokens, &access).await.status, 403);

    // A tampered or foreign token.
    let mut forged = access.clone();
    forged.pop();
    forged.push(if access.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(get(&t, &list, &forged).await.status, 401);
    let none = get(&t, "/oauth/userinfo", "").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error"], "invalid_token");

    // Expiry on the server's clock, even when it was just cached.
    time.advance(Duration::from_secs(901));
    let expired = get(&t, &list, &access).await;
    assert_eq!(expired.status, 401, "{}", expired.text);
    assert_eq!(expired.json()["code"], "TOKEN_EXPIRED");

    // Refresh: a new pair; the old refresh token is spent.
    let a = refresh(&t, &refresh_token).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let v = a.json();
    let access2 = v["access_token"].as_str().unwrap();
    assert_ne!(v["refresh_token"].as_str().unwrap(), refresh_token);
    assert_eq!(get(&t, &list, access2).await.status, 200);
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_login() {
    let time = TestClock::new();
    let t = server(&time).await;
    let (_, first) = login(&t, &time).await;
    let v = refresh(&t, &first).await.json();
    let (access2, second) = (
        v["access_token"].as_str().unwrap().to_string(),
        v["refresh_token"].as_str().unwrap().to_string(),
    );

    // A duplicate within the grace: refused, the login stands.
    assert_eq!(oauth_error(&refresh(&t, &first).await), "invalid_grant");
    let list = format!("/api/apps/{}/external-auth/list", t.app_id());
    assert_eq!(get(&t, &list, &access2).await.status, 200);

    // A replay later: the whole login is revoked, access token included.
    time.advance(Duration::from_secs(6));
    assert_eq!(oauth_error(&refresh(&t, &first).await), "invalid_grant");
    assert_eq!(oauth_error(&refresh(&t, &second).await), "invalid_grant");
    let refused = get(&t, &list, &access2).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["code"], "CREDENTIAL_REVOKED");

    // Another login of the same builder is unaffected, until revoked.
    let (access3, third) = login(&t, &time).await;
    assert_eq!(get(&t, &list, &access3).await.status, 200);
    // What `connectors-server revoke-logins --email E` runs.
    let ws = &t.boot.workspace_id;
    let unknown = t.engine.revoke_logins_for(ws, "nobody@example.com").await;
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("nobody@example.com"));
    let n = t.engine.revoke_logins_for(ws, "owner@example.com").await;
    assert_eq!(n.unwrap(), 1);
    assert_eq!(get(&t, &list, &access3).await.status, 401);
    assert_eq!(oauth_error(&refresh(&t, &third).await), "invalid_grant");
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_have_one_winner() {
    let time = TestClock::new();
    let t = server(&time).await;
    let (_, token) = login(&t, &time).await;
    let answers = futures_join(&t, &token).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != 200) {
        assert_eq!(oauth_error(a), "invalid_grant");
    }
    // Within the grace, so the winner's login still works.
    let winner = answers.iter().find(|a| a.status == 200).unwrap().json();
    let next = winner["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&t, next).await.status, 200);
}

async fn futures_join(t: &TestServer, token: &str) -> Vec<Answer> {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let router = t.router.clone();
        let body = format!("grant_type=refresh_token&refresh_token={token}&client_id=base44_cli");
        tasks.push(tokio::spawn(async move {
            let request = Request::post("/oauth/token")
                .header("content-type", FORM)
                .body(Body::from(body))
                .unwrap();
            call(&router, request).await
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn wrong_user_codes_are_rate_limited_per_builder() {
    let time = TestClock::new();
    let t = server(&time).await;
    let builder = owner(&t).await;
    let d = start(&t).await;
    for _ in 0..5 {
        let e = t
            .engine
            .decide_device_login("BBBB-BBBB", &builder, true)
            .await;
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("no pending login request"));
    }
    let user_code = d["user_code"].as_str().unwrap();
    let limited = t
        .engine
        .decide_device_login(user_code, &builder, true)
        .await;
    assert!(limited
        .unwrap_err()
        .to_string()
        .contains("too many wrong codes"));
    time.advance(Duration::from_secs(601));
    let fresh = start(&t).await;
    let shown = t
        .engine
        .device_login_request(fresh["user_code"].as_str().unwrap(), &builder)
        .await
        .unwrap();
    assert_eq!(shown.client_name, "Base44 CLI");
    assert_eq!(shown.scopes, ["apps:read", "apps:write", "sandbox:write"]);
}

#[tokio::test]
async fn a_cached_login_is_never_served_past_its_exp() {
    let time = TestClock::new();
    let t = TestServer::builder()
        .clock(time.clock())
        .config(|_| {
            format!(
                "{}\n[cache]\nmax_age_ms = 60000\n\n[auth]\naccess_token_ttl_secs = 30\n",
                crate::support::PROVIDERS_TOML
            )
        })
        .start()
        .await;
    let (access, _) = login(&t, &time).await;
    let list = format!("/api/apps/{}/external-auth/list", t.app_id());
    assert_eq!(get(&t, &list, &access).await.status, 200);
    // Within the cache's maximum age, past the token's expiry.
    time.advance(Duration::from_secs(31));
    let expired = get(&t, &list, &access).await;
    assert_eq!(expired.status, 401, "{}", expired.text);
    assert_eq!(expired.json()["code"], "TOKEN_EXPIRED");
}
