//! The OAuth engine end to end: the real npm CLI pushes, headless Chromium
//! consents at a real OAuth server (`oidc-provider`), the real SDK reads
//! tokens, and the server refreshes, classifies failures and revokes.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use connectors_engine::TestClock;
use connectors_testkit::runtime;

use crate::support::oidc::{consent, consent_until_callback, OidcServer};
use crate::support::{
    free_port, http_request, js_dir, spread_tokens, start_server_on, ServerProcess, TestServer,
    TokenServer,
};
use serde_json::{json, Value};

struct Setup<S> {
    oidc: OidcServer,
    server: S,
    /// Our server's clock, when it runs in this process.
    time: Option<TestClock>,
}

const CLIENTS: [(&str, &str, &str); 3] = [
    ("custom-client", "custom-secret", "client_secret_basic"),
    ("google-client", "google-secret", "client_secret_post"),
    ("sp-client", "sp-secret", "client_secret_post"),
];

/// An OAuth server told our callback at `public_url`, with its tokens
/// living `access_ttl` seconds.
pub(crate) fn oidc_for(public_url: &str, access_ttl: u64, rotate: bool) -> OidcServer {
    let redirect = format!("{public_url}/oauth/callback");
    let clients: Vec<Value> = CLIENTS
        .iter()
        .map(|(id, secret, method)| {
            json!({"client_id": id, "client_secret": secret, "redirect_uris": [redirect], "token_endpoint_auth_method": method})
        })
        .collect();
    OidcServer::start(json!({
        "port": 0,
        "clients": clients,
        "scopes": ["openid", "offline_access", "contacts.read", "calendar.read", "files.read"],
        "accessTokenTtl": access_ttl,
        "rotateRefreshToken": rotate,
        "pkceRequired": true,
    }))
}

/// Our config: a custom provider (`oidc_custom`) and two built-ins pointed
/// at `oidc` (`googlecalendar`, `share_point`, the latter with its required
/// site-path field).
pub(crate) fn config_for(oidc: &OidcServer, public_url: &str, extra_oauth: &str) -> String {
    let (auth, token, revoke) = (
        oidc.endpoint("authorization_endpoint"),
        oidc.endpoint("token_endpoint"),
        oidc.endpoint("revocation_endpoint"),
    );
    let background = if extra_oauth.contains("background_refresh") {
        ""
    } else {
        "background_refresh = false"
    };
    let endpoints = format!(
        "authorization_url = \"{auth}\"\ntoken_url = \"{token}\"\nrevocation_url = \"{revoke}\"\n"
    );
    format!(
        r#"
public_url = "{public_url}"

[oauth]
{background}
provider_timeout_secs = 2
refresh_attempts = 2
{extra_oauth}

[providers.oidc_custom]
display_name = "OIDC test provider"
{endpoints}client_id = "custom-client"
client_secret = "custom-secret"
client_auth = "client_secret_basic"
required_scopes = ["openid", "offline_access"]

[providers.googlecalendar]
{endpoints}client_id = "google-client"
client_secret = "google-secret"
client_auth = "client_secret_post"
required_scopes = ["openid", "offline_access"]

[providers.share_point]
{endpoints}client_id = "sp-client"
client_secret = "sp-secret"
client_auth = "client_secret_post"
required_scopes = ["openid", "offline_access"]
"#
    )
}

/// The OAuth server and the real `connectors-server` binary: the one
/// end-to-end run where a real process is the point.
fn setup(access_ttl: u64, rotate: bool, extra_oauth: &str) -> Setup<ServerProcess> {
    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    let oidc = oidc_for(&public_url, access_ttl, rotate);
    let server = start_server_on(port, &config_for(&oidc, &public_url, extra_oauth));
    Setup {
        oidc,
        server,
        time: None,
    }
}

/// The OAuth server and our server in this process with a test clock:
/// expiries and TTLs pass when the test advances the clock, not by sleeping.
/// The provider's tokens live an hour (its own clock is real); ours decide.
fn setup_in_process(extra_oauth: &str) -> Setup<InProcess> {
    let time = TestClock::new();
    let mut oidc = None;
    let mut builder = TestServer::builder()
        .config(|public_url| {
            let server = oidc_for(public_url, 3600, true);
            let config = config_for(&server, public_url, extra_oauth);
            oidc = Some(server);
            config
        })
        .clock(time.clock())
        .serve();
    if extra_oauth.contains("background_refresh = true") {
        builder = builder.background_refresh();
    }
    let server = runtime().block_on(builder.start());
    Setup {
        oidc: oidc.expect("the OAuth server started with ours"),
        server: InProcess(server),
        time: Some(time),
    }
}

