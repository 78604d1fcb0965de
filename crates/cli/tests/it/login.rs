//! `base44 login` against our server (#12.2, #12.5), with the npm CLI 0.1.18
//! and ours: the test reads the code the CLI prints and approves it through
//! the engine's use case (what the verification page calls), the CLI says it
//! is logged in and then works on builder routes with that login; when the
//! access token expires (the server's test clock moves) the CLI refreshes
//! by itself; a replayed old refresh token revokes the login and the CLI is
//! told to log in again.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connectors_engine::TestClock;
use serde_json::Value;

use crate::support::{exec, http, runtime, strip_ansi, Invocation, Side, TestServer};

fn project_files(app_id: &str) -> Vec<(String, String)> {
    vec![
        (
            "base44/config.jsonc".into(),
            "{\"name\": \"Test\"}\n".into(),
        ),
        (
            "base44/.app.jsonc".into(),
            format!("{{\"id\": \"{app_id}\"}}"),
        ),
    ]
}

fn read_auth(home: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(home.join(".base44/auth/auth.json")).ok()?;
    Some(serde_json::from_str(&text).expect("auth.json is JSON"))
}

/// Who approves the code `login` prints.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Approver {
    /// The engine's use case, directly (what the page calls).
    Engine,
    /// The builder in headless Chromium: signs in, types the code on the
    /// verification page, reads what asks, presses Approve.
    Browser,
}

/// Runs `login`, approves the code it prints, and returns its output.
fn login(side: Side, server: &TestServer, work: &Path, home: &Path) -> (i32, String) {
    login_approved_by(Approver::Engine, side, server, work, home)
}

