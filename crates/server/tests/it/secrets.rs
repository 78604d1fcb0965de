//! Secrets at rest and in logs: canaries never appear in the database (the
//! SQLite files, WAL included, or every row of the PostgreSQL database) or
//! the logs; keys rotate without losing tokens.

use std::path::Path;

use crate::support::{http_request, restart, start_server, ServerProcess, PROVIDERS_TOML};
use connectors_vault::KeyRing;

const ACCESS: &str = "canary-access-7f3a9c";
const REFRESH: &str = "canary-refresh-51be02";
const CLIENT_SECRET: &str = "acme-client-secret-canary";

fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                hits.push(path.display().to_string());
            }
        }
    }
    hits
}

fn token(server: &ServerProcess, ty: &str) -> (u16, String) {
    let bearer = format!("Bearer {}", server.service_token());
    http_request(
        "GET",
        &format!(
            "{}/api/apps/{}/external-auth/tokens/{ty}",
            server.url,
            server.app_id()
        ),
        &[("authorization", &bearer)],
        None,
    )
    .unwrap()
}

#[test]
fn canaries_never_reach_disk_or_logs() {
    assert!(PROVIDERS_TOML.contains(CLIENT_SECRET));
    let mut server = start_server(PROVIDERS_TOML, &[]);
    let imported = server.admin(
        &[
            "import-credentials",
            "--app-id",
            &server.app_id(),
            "--type",
            "acme_crm",
        ],
        Some(&format!(
            r#"{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}", "expires_in": 3600}}"#
        )),
    );
    assert!(imported.status.success());
    let admin_output = format!(
        "{}{}",
        String::from_utf8_lossy(&imported.stdout),
        String::from_utf8_lossy(&imported.stderr)
    );
    // Exercise the API, including the token hand-out and an error path.
    let (status, body) = token(&server, "acme_crm");
    assert_eq!(status, 200);
    assert!(body.contains(ACCESS));
    let key = server.api_key();
    let put = format!(
        "{}/api/apps/{}/external-auth/integrations/acme_crm",
        server.url,
        server.app_id()
    );
    let (status, _) = http_request(
        "PUT",
        &put,
        &[("api_key", &key)],
        Some(r#"{"scopes":["more"]}"#),
    )
    .unwrap();
    assert_eq!(status, 200);
    let (status, _) = http_request("PUT", &put, &[("api_key", &key)], Some("{not json")).unwrap();
    assert_eq!(status, 400);
    // An app user's token (#13.3), minted and then presented (as a service
    // token, 403, which records the user): never stored, never logged.
    let mint = format!(
        "{}/api/apps/{}/app-user-tokens",
        server.url,
        server.app_id()
    );
    let service = format!("Bearer {}", server.service_token());
    let (status, body) = http_request(
        "POST",
        &mint,
        &[("authorization", &service)],
        Some(r#"{"user_id":"canary-user"}"#),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let user_token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_user = format!("Bearer {user_token}");
    let (status, _) = http_request(
        "POST",
        &mint,
        &[("authorization", &as_user)],
        Some(r#"{"user_id":"x"}"#),
    )
    .unwrap();
    assert_eq!(status, 403);

    // While running (the WAL holds the recent writes) and after a graceful stop.
    for phase in ["running", "stopped"] {
        if phase == "stopped" {
            assert!(
                server.stop().success(),
                "graceful shutdown failed: {}",
                server.logs()
            );
        }
        for canary in [ACCESS, REFRESH, CLIENT_SECRET, user_token.as_str()] {
            let hits = files_containing(&server.data_dir(), canary);
            assert!(hits.is_empty(), "{phase}: `{canary}` found in {hits:?}");
            if let Some(url) = server.database_url() {
                let rows = connectors_testdb::postgres_dump(&url).unwrap();
                assert!(!rows.contains(canary), "{phase}: `{canary}` in PostgreSQL");
            }
            assert!(
                !server.logs().contains(canary),
                "{phase}: `{canary}` in the server log"
            );
            assert!(
                !admin_output.contains(canary),
                "`{canary}` in the admin command's output"
            );
        }
    }
    // The logs did record the requests (so the search above had something to search).
    let logs = server.logs();
    assert!(logs.contains("external-auth/tokens/acme_crm"), "{logs}");
    assert!(!logs.contains(&key), "the API key was logged");
    assert!(
        !logs.contains(&server.service_token()),
        "the service token was logged"
    );
    // The database searched above does hold the (sealed) credentials.
    if let Some(url) = server.database_url() {
        let rows = connectors_testdb::postgres_dump(&url).unwrap();
        assert!(rows.contains("acme_crm"), "{rows}");
    } else {
        let wal_or_db: Vec<_> = std::fs::read_dir(server.data_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            wal_or_db.iter().any(|n| n == "connectors.db"),
            "{wal_or_db:?}"
        );
    }
}

#[test]
fn key_rotation_reencrypts_and_still_serves_tokens() {
    let k1 = KeyRing::generate_spec("k1");
    let k2 = KeyRing::generate_spec("k2");
    let config = |keys: &[&str]| {
        let list: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
        format!(
            "[encryption]\nkeys = [{}]\n{PROVIDERS_TOML}",
            list.join(", ")
        )
    };
    let mut server = start_server(&config(&[k1.expose()]), &[]);
    let imported = server.admin(
        &[
            "import-credentials",
            "--app-id",
            &server.app_id(),
            "--type",
            "acme_crm",
        ],
        Some(&format!(
            r#"{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}"}}"#
        )),
    );
    assert!(imported.status.success());
    assert!(server.stop().success());
    let boot = server.boot.clone();
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    drop(server);

    // Rotate: new key first, old key still present to open.
    std::fs::write(
        dir.path().join("config.toml"),
        config(&[k2.expose(), k1.expose()]),
    )
    .unwrap();
    let out = crate::support::admin_command(
        &dir.path().join("data"),
        &dir.path().join("config.toml"),
        &["rotate-keys"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-encrypted 2 values under key `k2`"));

    // Only the new key now: the token is still served.
    std::fs::write(dir.path().join("config.toml"), config(&[k2.expose()])).unwrap();
    let mut server = restart(dir, boot);
    let (status, body) = token(&server, "acme_crm");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(ACCESS));
    assert!(server.stop().success());
}

#[test]
fn missing_key_is_a_clear_error_not_garbage() {
    let k1 = KeyRing::generate_spec("k1");
    let k2 = KeyRing::generate_spec("k2");
    let mut server = start_server(
        &format!(
            "[encryption]\nkeys = [\"{}\"]\n{PROVIDERS_TOML}",
            k1.expose()
        ),
        &[],
    );
    let imported = server.admin(
        &[
            "import-credentials",
            "--app-id",
            &server.app_id(),
            "--type",
            "acme_crm",
        ],
        Some(&format!(r#"{{"access_token": "{ACCESS}"}}"#)),
    );
    assert!(imported.status.success());
    assert!(server.stop().success());
    let boot = server.boot.clone();
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    drop(server);
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[encryption]\nkeys = [\"{}\"]\n{PROVIDERS_TOML}",
            k2.expose()
        ),
    )
    .unwrap();
    let server = restart(dir, boot);
    let (status, body) = token(&server, "acme_crm");
    assert_eq!(status, 500, "{body}");
    assert!(!body.contains("k1"), "internal details leaked: {body}");
    assert!(
        server.logs().contains("no encryption key `k1`"),
        "{}",
        server.logs()
    );
}

/// One form post from a browser of this server's origin; (status, head, body).
fn post_form(
    server: &ServerProcess,
    path: &str,
    cookie: &str,
    form: &str,
) -> (u16, String, String) {
    let host = server.url.trim_start_matches("http://");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nOrigin: {}\r\ncookie: {cookie}\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{form}",
        server.url,
        form.len()
    );
    let text = connectors_testkit::raw_http(host, &request).unwrap();
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (status, head.to_string(), body.to_string())
}

/// The value cookie `name` is set to in a response head.
fn set_cookie(head: &str, name: &str) -> String {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {head}"))
        .to_string()
}

/// The hidden `csrf` input of a page.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf input") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// Invite tokens, passwords, session ids and CSRF cookies are never
/// logged or stored in the clear (the bootstrap file holds the invite link
/// on purpose: it is the operator's copy, outside the data directory).
#[test]
fn account_secrets_never_reach_disk_or_logs() {
    const PASSWORD: &str = "canary-password-c0ffee42";
    let mut server = start_server(PROVIDERS_TOML, &[]);
    let login_url = server.boot["login_url"]
        .as_str()
        .expect("login_url")
        .to_string();
    let invite_path = login_url.strip_prefix(&server.url).unwrap().to_string();
    let invite_token = invite_path.rsplit('/').next().unwrap().to_string();
    let (status, head, page) = connectors_testkit::http("GET", &login_url, &[], None).unwrap();
    assert_eq!(status, 200, "{page}");
    let csrf_cookie = set_cookie(&head, "b44_csrf");
    let form = format!(
        "csrf={}&password={PASSWORD}&confirm_password={PASSWORD}",
        csrf(&page)
    );
    let (status, head, body) = post_form(
        &server,
        &invite_path,
        &format!("b44_csrf={csrf_cookie}"),
        &form,
    );
    assert_eq!(status, 303, "{body}");
    let first_session = set_cookie(&head, "b44_session");
    let (status, head, page) =
        connectors_testkit::http("GET", &format!("{}/signin", server.url), &[], None).unwrap();
    assert_eq!(status, 200);
    let second_csrf = set_cookie(&head, "b44_csrf");
    let email = server.boot["builder_email"]
        .as_str()
        .unwrap()
        .replace('@', "%40");
    let form = format!("csrf={}&email={email}&password={PASSWORD}", csrf(&page));
    let (status, head, body) = post_form(
        &server,
        "/signin",
        &format!("b44_csrf={second_csrf}"),
        &form,
    );
    assert_eq!(status, 303, "{body}");
    let second_session = set_cookie(&head, "b44_session");
    let (status, _, home) = connectors_testkit::http(
        "GET",
        &format!("{}/", server.url),
        &[("cookie", &format!("b44_session={second_session}"))],
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(home.contains(server.boot["builder_email"].as_str().unwrap()));

    for phase in ["running", "stopped"] {
        if phase == "stopped" {
            assert!(server.stop().success(), "{}", server.logs());
        }
        for canary in [
            PASSWORD,
            &invite_token,
            &first_session,
            &second_session,
            &csrf_cookie,
            &second_csrf,
        ] {
            let hits = files_containing(&server.data_dir(), canary);
            assert!(hits.is_empty(), "{phase}: `{canary}` found in {hits:?}");
            if let Some(url) = server.database_url() {
                let rows = connectors_testdb::postgres_dump(&url).unwrap();
                assert!(!rows.contains(canary), "{phase}: `{canary}` in PostgreSQL");
            }
            assert!(
                !server.logs().contains(canary),
                "{phase}: `{canary}` in the server log"
            );
        }
    }
    // The log did record the requests, with the invite's path template.
    let logs = server.logs();
    assert!(
        logs.contains("/invite/{token}") && logs.contains("/signin"),
        "{logs}"
    );
}

/// #13: an app user's provider tokens, the user's own token and the
/// workspace connector's client secret never reach the data directory or
/// the server's log (the real binary, so its log is the one it writes).
#[test]
fn app_users_tokens_never_reach_disk_or_logs() {
    use crate::workspace::{oauth_server_and_config, CLIENT};
    let port = crate::support::free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    let (_oidc, config) = oauth_server_and_config(&public_url, "");
    let mut server = crate::support::start_server_on(port, &config);
    let key = server.api_key();
    let service = format!("Bearer {}", server.service_token());
    let json = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap();
    let (status, made) = http_request(
        "POST",
        &format!(
            "{}/api/workspace/{}/connectors",
            server.url,
            server.boot["workspace_id"].as_str().unwrap()
        ),
        &[("api_key", &key), ("content-type", "application/json")],
        Some(
            &serde_json::json!({"integration_type": "ws_oidc", "name": "Calendar",
                "client_id": CLIENT.0, "client_secret": CLIENT.1, "scopes": ["calendar.read"]})
            .to_string(),
        ),
    )
    .unwrap();
    assert_eq!(status, 201, "{made}");
    let id = json(made)["id"].as_str().unwrap().to_string();
    let app = server.app_id();
    let (_, minted) = http_request(
        "POST",
        &format!("{}/api/apps/{app}/app-user-tokens", server.url),
        &[
            ("authorization", &service),
            ("content-type", "application/json"),
        ],
        Some(r#"{"user_id":"canary-alice"}"#),
    )
    .unwrap();
    let user = json(minted)["access_token"].as_str().unwrap().to_string();
    let as_user = format!("Bearer {user}");
    let (_, started) = http_request(
        "POST",
        &format!(
            "{}/api/apps/{app}/app-user-auth/connectors/{id}/initiate",
            server.url
        ),
        &[("authorization", &as_user)],
        None,
    )
    .unwrap();
    let url = json(started)["redirect_url"].as_str().unwrap().to_string();
    let page = crate::support::oidc::consent(
        serde_json::json!({"url": url, "login": "alice", "timeoutMs": 30000}),
    );
    assert_eq!(page["heading"], "Connected", "{page}");
    let (status, body) = http_request(
        "GET",
        &format!(
            "{}/api/apps/{app}/app-user-auth/connectors/{id}/token",
            server.url
        ),
        &[("authorization", &service), ("on-behalf-of", &as_user)],
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let access = json(body)["access_token"].as_str().unwrap().to_string();

    for phase in ["running", "stopped"] {
        if phase == "stopped" {
            assert!(server.stop().success(), "{}", server.logs());
        }
        for canary in [access.as_str(), user.as_str(), CLIENT.1] {
            let hits = files_containing(&server.data_dir(), canary);
            assert!(hits.is_empty(), "{phase}: `{canary}` found in {hits:?}");
            if let Some(url) = server.database_url() {
                let rows = connectors_testdb::postgres_dump(&url).unwrap();
                assert!(!rows.contains(canary), "{phase}: `{canary}` in PostgreSQL");
            }
            assert!(
                !server.logs().contains(canary),
                "{phase}: `{canary}` in the server log"
            );
        }
    }
}
