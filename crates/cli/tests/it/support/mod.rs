//! Test harness of the parity suite: a scripted, recording HTTP server
//! (in-process axum on `127.0.0.1:0`), a runner for either CLI (the npm
//! `base44` 0.1.18 or ours) in fresh temporary directories, and the
//! normalisations used to compare their runs.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

pub mod fake_stripe;

pub use connectors_server::testing::{TestServer, PROVIDERS_TOML};
pub use connectors_testkit::{http, repo_root, runtime};

/// The workspace API key both CLIs get (`BASE44_API_KEY`).
pub const API_KEY: &str = "b44k_parity_test_key";
/// Prefix of app-scoped paths; patterns without a leading `/` are relative to it.
pub const APP_PREFIX: &str = "/api/apps/app-parity/";
/// Longest a single CLI run may take before it is killed.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Scripted answers
// ---------------------------------------------------------------------------

/// A canned response body.
#[derive(Clone, Debug)]
pub enum ReplyBody {
    /// `application/json`.
    Json(Value),
    /// Any bytes with an optional content type.
    Raw {
        content_type: Option<String>,
        text: String,
    },
}

/// One canned answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: ReplyBody,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// A JSON answer with `status`.
    pub fn json(status: u16, value: Value) -> Self {
        Reply {
            status,
            body: ReplyBody::Json(value),
            headers: Vec::new(),
        }
    }

    /// `200` with a JSON body.
    pub fn ok(value: Value) -> Self {
        Self::json(200, value)
    }

    /// A non-JSON answer.
    pub fn raw(status: u16, content_type: Option<&str>, text: &str) -> Self {
        Reply {
            status,
            body: ReplyBody::Raw {
                content_type: content_type.map(str::to_string),
                text: text.to_string(),
            },
            headers: Vec::new(),
        }
    }

    /// Adds a response header (e.g. `X-Request-ID`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Canned answers for one (method, path pattern).
///
/// The pattern is matched segment by segment; `*` matches any one segment.
/// A pattern without a leading `/` is relative to [`APP_PREFIX`]. A pattern
/// with a `?` is matched against path and query, otherwise against the path.
/// Replies are used in order; the last one repeats.
#[derive(Clone, Debug)]
pub struct Route {
    pub method: &'static str,
    pub pattern: String,
    pub replies: Vec<Reply>,
}

/// `method pattern → reply`.
pub fn on(method: &'static str, pattern: &str, reply: Reply) -> Route {
    let pattern = if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("{APP_PREFIX}{pattern}")
    };
    Route {
        method,
        pattern,
        replies: vec![reply],
    }
}

impl Route {
    /// The answer of the next call (a sequence: first, then this, ...).
    pub fn then(mut self, reply: Reply) -> Self {
        self.replies.push(reply);
        self
    }

    fn matches(&self, method: &str, path: &str, path_and_query: &str) -> bool {
        if !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let target = if self.pattern.contains('?') {
            path_and_query
        } else {
            path
        };
        let want: Vec<&str> = self.pattern.split('/').collect();
        let got: Vec<&str> = target.split('/').collect();
        want.len() == got.len() && want.iter().zip(&got).all(|(w, g)| *w == "*" || w == g)
    }
}

// ---------------------------------------------------------------------------
// Recorded requests
// ---------------------------------------------------------------------------

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// The body: parsed JSON, or the raw text as a JSON string; `None` when empty.
    pub body: Option<Value>,
    pub api_key: Option<String>,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    /// `X-Request-ID` (the npm CLI sends a fresh UUID v4 with every request).
    pub request_id: Option<String>,
}

impl Recorded {
    /// `METHOD path` with [`APP_PREFIX`] left out.
    pub fn short(&self) -> String {
        let path = self.path.strip_prefix(APP_PREFIX).unwrap_or(&self.path);
        format!("{} {}", self.method, path)
    }

    /// What the parity check compares: method, path+query, body.
    pub fn key(&self) -> String {
        match &self.body {
            Some(body) => format!("{} {}", self.short(), body),
            None => self.short(),
        }
    }
}

impl fmt::Display for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  [api_key={:?} ua={:?}]",
            self.key(),
            self.api_key,
            self.user_agent
        )
    }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

#[derive(Clone)]
struct ServerState {
    routes: Arc<Vec<Route>>,
    calls: Arc<Mutex<HashMap<usize, usize>>>,
    log: Arc<Mutex<Vec<Recorded>>>,
}

/// A scripted server; stops when dropped.
pub struct ScriptedServer {
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    /// Stops the server when dropped.
    _served: connectors_testkit::Served,
}

