//! Workspace connectors (#13.1–2): the admin API with Base44's paths, and
//! an app's shared connection: a builder consents in headless Chromium at a
//! real OAuth server (`oidc-provider`) through the workspace's own OAuth
//! app, and the real SDK's `getWorkspaceConnection` reads the token.

use connectors_testkit::runtime;
use serde_json::{json, Value};

use crate::support::oidc::{consent, OidcServer};
use crate::support::{http_request, TestServer};

/// The workspace's own OAuth app at the OAuth server; the operator's config
/// names only the provider's endpoints (`ws_oidc` has no client of its own).
pub(crate) const CLIENT: (&str, &str) = ("ws-client", "ws-secret");

pub(crate) struct Setup {
    pub(crate) oidc: OidcServer,
    pub(crate) server: TestServer,
}

pub(crate) fn setup() -> Setup {
    setup_with(connectors_engine::Clock::system(), "")
}

/// The OAuth server (the workspace's own OAuth app registered with our
/// `/api/external-auth/callback`) and our config for `public_url`.
pub(crate) fn oauth_server_and_config(public_url: &str, oauth: &str) -> (OidcServer, String) {
    let provider = OidcServer::start(json!({
        "port": 0,
        "clients": [{"client_id": CLIENT.0, "client_secret": CLIENT.1,
            "redirect_uris": [format!("{public_url}/api/external-auth/callback")],
            "token_endpoint_auth_method": "client_secret_basic"}],
        "scopes": ["openid", "offline_access", "calendar.read"],
        "accessTokenTtl": 3600,
        "rotateRefreshToken": true,
        "pkceRequired": true,
    }));
    let config = format!(
        r#"
public_url = "{public_url}"

[oauth]
background_refresh = false
{oauth}

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
    (provider, config)
}

/// [`setup`] on `clock`, with more `[oauth]` settings; the OAuth server
/// rotates refresh tokens.
pub(crate) fn setup_with(clock: connectors_engine::Clock, oauth: &str) -> Setup {
    let mut oidc = None;
    let server = runtime().block_on(
        TestServer::builder()
            .clock(clock)
            .config(|public_url| {
                let (provider, config) = oauth_server_and_config(public_url, oauth);
                oidc = Some(provider);
                config
            })
            .serve()
            .start(),
    );
    Setup {
        oidc: oidc.expect("the OAuth server started with ours"),
        server,
    }
}

pub(crate) fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let bearer = format!("Bearer {auth}");
    let body = body.map(|b| b.to_string());
    let mut headers = vec![("authorization", bearer.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let (status, text) = http_request(
        method,
        &format!("{}{path}", server.url),
        &headers,
        body.as_deref(),
    )
    .unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn connectors_path(server: &TestServer) -> String {
    format!("/api/workspace/{}/connectors", server.boot.workspace_id)
}

pub(crate) fn create(server: &TestServer, name: &str) -> (u16, Value) {
    call(
        server,
        "POST",
        &connectors_path(server),
        server.api_key(),
        Some(json!({
            "integration_type": "ws_oidc", "name": name, "credential_source": "byo",
            "client_id": CLIENT.0, "client_secret": CLIENT.1,
            "scopes": ["calendar.read"], "connection_config": {}
        })),
    )
}

#[test]
fn the_admin_api_keeps_secrets_and_names_and_stays_in_its_workspace() {
    let Setup { server, .. } = setup();
    let (status, made) = create(&server, "Sales calendar");
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    assert!(
        id.len() == 24
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{id}"
    );
    assert_eq!(made["has_client_secret"], true);
    assert!(
        !made.to_string().contains(CLIENT.1),
        "the secret is never returned: {made}"
    );
    assert!(
        !server.database_holds(CLIENT.1),
        "the secret is stored sealed"
    );

    // Names are unique in the workspace.
    let (status, dup) = create(&server, "Sales calendar");
    assert_eq!(status, 409, "{dup}");
    assert_eq!(dup["code"], "CONFLICT");

    let (status, list) = call(
        &server,
        "GET",
        &connectors_path(&server),
        server.api_key(),
        None,
    );
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["connectors"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(CLIENT.1));

    // Update: only what is sent changes; the type cannot.
    let one = format!("{}/{id}", connectors_path(&server));
    let (status, updated) = call(
        &server,
        "PUT",
        &one,
        server.api_key(),
        Some(json!({"name": "Calendar", "per_user_connection_enabled": false})),
    );
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Calendar");
    assert_eq!(updated["per_user_connection_enabled"], false);
    assert_eq!(updated["client_id"], CLIENT.0);
    let (status, refused) = call(
        &server,
        "PUT",
        &one,
        server.api_key(),
        Some(json!({"integration_type": "slack"})),
    );
    assert_eq!(status, 400, "{refused}");

    // Bad input is a clear 400.
    for (body, says) in [
        (
            json!({"integration_type": "stripe", "name": "s", "client_id": "c"}),
            "stripe",
        ),
        (
            json!({"integration_type": "slak", "name": "s", "client_id": "c"}),
            "slack",
        ),
        (
            json!({"integration_type": "ws_oidc", "name": "s"}),
            "client_id",
        ),
        (
            json!({"integration_type": "ws_oidc", "name": " ", "client_id": "c"}),
            "name",
        ),
        (
            json!({"integration_type": "ws_oidc", "name": "s", "client_id": "c", "credential_source": "base44"}),
            "byo",
        ),
        (
            json!({"integration_type": "ws_oidc", "name": "s", "client_id": "c", "extra": 1}),
            "extra",
        ),
    ] {
        let (status, answer) = call(
            &server,
            "POST",
            &connectors_path(&server),
            server.api_key(),
            Some(body.clone()),
        );
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["detail"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }

    // Another workspace's builder sees nothing of it; a service token is refused.
    let (other_key, other_workspace) = runtime().block_on(async {
        let ws = server.engine.create_workspace("other").await.unwrap();
        let builder = server
            .engine
            .create_builder(&ws.id, "eve@example.com")
            .await
            .unwrap();
        let key = server.engine.create_api_key(&builder.id).await.unwrap();
        (key.secret.expose().to_string(), ws.id)
    });
    for (method, body) in [("GET", None), ("POST", Some(json!({})))] {
        let (status, _) = call(&server, method, &connectors_path(&server), &other_key, body);
        assert_eq!(status, 404, "{method}");
    }
    for method in ["PUT", "DELETE"] {
        let path = format!("/api/workspace/{other_workspace}/connectors/{id}");
        let (status, answer) = call(
            &server,
            method,
            &path,
            &other_key,
            Some(json!({})).filter(|_| method == "PUT"),
        );
        assert_eq!(
            status, 404,
            "{method} another workspace's connector: {answer}"
        );
    }
    let (status, _) = call(
        &server,
        "GET",
        &connectors_path(&server),
        server.service_token(),
        None,
    );
    assert_eq!(status, 403);

    // The redirect URI to register comes from public_url.
    let (status, uris) = call(
        &server,
        "GET",
        &format!("/api/apps/{}/oauth-redirect-uris", server.app_id()),
        server.api_key(),
        None,
    );
    assert_eq!(status, 200, "{uris}");
    assert_eq!(
        uris["builder_redirect_uri"],
        format!("{}/api/external-auth/callback", server.url)
    );

    let (status, gone) = call(&server, "DELETE", &one, server.api_key(), None);
    assert_eq!(status, 200, "{gone}");
    assert_eq!(call(&server, "DELETE", &one, server.api_key(), None).0, 404);
}

/// The real SDK's `getWorkspaceConnection(connector_id)` for `app_id`.
fn sdk_workspace_connection(server: &TestServer, app_id: &str, token: &str, id: &str) -> Value {
    let args = json!({"serverUrl": server.url, "appId": app_id, "serviceToken": token,
        "token": null, "call": "getWorkspaceConnection", "type": id});
    crate::support::sdk(&args)
}

#[test]
fn a_builder_connects_an_app_once_and_its_functions_read_the_token() {
    let Setup { oidc, server } = setup();
    let (_, made) = create(&server, "Calendar");
    let id = made["id"].as_str().unwrap().to_string();
    let app = server.app_id().to_string();
    let connect = format!("/api/apps/{app}/external-auth/connectors/{id}");

    // Not connected yet: the SDK gets the mock's 404.
    let none = sdk_workspace_connection(&server, &app, server.service_token(), &id);
    assert_eq!(none["ok"], false, "{none}");
    assert_eq!(none["status"], 404, "{none}");
    assert_eq!(none["code"], "NOT_FOUND", "{none}");

    // The builder connects: the same six keys as the integrations PUT.
    let (status, started) = call(&server, "PUT", &connect, server.api_key(), None);
    assert_eq!(status, 200, "{started}");
    for key in [
        "redirect_url",
        "connection_id",
        "already_authorized",
        "error",
        "error_message",
        "other_user_email",
    ] {
        assert!(started.get(key).is_some(), "{key} in {started}");
    }
    let url = started["redirect_url"].as_str().unwrap();
    let page = consent(json!({"url": url, "login": "alice", "timeoutMs": 30000}));
    assert_eq!(page["heading"], "Authorization complete", "{page}");
    let (status, polled) = call(
        &server,
        "GET",
        &format!(
            "{connect}/status?connection_id={}",
            started["connection_id"].as_str().unwrap()
        ),
        server.api_key(),
        None,
    );
    assert_eq!(
        (status, &polled["status"]),
        (200, &json!("ACTIVE")),
        "{polled}"
    );

    // The app's functions read it; the OAuth server says it is live.
    let got = sdk_workspace_connection(&server, &app, server.service_token(), &id);
    assert_eq!(got["ok"], true, "{got}");
    let token = got["value"]["accessToken"].as_str().unwrap().to_string();
    assert_eq!(
        oidc.introspect(CLIENT.0, CLIENT.1, true, &token)["active"],
        true
    );
    let (_, raw) = call(
        &server,
        "GET",
        &format!("/api/apps/{app}/external-auth/tokens/connectors/{id}"),
        server.service_token(),
        None,
    );
    assert_eq!(raw["integration_type"], "ws_oidc", "{raw}");

    // The builder's list shows it; the app's own connectors do not.
    let (_, connections) = call(
        &server,
        "GET",
        &format!("/api/apps/{app}/external-auth/connectors"),
        server.api_key(),
        None,
    );
    assert_eq!(
        connections["connections"][0]["status"], "active",
        "{connections}"
    );
    assert_eq!(
        connections["connections"][0]["user_email"],
        "owner@example.com"
    );
    let (_, own) = call(
        &server,
        "GET",
        &format!("/api/apps/{app}/external-auth/list"),
        server.api_key(),
        None,
    );
    assert_eq!(
        own["integrations"].as_array().map(Vec::len),
        Some(0),
        "{own}"
    );

    // Connecting again with the same scopes needs no consent.
    let (_, again) = call(&server, "PUT", &connect, server.api_key(), None);
    assert_eq!(again["already_authorized"], true, "{again}");

    // A workspace admin turning builder connections off stops the token
    // reads of the connection already made (Base44's switch); on again,
    // it is served again.
    let switch = |on: bool| {
        let (status, body) = call(
            &server,
            "PUT",
            &format!("{}/{id}", connectors_path(&server)),
            server.api_key(),
            Some(json!({"builder_connection_enabled": on})),
        );
        assert_eq!(status, 200, "{body}");
    };
    switch(false);
    let off = sdk_workspace_connection(&server, &app, server.service_token(), &id);
    assert_eq!(
        (&off["status"], &off["code"]),
        (&json!(403), &json!("FORBIDDEN")),
        "{off}"
    );
    switch(true);
    let on = sdk_workspace_connection(&server, &app, server.service_token(), &id);
    assert_eq!(on["ok"], true, "{on}");

    // App B of the same workspace has its own (absent) connection.
    let (app_b, token_b) = runtime().block_on(async {
        let b = server
            .engine
            .create_app(&server.boot.workspace_id, "b")
            .await
            .unwrap();
        let t = server.engine.create_service_token(&b.id).await.unwrap();
        (b.id, t.secret.expose().to_string())
    });
    let other = sdk_workspace_connection(&server, &app_b, &token_b, &id);
    assert_eq!(other["status"], 404, "{other}");
    // App A's token is not app B's, nor a builder credential a service token.
    let cross = sdk_workspace_connection(&server, &app_b, server.service_token(), &id);
    assert_eq!(cross["status"], 401, "{cross}");
    let builder = sdk_workspace_connection(&server, &app, server.api_key(), &id);
    assert_eq!(builder["status"], 403, "{builder}");

    // Disconnecting removes it and revokes the grant at the provider.
    let (status, gone) = call(&server, "DELETE", &connect, server.api_key(), None);
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone, json!({"status": "disconnected", "connector_id": id}));
    let after = sdk_workspace_connection(&server, &app, server.service_token(), &id);
    assert_eq!(after["status"], 404, "{after}");
    let mut active = true;
    for _ in 0..500 {
        active = oidc.introspect(CLIENT.0, CLIENT.1, true, &token)["active"] == true;
        if !active {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!active, "the disconnected grant is revoked at the provider");
}

#[test]
fn deleting_a_workspace_connector_ends_every_connection_made_through_it() {
    let Setup { oidc, server } = setup();
    let (_, made) = create(&server, "Calendar");
    let id = made["id"].as_str().unwrap().to_string();
    let app = server.app_id().to_string();
    let connect = format!("/api/apps/{app}/external-auth/connectors/{id}");
    let (_, started) = call(&server, "PUT", &connect, server.api_key(), None);
    let page =
        consent(json!({"url": started["redirect_url"], "login": "alice", "timeoutMs": 30000}));
    assert_eq!(page["heading"], "Authorization complete", "{page}");
    let got = sdk_workspace_connection(&server, &app, server.service_token(), &id);
    let token = got["value"]["accessToken"].as_str().unwrap().to_string();

    // Builder connections switched off: no new consent.
    let one = format!("{}/{id}", connectors_path(&server));
    call(
        &server,
        "PUT",
        &one,
        server.api_key(),
        Some(json!({"builder_connection_enabled": false})),
    );
    let (status, refused) = call(
        &server,
        "PUT",
        &format!("{connect}?reconnect=true"),
        server.api_key(),
        None,
    );
    assert_eq!(status, 403, "{refused}");

    let (status, deleted) = call(&server, "DELETE", &one, server.api_key(), None);
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["connections_removed"], 1);
    let after = sdk_workspace_connection(&server, &app, server.service_token(), &id);
    assert_eq!(after["status"], 404, "{after}");
    let mut active = true;
    for _ in 0..500 {
        active = oidc.introspect(CLIENT.0, CLIENT.1, true, &token)["active"] == true;
        if !active {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!active, "the deleted connector's grants are revoked");
}

/// The operator's commands of the real binary: the secret comes from stdin
/// and is never printed; a bad `--config` is a clear error.
#[test]
fn operators_manage_workspace_connectors_from_the_command_line() {
    let server = crate::support::start_server(crate::support::PROVIDERS_TOML, &[]);
    let run = |args: &[&str], stdin: Option<&str>| {
        let out = server.admin(args, stdin);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, made, err) = run(
        &[
            "create-workspace-connector",
            "--type",
            "acme_crm",
            "--name",
            "CRM",
            "--client-id",
            "crm-client",
            "--client-secret-stdin",
            "--scope",
            "read",
            "--connection-config",
            "region=eu",
        ],
        Some("crm-secret-canary\n"),
    );
    assert!(ok, "{err}");
    assert!(made.contains("/api/external-auth/callback"), "{made}");
    let id = made
        .lines()
        .find_map(|l| l.strip_prefix("workspace_connector_id: "))
        .unwrap()
        .trim()
        .to_string();
    let (ok, listed, _) = run(&["list-workspace-connectors"], None);
    assert!(ok);
    assert!(
        listed.contains(&id) && listed.contains("secret=set"),
        "{listed}"
    );
    assert!(!listed.contains("crm-secret-canary") && !made.contains("crm-secret-canary"));

    let (status, body) = http_request(
        "GET",
        &format!(
            "{}/api/workspace/{}/connectors",
            server.url,
            server.boot["workspace_id"].as_str().unwrap()
        ),
        &[("api_key", &server.api_key())],
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#""region":"eu""#) && !body.contains("canary"),
        "{body}"
    );

    let (ok, _, err) = run(
        &[
            "create-workspace-connector",
            "--type",
            "acme_crm",
            "--name",
            "X",
            "--client-id",
            "c",
            "--connection-config",
            "novalue",
        ],
        None,
    );
    assert!(!ok && err.contains("key=value"), "{err}");
    let (ok, deleted, err) = run(&["delete-workspace-connector", "--id", &id], None);
    assert!(ok, "{err}");
    assert!(deleted.contains("0 connection(s)"), "{deleted}");
}
