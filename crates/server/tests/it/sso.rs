//! Single sign-on with the operator's OpenID Connect provider (`[auth.oidc]`,
//! issue #12.1) over HTTP, against a scriptable provider
//! (`testkit::fake_oidc`): the browser binding and `state`, the ID token's
//! checks, the email rules (verified, an existing builder only), and the
//! pages' answers; one Chromium run at the real `oidc-provider`.

use std::time::Duration;

use connectors_engine::{BootstrapRequest, TestClock};
use connectors_testkit::fake_oidc::{FakeIdp, Signing};
use connectors_testkit::CapturedLogs;
use serde_json::json;

use crate::signin::{hidden, Browser};
use crate::support::{Answer, TestServer, PROVIDERS_TOML};

const CLIENT_ID: &str = "connectors-sso";
const CLIENT_SECRET: &str = "sso-client-secret-canary";

fn sso_config(issuer: &str) -> String {
    format!(
        "{PROVIDERS_TOML}\n[auth.oidc]\nissuer = \"{issuer}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\ndisplay_name = \"Acme SSO\"\n"
    )
}

async fn sso_server(idp: &FakeIdp, clock: Option<&TestClock>) -> TestServer {
    let config = sso_config(&idp.issuer);
    let mut builder = TestServer::builder()
        .providers(&config)
        .bootstrap(BootstrapRequest {
            workspace_name: "Acme workspace".into(),
            builder_email: "owner@example.com".into(),
            app_name: "Acme app".into(),
        });
    if let Some(clock) = clock {
        builder = builder.clock(clock.clock());
    }
    builder.start().await
}

/// The sign-in page's SSO button, pressed: the answer (a redirect to the
/// provider when all is well).
async fn press_sso(browser: &mut Browser, next: &str) -> Answer {
    let page = browser.get(&format!("/signin?next={next}")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains(">Sign in with Acme SSO</button>"),
        "{}",
        page.text
    );
    let csrf = hidden(&page.text, "csrf");
    let next = hidden(&page.text, "next");
    browser
        .post("/signin/oidc", &[("csrf", &csrf), ("next", &next)])
        .await
}

/// Starts a sign-on and lets the provider answer: the callback path (on
/// our server) the browser is sent back to.
async fn callback_path(server: &TestServer, idp: &FakeIdp, browser: &mut Browser) -> String {
    let started = press_sso(browser, "%2F").await;
    assert_eq!(started.status, 303, "{}", started.text);
    let back = idp.authorize(started.headers["location"].to_str().unwrap());
    back.strip_prefix(&server.url)
        .unwrap_or_else(|| panic!("{back}"))
        .to_string()
}

/// A whole sign-on through the provider: the callback's answer.
async fn sign_on(server: &TestServer, idp: &FakeIdp, browser: &mut Browser) -> Answer {
    let path = callback_path(server, idp, browser).await;
    browser.get(&path).await
}

