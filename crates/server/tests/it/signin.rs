//! Builder sign-in over HTTP (issue #12.1): invite links, session cookies
//! and their flags, CSRF and Origin refusals, safe redirects, the failed
//! sign-in limit (on a test clock), and the API's deafness to the cookie.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use connectors_engine::{BootstrapRequest, TestClock};

use crate::support::{call, Answer, TestServer};

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A browser in miniature: a cookie jar, and the page's origin on posts.
pub(crate) struct Browser {
    router: connectors_server::Front,
    origin: String,
    pub(crate) jar: BTreeMap<String, String>,
}

impl Browser {
    pub(crate) fn new(server: &TestServer) -> Self {
        Self {
            router: server.router.clone(),
            origin: server.url.clone(),
            jar: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, answer: &Answer) {
        for set in answer.headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Answer {
        let request = Request::get(path)
            .header("cookie", self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let answer = call(&self.router, request).await;
        self.absorb(&answer);
        answer
    }

    pub(crate) async fn post_from(
        &mut self,
        origin: Option<&str>,
        path: &str,
        form: &[(&str, &str)],
    ) -> Answer {
        let body = form
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let mut request = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", self.cookie_header());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let answer = call(&self.router, request.body(Body::from(body)).unwrap()).await;
        self.absorb(&answer);
        answer
    }

    /// Any request, with the jar's cookies and the page's origin.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("cookie", self.cookie_header())
            .header("origin", &self.origin);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = call(
            &self.router,
            request.body(Body::from(body.to_string())).unwrap(),
        )
        .await;
        self.absorb(&answer);
        answer
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let origin = self.origin.clone();
        self.post_from(Some(&origin), path, form).await
    }

    /// Signs in through the form; the answer to the post.
    async fn sign_in(&mut self, email: &str, password: &str, next: &str) -> Answer {
        let page = self.get(&format!("/signin?next={next}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let csrf = hidden(&page.text, "csrf");
        let next = hidden(&page.text, "next");
        self.post(
            "/signin",
            &[
                ("csrf", &csrf),
                ("next", &next),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }
}

/// The value of the hidden input `name` in a page.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no input {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].replace("&amp;", "&")
}

pub(crate) fn invite_path(server: &TestServer) -> String {
    let url = server.boot.login_url.expose();
    url.strip_prefix(&server.url)
        .expect("the invite is on the public URL")
        .to_string()
}

async fn server_on(clock: Option<&TestClock>, public_url: Option<&str>) -> TestServer {
    let mut builder = TestServer::builder().bootstrap(BootstrapRequest {
        workspace_name: "Acme workspace".into(),
        builder_email: "owner@example.com".into(),
        app_name: "Acme app".into(),
    });
    if let Some(clock) = clock {
        builder = builder.clock(clock.clock());
    }
    if let Some(url) = public_url {
        builder = builder.public_url(url);
    }
    builder.start().await
}

/// Follows the invite link and sets the password.
pub(crate) async fn accept_invite(browser: &mut Browser, path: &str) -> Answer {
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    browser
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await
}

#[tokio::test]
async fn an_invite_signs_the_builder_in_with_a_strict_cookie_until_sign_out() {
    let server = server_on(None, None).await;
    let mut browser = Browser::new(&server);
    let path = invite_path(&server);
    let page = browser.get(&path).await;
    assert!(page.text.contains("owner@example.com"), "{}", page.text);
    assert!(page
        .text
        .contains("<label for=\"password\">Password</label>"));
    assert!(page
        .text
        .contains("<label for=\"confirm_password\">Confirm password</label>"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(page.headers["referrer-policy"], "same-origin");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");

    let done = accept_invite(&mut browser, &path).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.headers["location"], "/");
    let cookie = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("b44_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "http public URL: {cookie}");
    // The session id is stored only hashed.
    let id = browser.jar["b44_session"].clone();
    assert_eq!(id.len(), 43);
    assert!(!server.database_holds(&id));

    let home = browser.get("/").await;
    assert_eq!(home.status, 200, "{}", home.text);
    assert!(home.text.contains("owner@example.com") && home.text.contains("Acme app"));
    assert!(home.text.contains("Acme workspace"));

    // The link is used up.
    let again = browser.get(&path).await;
    assert_eq!(again.status, 404);
    assert!(again.text.contains("already used"), "{}", again.text);

    let csrf = hidden(&home.text, "csrf");
    let out = browser.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.headers["location"], "/signin");
    assert!(!browser.jar.contains_key("b44_session"));
    let anonymous = browser.get("/").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.headers["location"], "/signin?next=%2F");
    // The old cookie is dead on the server too, not only forgotten.
    browser.jar.insert("b44_session".into(), id);
    assert_eq!(browser.get("/").await.status, 303);

    let back = browser.sign_in("owner@example.com", PASSWORD, "%2F").await;
    assert_eq!(back.status, 303, "{}", back.text);
    assert_eq!(browser.get("/").await.status, 200);
}

#[tokio::test]
async fn an_https_public_url_makes_the_cookie_secure() {
    let server = server_on(None, Some("https://connectors.example")).await;
    let mut browser = Browser::new(&server);
    let done = accept_invite(&mut browser, &invite_path(&server)).await;
    assert_eq!(done.status, 303, "{}", done.text);
    let cookies: Vec<_> = done.headers.get_all("set-cookie").iter().collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("b44_session=")
                && c.to_str().unwrap().ends_with("; Secure")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn forms_from_another_site_or_without_their_token_are_refused() {
    let server = server_on(None, None).await;
    let mut browser = Browser::new(&server);
    assert_eq!(
        accept_invite(&mut browser, &invite_path(&server))
            .await
            .status,
        303
    );
    let home = browser.get("/").await;
    let csrf = hidden(&home.text, "csrf");
    // Sign-out from another origin, from nowhere, and without the token.
    for (origin, token) in [
        (Some("https://evil.example"), csrf.as_str()),
        (Some("null"), csrf.as_str()),
        (None, csrf.as_str()),
        (Some(server.url.as_str()), ""),
        (Some(server.url.as_str()), "0000"),
    ] {
        let refused = browser
            .post_from(origin, "/signout", &[("csrf", token)])
            .await;
        assert_eq!(refused.status, 403, "{origin:?} {token}");
        assert!(refused.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let expected = if origin == Some(server.url.as_str()) {
            "Reload the page"
        } else {
            "another site"
        };
        assert!(refused.text.contains(expected), "{}", refused.text);
    }
    assert_eq!(browser.get("/").await.status, 200, "still signed in");

    // Sign-in: the token must be this browser's cookie, sealed by the server.
    let mut other = Browser::new(&server);
    let page = other.get("/signin").await;
    let foreign = hidden(&page.text, "csrf");
    let mut fresh = Browser::new(&server);
    let _ = fresh.get("/signin").await;
    let refused = fresh
        .post(
            "/signin",
            &[
                ("csrf", &foreign),
                ("email", "owner@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    let refused = other
        .post_from(
            Some("https://evil.example"),
            "/signin",
            &[
                ("csrf", &foreign),
                ("email", "owner@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.text.contains("another site"));
}

#[tokio::test]
async fn sign_in_goes_back_only_to_a_path_of_this_server() {
    let server = server_on(None, None).await;
    let mut browser = Browser::new(&server);
    assert_eq!(
        accept_invite(&mut browser, &invite_path(&server))
            .await
            .status,
        303
    );
    for (next, expected) in [
        ("%2Fsignin%3Fx%3D1", "/signin?x=1"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%2Fevil.example%2F", "/"),
        ("%2F%5Cevil.example", "/"),
    ] {
        let mut b = Browser::new(&server);
        let answer = b.sign_in("owner@example.com", PASSWORD, next).await;
        assert_eq!(answer.status, 303, "{next}: {}", answer.text);
        assert_eq!(answer.headers["location"], expected, "{next}");
    }
}

#[tokio::test]
async fn failed_sign_ins_are_limited_and_allowed_again_after_the_window() {
    let time = TestClock::new();
    let server = server_on(Some(&time), None).await;
    let mut browser = Browser::new(&server);
    assert_eq!(
        accept_invite(&mut browser, &invite_path(&server))
            .await
            .status,
        303
    );
    let mut guesser = Browser::new(&server);
    let unknown = guesser
        .sign_in("nobody@example.com", "wrong password!", "%2F")
        .await;
    assert_eq!(unknown.status, 401);
    for _ in 0..10 {
        let wrong = guesser
            .sign_in("owner@example.com", "wrong password!", "%2F")
            .await;
        assert_eq!(wrong.status, 401, "{}", wrong.text);
        assert!(wrong
            .text
            .contains("The email or the password is not right"));
        // The same text for an unknown email.
        assert_eq!(
            wrong.text.split("role=\"alert\"").nth(1).map(|s| &s[..60]),
            unknown
                .text
                .split("role=\"alert\"")
                .nth(1)
                .map(|s| &s[..60])
        );
    }
    let limited = guesser.sign_in("owner@example.com", PASSWORD, "%2F").await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert!(
        limited.text.contains("Try again in 15 minutes"),
        "{}",
        limited.text
    );
    // The window counts from the first failure (a test clock also moves
    // with real time, so not exactly 900).
    let retry: i64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&retry), "{retry}");
    time.advance(Duration::from_secs(15 * 60));
    let allowed = guesser.sign_in("owner@example.com", PASSWORD, "%2F").await;
    assert_eq!(allowed.status, 303, "{}", allowed.text);
}

#[tokio::test]
async fn the_api_ignores_the_session_cookie() {
    let server = server_on(None, None).await;
    let mut browser = Browser::new(&server);
    assert_eq!(
        accept_invite(&mut browser, &invite_path(&server))
            .await
            .status,
        303
    );
    let api = browser
        .get(&format!("/api/apps/{}/external-auth/list", server.app_id()))
        .await;
    assert_eq!(api.status, 401, "{}", api.text);
}

#[tokio::test]
async fn bad_invite_links_and_passwords_get_clear_pages() {
    let server = server_on(None, None).await;
    let mut browser = Browser::new(&server);
    let unknown = browser.get("/invite/not-a-token").await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text.contains("connectors-server invite"),
        "{}",
        unknown.text
    );
    let path = invite_path(&server);
    let page = browser.get(&path).await;
    let csrf = hidden(&page.text, "csrf");
    for (password, confirm, text) in [
        ("short", "short", "at least 12 characters"),
        (
            PASSWORD,
            "something else entirely",
            "The two passwords differ",
        ),
    ] {
        let answer = browser
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("password", password),
                    ("confirm_password", confirm),
                ],
            )
            .await;
        assert_eq!(answer.status, 400);
        assert!(answer.text.contains(text), "{}", answer.text);
    }
    // Still usable after the mistakes.
    assert_eq!(accept_invite(&mut browser, &path).await.status, 303);
}

/// Runs `tests/js/signin.mjs` with `args`; its one JSON line.
pub(crate) async fn signin_script(args: serde_json::Value) -> serde_json::Value {
    tokio::task::spawn_blocking(move || {
        connectors_testkit::oidc::run_browser_script("signin.mjs", &args)
    })
    .await
    .unwrap()
}

/// The acceptance flow in Chromium, by the pages' accessible names: invite
/// link → password set → signed in; a cross-site form post refused; sign
/// out; sign in again; ten wrong passwords, then the right one refused
/// too; after the window (the server's clock advanced) it works.
#[tokio::test]
async fn browser_invite_sign_out_sign_in_and_the_failure_limit() {
    let time = TestClock::new();
    let server = TestServer::builder()
        .bootstrap(BootstrapRequest {
            workspace_name: "Acme workspace".into(),
            builder_email: "owner@example.com".into(),
            app_name: "Acme app".into(),
        })
        .clock(time.clock())
        .serve()
        .start()
        .await;
    // Another origin (another port) whose page posts to our sign-out.
    let evil = connectors_testkit::serve(Router::new().route(
        "/",
        axum::routing::get({
            let target = format!("{}/signout", server.url);
            move || async move {
                axum::response::Html(format!(
                    "<!doctype html><title>Prize</title><form method=post action=\"{target}\">\
                     <button>Claim prize</button></form>"
                ))
            }
        }),
    ));
    let shots = std::env::var("SIGNIN_SCREENSHOTS").ok();
    let first = signin_script(serde_json::json!({
        "base": server.url,
        "invite": server.boot.login_url.expose(),
        "email": "owner@example.com",
        "password": PASSWORD,
        "phase": "first",
        "evil": format!("{}/", evil.url),
        "screenshots": shots,
    }))
    .await;
    assert_eq!(first["ok"], true, "{first:#}");
    time.advance(Duration::from_secs(15 * 60));
    let after = signin_script(serde_json::json!({
        "base": server.url,
        "email": "owner@example.com",
        "password": PASSWORD,
        "phase": "after",
    }))
    .await;
    assert_eq!(after["ok"], true, "{after:#}");
}

/// `connectors-server invite` prints a working link (creating the builder
/// when needed), and the bootstrap file carries `login_url`.
#[test]
fn the_invite_command_and_the_bootstrap_file_print_working_links() {
    let server = crate::support::start_server(crate::support::PROVIDERS_TOML, &[]);
    let login_url = server.boot["login_url"].as_str().expect("login_url");
    assert!(
        login_url.starts_with(&format!("{}/invite/", server.url)),
        "{login_url}"
    );
    let out = server.admin(
        &[
            "invite",
            "--email",
            "new@example.com",
            "--public-url",
            &server.url,
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("created builder new@example.com"),
        "{stdout}"
    );
    let link = stdout
        .split_whitespace()
        .find(|w| w.contains("/invite/"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let (status, page) = crate::support::http_request("GET", link, &[], None).unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("new@example.com"));
    // A second invite replaces the first.
    let again = server.admin(&["invite", "--email", "new@example.com"], None);
    assert!(again.status.success());
    assert!(!String::from_utf8_lossy(&again.stdout).contains("created builder"));
    let (status, _) = crate::support::http_request("GET", link, &[], None).unwrap();
    assert_eq!(status, 404);
    let bad = server.admin(
        &[
            "invite",
            "--email",
            "x@example.com",
            "--workspace-id",
            "nope",
        ],
        None,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no workspace `nope`"));
}

/// The device-login verification page (`/device`, issue #12.2): only for a
/// signed-in builder, never approving from the link alone, naming the
/// client and scopes, refusing wrong codes and other sites' posts, and
/// recording Approve or Deny for the CLI's next poll.
#[tokio::test]
async fn the_device_page_shows_the_request_and_records_the_builders_decision() {
    let time = TestClock::new();
    let server = server_on(Some(&time), None).await;
    let mut browser = Browser::new(&server);
    let asked = server
        .engine
        .start_device_login("base44_cli", None)
        .await
        .unwrap();
    let complete = asked
        .verification_uri_complete
        .strip_prefix(&server.url)
        .unwrap()
        .to_string();

    // Anonymous: to sign-in, and back here afterwards.
    let page = browser.get(&complete).await;
    assert_eq!(page.status, 303, "{}", page.text);
    let to = page.headers["location"].to_str().unwrap();
    assert!(to.starts_with("/signin?next=%2Fdevice"), "{to}");
    accept_invite(&mut browser, &invite_path(&server)).await;

    let page = browser.get("/device").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("<label for=\"user_code\">Code</label>"));
    let page = browser.get("/device?user_code=BBBB-BBBB").await;
    assert_eq!(page.status, 404, "{}", page.text);
    assert!(page.text.contains("no pending login request has this code"));

    // The link only shows what asks; nothing is approved by opening it.
    let page = browser.get(&complete).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Base44 CLI") && page.text.contains("apps:read"));
    assert!(page.text.contains(">Approve</button>") && page.text.contains(">Deny</button>"));
    let poll = server
        .engine
        .poll_device_login("base44_cli", asked.device_code.expose())
        .await;
    assert!(poll.is_err(), "pending until decided");
    let csrf = hidden(&page.text, "csrf");

    // Another site's post is refused and decides nothing.
    let refused = browser
        .post_from(
            Some("http://evil.example"),
            "/device",
            &[
                ("csrf", &csrf),
                ("user_code", &asked.user_code),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);

    let done = browser
        .post(
            "/device",
            &[
                ("csrf", &csrf),
                ("user_code", &asked.user_code),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("You denied this login"), "{}", done.text);
    // The CLI keeps to its interval between polls.
    time.advance(Duration::from_secs(6));
    let poll = server
        .engine
        .poll_device_login("base44_cli", asked.device_code.expose())
        .await;
    assert!(
        matches!(poll, Err(connectors_engine::DeviceError::AccessDenied)),
        "{poll:?}"
    );
    // Decided: the code no longer names a pending request.
    let again = browser
        .post(
            "/device",
            &[
                ("csrf", &csrf),
                ("user_code", &asked.user_code),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.text);
}

/// Requests an account page cannot read (forms of the wrong type, too
/// large or with a field twice; queries and paths that do not decode;
/// wrong methods, unknown paths) get the sign-in failure page, worded for
/// a builder at their own pages: nothing of consent or of
/// `base44 connectors push`. The consent pages keep their own.
#[tokio::test]
async fn account_pages_answer_unreadable_requests_with_their_own_failure_page() {
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON: Option<&str> = Some("application/json");
    const RELOAD: &str = "Reload the page and send the form again";
    const QUERY: &str = "a query this server cannot read";
    const METHOD: &str = "sent from its own form (POST)";
    let server = server_on(None, None).await;
    let mut browser = Browser::new(&server);
    let invite = invite_path(&server);
    let beyond_invite = format!("{invite}/more");
    let big = format!("csrf={}", "a".repeat(100_000));
    // Before signing in: the sign-in and invite forms, the sign-in page's
    // query, the invite's path, wrong methods and an unknown path.
    let anonymous = [
        ("POST", "/signin", JSON, "{}", 415, RELOAD),
        ("POST", "/signin", None, "email=a", 415, RELOAD),
        ("POST", "/signin", FORM, "email=a&email=b", 400, RELOAD),
        ("POST", &invite, FORM, &big, 413, RELOAD),
        ("POST", &invite, FORM, "password=a&password=b", 400, RELOAD),
        ("GET", "/signin?next=%2F&next=%2Fa", None, "", 400, QUERY),
        (
            "GET",
            "/invite/%FF%FE",
            None,
            "",
            400,
            "ask the server's operator for a new one",
        ),
        ("PUT", "/signin", None, "", 405, METHOD),
        ("GET", "/signout", None, "", 405, METHOD),
        (
            "GET",
            &beyond_invite,
            None,
            "",
            404,
            "There is no page at this address",
        ),
    ];
    // Signed in: the sign-out and device forms, the device page's query.
    let signed_in = [
        ("POST", "/signout", JSON, "{}", 415, RELOAD),
        ("POST", "/signout", FORM, &big, 413, RELOAD),
        ("POST", "/device", JSON, "{}", 415, RELOAD),
        (
            "POST",
            "/device",
            FORM,
            "decision=approve&decision=deny",
            400,
            RELOAD,
        ),
        (
            "GET",
            "/device?user_code=a&user_code=b",
            None,
            "",
            400,
            QUERY,
        ),
        ("DELETE", "/device", None, "", 405, METHOD),
    ];
    let check = |case: &str, answer: &Answer, status: u16, needle: &str| {
        assert_eq!(answer.status, status, "{case}: {}", answer.text);
        let content_type = answer.headers["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/html"),
            "{case}: {content_type}"
        );
        assert!(
            answer.text.contains("<title>Sign in</title>"),
            "{case}: {}",
            answer.text
        );
        assert!(
            answer.text.contains(needle),
            "{case}: {needle:?} in {}",
            answer.text
        );
        assert!(
            answer.text.contains("href=\"/signin\""),
            "{case}: {}",
            answer.text
        );
        for consent in [
            "Authorization failed",
            "authorization page",
            "connectors push",
            "terminal",
        ] {
            assert!(
                !answer.text.contains(consent),
                "{case}: {consent:?} in {}",
                answer.text
            );
        }
        assert_eq!(answer.headers["cache-control"], "no-store", "{case}");
    };
    for (method, path, content_type, body, status, needle) in anonymous {
        let answer = browser.send(method, path, content_type, body).await;
        check(
            &format!("{method} {path} {content_type:?}"),
            &answer,
            status,
            needle,
        );
    }
    assert_eq!(accept_invite(&mut browser, &invite).await.status, 303);
    for (method, path, content_type, body, status, needle) in signed_in {
        let answer = browser.send(method, path, content_type, body).await;
        check(
            &format!("{method} {path} {content_type:?}"),
            &answer,
            status,
            needle,
        );
    }
    assert_eq!(browser.get("/").await.status, 200, "still signed in");

    // The consent pages keep their wording for the same problems.
    for (method, path, content_type, body, status) in [
        ("POST", "/connect/abc", JSON, "{}", 415),
        ("GET", "/oauth/callback?state=a&state=b", None, "", 400),
        ("PUT", "/connect/abc", None, "", 405),
        ("GET", "/connect/a/b", None, "", 404),
    ] {
        let answer = browser.send(method, path, content_type, body).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.text);
        assert!(
            answer.text.contains("Authorization failed"),
            "{path}: {}",
            answer.text
        );
    }
}
