//! `base44 connectors workspace list | connect | disconnect` (#13.2), end to
//! end: our CLI against our server in process, with a workspace connector
//! (the workspace's own OAuth app at a real `oidc-provider`) created through
//! the admin API; consents in headless Chromium, once driven by the test
//! from `connect --json`'s link and once by the CLI itself on a
//! pseudo-terminal through `$BROWSER`.

use std::path::Path;

use connectors_testkit::oidc::{consent, OidcServer};
use serde_json::{json, Value};

use crate::interactive::{answer, expect, expect_success, spawn_cli, ConsentBrowser};
use crate::support::{exec, http, start_real_server, Invocation, RealServer, Run, Side};

/// The workspace's own OAuth app; the operator's config names only the
/// provider's endpoints (`ws_oidc` has no client of its own).
const CLIENT: (&str, &str) = ("ws-client", "ws-secret");

/// Our server, whose `ws_oidc` provider is the OAuth server, and a
/// workspace connector of it; answers the connector's id.
fn servers() -> (RealServer, OidcServer, String) {
    let mut oidc = None;
    let server = start_real_server(|origin| {
        let provider = OidcServer::start(json!({
            "port": 0,
            "clients": [{"client_id": CLIENT.0, "client_secret": CLIENT.1,
                "redirect_uris": [format!("{origin}/api/external-auth/callback")],
                "token_endpoint_auth_method": "client_secret_basic"}],
            "scopes": ["openid", "offline_access", "calendar.read"],
            "accessTokenTtl": 3600,
            "pkceRequired": true,
        }));
        let config = format!(
            r#"
[oauth]
background_refresh = false

[providers.ws_oidc]
display_name = "Workspace OIDC"
authorization_url = "{}"
token_url = "{}"
revocation_url = "{}"
client_auth = "client_secret_basic"
required_scopes = ["openid", "offline_access"]
"#,
            provider.endpoint("authorization_endpoint"),
            provider.endpoint("token_endpoint"),
            provider.endpoint("revocation_endpoint"),
        );
        oidc = Some(provider);
        config
    });
    let (status, made) = admin(
        &server,
        "POST",
        "",
        Some(json!({
            "integration_type": "ws_oidc", "name": "Calendar", "credential_source": "byo",
            "client_id": CLIENT.0, "client_secret": CLIENT.1, "scopes": ["calendar.read"]
        })),
    );
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    (server, oidc.expect("the OAuth server started"), id)
}

