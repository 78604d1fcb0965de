//! End to end: our CLI against the real connectors-server, in process.

use super::*;
use crate::support::PROVIDERS_TOML;

/// `connectors-server` in process with the shared [`PROVIDERS_TOML`].
fn start_real_server() -> RealServer {
    support::start_real_server(|_| PROVIDERS_TOML.to_string())
}

#[test]
fn end_to_end_against_connectors_server() {
    let server = start_real_server();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("work");
    let connectors = work.join("base44/connectors");
    let ours = |argv: &str| {
        let invocation = Invocation {
            files: Vec::new(),
            cwd: String::new(),
            argv: argv.split_whitespace().map(str::to_string).collect(),
            env: Vec::new(),
        };
        exec(
            Side::Ours,
            &work,
            &home,
            &invocation,
            &server.origin,
            &server.api_key,
        )
    };
    let remote_types = || -> Vec<String> {
        let mut types: Vec<String> = server
            .remote_list()
            .iter()
            .map(|i| i["integration_type"].as_str().unwrap().to_string())
            .collect();
        types.sort();
        types
    };

    // list-available: the server's catalogue, custom provider included.
    let run = ours(&format!(
        "connectors list-available --app-id {} --json",
        server.app_id
    ));
    assert_eq!(run.code, 0, "{}", run.dump());
    let listed = run.json().unwrap();
    let types: Vec<&str> = listed["integrations"]
        .as_array()
        .expect("integrations")
        .iter()
        .map(|i| i["integrationType"].as_str().unwrap())
        .collect();
    for ty in ["acme_crm", "googlecalendar", "slack", "share_point"] {
        assert!(types.contains(&ty), "{ty} not in {types:?}");
    }

    // push: a linked project with three connectors → each needs OAuth, with a
    // consent link served by the server.
    support::write_file(
        &work.join("base44/config.jsonc"),
        "{\n  \"name\": \"E2E\"\n}\n",
    );
    support::write_file(
        &work.join("base44/.app.jsonc"),
        &format!("{{\n  // linked\n  \"id\": \"{}\"\n}}\n", server.app_id),
    );
    let acme = "{\n  // custom provider from the server config\n  \"type\": \"acme_crm\",\n  \"scopes\": [\"contacts.read\"],\n}\n";
    support::write_file(&connectors.join("acme_crm.jsonc"), acme);
    support::write_file(
        &connectors.join("googlecalendar.json"),
        &format!("{{\"type\": \"googlecalendar\", \"scopes\": [\"{GCAL_SCOPE}\"]}}"),
    );
    support::write_file(&connectors.join("slack.json"), "{\"type\": \"slack\"}");
    let run = ours("connectors push -y --json");
    assert_eq!(run.code, 0, "{}", run.dump());
    let results = run.json().unwrap()["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut pushed: Vec<&str> = results
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    pushed.sort();
    assert_eq!(
        pushed,
        ["acme_crm", "googlecalendar", "slack"],
        "{}",
        run.dump()
    );
    for result in &results {
        assert_eq!(result["action"], "needs_oauth", "{result}");
        let id = result["connectionId"].as_str().expect("connectionId");
        let url = result["redirectUrl"].as_str().expect("redirectUrl");
        // Outputs are normalised: the server's origin reads `<ORIGIN>`.
        assert_eq!(url, format!("<ORIGIN>/connect/{id}"));
        let url = url.replace("<ORIGIN>", &server.origin);
        let (status, head, body) = http("GET", &url, &[], None).unwrap();
        assert!(
            matches!(status, 200 | 302 | 303 | 307),
            "the consent link answers {status}: {head}\n{body}"
        );
    }
    assert_eq!(remote_types(), ["acme_crm", "googlecalendar", "slack"]);

    // Human mode: the same push prints the plan and the non-interactive outro.
    let run = ours("connectors push -y");
    assert_eq!(run.code, 0, "{}", run.dump());
    let output = run.output();
    for phrase in [
        "Found 3 connectors to push",
        "Skipped OAuth in non-interactive mode",
    ] {
        assert!(
            output.contains(phrase),
            "{phrase:?} missing\n{}",
            run.dump()
        );
    }

    // Deleting a file removes the connector on the next push.
    std::fs::remove_file(connectors.join("slack.json")).unwrap();
    let run = ours("connectors push -y --json");
    assert_eq!(run.code, 0, "{}", run.dump());
    let results = run.json().unwrap()["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        results
            .iter()
            .any(|r| r["type"] == "slack" && r["action"] == "removed"),
        "{}",
        run.dump()
    );
    assert_eq!(remote_types(), ["acme_crm", "googlecalendar"]);

    // pull writes the server's state: the unchanged file is untouched (its
    // comment survives), the missing one is written as <type>.jsonc.
    std::fs::remove_file(connectors.join("googlecalendar.json")).unwrap();
    let run = ours("connectors pull --json");
    assert_eq!(run.code, 0, "{}", run.dump());
    let pulled = run.json().unwrap();
    assert_eq!(pulled["pulled"], 2, "{pulled}");
    assert_eq!(pulled["written"], json!(["googlecalendar"]), "{pulled}");
    assert_eq!(pulled["deleted"], json!([]), "{pulled}");
    assert_eq!(
        pulled["connectorsDir"],
        json!("<WORK>/base44/connectors"),
        "{pulled}"
    );
    assert_eq!(
        std::fs::read_to_string(connectors.join("acme_crm.jsonc")).unwrap(),
        acme
    );
    assert_eq!(
        std::fs::read_to_string(connectors.join("googlecalendar.jsonc")).unwrap(),
        format!(
            "{{\n  \"type\": \"googlecalendar\",\n  \"scopes\": [\n    \"{GCAL_SCOPE}\"\n  ]\n}}"
        )
    );

    // initiate: one PUT, the consent link printed.
    let run = ours(&format!(
        "connectors initiate --integration-type acme_crm --scopes contacts.read,contacts.write --app-id {} --json",
        server.app_id
    ));
    assert_eq!(run.code, 0, "{}", run.dump());
    let initiated = run.json().unwrap();
    assert_eq!(initiated["integrationType"], "acme_crm");
    assert_eq!(initiated["alreadyAuthorized"], false);
    assert!(
        initiated["redirectUrl"]
            .as_str()
            .unwrap_or_default()
            .starts_with("<ORIGIN>/connect/"),
        "{initiated}"
    );
    let (status, _, body) = http(
        "GET",
        &format!(
            "{}/api/apps/{}/external-auth/list",
            server.origin, server.app_id
        ),
        &[("api_key", &server.api_key)],
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    let acme_scopes = list["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["integration_type"] == "acme_crm")
        .map(|i| i["scopes"].clone());
    assert_eq!(
        acme_scopes,
        Some(json!(["contacts.read", "contacts.write"]))
    );
}

/// Issue 10: `push --dry-run` planned types and scopes the server refuses.
/// Now it checks them against the server's `list-available` and the one
/// scope rule, names each file with the server's own reason, and exits 1
/// without changing anything; the same files pass once fixed.
#[test]
fn dry_run_refuses_what_the_server_refuses() {
    let server = start_real_server();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("work");
    let connectors = work.join("base44/connectors");
    let ours = |argv: &str| {
        let invocation = Invocation {
            files: Vec::new(),
            cwd: String::new(),
            argv: argv.split_whitespace().map(str::to_string).collect(),
            env: Vec::new(),
        };
        exec(
            Side::Ours,
            &work,
            &home,
            &invocation,
            &server.origin,
            &server.api_key,
        )
    };
    support::write_file(&work.join("base44/config.jsonc"), "{\"name\": \"E2E\"}");
    support::write_file(
        &work.join("base44/.app.jsonc"),
        &format!("{{\"id\": \"{}\"}}", server.app_id),
    );
    // 512 two-byte characters pass; 513 and a control character do not.
    let at_limit = "é".repeat(512);
    let over_limit = "é".repeat(513);
    support::write_file(
        &connectors.join("googlecalendar.json"),
        &format!("{{\"type\": \"googlecalendar\", \"scopes\": [\"{at_limit}\"]}}"),
    );
    support::write_file(&connectors.join("slak.jsonc"), "{\"type\": \"slak\"}");
    support::write_file(
        &connectors.join("acme_crm.jsonc"),
        "{\"type\": \"acme_crm\", \"scopes\": [\"chat:\\u0001write\"]}",
    );
    support::write_file(
        &connectors.join("slack.json"),
        &format!("{{\"type\": \"slack\", \"scopes\": [\"{over_limit}\"]}}"),
    );

    // What the server answers to the same scopes: the CLI must say the same.
    let server_detail = |ty: &str, scope: &str| -> String {
        let (status, _, body) = http(
            "PUT",
            &format!(
                "{}/api/apps/{}/external-auth/integrations/{ty}",
                server.origin, server.app_id
            ),
            &[
                ("api_key", &server.api_key),
                ("content-type", "application/json"),
            ],
            Some(&json!({ "scopes": [scope] }).to_string()),
        )
        .unwrap();
        assert_eq!(status, 400, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        body["detail"].as_str().unwrap().to_string()
    };
    let control = server_detail("acme_crm", "chat:\u{1}write");
    let too_long = server_detail("slack", &over_limit);
    assert!(
        control.starts_with("invalid scopes: scope \"chat:\\u{1}write\""),
        "{control}"
    );

    let run = ours("connectors push --dry-run");
    assert_eq!(run.code, 1, "{}", run.dump());
    let dir = "<WORK>/base44/connectors";
    for line in [
        format!("✖ {dir}/acme_crm.jsonc: {control}"),
        format!("✖ {dir}/slack.json: {too_long}"),
        format!("✖ {dir}/slak.jsonc: unknown integration type `slak` (did you mean `slack`?)"),
        "base44 connectors push --dry-run".to_string(),
    ] {
        assert!(
            run.stderr.contains(&line),
            "{line:?} missing\n{}",
            run.dump()
        );
    }
    assert!(
        !run.stderr.contains("googlecalendar.json:"),
        "{}",
        run.dump()
    );
    assert!(
        run.stdout.contains("+ add        googlecalendar"),
        "{}",
        run.dump()
    );
    assert!(
        run.stdout.len() < 1_000,
        "the long scope is cut\n{}",
        run.dump()
    );
    assert!(run.stdout.contains("! refused    slak"), "{}", run.dump());

    let run = ours("connectors push --dry-run --json");
    assert_eq!(run.code, 1, "{}", run.dump());
    let envelope = run.json().unwrap();
    assert_eq!(envelope["code"], "INVALID_INPUT", "{envelope}");
    let error = envelope["error"].as_str().unwrap();
    assert!(error.contains("would refuse 3 connector(s)"), "{error}");
    assert!(error.contains(&control), "{error}");
    assert!(server.remote_list().is_empty(), "a dry run changes nothing");

    // Fixed files: the dry run passes and plans the three additions.
    std::fs::remove_file(connectors.join("slak.jsonc")).unwrap();
    support::write_file(
        &connectors.join("acme_crm.jsonc"),
        "{\"type\": \"acme_crm\", \"scopes\": [\"chat:write\"]}",
    );
    support::write_file(
        &connectors.join("slack.json"),
        "{\"type\": \"slack\", \"scopes\": [\"chat:write\"]}",
    );
    let run = ours("connectors push --dry-run --json");
    assert_eq!(run.code, 0, "{}", run.dump());
    let plan = run.json().unwrap()["plan"].clone();
    assert_eq!(
        plan,
        json!([
            {"type": "acme_crm", "action": "add"},
            {"type": "googlecalendar", "action": "add"},
            {"type": "slack", "action": "add"},
        ])
    );
}
