//! A stored login kept fresh (`auth::session`): refreshed before a request
//! when it expires within 60 s and after a 401, with one `POST /oauth/token`
//! either way and auth.json rewritten; a failed refresh deletes auth.json
//! and the request goes out with the old token, as the npm CLI does.

use serde_json::{json, Value};

use crate::support::{exec, on, Invocation, Reply, Route, ScriptedServer, Side};

const APP: &str = "{\"id\": \"app-parity\"}";

/// What a run left: each request as (`METHOD path`, `Authorization`),
/// auth.json afterwards, and the run's dump for failure messages.
struct Outcome {
    requests: Vec<(String, Option<String>)>,
    stored: Option<Value>,
    dump: String,
}

/// Runs `connectors push -y --json` (no local connectors) with auth.json
/// holding `old-access` (expiring at `expires_at` ms) and no API key.
fn push_with_login(expires_at: i64, routes: &[Route]) -> Outcome {
    let server = ScriptedServer::start(routes);
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let auth = home.join(".base44/auth/auth.json");
    crate::support::write_file(
        &auth,
        &json!({"accessToken": "old-access", "refreshToken": "old-refresh",
                "expiresAt": expires_at, "email": "me@example.com", "name": "Me"})
        .to_string(),
    );
    let invocation = Invocation {
        files: vec![
            ("base44/config.jsonc".into(), "{\"name\": \"S\"}".into()),
            ("base44/.app.jsonc".into(), APP.into()),
        ],
        cwd: String::new(),
        argv: ["connectors", "push", "-y", "--json"]
            .map(str::to_string)
            .to_vec(),
        env: vec![("BASE44_API_KEY".into(), String::new())],
    };
    let run = exec(
        Side::Ours,
        &tmp.path().join("work"),
        &home,
        &invocation,
        &server.origin,
        "",
    );
    let requests = server
        .requests()
        .iter()
        .map(|r| (r.short(), r.authorization.clone()))
        .collect();
    let stored = std::fs::read_to_string(&auth)
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    Outcome {
        requests,
        stored,
        dump: run.dump(),
    }
}

fn token_reply() -> Route {
    on(
        "POST",
        "/oauth/token",
        Reply::ok(json!({"access_token": "new-access", "token_type": "Bearer",
                         "expires_in": 3600, "refresh_token": "new-refresh"})),
    )
}

fn stripe_route() -> Route {
    on(
        "GET",
        "payments/stripe/status",
        Reply::ok(json!({"stripe_mode": null, "sandbox_claim_url": null})),
    )
}

/// The requests push makes after the token: the list, then Stripe.
fn rest() -> [Route; 2] {
    [
        on(
            "GET",
            "external-auth/list",
            Reply::ok(json!({"integrations": []})),
        ),
        stripe_route(),
    ]
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

#[test]
fn an_expiring_login_is_refreshed_before_the_request() {
    let mut routes = vec![token_reply()];
    routes.extend(rest());
    let Outcome {
        requests,
        stored,
        dump,
    } = push_with_login(1_000, &routes);
    assert_eq!(
        requests,
        [
            ("POST /oauth/token".to_string(), None),
            ("GET external-auth/list".to_string(), bearer("new-access")),
            (
                "GET payments/stripe/status".to_string(),
                bearer("new-access")
            ),
        ],
        "{dump}"
    );
    let stored = stored.expect("auth.json kept");
    assert_eq!(stored["accessToken"], "new-access");
    assert_eq!(stored["refreshToken"], "new-refresh");
}

#[test]
fn a_401_refreshes_once_and_retries() {
    let routes = vec![
        token_reply(),
        on(
            "GET",
            "external-auth/list",
            Reply::json(401, json!({"detail": "expired"})),
        )
        .then(Reply::ok(json!({"integrations": []}))),
        stripe_route(),
    ];
    let far = 4_000_000_000_000;
    let Outcome {
        requests,
        stored,
        dump,
    } = push_with_login(far, &routes);
    assert_eq!(
        requests,
        [
            ("GET external-auth/list".to_string(), bearer("old-access")),
            ("POST /oauth/token".to_string(), None),
            ("GET external-auth/list".to_string(), bearer("new-access")),
            (
                "GET payments/stripe/status".to_string(),
                bearer("new-access")
            ),
        ],
        "{dump}"
    );
    assert_eq!(stored.expect("auth.json kept")["accessToken"], "new-access");
}

#[test]
fn a_failed_refresh_deletes_the_login() {
    let mut routes = vec![on(
        "POST",
        "/oauth/token",
        Reply::json(400, json!({"error": "invalid_grant"})),
    )];
    routes.extend(rest());
    let Outcome {
        requests,
        stored,
        dump,
    } = push_with_login(1_000, &routes);
    assert_eq!(
        requests[0],
        ("POST /oauth/token".to_string(), None),
        "{dump}"
    );
    // This request still carries the old token; the next has none.
    assert_eq!(
        requests[1],
        ("GET external-auth/list".to_string(), bearer("old-access")),
        "{dump}"
    );
    assert!(stored.is_none(), "auth.json deleted\n{dump}");
}