impl<S> Setup<S> {
    /// Moves our server's clock past the expiry of the tokens `setup_in_process` gets.
    fn expire_tokens(&self) {
        self.advance(Duration::from_secs(3601));
    }

    fn advance(&self, by: Duration) {
        self.time.as_ref().expect("an in-process setup").advance(by);
    }
}

/// Our server in this process, seen through the API only.
pub(crate) struct InProcess(pub(crate) TestServer);

/// What the helpers below need of either server.
pub(crate) trait Api: TokenServer {
    fn api_key(&self) -> String;
}

impl Api for ServerProcess {
    fn api_key(&self) -> String {
        ServerProcess::api_key(self)
    }
}

impl TokenServer for InProcess {
    fn url(&self) -> &str {
        &self.0.url
    }
    fn app_id(&self) -> String {
        self.0.app_id().to_string()
    }
    fn service_token(&self) -> String {
        self.0.service_token().to_string()
    }
}

impl Api for InProcess {
    fn api_key(&self) -> String {
        self.0.api_key().to_string()
    }
}

pub(crate) fn cli(server: &impl Api, cwd: &Path, args: &[&str]) -> Value {
    let out = Command::new(js_dir().join("node_modules/.bin/base44"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd.join(".home"))
        .env("BASE44_API_URL", server.url())
        .env("BASE44_DISABLE_TELEMETRY", "1")
        .env("BASE44_CLI_TEST_OVERRIDES", r#"{"latestVersion":null}"#)
        .env("BASE44_API_KEY", server.api_key())
        .env("BASE44_APP_ID", server.app_id())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "base44 {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}

fn sdk_token(server: &impl Api, ty: &str) -> Value {
    let args = json!({"serverUrl": server.url(), "appId": server.app_id(), "serviceToken": server.service_token(),
        "token": null, "call": "getConnection", "type": ty});
    crate::support::sdk(&args)
}

fn builder_get(server: &impl Api, path: &str) -> (u16, Value) {
    let key = server.api_key();
    let (status, body) = http_request(
        "GET",
        &format!("{}/api/apps/{}/{path}", server.url(), server.app_id()),
        &[("api_key", &key)],
        None,
    )
    .unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn put_connector(server: &impl Api, ty: &str, scopes: &[&str]) -> Value {
    let key = server.api_key();
    let (status, body) = http_request(
        "PUT",
        &format!(
            "{}/api/apps/{}/external-auth/integrations/{ty}",
            server.url(),
            server.app_id()
        ),
        &[("api_key", &key)],
        Some(&json!({ "scopes": scopes }).to_string()),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn list_status(server: &impl Api, ty: &str) -> Option<String> {
    let (_, list) = builder_get(server, "external-auth/list");
    list["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["integration_type"] == ty)
        .map(|i| i["status"].as_str().unwrap().to_string())
}

fn attempt_status(server: &impl Api, ty: &str, id: &str) -> String {
    let (_, body) = builder_get(
        server,
        &format!("external-auth/status?integration_type={ty}&connection_id={id}"),
    );
    body["status"].as_str().unwrap().to_string()
}

/// Consents for one connector through the browser; returns its access token.
fn authorize<S: Api>(s: &Setup<S>, ty: &str, scopes: &[&str], config: Option<Value>) -> String {
    let answer = put_connector(&s.server, ty, scopes);
    let url = answer["redirect_url"].as_str().unwrap();
    let page = consent(json!({"url": url, "login": "alice", "config": config, "timeoutMs": 30000}));
    assert_eq!(page["heading"], "Authorization complete", "{page}");
    assert_eq!(
        attempt_status(&s.server, ty, answer["connection_id"].as_str().unwrap()),
        "ACTIVE"
    );
    let (status, token) = s.server.token(ty);
    assert_eq!(status, 200, "{token}");
    token["access_token"].as_str().unwrap().to_string()
}

pub(crate) fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn browser_consent_end_to_end_with_npm_cli_and_sdk() {
    let s = setup(3600, true, "");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("connectors");
    write(
        &dir.join("oidc_custom.jsonc"),
        r#"{"type": "oidc_custom", "scopes": ["contacts.read"]}"#,
    );
    write(
        &dir.join("googlecalendar.jsonc"),
        r#"{"type": "googlecalendar", "scopes": ["calendar.read"]}"#,
    );
    write(
        &dir.join("share_point.jsonc"),
        r#"{"type": "share_point", "scopes": ["files.read"]}"#,
    );

    let pushed = cli(
        &s.server,
        work.path(),
        &["connectors", "push", "-y", "--json"],
    );
    let results = pushed["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 3, "{pushed}");
    for result in &results {
        assert_eq!(result["action"], "needs_oauth", "{result}");
        let ty = result["type"].as_str().unwrap();
        let url = result["redirectUrl"].as_str().unwrap();
        let id = result["connectionId"].as_str().unwrap();
        assert_eq!(attempt_status(&s.server, ty, id), "PENDING");
        if ty == "share_point" {
            // The form rejects a bad site path with the catalog's text, then accepts a good one.
            let bad = consent(
                json!({"url": url, "login": "alice", "config": {"subdomain": "not a path!"}}),
            );
            assert_eq!(
                bad["formError"], "Please enter a valid SharePoint site path",
                "{bad}"
            );
            let good = consent(
                json!({"url": url, "login": "alice", "config": {"subdomain": "sites/mysite"}}),
            );
            assert_eq!(good["heading"], "Authorization complete", "{good}");
        } else {
            let page = consent(json!({"url": url, "login": "alice"}));
            assert_eq!(page["heading"], "Authorization complete", "{page}");
        }
        assert_eq!(attempt_status(&s.server, ty, id), "ACTIVE");
        assert_eq!(list_status(&s.server, ty).as_deref(), Some("active"));
    }

    // Pushing again: everything is already authorized.
    let again = cli(
        &s.server,
        work.path(),
        &["connectors", "push", "-y", "--json"],
    );
    assert!(
        again["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"] == "synced"),
        "{again}"
    );

    // The SDK gets tokens the provider reports active; share_point carries its site path.
    for (ty, (client, secret, method)) in ["oidc_custom", "googlecalendar", "share_point"]
        .iter()
        .zip(CLIENTS)
    {
        let got = sdk_token(&s.server, ty);
        assert_eq!(got["ok"], true, "{got}");
        let token = got["value"]["accessToken"].as_str().unwrap();
        let info = s
            .oidc
            .introspect(client, secret, method == "client_secret_basic", token);
        assert_eq!(info["active"], true, "{ty}: {info}");
        if *ty == "share_point" {
            assert_eq!(
                got["value"]["connectionConfig"]["subdomain"],
                "sites/mysite"
            );
        }
    }

    // Remove one: the token is revoked at the provider (best effort, in the background).
    let token = sdk_token(&s.server, "oidc_custom")["value"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::remove_file(dir.join("oidc_custom.jsonc")).unwrap();
    let removed = cli(
        &s.server,
        work.path(),
        &["connectors", "push", "-y", "--json"],
    );
    assert!(removed["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["type"] == "oidc_custom" && r["action"] == "removed"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = s
            .oidc
            .introspect("custom-client", "custom-secret", true, &token);
        if info["active"] == false {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "token still active after removal: {info}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(s.server.token("oidc_custom").0, 404);
}

#[test]
fn refresh_exactly_once_under_a_thousand_concurrent_requests() {
    // Tokens refreshed only once expired (no margin): each round moves our
    // clock past the expiry, so exactly one refresh is due per round.
    let _alone = crate::support::one_load_test_at_a_time();
    let s = setup_in_process("refresh_margin_secs = 0");
    let first = authorize(&s, "oidc_custom", &["contacts.read"], None);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // 1,000 connections opened while the token is fresh (the server keeps
    // them alive), so that each round measures requests, not TCP handshakes.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1000)
        .build()
        .unwrap();
    // Only what follows the reset is counted.
    let warm = runtime.block_on(spread_tokens(&client, &[&s.server], "oidc_custom", 1000));
    assert!(warm.iter().all(|(status, _)| *status == 200));
    let mut previous = s.server.token("oidc_custom").1["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!first.is_empty());
    s.oidc.control("POST", "reset", None);
    let rounds = 50;
    for round in 1..=rounds {
        s.expire_tokens();
        let started = Instant::now();
        let answers = runtime.block_on(spread_tokens(&client, &[&s.server], "oidc_custom", 1000));
        eprintln!("round {round}: 1000 requests in {:?}", started.elapsed());
        let stats = s.oidc.stats();
        assert_eq!(
            stats["token_requests"]["refresh_token"], round,
            "round {round}: {stats}"
        );
        let tokens: std::collections::BTreeSet<&str> =
            answers.iter().map(|(_, t)| t.as_str()).collect();
        assert!(
            answers.iter().all(|(status, _)| *status == 200),
            "round {round}: not all 200"
        );
        assert_eq!(
            tokens.len(),
            1,
            "round {round}: callers got different tokens"
        );
        let token = tokens.into_iter().next().unwrap().to_string();
        assert_ne!(
            token, previous,
            "round {round}: the token was not refreshed"
        );
        previous = token;
        if round == 1 {
            let info = s
                .oidc
                .introspect("custom-client", "custom-secret", true, &previous);
            assert_eq!(info["active"], true);
        }
    }
    let stats = s.oidc.stats();
    assert_eq!(
        stats["refresh_errors"]["invalid_grant"]
            .as_u64()
            .unwrap_or(0),
        0,
        "{stats}"
    );
}

#[test]
fn attacks_are_rejected_without_changing_anything() {
    let s = setup_in_process("");
    let ty = "oidc_custom";
    let start = |s: &Setup<InProcess>| {
        let answer = put_connector(&s.server, ty, &["contacts.read"]);
        let url = answer["redirect_url"].as_str().unwrap().to_string();
        let (callback, cookie) = consent_until_callback(&url);
        (
            answer["connection_id"].as_str().unwrap().to_string(),
            callback,
            cookie,
        )
    };
    let hit = |url: &str, cookie: Option<&str>| -> (u16, String) {
        let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("cookie", c)]).unwrap_or_default();
        http_request("GET", url, &headers, None).unwrap()
    };
    let unchanged = |s: &Setup<InProcess>| {
        assert_eq!(list_status(&s.server, ty).as_deref(), Some("disconnected"));
        assert_eq!(s.server.token(ty).0, 404);
    };
    let with_state = |callback: &str, state: &str| {
        let (base, query) = callback.split_once('?').unwrap();
        let rest: Vec<&str> = query
            .split('&')
            .filter(|p| !p.starts_with("state="))
            .collect();
        format!("{base}?{}&state={state}", rest.join("&"))
    };

    // Forged state.
    let (id, callback, cookie) = start(&s);
    let (status, page) = hit(&with_state(&callback, "forged-state-value"), Some(&cookie));
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("Authorization failed") && page.contains("state"),
        "{page}"
    );
    unchanged(&s);
    // State from another browser: no cookie.
    let (status, page) = hit(&callback, None);
    assert_eq!(status, 400);
    assert!(page.contains("another browser"), "{page}");
    unchanged(&s);
    assert_eq!(attempt_status(&s.server, ty, &id), "PENDING");
    // The real browser's callback completes; replaying it fails.
    let (status, page) = hit(&callback, Some(&cookie));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Authorization complete"));
    let (status, page) = hit(&callback, Some(&cookie));
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("already used"), "{page}");
    let key = s.server.api_key();
    let (status, _) = http_request(
        "DELETE",
        &format!(
            "{}/api/apps/{}/external-auth/integrations/{ty}/remove",
            s.server.url(),
            s.server.app_id()
        ),
        &[("api_key", &key)],
        None,
    )
    .unwrap();
    assert_eq!(status, 200);

    // Provider error parameter.
    let (id, callback, cookie) = start(&s);
    let state = callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let error_url = format!(
        "{}?error=access_denied&error_description=The+user+said+no&state={state}",
        callback.split_once('?').unwrap().0
    );
    let (status, page) = hit(&error_url, Some(&cookie));
    assert_eq!(status, 400);
    assert!(
        page.contains("access_denied") && page.contains("The user said no"),
        "{page}"
    );
    assert_eq!(attempt_status(&s.server, ty, &id), "FAILED");
    unchanged(&s);

    // Callback without a code.
    let (id, callback, cookie) = start(&s);
    let state = callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let (status, page) = hit(
        &format!("{}?state={state}", callback.split_once('?').unwrap().0),
        Some(&cookie),
    );
    assert_eq!(status, 400);
    assert!(page.contains("no authorization code"), "{page}");
    assert_eq!(attempt_status(&s.server, ty, &id), "FAILED");
    unchanged(&s);

    // Wrong PKCE verifier: browser B's state with browser A's code (code injection).
    let (_id_a, callback_a, _cookie_a) = start(&s);
    let (id_b, callback_b, cookie_b) = start(&s);
    let state_b = callback_b
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let (status, page) = hit(&with_state(&callback_a, &state_b), Some(&cookie_b));
    assert_eq!(status, 502, "{page}");
    assert!(page.contains("invalid_grant"), "{page}");
    assert_eq!(attempt_status(&s.server, ty, &id_b), "FAILED");
    unchanged(&s);

    // Expired state: our clock moves past the state's lifetime (600 s).
    let (id, callback, cookie) = start(&s);
    s.advance(Duration::from_secs(601));
    let (status, page) = hit(&callback, Some(&cookie));
    assert_eq!(status, 400);
    assert!(page.contains("expired"), "{page}");
    assert_eq!(attempt_status(&s.server, ty, &id), "FAILED");
    unchanged(&s);
}

#[test]
fn permanent_and_transient_provider_failures() {
    let s = setup_in_process("");
    let work = tempfile::tempdir().unwrap();
    authorize(&s, "oidc_custom", &["contacts.read"], None);

    // Transient: 500s, a hanging token endpoint, garbage — clear 503, status unchanged, recovery after.
    for mode in ["500", "timeout", "garbage"] {
        s.expire_tokens();
        s.oidc.control("POST", "fault", Some(json!({"mode": mode})));
        let (status, body) = s.server.token("oidc_custom");
        assert_eq!(status, 503, "{mode}: {body}");
        assert_eq!(body["code"], "PROVIDER_UNAVAILABLE", "{mode}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("try again"),
            "{body}"
        );
        assert_eq!(
            list_status(&s.server, "oidc_custom").as_deref(),
            Some("active"),
            "{mode}"
        );
        s.oidc
            .control("POST", "fault", Some(json!({"mode": "none"})));
        let (status, body) = s.server.token("oidc_custom");
        assert_eq!(status, 200, "{mode}: recovery: {body}");
    }

    // Permanent: the grant is revoked at the provider.
    s.oidc.control("POST", "revoke-grants", None);
    s.expire_tokens();
    let (status, body) = s.server.token("oidc_custom");
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "REAUTHORIZATION_REQUIRED");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("base44 connectors push"),
        "{body}"
    );
    assert_eq!(
        list_status(&s.server, "oidc_custom").as_deref(),
        Some("expired")
    );
    // No further refresh is attempted.
    let before = s.oidc.stats()["token_requests"]["refresh_token"].clone();
    assert_eq!(s.server.token("oidc_custom").0, 409);
    assert_eq!(s.oidc.stats()["token_requests"]["refresh_token"], before);
    // A new push offers consent again.
    write(
        &work.path().join("connectors/oidc_custom.jsonc"),
        r#"{"type": "oidc_custom", "scopes": ["contacts.read"]}"#,
    );
    let pushed = cli(
        &s.server,
        work.path(),
        &["connectors", "push", "-y", "--json"],
    );
    assert_eq!(pushed["results"][0]["action"], "needs_oauth", "{pushed}");
    let page = consent(json!({"url": pushed["results"][0]["redirectUrl"], "login": "alice"}));
    assert_eq!(page["heading"], "Authorization complete");
    assert_eq!(
        list_status(&s.server, "oidc_custom").as_deref(),
        Some("active")
    );
    assert_eq!(s.server.token("oidc_custom").0, 200);
}

#[test]
fn tokens_close_to_expiry_are_refreshed_in_the_background() {
    let s = setup_in_process(
        "background_refresh = true\nbackground_interval_secs = 1\nbackground_window_secs = 2",
    );
    let first = authorize(&s, "oidc_custom", &["contacts.read"], None);
    s.oidc.control("POST", "reset", None);
    // No token requests at all: once our clock brings the token within the
    // window, the background task refreshes it on its own, once per
    // lifetime, and the stored token stays usable.
    let refreshes = || {
        s.oidc.stats()["token_requests"]["refresh_token"]
            .as_u64()
            .unwrap_or(0)
    };
    assert_eq!(refreshes(), 0);
    s.advance(Duration::from_secs(3599));
    let deadline = Instant::now() + Duration::from_secs(30);
    while refreshes() == 0 {
        assert!(Instant::now() < deadline, "no background refresh");
        std::thread::sleep(Duration::from_millis(100));
    }
    let refreshes = refreshes();
    assert!(
        (1..=3).contains(&refreshes),
        "{refreshes} background refreshes of one token"
    );
    let (status, body) = s.server.token("oidc_custom");
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_ne!(token, first);
    assert_eq!(
        s.oidc
            .introspect("custom-client", "custom-secret", true, token)["active"],
        true
    );
    assert_eq!(
        s.oidc.stats()["refresh_errors"]["invalid_grant"]
            .as_u64()
            .unwrap_or(0),
        0
    );
}
