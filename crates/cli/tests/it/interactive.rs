//! The interactive `base44 connectors push`, end to end, in a pseudo-terminal
//! (issue 4, "Interactive push").
//!
//! Real parts only: our `base44` binary on a pty (so it sees a terminal and
//! prompts), our `connectors-server` in process (the same assembly as
//! `connectors-server serve`, over a temp SQLite database), a real OAuth
//! server (`oidc-provider`, `tests/js/oidc-server.mjs`) and headless Chromium
//! (`tests/js/consent.mjs`) started by the CLI itself through `$BROWSER`.
//!
//! 1. Push a new connector: the test answers both prompts, the CLI opens the
//!    "browser" (a script that logs in and consents at the provider), polls
//!    until the status is `ACTIVE` and prints `Added: oidc_custom`.
//! 2. Push it again with a wider scope, so that consent is needed again, with
//!    a `$BROWSER` that only records the link; the person presses Esc while the
//!    CLI waits: it prints `Skipped: oidc_custom`.
//!
//! Waits are generous (a loaded 2-core CI machine); nothing asserts timing.
//! Run: `cargo test -p base44-cli --test it interactive::` (needs
//! `scripts/install-test-deps` and Chromium from `scripts/ensure-system-deps`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{our_cli, start_real_server, write_file, RealServer};
use connectors_testkit::js_dir;
use connectors_testkit::oidc::OidcServer;
use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};
use serde_json::{json, Value};

/// Longest wait for any one expected text. The consent (a cold Chromium on a
/// busy machine) is the slowest step; the CLI itself gives up after 2 min.
pub(crate) const EXPECT_TIMEOUT: Duration = Duration::from_secs(180);
const CLIENT_ID: &str = "custom-client";
const CLIENT_SECRET: &str = "custom-secret";

/// Our server with one custom provider, `oidc_custom`, at the OAuth server.
fn servers() -> (RealServer, OidcServer) {
    let mut oidc = None;
    let server = start_real_server(|origin| {
        let started = OidcServer::start(json!({
            "port": 0,
            "clients": [{
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [format!("{origin}/oauth/callback")],
                "token_endpoint_auth_method": "client_secret_basic",
            }],
            "scopes": ["openid", "offline_access", "contacts.read", "calendar.read"],
            "accessTokenTtl": 3600,
            "rotateRefreshToken": true,
            "pkceRequired": true,
        }));
        let config = format!(
            r#"
[providers.oidc_custom]
display_name = "OIDC test provider"
authorization_url = "{auth}"
token_url = "{token}"
revocation_url = "{revoke}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
client_auth = "client_secret_basic"
required_scopes = ["openid", "offline_access"]
"#,
            auth = started.endpoint("authorization_endpoint"),
            token = started.endpoint("token_endpoint"),
            revoke = started.endpoint("revocation_endpoint"),
        );
        oidc = Some(started);
        config
    });
    (server, oidc.expect("the OAuth server started"))
}

/// A linked project whose one connector file is `oidc_custom` with `scopes`.
fn write_project(work: &Path, app_id: &str, scopes: &[&str]) {
    write_file(
        &work.join("base44/config.jsonc"),
        "{\n  \"name\": \"Interactive\"\n}\n",
    );
    write_file(
        &work.join("base44/.app.jsonc"),
        &format!("{{\n  \"id\": \"{app_id}\"\n}}\n"),
    );
    write_file(
        &work.join("base44/connectors/oidc_custom.jsonc"),
        &json!({"type": "oidc_custom", "scopes": scopes}).to_string(),
    );
}

/// Writes an executable `sh` script.
pub(crate) fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    write_file(path, &format!("#!/bin/sh\n{body}"));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Single-quotes `path` for `sh`.
pub(crate) fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// `base44 connectors push` on a fresh pty.
fn spawn_push(server: &RealServer, work: &Path, home: &Path, browser: &Path) -> PtySession {
    spawn_cli(server, work, home, browser, &["connectors", "push"])
}

