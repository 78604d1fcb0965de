//! Stripe end to end: the real npm CLI 0.1.18, ours and the real
//! `@base44/sdk` against `connectors-server`, which provisions claimable
//! sandboxes at a fake Stripe speaking the v2 wire format.

use std::process::Command;
use std::time::Duration;

use crate::support::fake_stripe::{publishable_key_of, secret_key_of, FakeStripe, PLATFORM_KEY};
use crate::support::{
    exec, http, repo_root, runtime, start_real_server, Invocation, RealServer, Run, Side,
};
use connectors_vault::Secret;
use serde_json::{json, Value};

const GCAL_SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";

fn config(stripe: Option<&FakeStripe>) -> String {
    let mut text = String::from(
        "[providers.googlecalendar]\nclient_id = \"google-client\"\nclient_secret = \"google-secret\"\n",
    );
    if let Some(fake) = stripe {
        text.push_str(&format!(
            "\n[stripe]\napi_key = \"{PLATFORM_KEY}\"\napi_base = \"{}\"\ntimeout_secs = 5\n",
            fake.origin
        ));
    }
    text
}

/// A project linked to the server's app, with an authorized Google Calendar
/// connector (imported, as no browser takes part here).
struct Project {
    server: RealServer,
    tmp: tempfile::TempDir,
}

impl Project {
    fn new(stripe: Option<&FakeStripe>) -> Self {
        let server = start_real_server(|_| config(stripe));
        runtime()
            .block_on(
                server
                    .engine
                    .import_credentials(connectors_engine::ImportCredentials {
                        app_id: server.app_id.clone(),
                        integration_type: "googlecalendar".into(),
                        builder_email: Some("owner@example.com".into()),
                        access_token: Secret::new("ya29.imported"),
                        refresh_token: None,
                        expires_in: None,
                        scopes: vec![GCAL_SCOPE.into()],
                        connection_config: None,
                    }),
            )
            .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let project = Self { server, tmp };
        crate::support::write_file(
            &project.work().join("base44/config.jsonc"),
            "{\n  \"name\": \"Stripe E2E\"\n}\n",
        );
        crate::support::write_file(
            &project.work().join("base44/.app.jsonc"),
            &format!("{{\"id\": \"{}\"}}\n", project.server.app_id),
        );
        project.write(
            "googlecalendar.json",
            &format!("{{\"type\": \"googlecalendar\", \"scopes\": [\"{GCAL_SCOPE}\"]}}\n"),
        );
        project
    }

    fn work(&self) -> std::path::PathBuf {
        self.tmp.path().join("work")
    }

    fn connector(&self, file: &str) -> std::path::PathBuf {
        self.work().join("base44/connectors").join(file)
    }

    fn write(&self, file: &str, text: &str) {
        crate::support::write_file(&self.connector(file), text);
    }

    fn run(&self, side: Side, argv: &str) -> Run {
        let invocation = Invocation {
            argv: argv.split_whitespace().map(str::to_string).collect(),
            ..Invocation::default()
        };
        let run = exec(
            side,
            &self.work(),
            &self.tmp.path().join("home"),
            &invocation,
            &self.server.origin,
            &self.server.api_key,
        );
        assert_eq!(run.code, 0, "{argv}: {}", run.dump());
        run
    }