impl ScriptedServer {
    pub fn start(routes: &[Route]) -> Self {
        let state = ServerState {
            routes: Arc::new(routes.to_vec()),
            calls: Arc::default(),
            log: Arc::default(),
        };
        let log = state.log.clone();
        let router = Router::new().fallback(handle).with_state(state);
        let served = connectors_testkit::serve(router);
        ScriptedServer {
            origin: served.url.clone(),
            log,
            _served: served,
        }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

async fn handle(
    State(state): State<ServerState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_string());
    let body_value = if body.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice::<Value>(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
        )
    };
    state.log.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path_and_query.clone(),
        body: body_value,
        api_key: header(&headers, "api_key"),
        authorization: header(&headers, "authorization"),
        user_agent: header(&headers, "user-agent"),
        content_type: header(&headers, "content-type"),
        request_id: header(&headers, "x-request-id"),
    });
    let found = state
        .routes
        .iter()
        .position(|r| r.matches(method.as_str(), &path, &path_and_query));
    let Some(index) = found else {
        let body = serde_json::json!({
            "detail": format!("unscripted request: {method} {path_and_query}"),
        });
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    };
    let route = &state.routes[index];
    let call = {
        let mut calls = state.calls.lock().unwrap();
        let n = calls.entry(index).or_insert(0);
        *n += 1;
        *n - 1
    };
    let reply = &route.replies[call.min(route.replies.len() - 1)];
    let status = StatusCode::from_u16(reply.status).expect("valid status");
    let mut response = match &reply.body {
        ReplyBody::Json(value) => (status, axum::Json(value.clone())).into_response(),
        ReplyBody::Raw { content_type, text } => {
            let mut response = (status, text.clone()).into_response();
            response.headers_mut().remove("content-type");
            if let Some(ct) = content_type {
                response
                    .headers_mut()
                    .insert("content-type", HeaderValue::from_str(ct).unwrap());
            }
            response
        }
    };
    for (name, value) in &reply.headers {
        response.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    response
}

// ---------------------------------------------------------------------------
// Running a CLI
// ---------------------------------------------------------------------------

/// Which CLI runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The npm `base44` 0.1.18 in `tests/js/node_modules/.bin`.
    Npm,
    /// Ours: `CARGO_BIN_EXE_base44`.
    Ours,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Npm => "npm",
            Side::Ours => "ours",
        })
    }
}

/// The npm CLI; panics with the fix when it is not installed.
pub fn npm_cli() -> PathBuf {
    let path = repo_root().join("tests/js/node_modules/.bin/base44");
    assert!(
        path.exists(),
        "the npm base44 CLI is missing at {}: run scripts/install-test-deps",
        path.display()
    );
    path
}

/// Our CLI.
pub fn our_cli() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_base44"))
}

impl Side {
    /// The executable. `PARITY_OURS_BIN` replaces ours (e.g. with the npm CLI,
    /// to check that the comparison of npm with itself is stable).
    pub fn program(self) -> PathBuf {
        match self {
            Side::Npm => npm_cli(),
            Side::Ours => std::env::var_os("PARITY_OURS_BIN")
                .filter(|v| !v.is_empty())
                .map_or_else(our_cli, PathBuf::from),
        }
    }
}

/// What one CLI run did.
#[derive(Clone, Debug)]
pub struct Run {
    pub side: Side,
    pub code: i32,
    /// Normalised: ANSI escapes removed, the work dir replaced by `<WORK>`,
    /// the server origin by `<ORIGIN>`.
    pub stdout: String,
    pub stderr: String,
    pub requests: Vec<Recorded>,
    /// Every file under the work dir afterwards: relative path → bytes.
    pub files: BTreeMap<String, Vec<u8>>,
    pub elapsed: Duration,
}

impl Run {
    /// stdout and stderr together (for phrase checks).
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_str(self.stdout.trim())
            .map_err(|e| format!("{} stdout is not JSON ({e}): {:?}", self.side, self.stdout))
    }

    /// A readable dump for failure messages.
    pub fn dump(&self) -> String {
        let mut out = format!(
            "--- {} (exit {}, {:.2}s)\nstdout: {}\nstderr: {}\nrequests:\n",
            self.side,
            self.code,
            self.elapsed.as_secs_f64(),
            indent(&self.stdout),
            indent(&self.stderr)
        );
        for r in &self.requests {
            out.push_str(&format!("  {r}\n"));
        }
        out.push_str("files:\n");
        for (path, bytes) in &self.files {
            out.push_str(&format!("  {path}: {:?}\n", String::from_utf8_lossy(bytes)));
        }
        out
    }
}

fn indent(text: &str) -> String {
    let text = text.trim_end();
    if text.is_empty() {
        return "(empty)".into();
    }
    text.lines()
        .map(|l| format!("\n    {l}"))
        .collect::<String>()
}