fn assert_page(answer: &Answer, status: u16, text: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert!(answer.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(answer.text.contains(text), "{text}: {}", answer.text);
}

fn verified(email: &str) -> serde_json::Value {
    json!({"email": email, "email_verified": true})
}

#[tokio::test]
async fn sso_signs_an_invited_builder_in_and_goes_on_to_next() {
    let idp = FakeIdp::start(CLIENT_ID, CLIENT_SECRET);
    let server = sso_server(&idp, None).await;
    // The provider's address may differ in case from the invited one.
    idp.claims(verified("Owner@Example.com"));
    let mut browser = Browser::new(&server);
    let started = press_sso(&mut browser, "%2Fdevice%3Fuser_code%3DX").await;
    assert_eq!(started.status, 303, "{}", started.text);
    let to = started.headers["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with(&format!("{}/authorize?", idp.issuer)),
        "{to}"
    );
    for part in [
        "scope=openid+email",
        "code_challenge_method=S256",
        "nonce=",
        "state=",
        "redirect_uri=http%3A%2F%2Fconnectors.test%2Fsignin%2Foidc%2Fcallback",
    ] {
        assert!(to.contains(part), "{part}: {to}");
    }
    let cookie = started
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .find(|c| c.starts_with("b44_sso="))
        .expect("the browser binding");
    for flag in [
        "Path=/signin/oidc/callback",
        "Max-Age=600",
        "HttpOnly",
        "SameSite=Lax",
    ] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    // Nothing of the sign-in in progress is readable in the cookie.
    let nonce = to
        .split("nonce=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(!cookie.contains(nonce), "{cookie}");

    let back = idp.authorize(&to);
    let path = back.strip_prefix(&server.url).unwrap().to_string();
    let done = browser.get(&path).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.headers["location"], "/device?user_code=X");
    let cookies: Vec<String> = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("b44_session=") && c.contains("HttpOnly")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("b44_sso=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    let home = browser.get("/").await;
    assert_eq!(home.status, 200, "{}", home.text);
    assert!(home.text.contains("owner@example.com"), "{}", home.text);
    assert_eq!(idp.requests().1, 1, "one code exchange");

    // The answer serves once: the binding is gone.
    let again = browser.get(&path).await;
    assert_page(&again, 400, "not started in this browser");
    // The secret never reaches the database.
    assert!(!server.database_holds(CLIENT_SECRET));
}

#[tokio::test]
async fn the_answer_must_come_back_to_the_browser_and_sign_in_that_started_it() {
    let time = TestClock::new();
    let idp = FakeIdp::start(CLIENT_ID, CLIENT_SECRET);
    let server = sso_server(&idp, Some(&time)).await;
    idp.claims(verified("owner@example.com"));
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::INFO));

    // Another browser, without the binding: refused.
    let mut starter = Browser::new(&server);
    let path = callback_path(&server, &idp, &mut starter).await;
    let mut other = Browser::new(&server);
    assert_page(&other.get(&path).await, 400, "not started in this browser");
    // A binding the server did not make (or tampered with).
    other.jar.insert(
        "b44_sso".into(),
        "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    );
    assert_page(&other.get(&path).await, 400, "damaged");
    let mut tampered = starter.jar["b44_sso"].clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    other.jar.insert("b44_sso".into(), tampered);
    assert_page(&other.get(&path).await, 400, "damaged");

    // A newer sign-in in the same browser replaces the older: the older
    // answer's state is not the binding's.
    let mut browser = Browser::new(&server);
    let first = callback_path(&server, &idp, &mut browser).await;
    let _second = callback_path(&server, &idp, &mut browser).await;
    assert_page(&browser.get(&first).await, 400, "its state differs");
    // No state at all.
    let _third = callback_path(&server, &idp, &mut browser).await;
    assert_page(
        &browser.get("/signin/oidc/callback?code=the-code").await,
        400,
        "its state differs",
    );

    // Too late.
    let late = callback_path(&server, &idp, &mut browser).await;
    time.advance(Duration::from_secs(601));
    assert_page(&browser.get(&late).await, 400, "expired");

    // The person declined at the provider.
    let declined = callback_path(&server, &idp, &mut browser).await;
    let state = declined.split("state=").nth(1).unwrap();
    let declined = format!(
        "/signin/oidc/callback?error=access_denied&error_description=The+user+said+no&state={state}"
    );
    assert_page(
        &browser.get(&declined).await,
        400,
        "did not sign you in: access_denied (The user said no)",
    );
    assert_eq!(idp.requests().1, 0, "no code was exchanged");
    assert_eq!(browser.get("/").await.status, 303, "nobody signed in");

    let text = logs.text();
    assert!(text.contains("single sign-on refused"), "{text}");
    assert!(
        !text.contains("the-code") && !text.contains(state),
        "{text}"
    );
}

#[tokio::test]
async fn an_answer_from_another_issuer_is_refused() {
    let idp = FakeIdp::start(CLIENT_ID, CLIENT_SECRET);
    idp.iss_parameter(true);
    let server = sso_server(&idp, None).await;
    idp.claims(verified("owner@example.com"));
    let mut browser = Browser::new(&server);
    // Another issuer, and none although the provider promises one.
    for forged_iss in [Some("https%3A%2F%2Fevil.example"), None] {
        let path = callback_path(&server, &idp, &mut browser).await;
        let (before, iss) = path.split_once("&iss=").expect("the provider sends iss");
        assert_eq!(iss, idp.issuer.replace(':', "%3A").replace('/', "%2F"));
        let forged = match forged_iss {
            Some(iss) => format!("{before}&iss={iss}"),
            None => before.to_string(),
        };
        assert_page(&browser.get(&forged).await, 400, "`iss` differs");
    }
    let ok = sign_on(&server, &idp, &mut browser).await;
    assert_eq!(ok.status, 303, "{}", ok.text);
}

#[tokio::test]
async fn the_id_token_is_checked_before_anyone_is_signed_in() {
    let idp = FakeIdp::start(CLIENT_ID, CLIENT_SECRET);
    let server = sso_server(&idp, None).await;
    let mut browser = Browser::new(&server);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (claims, signing, text) in [
        (
            json!({"nonce": "another sign-in's nonce"}),
            Signing::Published,
            "nonce is not this sign-in's",
        ),
        (
            json!({"nonce": null}),
            Signing::Published,
            "nonce is not this sign-in's",
        ),
        (json!({}), Signing::Forged, "signature does not verify"),
        (
            json!({"aud": "another-client"}),
            Signing::Published,
            "meant for another client",
        ),
        (
            json!({"iss": "https://evil.example"}),
            Signing::Published,
            "issued by `https://evil.example`",
        ),
        (json!({"exp": now - 120}), Signing::Published, "has expired"),
    ] {
        let mut claims = claims;
        claims["email"] = json!("owner@example.com");
        claims["email_verified"] = json!(true);
        idp.claims(claims.clone());
        idp.signing(signing);
        let answer = sign_on(&server, &idp, &mut browser).await;
        assert_page(&answer, 400, text);
        assert!(answer.text.contains("ID token was refused"), "{claims}");
        assert_eq!(
            browser.get("/").await.status,
            303,
            "{claims}: not signed in"
        );
    }
    // HS256 with the client secret is a valid signature (Core §10.1).
    idp.claims(verified("owner@example.com"));
    idp.signing(Signing::ClientSecret);
    let answer = sign_on(&server, &idp, &mut browser).await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    assert_eq!(browser.get("/").await.status, 200);
}

#[tokio::test]
async fn only_a_verified_email_of_an_existing_builder_signs_in() {
    let idp = FakeIdp::start(CLIENT_ID, CLIENT_SECRET);
    // Userinfo is advertised from the start (discovery is kept an hour);
    // it says no email yet.
    idp.userinfo(Some(json!({"sub": "user-1"})));
    let server = sso_server(&idp, None).await;
    let mut browser = Browser::new(&server);

    idp.claims(verified("stranger@example.com"));
    let answer = sign_on(&server, &idp, &mut browser).await;
    assert_page(
        &answer,
        403,
        "No builder on this server has the email address stranger@example.com",
    );
    assert!(answer
        .text
        .contains("connectors-server invite --email stranger@example.com"));

    idp.claims(json!({"email": "owner@example.com", "email_verified": false}));
    let answer = sign_on(&server, &idp, &mut browser).await;
    assert_page(
        &answer,
        403,
        "has not verified the email address owner@example.com",
    );
    idp.claims(json!({"email": "owner@example.com", "email_verified": "false"}));
    assert_page(
        &sign_on(&server, &idp, &mut browser).await,
        403,
        "has not verified",
    );

    // No email, neither in the ID token nor from userinfo.
    idp.claims(json!({}));
    assert_page(
        &sign_on(&server, &idp, &mut browser).await,
        403,
        "did not tell this server your email address",
    );
    // Userinfo about someone else is not believed.
    idp.userinfo(Some(
        json!({"sub": "user-2", "email": "owner@example.com", "email_verified": true}),
    ));
    assert_page(
        &sign_on(&server, &idp, &mut browser).await,
        400,
        "userinfo describes another subject",
    );
    assert_eq!(browser.get("/").await.status, 303, "nobody signed in");

    // The email from userinfo when the ID token has none (what providers
    // that keep ID tokens small do).
    idp.userinfo(Some(
        json!({"sub": "user-1", "email": "owner@example.com", "email_verified": true}),
    ));
    let answer = sign_on(&server, &idp, &mut browser).await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    assert_eq!(browser.get("/").await.status, 200);
    // A builder invited later signs in the same way (SSO made no account
    // for the stranger meanwhile).
    let invited = server
        .engine
        .invite(&server.boot.workspace_id, "stranger@example.com")
        .await
        .unwrap();
    assert!(invited.created_builder, "SSO created no builder");
    idp.claims(verified("stranger@example.com"));
    let mut stranger = Browser::new(&server);
    let answer = sign_on(&server, &idp, &mut stranger).await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    let home = stranger.get("/").await;
    assert!(home.text.contains("stranger@example.com"), "{}", home.text);
}

#[tokio::test]
async fn without_auth_oidc_there_is_no_button_and_the_routes_are_pages() {
    let server = crate::support::in_process().await;
    let mut browser = Browser::new(&server);
    let page = browser.get("/signin").await;
    assert!(!page.text.contains("Sign in with"), "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    let answer = browser.post("/signin/oidc", &[("csrf", &csrf)]).await;
    assert_page(&answer, 404, "Single sign-on is not set up");
    let answer = browser.get("/signin/oidc/callback?state=x&code=y").await;
    assert_page(&answer, 404, "Single sign-on is not set up");
    // Other sites cannot start one.
    let answer = browser
        .post_from(
            Some("https://evil.example"),
            "/signin/oidc",
            &[("csrf", &csrf)],
        )
        .await;
    assert_page(&answer, 403, "another site");
    assert_page(&browser.get("/signin/oidc").await, 405, "");
    assert_page(&browser.get("/signin/oidc/nothing").await, 404, "");
    assert_page(
        &browser.get("/signin/oidc/callback?state=a&state=b").await,
        400,
        "cannot read",
    );
}

#[tokio::test]
async fn a_discovery_document_of_another_issuer_is_refused() {
    let idp = FakeIdp::start(CLIENT_ID, CLIENT_SECRET);
    idp.issuer_in_document("https://id.other.example");
    let server = sso_server(&idp, None).await;
    let mut browser = Browser::new(&server);
    let answer = press_sso(&mut browser, "%2F").await;
    assert_page(&answer, 503, "names the issuer `https://id.other.example`");
    assert!(answer.text.contains("[auth.oidc]"), "{}", answer.text);
    // Failures are not kept: the next press asks again.
    let _ = press_sso(&mut browser, "%2F").await;
    assert_eq!(idp.requests().0, 2);
}

/// The acceptance flow in Chromium at the real `oidc-provider`: the
/// sign-in page → "Sign in with Test SSO" → the provider's login and
/// consent → back signed in at `next`. The bootstrap builder is alice's
/// address; mallory, whom nobody invited, gets the page saying so. The
/// provider keeps the email out of the ID token, so it comes from userinfo.
#[tokio::test]
async fn browser_signs_in_with_sso_at_a_real_provider() {
    let mut oidc = None;
    let server = TestServer::builder()
        .bootstrap(BootstrapRequest {
            workspace_name: "Acme workspace".into(),
            builder_email: "alice@example.com".into(),
            app_name: "Acme app".into(),
        })
        .config(|url| {
            let provider = crate::support::oidc::OidcServer::start(json!({
                "port": 0,
                "clients": [{
                    "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                    "redirect_uris": [format!("{url}/signin/oidc/callback")],
                    "token_endpoint_auth_method": "client_secret_basic",
                }],
                "scopes": ["openid", "email"],
                "accounts": {
                    "alice": {"email": "alice@example.com", "email_verified": true},
                    "mallory": {"email": "mallory@example.com", "email_verified": true},
                },
            }));
            let config = sso_config(&provider.endpoint("issuer")).replace("Acme SSO", "Test SSO");
            oidc = Some(provider);
            config
        })
        .serve()
        .start()
        .await;
    let _oidc = oidc.expect("the provider started with our server");
    let shots = std::env::var("SIGNIN_SCREENSHOTS").ok();
    let run = |login: &str, expect: &str| {
        crate::signin::signin_script(json!({
            "base": server.url,
            "phase": "sso",
            "button": "Sign in with Test SSO",
            "login": login,
            "email": "alice@example.com",
            "next": "/",
            "expect": expect,
            "screenshots": shots,
        }))
    };
    let alice = run("alice", "signed-in").await;
    assert_eq!(alice["ok"], true, "{alice:#}");
    let mallory = run(
        "mallory",
        "No builder on this server has the email address mallory@example.com",
    )
    .await;
    assert_eq!(mallory["ok"], true, "{mallory:#}");
}