/// The workspace admin API at `/api/workspace/{id}/connectors{rest}`.
fn admin(server: &RealServer, method: &str, rest: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!(
        "{}/api/workspace/{}/connectors{rest}",
        server.origin, server.workspace_id
    );
    let body = body.map(|b| b.to_string());
    let mut headers = vec![("api_key", server.api_key.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let (status, _, text) = http(method, &url, &headers, body.as_deref()).unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `base44 connectors workspace <args> --app-id <app>`, not on a terminal.
fn run(server: &RealServer, dir: &Path, args: &[&str]) -> Run {
    let mut argv: Vec<String> = ["connectors", "workspace"]
        .iter()
        .chain(args)
        .map(|s| s.to_string())
        .collect();
    argv.extend(["--app-id".to_string(), server.app_id.clone()]);
    let invocation = Invocation {
        argv,
        ..Invocation::default()
    };
    exec(
        Side::Ours,
        &dir.join("work"),
        &dir.join("home"),
        &invocation,
        &server.origin,
        &server.api_key,
    )
}

/// `list --json`'s connections.
fn connections(server: &RealServer, dir: &Path) -> Vec<Value> {
    let listed = run(server, dir, &["list", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.dump());
    let doc = listed.json().unwrap();
    doc["connections"].as_array().cloned().unwrap()
}

#[test]
fn workspace_connections_are_listed_connected_and_disconnected() {
    let (server, _oidc, id) = servers();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let empty = run(&server, dir, &["list"]);
    assert_eq!(empty.code, 0, "{}", empty.dump());
    assert!(
        empty
            .output()
            .contains("No workspace connections on this app"),
        "{}",
        empty.dump()
    );

    // `--json` prints the link and prompts for nothing.
    let started = run(&server, dir, &["connect", &id, "--json"]);
    assert_eq!(started.code, 0, "{}", started.dump());
    let doc = started.json().unwrap();
    let keys = [
        "connectorId",
        "alreadyAuthorized",
        "redirectUrl",
        "connectionId",
    ];
    assert_eq!(doc.as_object().unwrap().len(), keys.len(), "{doc}");
    let at: Vec<usize> = keys
        .iter()
        .map(|k| started.stdout.find(&format!("\"{k}\"")).expect(k))
        .collect();
    assert!(at.is_sorted(), "keys in this order: {}", started.stdout);
    assert_eq!(doc["connectorId"], id.as_str());
    assert_eq!(doc["alreadyAuthorized"], false);
    let link = doc["redirectUrl"]
        .as_str()
        .unwrap()
        .replace("<ORIGIN>", &server.origin);
    assert!(
        link.starts_with(&format!("{}/connect/", server.origin)),
        "{doc}"
    );

    // Not finished yet: listed as disconnected.
    let listed = connections(&server, dir);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["connector_id"], id.as_str());
    assert_eq!(listed[0]["status"], "disconnected");

    // The consent, in headless Chromium at the OAuth server.
    let page = consent(json!({"url": link, "login": "alice", "timeoutMs": 60000}));
    assert_eq!(page["heading"], "Authorization complete", "{page}");
    let listed = connections(&server, dir);
    assert_eq!(listed[0]["status"], "active", "{listed:?}");
    assert_eq!(listed[0]["integration_type"], "ws_oidc");
    assert_eq!(listed[0]["user_email"], "owner@example.com");
    let table = run(&server, dir, &["list"]);
    assert_eq!(table.code, 0, "{}", table.dump());
    let line = table
        .stdout
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{}", table.dump()));
    for word in ["ws_oidc", "active", "owner@example.com"] {
        assert!(line.contains(word), "{word} in {line:?}");
    }
    assert!(table.stdout.starts_with("CONNECTOR"), "{}", table.dump());

    // Connecting again needs no consent; --reconnect asks for one.
    let again = run(&server, dir, &["connect", &id]);
    assert_eq!(again.code, 0, "{}", again.dump());
    assert!(
        again.output().contains("is already connected to this app"),
        "{}",
        again.dump()
    );
    let again = run(&server, dir, &["connect", &id, "--json"]);
    assert_eq!(again.json().unwrap()["alreadyAuthorized"], true);
    let redo = run(&server, dir, &["connect", &id, "--reconnect"]);
    assert_eq!(redo.code, 0, "{}", redo.dump());
    assert!(
        redo.output().contains("<ORIGIN>/connect/"),
        "the link, not on a terminal: {}",
        redo.dump()
    );
    assert!(
        redo.output().contains("Open the link above"),
        "{}",
        redo.dump()
    );
    assert!(
        !redo.output().contains("Open browser"),
        "no prompt off a terminal: {}",
        redo.dump()
    );

    // Disconnecting off a terminal needs -y, as push does.
    let refused = run(&server, dir, &["disconnect", &id]);
    assert_eq!(refused.code, 1, "{}", refused.dump());
    assert!(
        refused
            .output()
            .contains("--yes is required in non-interactive mode"),
        "{}",
        refused.dump()
    );
    assert!(
        refused
            .output()
            .contains(&format!("base44 connectors workspace disconnect {id} -y")),
        "{}",
        refused.dump()
    );
    assert_eq!(connections(&server, dir).len(), 1, "nothing was removed");

    let gone = run(&server, dir, &["disconnect", &id, "-y", "--json"]);
    assert_eq!(gone.code, 0, "{}", gone.dump());
    assert_eq!(
        gone.json().unwrap(),
        json!({"status": "disconnected", "connector_id": id})
    );
    assert!(connections(&server, dir).is_empty());

    // Disconnecting what is not connected: a 404 naming the id.
    let missing = run(&server, dir, &["disconnect", &id, "-y"]);
    assert_eq!(missing.code, 1, "{}", missing.dump());
    assert!(missing.stderr.contains(&id), "{}", missing.dump());
    assert!(
        missing
            .stderr
            .contains("'base44 connectors workspace list'"),
        "{}",
        missing.dump()
    );
}

#[test]
fn unknown_and_switched_off_connectors_say_what_to_do() {
    let (server, _oidc, id) = servers();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let unknown = "0123456789abcdef01234567";
    let missing = run(&server, dir, &["connect", unknown]);
    assert_eq!(missing.code, 1, "{}", missing.dump());
    let text = missing.stderr.clone();
    assert!(
        text.contains(&format!("Error connecting workspace connector {unknown}:")),
        "{}",
        missing.dump()
    );
    assert!(
        text.contains("'base44 connectors workspace list'") && text.contains("workspace admin"),
        "{}",
        missing.dump()
    );
    // The same in the --json envelope.
    let missing = run(&server, dir, &["connect", unknown, "--json"]);
    let envelope = missing.json().unwrap();
    assert_eq!(envelope["statusCode"], 404, "{envelope}");
    assert!(
        envelope.to_string().contains("connectors workspace list"),
        "{envelope}"
    );

    // A workspace admin switched builder connections off.
    let (status, updated) = admin(
        &server,
        "PUT",
        &format!("/{id}"),
        Some(json!({"builder_connection_enabled": false})),
    );
    assert_eq!(status, 200, "{updated}");
    let forbidden = run(&server, dir, &["connect", &id]);
    assert_eq!(forbidden.code, 1, "{}", forbidden.dump());
    assert!(
        forbidden
            .stderr
            .contains("a workspace admin can turn them on"),
        "{}",
        forbidden.dump()
    );
    assert!(connections(&server, dir).is_empty());

    // A connector id is one path segment, whatever it holds.
    let odd = run(&server, dir, &["disconnect", "../../list", "-y"]);
    assert_eq!(odd.code, 1, "{}", odd.dump());
    assert!(odd.stderr.contains("../../list"), "{}", odd.dump());
}

/// On a terminal: connect opens the "browser" (headless Chromium consenting
/// at the OAuth server), polls the workspace connection's status until it
/// is ACTIVE; disconnect asks first.
#[test]
fn connect_on_a_terminal_waits_for_the_consent_and_disconnect_confirms() {
    let (server, _oidc, id) = servers();
    let tmp = tempfile::tempdir().unwrap();
    let (work, home) = (tmp.path().join("work"), tmp.path().join("home"));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let browser = ConsentBrowser::new(tmp.path());
    let log = || browser.log();
    let args = |sub: &[&str]| -> Vec<String> {
        let mut argv: Vec<String> = ["connectors", "workspace"]
            .iter()
            .chain(sub)
            .map(|s| s.to_string())
            .collect();
        argv.extend(["--app-id".to_string(), server.app_id.clone()]);
        argv
    };

    let argv = args(&["connect", &id]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut cli = spawn_cli(&server, &work, &home, &browser.script, &argv);
    expect(&mut cli, &format!("Authorize connector {id} here:"), &log);
    answer(&mut cli, "Open browser to authorize now?", "y", &log);
    expect(
        &mut cli,
        &format!("connector {id} authorization complete"),
        &log,
    );
    expect(
        &mut cli,
        &format!("Workspace connector {id} connected."),
        &log,
    );
    expect_success(&mut cli, &log);
    assert_eq!(
        browser.result()["heading"],
        "Authorization complete",
        "{}",
        log()
    );
    let listed = connections(&server, tmp.path());
    assert_eq!(listed[0]["status"], "active", "{listed:?}");

    // Disconnect asks; "n" keeps it, "y" removes it.
    let no_log = String::new;
    let argv = args(&["disconnect", &id]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut cli = spawn_cli(&server, &work, &home, &browser.script, &argv);
    answer(&mut cli, "Are you sure you want to continue?", "n", &no_log);
    expect(&mut cli, "Disconnect cancelled", &no_log);
    expect_success(&mut cli, &no_log);
    assert_eq!(connections(&server, tmp.path()).len(), 1);

    let mut cli = spawn_cli(&server, &work, &home, &browser.script, &argv);
    answer(&mut cli, "Are you sure you want to continue?", "y", &no_log);
    expect(
        &mut cli,
        &format!("Workspace connector {id} disconnected from this app"),
        &no_log,
    );
    expect_success(&mut cli, &no_log);
    assert!(connections(&server, tmp.path()).is_empty());
}