/// What to run, and where.
#[derive(Clone, Debug, Default)]
pub struct Invocation {
    /// Files to create under the work dir: relative path → content.
    pub files: Vec<(String, String)>,
    /// The working directory, relative to the work dir (`""` = the work dir).
    pub cwd: String,
    pub argv: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

/// Runs `side` with `invocation` against a fresh [`ScriptedServer`] scripted
/// with `routes`, in fresh temporary `HOME` and work dirs; the run's
/// `requests` are the server's log.
pub fn run_cli(side: Side, invocation: &Invocation, routes: &[Route]) -> Run {
    let server = ScriptedServer::start(routes);
    let run = run_cli_against(side, invocation, &server.origin);
    Run {
        requests: server.requests(),
        ..run
    }
}

/// Runs `side` with `invocation` against the server at `origin`, in fresh
/// temporary `HOME` and work dirs, with the scripted [`API_KEY`].
pub fn run_cli_against(side: Side, invocation: &Invocation, origin: &str) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().canonicalize().unwrap();
    let home = root.join("home");
    let work = root.join("work");
    // Both CLIs walk up from cwd looking for a project: a stray config file
    // above the temp dir would turn every "no project" row into a project.
    for dir in root.ancestors() {
        for marker in [
            "base44/config.json",
            "base44/config.jsonc",
            "config.json",
            "config.jsonc",
        ] {
            assert!(
                !dir.join(marker).exists() || dir.parent().is_none(),
                "{} exists above the test's temp dir; remove it or set TMPDIR elsewhere",
                dir.join(marker).display()
            );
        }
    }
    exec(side, &work, &home, invocation, origin, API_KEY)
}