/// `base44 <args>` on a fresh pty, as a person at a terminal runs it: no
/// `CI`, `$BROWSER` set, the builder's API key.
pub(crate) fn spawn_cli(
    server: &RealServer,
    work: &Path,
    home: &Path,
    browser: &Path,
    args: &[&str],
) -> PtySession {
    let mut command = Command::new(our_cli());
    command
        .args(args)
        .current_dir(work)
        // Nothing from the test's environment: CI=true (as on CI) would make
        // the CLI non-interactive.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TERM", "xterm-256color")
        .env("BASE44_API_URL", &server.origin)
        .env("BASE44_API_KEY", &server.api_key)
        .env("BROWSER", browser);
    if let Some(chromium) = std::env::var_os("CHROMIUM_PATH") {
        command.env("CHROMIUM_PATH", chromium);
    }
    let options = Options::new()
        .timeout_ms(Some(EXPECT_TIMEOUT.as_millis() as u64))
        .strip_ansi_escape_codes(true);
    let mut session = spawn_with_options(command, options).expect("spawn base44 on a pty");
    // If the test fails half-way, dropping the session must not hang.
    session.process_mut().set_kill_timeout(Some(5_000));
    session
}

/// Waits for `text` on the terminal; on failure, says what was shown and
/// what `context` adds (e.g. the browser's log).
pub(crate) fn expect(session: &mut PtySession, text: &str, context: &dyn Fn() -> String) {
    if let Err(e) = session.exp_string(text) {
        panic!("waiting for {text:?} on the terminal: {e}\n{}", context());
    }
}

/// Types `bytes` (no Enter) once `prompt` is shown.
pub(crate) fn answer(
    session: &mut PtySession,
    prompt: &str,
    bytes: &str,
    context: &dyn Fn() -> String,
) {
    expect(session, prompt, context);
    session.send(bytes).expect("write to the pty");
    session.flush().expect("flush the pty");
}

/// Reads the rest of the output and checks the exit status is 0.
pub(crate) fn expect_success(session: &mut PtySession, context: &dyn Fn() -> String) {
    if let Err(e) = session.exp_eof() {
        panic!("waiting for the CLI to exit: {e}\n{}", context());
    }
    let status = session.process().wait().expect("wait for base44");
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "base44 exited with {status:?}\n{}",
        context()
    );
}

/// Waits for a file another process writes (whole, by rename).
pub(crate) fn wait_for_file(path: &Path, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Some(text);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `$BROWSER` that logs in and consents at the OAuth server in headless
/// Chromium for the link it is given.
pub(crate) struct ConsentBrowser {
    /// The script to pass as `$BROWSER`.
    pub script: PathBuf,
    /// consent.mjs's one JSON line, written whole (by rename) so the test
    /// never reads half of it.
    pub out: PathBuf,
    err: PathBuf,
}

impl ConsentBrowser {
    pub(crate) fn new(dir: &Path) -> Self {
        let browser = Self {
            script: dir.join("consent-browser"),
            out: dir.join("consent.json"),
            err: dir.join("consent.stderr"),
        };
        write_script(
            &browser.script,
            &format!(
                "# $BROWSER of the test: log in and consent for the link in $1.\n\
                 node {script} \"{{\\\"url\\\":\\\"$1\\\",\\\"login\\\":\\\"alice\\\",\\\"timeoutMs\\\":150000}}\" \
                 >{out}.partial 2>{err}\n\
                 mv {out}.partial {out}\n",
                script = sh_quote(&js_dir().join("consent.mjs")),
                out = sh_quote(&browser.out),
                err = sh_quote(&browser.err),
            ),
        );
        browser
    }

    /// What the browser script printed so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        format!(
            "consent.mjs stdout: {:?}\nconsent.mjs stderr: {:?}",
            std::fs::read_to_string(&self.out)
                .or_else(|_| std::fs::read_to_string(self.out.with_extension("json.partial")))
                .unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default()
        )
    }

    /// consent.mjs's answer, once it finished.
    pub(crate) fn result(&self) -> Value {
        let consent = wait_for_file(&self.out, EXPECT_TIMEOUT)
            .unwrap_or_else(|| panic!("the browser script never finished\n{}", self.log()));
        serde_json::from_str(consent.trim())
            .unwrap_or_else(|e| panic!("consent.mjs output ({e})\n{}", self.log()))
    }
}