fn login_approved_by(
    approver: Approver,
    side: Side,
    server: &TestServer,
    work: &Path,
    home: &Path,
) -> (i32, String) {
    let mut child = Command::new(side.program())
        .arg("login")
        .current_dir(work)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("BASE44_API_URL", &server.url)
        .env("BASE44_DISABLE_TELEMETRY", "1")
        .env("BASE44_CLI_TEST_OVERRIDES", r#"{"latestVersion":null}"#)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the CLI");
    let output = Arc::new(Mutex::new(String::new()));
    let mut readers = Vec::new();
    for mut stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let output = output.clone();
        readers.push(std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                output
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        let text = strip_ansi(&output.lock().unwrap());
        if let Some(rest) = text.split("Verification code: ").nth(1) {
            break rest.chars().take(9).collect::<String>();
        }
        assert!(
            Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "{side}: no code printed\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    match approver {
        Approver::Engine => runtime().block_on(async {
            let builder = server
                .engine
                .store()
                .find_builder(&server.boot.workspace_id, &server.boot.builder_email)
                .await
                .unwrap()
                .unwrap();
            server
                .engine
                .decide_device_login(&code, &builder, true)
                .await
                .unwrap_or_else(|e| panic!("{side}: approving {code:?}: {e}"));
        }),
        Approver::Browser => approve_in_browser(server, &code, &text_of(&output)),
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{side}: login did not finish\n{}", output.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    for r in readers {
        r.join().unwrap();
    }
    let text = strip_ansi(&output.lock().unwrap());
    (status.code().unwrap_or(-1), text)
}

fn text_of(output: &Mutex<String>) -> String {
    strip_ansi(&output.lock().unwrap())
}

/// The builder approves `code` on the page the CLI printed (`Please confirm
/// this code at: <url>`), through `tests/js/signin.mjs`'s "device" phase.
fn approve_in_browser(server: &TestServer, code: &str, printed: &str) {
    let device = printed
        .split("Please confirm this code at: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no verification URL printed:\n{printed}"))
        .to_string();
    let args = serde_json::json!({
        "base": server.url,
        "email": server.boot.builder_email,
        "password": "a long enough password for the test",
        "phase": "device",
        "invite": server.boot.login_url.expose(),
        "device": device,
        "userCode": code,
        "decision": "approve",
        "timeoutMs": 60000,
        // Set to look at the pages (device-code.png, device-approve.png).
        "screenshots": std::env::var("CONNECTORS_SCREENSHOTS").ok(),
    });
    let result = connectors_testkit::oidc::run_browser_script("signin.mjs", &args);
    assert_eq!(result["ok"], true, "{result:#}");
}

fn list_available(side: Side, server: &TestServer, work: &Path, home: &Path) -> (i32, String) {
    let invocation = Invocation {
        files: project_files(server.app_id()),
        argv: vec![
            "connectors".into(),
            "list-available".into(),
            "--json".into(),
        ],
        ..Invocation::default()
    };
    // No API key: an empty BASE44_API_KEY is ignored by both CLIs.
    let run = exec(side, work, home, &invocation, &server.url, "");
    (run.code, run.output())
}

fn login_refresh_and_reuse(side: Side) {
    let time = TestClock::new();
    let server = runtime().block_on(TestServer::builder().clock(time.clock()).serve().start());
    let tmp = tempfile::tempdir().unwrap();
    let (home, work) = (tmp.path().join("home"), tmp.path().join("work"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();

    let (code, text) = login(side, &server, &work, &home);
    assert_eq!(code, 0, "{side}: {text}");
    assert!(
        text.contains("Successfully logged in as owner@example.com"),
        "{side}: {text}"
    );
    let first = read_auth(&home).expect("auth.json written");
    assert_eq!(first["email"], "owner@example.com", "{side}");

    let (code, text) = list_available(side, &server, &work, &home);
    assert_eq!(code, 0, "{side}: {text}");
    assert!(text.contains("acme_crm"), "{side}: {text}");

    // The access token expires on the server's clock: the CLI's request is
    // refused (401), it refreshes once and retries.
    time.advance(Duration::from_secs(901));
    let (code, text) = list_available(side, &server, &work, &home);
    assert_eq!(code, 0, "{side}: {text}");
    let second = read_auth(&home).expect("auth.json kept");
    assert_ne!(
        second["refreshToken"], first["refreshToken"],
        "{side}: rotated"
    );

    // Someone replays the first refresh token (past the grace): the login
    // is revoked, and the CLI is told to log in again.
    time.advance(Duration::from_secs(10));
    let body = serde_json::json!({
        "grant_type": "refresh_token",
        "client_id": "base44_cli",
        "refresh_token": first["refreshToken"],
    })
    .to_string();
    let (status, _, answer) = http(
        "POST",
        &format!("{}/oauth/token", server.url),
        &[],
        Some(&body),
    )
    .unwrap();
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("invalid_grant"), "{answer}");
    let (code, text) = list_available(side, &server, &work, &home);
    assert_eq!(code, 1, "{side}: {text}");
    assert!(text.contains("base44 login"), "{side}: {text}");
    assert!(read_auth(&home).is_none(), "{side}: auth.json deleted");
}

#[test]
fn npm_cli_logs_in_by_device_code_refreshes_and_is_logged_out_on_reuse() {
    login_refresh_and_reuse(Side::Npm);
}

#[test]
fn our_cli_logs_in_by_device_code_refreshes_and_is_logged_out_on_reuse() {
    login_refresh_and_reuse(Side::Ours);
}

/// The whole of `base44 login` as a person does it: the npm CLI prints a
/// code and a URL, the builder signs in there in Chromium, types the code,
/// sees the client and scopes, approves; the CLI is logged in and works.
#[test]
fn npm_cli_login_approved_on_the_verification_page_in_a_browser() {
    let server = runtime().block_on(TestServer::builder().serve().start());
    let tmp = tempfile::tempdir().unwrap();
    let (home, work) = (tmp.path().join("home"), tmp.path().join("work"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let (code, text) = login_approved_by(Approver::Browser, Side::Npm, &server, &work, &home);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Successfully logged in as owner@example.com"),
        "{text}"
    );
    let (code, text) = list_available(Side::Npm, &server, &work, &home);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("acme_crm"), "{text}");
}

#[test]
fn dashboard_open_prints_the_overview_url() {
    let invocation = Invocation {
        argv: vec![
            "dashboard".into(),
            "open".into(),
            "--app-id".into(),
            "app1".into(),
        ],
        ..Invocation::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = exec(
        Side::Ours,
        &tmp.path().join("work"),
        &tmp.path().join("home"),
        &invocation,
        "http://127.0.0.1:9/",
        "",
    );
    assert_eq!(run.code, 0, "{}", run.dump());
    assert!(
        run.output()
            .contains("<ORIGIN>apps/app1/editor/workspace/overview"),
        "{}",
        run.dump()
    );
}