/// Runs `side` in an existing work dir (`invocation.files` are written
/// first): cwd `work/<invocation.cwd>`, `HOME=home`, `BASE44_API_URL=origin`,
/// `BASE44_API_KEY=api_key`, telemetry and the upgrade check off, stdin null
/// (so both CLIs are non-interactive), nothing else from the environment but `PATH`.
pub fn exec(
    side: Side,
    work: &Path,
    home: &Path,
    invocation: &Invocation,
    origin: &str,
    api_key: &str,
) -> Run {
    std::fs::create_dir_all(home).unwrap();
    std::fs::create_dir_all(work).unwrap();
    let work = work.canonicalize().unwrap();
    for (rel, content) in &invocation.files {
        write_file(&work.join(rel), content);
    }
    let cwd = work.join(&invocation.cwd);
    std::fs::create_dir_all(&cwd).unwrap();

    let mut command = Command::new(side.program());
    command
        .args(&invocation.argv)
        .current_dir(&cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("BASE44_API_URL", origin)
        .env("BASE44_API_KEY", api_key)
        .env("BASE44_DISABLE_TELEMETRY", "1")
        .env("BASE44_CLI_TEST_OVERRIDES", r#"{"latestVersion":null}"#)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &invocation.env {
        command.env(k, v);
    }
    let started = Instant::now();
    let (code, stdout, stderr) = run_with_timeout(command, RUN_TIMEOUT)
        .unwrap_or_else(|e| panic!("running the {side} CLI {:?}: {e}", invocation.argv));
    let elapsed = started.elapsed();
    let files = snapshot(&work);
    let normalise = |text: &str| {
        strip_ansi(text)
            .replace(&work.display().to_string(), "<WORK>")
            .replace(origin, "<ORIGIN>")
    };
    Run {
        side,
        code,
        stdout: normalise(&stdout),
        stderr: normalise(&stderr),
        requests: Vec::new(),
        files,
        elapsed,
    }
}

/// Runs a command with its stdout/stderr captured; kills it after `timeout`.
pub fn run_with_timeout(
    mut command: Command,
    timeout: Duration,
) -> std::io::Result<(i32, String, String)> {
    let mut child = command.spawn()?;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no exit after {timeout:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&out_thread.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap()).into_owned();
    Ok((status.code().unwrap_or(-1), stdout, stderr))
}

pub fn write_file(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// Every file under `dir`: relative path (with `/`) → bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Removes ANSI escape sequences (CSI and OSC).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Comparing runs
// ---------------------------------------------------------------------------

/// How the request sequences are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// In order, except that each run of consecutive PUTs is a multiset
    /// (our push sends its PUTs concurrently).
    PutsUnordered,
    /// As a multiset (pull sends its two GETs concurrently).
    Unordered,
}

/// The comparable form of a request log.
pub fn canonical(requests: &[Recorded], order: Order) -> Vec<String> {
    let mut keys: Vec<String> = requests.iter().map(Recorded::key).collect();
    match order {
        Order::Unordered => keys.sort(),
        Order::PutsUnordered => {
            let mut i = 0;
            while i < keys.len() {
                if keys[i].starts_with("PUT ") {
                    let start = i;
                    while i < keys.len() && keys[i].starts_with("PUT ") {
                        i += 1;
                    }
                    keys[start..i].sort();
                } else {
                    i += 1;
                }
            }
        }
    }
    keys
}

/// A line-by-line diff of two lists, for messages.
pub fn list_diff(left_name: &str, left: &[String], right_name: &str, right: &[String]) -> String {
    let mut out = String::new();
    let n = left.len().max(right.len());
    for i in 0..n {
        let l = left.get(i).map_or("(none)", String::as_str);
        let r = right.get(i).map_or("(none)", String::as_str);
        let mark = if l == r { "  " } else { "≠ " };
        out.push_str(&format!("{mark}{i:2} {left_name}: {l}\n"));
        if l != r {
            out.push_str(&format!("   {:2} {right_name}: {r}\n", ""));
        }
    }
    out
}

/// Differences between two file snapshots.
pub fn files_diff(
    npm: &BTreeMap<String, Vec<u8>>,
    ours: &BTreeMap<String, Vec<u8>>,
) -> Option<String> {
    if npm == ours {
        return None;
    }
    let mut out = String::new();
    let names: std::collections::BTreeSet<&String> = npm.keys().chain(ours.keys()).collect();
    for name in names {
        match (npm.get(name), ours.get(name)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => out.push_str(&format!(
                "  {name}:\n    npm:  {}\n    ours: {}\n",
                a.map_or("(absent)".into(), |a| format!(
                    "{:?}",
                    String::from_utf8_lossy(a)
                )),
                b.map_or("(absent)".into(), |b| format!(
                    "{:?}",
                    String::from_utf8_lossy(b)
                )),
            )),
        }
    }
    Some(out)
}

/// Runs `jobs` on `threads` worker threads; results in input order.
pub fn parallel<T, R>(jobs: Vec<T>, threads: usize, f: impl Fn(T) -> R + Sync) -> Vec<R>
where
    T: Send,
    R: Send,
{
    let n = jobs.len();
    // Reversed so that `pop` hands the jobs out in input order.
    let queue = Mutex::new(jobs.into_iter().enumerate().rev().collect::<Vec<_>>());
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(n.max(1)) {
            scope.spawn(|| loop {
                let job = queue.lock().unwrap().pop();
                let Some((i, job)) = job else { break };
                let result = f(job);
                results.lock().unwrap()[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

// ---------------------------------------------------------------------------
// The real connectors-server, in process
// ---------------------------------------------------------------------------

/// `connectors-server` running in this process on `127.0.0.1`; stops when dropped.
pub struct RealServer {
    /// `http://127.0.0.1:<port>`, also its public URL.
    pub origin: String,
    /// The bootstrapped app.
    pub app_id: String,
    /// Its workspace.
    pub workspace_id: String,
    /// The bootstrapped builder's `b44k_` key.
    pub api_key: String,
    /// The app's `b44s_` service token.
    pub service_token: String,
    /// The server's engine, for set-up the API does not offer.
    pub engine: connectors_engine::Engine,
    server: TestServer,
}

impl RealServer {
    /// The app's `GET external-auth/list` entries, as the builder sees them.
    pub fn remote_list(&self) -> Vec<Value> {
        let (status, _, body) = http(
            "GET",
            &format!(
                "{}/api/apps/{}/external-auth/list",
                self.origin, self.app_id
            ),
            &[("api_key", &self.api_key)],
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let list: Value = serde_json::from_str(&body).unwrap();
        list["integrations"].as_array().cloned().unwrap_or_default()
    }

    /// Whether the server's database holds `needle` anywhere.
    pub fn database_holds(&self, needle: &str) -> bool {
        self.server.database_holds(needle)
    }
}

/// Starts `connectors-server` in process the way `serve` assembles it: the
/// config file is `config(origin)` (the origin is known before the file is
/// written, so an OAuth server can be told our callback first), a fresh
/// database of the backend `CONNECTORS_TEST_BACKEND` names (SQLite by
/// default), one bootstrapped workspace/app/builder.
pub fn start_real_server(config: impl FnOnce(&str) -> String) -> RealServer {
    let server = runtime().block_on(TestServer::builder().config(config).serve().start());
    RealServer {
        origin: server.url.clone(),
        app_id: server.app_id().to_string(),
        workspace_id: server.boot.workspace_id.clone(),
        api_key: server.api_key().to_string(),
        service_token: server.service_token().to_string(),
        engine: server.engine.clone(),
        server,
    }
}