/// The connector's status in `external-auth/list`, if listed.
fn remote_status(server: &RealServer, ty: &str) -> Option<String> {
    server
        .remote_list()
        .iter()
        .find(|i| i["integration_type"] == ty)
        .map(|i| i["status"].as_str().unwrap_or_default().to_string())
}

#[test]
fn interactive_push_authorizes_in_the_browser_then_esc_skips() {
    let (server, _oidc) = servers();
    let tmp = tempfile::tempdir().unwrap();
    let (work, home) = (tmp.path().join("work"), tmp.path().join("home"));
    std::fs::create_dir_all(&home).unwrap();
    write_project(&work, &server.app_id, &["contacts.read"]);

    // 1. Consent in headless Chromium, started by the CLI through $BROWSER.
    let browser = ConsentBrowser::new(tmp.path());
    let browser_log = || browser.log();
    let consent_browser = browser.script.clone();

    let mut push = spawn_push(&server, &work, &home, &consent_browser);
    expect(
        &mut push,
        "Found 1 connectors to push: oidc_custom",
        &browser_log,
    );
    answer(
        &mut push,
        "Are you sure you want to continue?",
        "y",
        &browser_log,
    );
    expect(
        &mut push,
        "1 connector(s) require authorization in your browser:",
        &browser_log,
    );
    expect(&mut push, "/connect/", &browser_log);
    answer(
        &mut push,
        "Open browser to authorize now?",
        "y",
        &browser_log,
    );
    expect(
        &mut push,
        "Opening browser for oidc_custom...",
        &browser_log,
    );
    expect(
        &mut push,
        "oidc_custom authorization complete",
        &browser_log,
    );
    expect(&mut push, "Added: oidc_custom", &browser_log);
    expect(&mut push, "Connectors pushed to Base44", &browser_log);
    expect_success(&mut push, &browser_log);

    let consent = browser.result();
    assert_eq!(consent["heading"], "Authorization complete", "{consent}");
    assert_eq!(
        remote_status(&server, "oidc_custom").as_deref(),
        Some("active")
    );

    // 2. A wider scope needs consent again; this "browser" only records the
    // link, and the person presses Esc while the CLI waits.
    write_project(&work, &server.app_id, &["contacts.read", "calendar.read"]);
    let opened = tmp.path().join("opened.txt");
    let idle_browser = tmp.path().join("idle-browser");
    write_script(
        &idle_browser,
        &format!(
            "# $BROWSER of the test: records the link and opens nothing.\n\
             printf '%s\\n' \"$1\" >{}\n",
            sh_quote(&opened)
        ),
    );
    let no_log = || String::new();
    let mut push = spawn_push(&server, &work, &home, &idle_browser);
    answer(
        &mut push,
        "Are you sure you want to continue?",
        "y",
        &no_log,
    );
    answer(&mut push, "Open browser to authorize now?", "y", &no_log);
    // Esc, the byte 0x1b alone.
    answer(
        &mut push,
        "Waiting for oidc_custom authorization... (Esc to skip)",
        "\x1b",
        &no_log,
    );
    expect(&mut push, "oidc_custom skipped", &no_log);
    expect(&mut push, "Skipped: oidc_custom", &no_log);
    expect(
        &mut push,
        "Some connectors still require authorization.",
        &no_log,
    );
    expect_success(&mut push, &no_log);

    let link = wait_for_file(&opened, Duration::from_secs(30)).expect("$BROWSER was run");
    assert!(
        link.trim()
            .starts_with(&format!("{}/connect/", server.origin)),
        "$BROWSER got {link:?}"
    );
}
