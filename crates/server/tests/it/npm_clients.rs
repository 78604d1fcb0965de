//! The real npm `base44` CLI 0.1.18 and the real `@base44/sdk` 0.8.50
//! against the server binary, started as the README says.

use std::path::Path;
use std::process::Command;

use crate::support::{http_request, js_dir, start_server, ServerProcess, PROVIDERS_TOML};

struct CliRun {
    code: i32,
    stdout: String,
    stderr: String,
}

impl CliRun {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

fn base44(server: &ServerProcess, cwd: &Path, home: &Path, args: &[&str]) -> CliRun {
    let out = Command::new(js_dir().join("node_modules/.bin/base44"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("BASE44_API_URL", &server.url)
        .env("BASE44_DISABLE_TELEMETRY", "1")
        .env("BASE44_CLI_TEST_OVERRIDES", r#"{"latestVersion":null}"#)
        .env("BASE44_API_KEY", server.api_key())
        .env_remove("BASE44_APP_ID")
        .env_remove("BASE44_ACCESS_TOKEN")
        .env_remove("BASE44_REFRESH_TOKEN")
        .output()
        .expect("run the npm base44 CLI");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn sdk(
    server: &ServerProcess,
    app_id: &str,
    service_token: Option<&str>,
    ty: &str,
) -> serde_json::Value {
    let args = serde_json::json!({
        "serverUrl": server.url,
        "appId": app_id,
        "serviceToken": service_token,
        "token": null,
        "call": "getConnection",
        "type": ty,
    });
    crate::support::sdk(&args)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn npm_cli_push_pull_and_list_available() {
    let server = start_server(PROVIDERS_TOML, &[]);
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let project = work.path().join("project");
    write(
        &project.join("base44/config.jsonc"),
        "{\n  // test project\n  \"name\": \"Test\"\n}\n",
    );
    write(
        &project.join("base44/.app.jsonc"),
        &format!("{{\"id\": \"{}\"}}", server.app_id()),
    );
    let dir = project.join("base44/connectors");
    write(&dir.join("acme_crm.jsonc"), "{\n  // custom provider from the server config\n  \"type\": \"acme_crm\",\n  \"scopes\": [\"contacts.read\"],\n}\n");
    write(
        &dir.join("googlecalendar.json"),
        r#"{"type": "googlecalendar", "scopes": ["https://www.googleapis.com/auth/calendar.readonly"]}"#,
    );
    write(&dir.join("slack.json"), r#"{"type": "slack"}"#);

    // list-available --json lists the catalog, custom provider included.
    let run = base44(
        &server,
        &project,
        &home,
        &["connectors", "list-available", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed = run.json();
    let types: Vec<&str> = listed["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["integrationType"].as_str().unwrap())
        .collect();
    let (status, catalog) = http_request(
        "GET",
        &format!("{}/api/external-auth/available-integrations", server.url),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    let catalog: serde_json::Value = serde_json::from_str(&catalog).unwrap();
    assert_eq!(
        types.len(),
        catalog["integrations"].as_array().unwrap().len()
    );
    assert!(
        types.contains(&"acme_crm")
            && types.contains(&"share_point")
            && types.contains(&"googlecalendar")
    );
    let sp = listed["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["integrationType"] == "share_point")
        .unwrap();
    assert_eq!(
        sp["connectionConfigFields"][0]["validationPattern"],
        "^[a-zA-Z0-9/_-]+$"
    );

    // push: each connector needs OAuth, with a redirect_url on our server.
    let run = base44(
        &server,
        &project,
        &home,
        &["connectors", "push", "-y", "--json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let results = run.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 3, "{results:?}");
    for result in &results {
        assert_eq!(result["action"], "needs_oauth", "{result}");
        let url = result["redirectUrl"].as_str().unwrap();
        let id = result["connectionId"].as_str().unwrap();
        assert_eq!(url, format!("{}/connect/{id}", server.url));
    }
    let mut pushed: Vec<&str> = results
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    pushed.sort();
    assert_eq!(pushed, ["acme_crm", "googlecalendar", "slack"]);

    // Delete one file: the second push removes it from the server.
    std::fs::remove_file(dir.join("slack.json")).unwrap();
    let run = base44(
        &server,
        &project,
        &home,
        &["connectors", "push", "-y", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = run.json()["results"].as_array().unwrap().clone();
    assert!(
        results
            .iter()
            .any(|r| r["type"] == "slack" && r["action"] == "removed"),
        "{results:?}"
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| r["action"] == "needs_oauth")
            .count(),
        2
    );

    // pull writes the server's state back: unchanged files untouched, others written.
    let before = std::fs::read_to_string(dir.join("acme_crm.jsonc")).unwrap();
    std::fs::remove_file(dir.join("googlecalendar.json")).unwrap();
    let run = base44(&server, &project, &home, &["connectors", "pull", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pulled = run.json();
    assert_eq!(pulled["pulled"], 2);
    assert_eq!(pulled["written"], serde_json::json!(["googlecalendar"]));
    assert_eq!(
        std::fs::read_to_string(dir.join("acme_crm.jsonc")).unwrap(),
        before,
        "comments kept"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("googlecalendar.jsonc")).unwrap())
            .unwrap();
    assert_eq!(
        written,
        serde_json::json!({"type": "googlecalendar", "scopes": ["https://www.googleapis.com/auth/calendar.readonly"]})
    );

    // initiate prints the consent URL for one type.
    let run = base44(
        &server,
        &project,
        &home,
        &[
            "connectors",
            "initiate",
            "--integration-type",
            "acme_crm",
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json()["redirectUrl"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/connect/", server.url)));

    // A type the operator has not configured fails that connector only.
    write(&dir.join("notion.json"), r#"{"type": "notion"}"#);
    let run = base44(
        &server,
        &project,
        &home,
        &["connectors", "push", "-y", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = run.json()["results"].as_array().unwrap().clone();
    let notion = results.iter().find(|r| r["type"] == "notion").unwrap();
    assert_eq!(notion["action"], "error");
    assert!(
        notion["error"]
            .as_str()
            .unwrap()
            .contains("[providers.notion]"),
        "{notion}"
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| r["action"] == "needs_oauth")
            .count(),
        2
    );
}

#[test]
fn sdk_get_connection_with_service_tokens_only() {
    let server = start_server(PROVIDERS_TOML, &[]);
    let app = server.app_id();
    let imported = server.admin(
        &["import-credentials", "--app-id", &app, "--type", "acme_crm", "--builder-email", "builder@example.com"],
        Some(r#"{"access_token": "sdk-access-token", "expires_in": 3600, "scopes": ["read"], "connection_config": {"subdomain": "sites/test"}}"#),
    );
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );

    let ok = sdk(&server, &app, Some(&server.service_token()), "acme_crm");
    assert_eq!(
        ok,
        serde_json::json!({"ok": true, "value": {"accessToken": "sdk-access-token", "connectionConfig": {"subdomain": "sites/test"}}})
    );

    // A builder key used as the service token → 403.
    let builder = sdk(&server, &app, Some(&server.api_key()), "acme_crm");
    assert_eq!(builder["ok"], false);
    assert_eq!(builder["status"], 403);
    assert_eq!(
        builder["message"],
        "This endpoint is only accessible to service tokens"
    );

    // Another app's service token → 401.
    let other = server.admin(&["create-app", "--name", "Other"], None);
    assert!(other.status.success());
    let text = String::from_utf8_lossy(&other.stdout);
    let other_token = text
        .lines()
        .find_map(|l| l.strip_prefix("service_token: "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let refused = sdk(&server, &app, Some(&other_token), "acme_crm");
    assert_eq!(refused["status"], 401, "{refused}");
    assert_eq!(refused["message"], "Unauthorized");

    // No token: the SDK refuses before sending, and the raw request gets 401.
    let none = sdk(&server, &app, None, "acme_crm");
    assert_eq!(none["ok"], false);
    let (status, body) = http_request(
        "GET",
        &format!(
            "{}/api/apps/{app}/external-auth/tokens/acme_crm",
            server.url
        ),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"detail":"Unauthorized"}"#)
    );

    // A type with no connector → 404 NOT_FOUND.
    let missing = sdk(&server, &app, Some(&server.service_token()), "slack");
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["code"], "NOT_FOUND");
}