    /// `push -y --json`'s result for `ty`.
    fn pushed(&self, side: Side, ty: &str) -> Value {
        let run = self.run(side, "connectors push -y --json");
        let json = run.json().unwrap();
        json["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == ty)
            .cloned()
            .unwrap_or_else(|| panic!("no {ty} result: {}", run.dump()))
    }

    fn api(&self, method: &str, path: &str) -> (u16, Value) {
        let url = format!(
            "{}/api/apps/{}/{path}",
            self.server.origin, self.server.app_id
        );
        let (status, _, body) =
            http(method, &url, &[("api_key", &self.server.api_key)], None).unwrap();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    fn status(&self) -> Value {
        let (status, body) = self.api("GET", "payments/stripe/status");
        assert_eq!(status, 200, "{body}");
        body
    }

    fn token(&self) -> (u16, Value) {
        let url = format!(
            "{}/api/apps/{}/external-auth/tokens/stripe",
            self.server.origin, self.server.app_id
        );
        let bearer = format!("Bearer {}", self.server.service_token);
        let (status, _, body) = http("GET", &url, &[("authorization", &bearer)], None).unwrap();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// The real `@base44/sdk`'s `connectors.getConnection('stripe')`.
    fn sdk_connection(&self) -> Value {
        let args = json!({"serverUrl": self.server.origin, "appId": self.server.app_id,
            "serviceToken": self.server.service_token, "token": null,
            "call": "getConnection", "type": "stripe"});
        let out = Command::new("node")
            .arg(repo_root().join("tests/js/sdk.mjs"))
            .arg(args.to_string())
            .output()
            .unwrap();
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())
            .unwrap_or_else(|e| panic!("sdk.mjs: {e}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

fn push_provisions_syncs_pulls_and_removes(side: Side) {
    let fake = FakeStripe::start();
    let p = Project::new(Some(&fake));
    p.write(
        "stripe.jsonc",
        "{\n  // payments\n  \"type\": \"stripe\"\n}\n",
    );

    // First push: provisioned, with the claim link, nothing opened.
    let run = p.run(side, "connectors push -y");
    let out = run.output();
    assert!(out.contains("Stripe sandbox provisioned"), "{}", run.dump());
    assert!(
        out.contains("https://dashboard.stripe.com/claim_sandbox/link1"),
        "{}",
        run.dump()
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let create = &requests[0];
    assert_eq!(
        (create.method.as_str(), create.path.as_str()),
        ("POST", "/v2/core/claimable_sandboxes")
    );
    assert_eq!(
        create.authorization.as_deref(),
        Some(format!("Bearer {PLATFORM_KEY}").as_str())
    );
    assert_eq!(
        create.stripe_version.as_deref(),
        Some(connectors_stripe::DEFAULT_VERSION)
    );
    assert_eq!(create.body["prefill"]["email"], "owner@example.com");
    assert_eq!(create.body["prefill"]["name"], "test app");
    let refresh_url = create.body["onboarding_link_details"]["refresh_url"]
        .as_str()
        .unwrap();
    assert!(
        refresh_url.starts_with(&format!("{}/stripe/claim/", p.server.origin)),
        "{refresh_url}"
    );
    let sandbox = fake.sandbox_ids().remove(0);
    assert_eq!(
        p.status(),
        json!({"stripe_mode": "sandbox", "sandbox_claim_url": "https://dashboard.stripe.com/claim_sandbox/link1"})
    );

    // Second push: synced, beside the OAuth connector; no second sandbox.
    assert_eq!(p.pushed(side, "stripe")["action"], "synced");
    assert_eq!(fake.created(), 1);

    // Functions get the sandbox keys; the database holds no plaintext key.
    let (status, token) = p.token();
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["access_token"], secret_key_of(&sandbox));
    assert_eq!(
        token["connection_config"],
        json!({"publishable_key": publishable_key_of(&sandbox), "account_id": "acct_test_1"})
    );
    assert!(p.server.database_holds(&publishable_key_of(&sandbox)));
    assert!(!p.server.database_holds(&secret_key_of(&sandbox)));
    assert!(!p.server.database_holds(PLATFORM_KEY));

    // Pull writes stripe.jsonc back while installed.
    std::fs::remove_file(p.connector("stripe.jsonc")).unwrap();
    p.run(side, "connectors pull");
    let pulled: Value =
        serde_json::from_str(&std::fs::read_to_string(p.connector("stripe.jsonc")).unwrap())
            .unwrap();
    assert_eq!(pulled["type"], "stripe");

    // Without the file, push removes it.
    std::fs::remove_file(p.connector("stripe.jsonc")).unwrap();
    assert_eq!(p.pushed(side, "stripe")["action"], "removed");
    assert_eq!(p.status()["stripe_mode"], Value::Null);
    assert_eq!(p.token().0, 404);

    // Stripe refusing: the push reports it and still syncs the rest.
    fake.fail(Some((401, "api_key_invalid", "Invalid API Key provided")));
    p.write("stripe.jsonc", "{\"type\": \"stripe\"}\n");
    let run = p.run(side, "connectors push -y");
    let out = run.output();
    assert!(out.contains("Failed: stripe"), "{}", run.dump());
    assert!(out.contains("Invalid API Key provided"), "{}", run.dump());
    assert!(out.contains("googlecalendar"), "{}", run.dump());
    let json = p.run(side, "connectors push -y --json").json().unwrap();
    let results = json["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["type"] == "googlecalendar" && r["action"] == "synced"));
    assert!(results
        .iter()
        .any(|r| r["type"] == "stripe" && r["action"] == "error"));
    assert_eq!(p.status()["stripe_mode"], Value::Null);
}

#[test]
fn npm_cli_provisions_syncs_pulls_and_removes_stripe() {
    push_provisions_syncs_pulls_and_removes(Side::Npm);
}

#[test]
fn our_cli_provisions_syncs_pulls_and_removes_stripe() {
    push_provisions_syncs_pulls_and_removes(Side::Ours);
}

#[test]
fn ten_concurrent_installs_create_one_sandbox() {
    let fake = FakeStripe::start();
    fake.set_create_delay(Duration::from_millis(800));
    let p = Project::new(Some(&fake));
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|_| scope.spawn(|| p.api("POST", "payments/stripe/install")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(fake.created(), 1, "{:?}", fake.requests());
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    let fresh = answers
        .iter()
        .filter(|(_, body)| body["already_installed"] == false)
        .count();
    assert_eq!(fresh, 1, "{answers:?}");
    let link = json!("https://dashboard.stripe.com/claim_sandbox/link1");
    assert!(answers.iter().all(|(_, body)| body["claim_url"] == link));
}

#[test]
fn sdk_get_connection_returns_the_sandbox_secret_key() {
    let fake = FakeStripe::start();
    let p = Project::new(Some(&fake));
    let (status, body) = p.api("POST", "payments/stripe/install");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["already_installed"], false);
    let sandbox = fake.sandbox_ids().remove(0);
    let connection = p.sdk_connection();
    assert_eq!(connection["ok"], true, "{connection}");
    let text = connection.to_string();
    assert!(text.contains(&secret_key_of(&sandbox)), "{connection}");
    assert!(text.contains(&publishable_key_of(&sandbox)), "{connection}");
}

#[test]
fn status_follows_stripe_and_renews_expired_claim_links() {
    let fake = FakeStripe::start();
    let p = Project::new(Some(&fake));
    assert_eq!(
        p.status(),
        json!({"stripe_mode": null, "sandbox_claim_url": null})
    );
    let (_, installed) = p.api("POST", "payments/stripe/install");
    let sandbox = fake.sandbox_ids().remove(0);
    let (_, refresh_url) = fake.link(&sandbox);

    // An expired link is renewed through Stripe, with the same refresh URL.
    fake.expire_link(&sandbox);
    let status = p.status();
    assert_eq!(status["stripe_mode"], "sandbox");
    assert_ne!(status["sandbox_claim_url"], installed["claim_url"]);
    assert_eq!(status["sandbox_claim_url"], json!(fake.link(&sandbox).0));
    let renewals: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/renew_onboarding_link"))
        .collect();
    assert_eq!(renewals.len(), 1);
    assert_eq!(
        renewals[0].body["onboarding_link_details"]["refresh_url"],
        json!(refresh_url)
    );
    // Install again answers the same sandbox.
    let (_, again) = p.api("POST", "payments/stripe/install");
    assert_eq!(again["already_installed"], true);
    assert_eq!(again["claim_url"], status["sandbox_claim_url"]);

    // Stripe's refresh URL: renew and redirect to the new link.
    fake.expire_link(&sandbox);
    let (code, headers, _) = http("GET", &refresh_url, &[], None).unwrap();
    assert_eq!(code, 303, "{headers}");
    let location = fake.link(&sandbox).0;
    assert!(
        headers
            .to_ascii_lowercase()
            .contains(&format!("location: {}", location.to_ascii_lowercase())),
        "{headers}"
    );
    let (code, _, page) = http(
        "GET",
        &format!("{}/stripe/claim/nope", p.server.origin),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(code, 404);
    assert!(page.contains("base44 connectors push"), "{page}");

    // Claimed: still a sandbox, nothing left to claim; live once Stripe says so.
    fake.set_status(&sandbox, "claimed");
    assert_eq!(
        p.status(),
        json!({"stripe_mode": "sandbox", "sandbox_claim_url": null})
    );
    assert_eq!(http("GET", &refresh_url, &[], None).unwrap().0, 404);
    fake.set_status(&sandbox, "live");
    assert_eq!(
        p.status(),
        json!({"stripe_mode": "live", "sandbox_claim_url": null})
    );
    assert_eq!(p.token().0, 200);

    // Stripe unreachable: the stored state is answered.
    fake.fail(Some((500, "api_error", "boom")));
    assert_eq!(p.status()["stripe_mode"], "live");
    fake.fail(None);

    // A sandbox Stripe deleted unclaimed is gone, and install makes a new one.
    let (_, removed) = p.api("DELETE", "payments/stripe");
    assert_eq!(removed, json!({"success": true}));
    let (_, removed) = p.api("DELETE", "payments/stripe");
    assert_eq!(removed, json!({"success": false}));
    p.api("POST", "payments/stripe/install");
    let second = fake.sandbox_ids().remove(1);
    fake.set_status(&second, "expired");
    assert_eq!(p.status()["stripe_mode"], Value::Null);
    assert_eq!(p.token().0, 404);
    let (status, body) = p.api("POST", "payments/stripe/install");
    assert_eq!(
        (status, &body["already_installed"]),
        (200, &json!(false)),
        "{body}"
    );
    assert_eq!(fake.created(), 3);
    // One Stripe no longer knows is as good as expired.
    fake.forget(&fake.sandbox_ids().remove(2));
    assert_eq!(p.status()["stripe_mode"], Value::Null);
    let (_, body) = p.api("POST", "payments/stripe/install");
    assert_eq!(body["already_installed"], false, "{body}");
    assert_eq!(fake.created(), 4);
}

#[test]
fn without_a_platform_key_install_says_what_to_configure() {
    let p = Project::new(None);
    let (status, body) = p.api("POST", "payments/stripe/install");
    assert_eq!(status, 422);
    assert_eq!(body["code"], "STRIPE_NOT_CONFIGURED");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("[stripe] api_key"),
        "{body}"
    );
    p.write("stripe.jsonc", "{\"type\": \"stripe\"}\n");
    for side in [Side::Npm, Side::Ours] {
        let run = p.run(side, "connectors push -y");
        assert!(run.output().contains("Failed: stripe"), "{}", run.dump());
        assert!(run.output().contains("[stripe] api_key"), "{}", run.dump());
    }
}
