//! Test harness: an in-process server over a throwaway database, and the
//! real `connectors-server` binary started as the README says.
//!
//! The database is SQLite unless `CONNECTORS_TEST_BACKEND=postgres`: then
//! every in-process server and every server directory gets its own fresh
//! PostgreSQL database (`connectors-testdb`), dropped with it. `scripts/test`
//! runs this crate's tests once per backend.

pub use connectors_testkit::{http_request, js_dir, oidc};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, Response};
use connectors_engine::BootstrapRequest;
use connectors_server::Front;
use connectors_testdb::Backend;
use http_body_util::BodyExt;
use tower::ServiceExt;

pub use connectors_server::testing::{TestServer, PROVIDERS_TOML};

/// One call of the real `@base44/sdk` through `tests/js/sdk.mjs` (its
/// header says what `args` holds): `{"ok": true, "value"}` or
/// `{"ok": false, "status", "message", "code"}`.
pub fn sdk(args: &serde_json::Value) -> serde_json::Value {
    let out = Command::new("node")
        .arg(js_dir().join("sdk.mjs"))
        .arg(args.to_string())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "sdk.mjs output not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A bootstrapped server over a fresh database with [`PROVIDERS_TOML`],
/// driven through its router (no socket).
pub async fn in_process() -> TestServer {
    TestServer::builder()
        .bootstrap(BootstrapRequest {
            workspace_name: "w".into(),
            builder_email: "owner@example.com".into(),
            app_name: "app".into(),
        })
        .start()
        .await
}

pub struct Answer {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub async fn call(router: &Front, request: Request<Body>) -> Answer {
    let response: Response<Body> = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A `connectors-server serve` process on a free port with a fresh data dir.
pub struct ServerProcess {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub boot: serde_json::Value,
    pub url: String,
    pub log: PathBuf,
}

impl ServerProcess {
    pub fn api_key(&self) -> String {
        self.boot["api_key"].as_str().unwrap().to_string()
    }
    pub fn app_id(&self) -> String {
        self.boot["app_id"].as_str().unwrap().to_string()
    }
    pub fn service_token(&self) -> String {
        self.boot["service_token"].as_str().unwrap().to_string()
    }
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// Runs an admin subcommand against the same data dir and config.
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        admin_command(&self.data_dir(), &self.config_path(), args, stdin)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The PostgreSQL database this server's directory owns, if any.
    pub fn database_url(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join(DB_URL_FILE)).ok()
    }

    /// Stops with SIGKILL, as a crash would (no graceful shutdown).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops with SIGTERM and waits (graceful shutdown).
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The directory owns its database (a test that restarts moves the
        // directory to the new process first).
        if let Some(url) = self.database_url() {
            let path = url.split('?').next().unwrap_or_default();
            if let Some((_, name)) = path.rsplit_once('/') {
                let _ = connectors_testdb::drop_postgres_database(name);
            }
        }
    }
}

/// In a server directory: the URL of the PostgreSQL database it owns.
const DB_URL_FILE: &str = "database_url.txt";

/// The database URL for a server in `dir`: the one recorded there (a
/// restart), else on the PostgreSQL backend a fresh database, recorded;
/// `None` keeps the embedded SQLite default in the data directory.
fn database_for(dir: &Path) -> Option<String> {
    let file = dir.join(DB_URL_FILE);
    if let Ok(url) = std::fs::read_to_string(&file) {
        return Some(url);
    }
    if Backend::from_env() != Backend::Postgres {
        return None;
    }
    let (_, url) = connectors_testdb::create_postgres_database("connectors_test")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&file, &url).unwrap();
    Some(url)
}

pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_connectors-server")
}

pub fn admin_command(
    data_dir: &Path,
    config: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    use std::io::Write;
    let mut command = Command::new(server_bin());
    if let Some(url) = data_dir
        .parent()
        .and_then(|d| std::fs::read_to_string(d.join(DB_URL_FILE)).ok())
    {
        command.env("CONNECTORS_DATABASE_URL", url);
    }
    let mut child = command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Starts the binary as the README says, with `config_toml` and debug logs.
pub fn start_server(config_toml: &str, extra_env: &[(&str, &str)]) -> ServerProcess {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), config_toml).unwrap();
    start_server_in(dir, extra_env)
}

pub fn start_server_in(dir: tempfile::TempDir, extra_env: &[(&str, &str)]) -> ServerProcess {
    launch(dir, extra_env, None, None)
}

/// Starts the binary again on a data dir that was already bootstrapped, on
/// the same address as before.
pub fn restart(dir: tempfile::TempDir, boot: serde_json::Value) -> ServerProcess {
    launch(dir, &[], None, Some(boot))
}

/// Another replica of a bootstrapped server: a new directory and port, the
/// same `config_toml`; `extra_env` must carry the shared
/// `CONNECTORS_DATABASE_URL` (and the encryption keys, in the config or the
/// environment). Its `url` is its own address; `boot` is the first's.
pub fn start_replica(
    port: u16,
    config_toml: &str,
    extra_env: &[(&str, &str)],
    boot: serde_json::Value,
) -> ServerProcess {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), config_toml).unwrap();
    launch(
        dir,
        extra_env,
        Some(format!("127.0.0.1:{port}")),
        Some(boot),
    )
}

/// Like [`start_server_on`] with extra environment variables.
pub fn start_server_on_with(
    port: u16,
    config_toml: &str,
    extra_env: &[(&str, &str)],
) -> ServerProcess {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), config_toml).unwrap();
    launch(dir, extra_env, Some(format!("127.0.0.1:{port}")), None)
}

fn launch(
    dir: tempfile::TempDir,
    extra_env: &[(&str, &str)],
    bind: Option<String>,
    known: Option<serde_json::Value>,
) -> ServerProcess {
    let own_url = bind
        .as_ref()
        .filter(|b| !b.ends_with(":0"))
        .map(|b| format!("http://{b}"));
    let bind = bind
        .or_else(|| {
            known.as_ref().map(|b| {
                b["api_url"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("http://")
                    .to_string()
            })
        })
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let boot_path = dir.path().join("bootstrap.json");
    let _ = std::fs::remove_file(&boot_path);
    let log = dir
        .path()
        .join(format!("server-{}.log", std::process::id()));
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    // stdout carries the one-time bootstrap secrets; stderr carries the logs.
    let stdout_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("server-stdout.txt"))
        .unwrap();
    let mut command = Command::new(server_bin());
    command
        .arg("serve")
        .arg("--bind")
        .arg(&bind)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .arg("--bootstrap-file")
        .arg(&boot_path)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::from(stdout_file))
        .stderr(Stdio::from(log_file));
    if !extra_env
        .iter()
        .any(|(k, _)| *k == "CONNECTORS_DATABASE_URL")
    {
        if let Some(url) = database_for(dir.path()) {
            command.env("CONNECTORS_DATABASE_URL", url);
        }
    }
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let boot: serde_json::Value = if let Some(boot) = known {
        boot
    } else {
        loop {
            if let Ok(text) = std::fs::read_to_string(&boot_path) {
                if let Ok(v) = serde_json::from_str(&text) {
                    break v;
                }
            }
            assert!(
                Instant::now() < deadline,
                "server did not bootstrap: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let url = own_url.unwrap_or_else(|| boot["api_url"].as_str().unwrap().to_string());
    let mut server = ServerProcess {
        child,
        dir,
        boot,
        url,
        log,
    };
    wait_healthy(&mut server);
    server
}

fn wait_healthy(server: &mut ServerProcess) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _)) = http_get(&format!("{}/healthz", server.url)) {
            return;
        }
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("server exited with {status}: {}", server.logs());
        }
        assert!(
            Instant::now() < deadline,
            "server not healthy: {}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free loopback port (bound and released; fine for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Like [`start_server`] on a chosen port.
pub fn start_server_on(port: u16, config_toml: &str) -> ServerProcess {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), config_toml).unwrap();
    launch(dir, &[], Some(format!("127.0.0.1:{port}")), None)
}

pub fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    http_request("GET", url, &[], None)
}

/// A server a backend function asks for tokens: a process or in process.
pub trait TokenServer {
    /// Where it listens.
    fn url(&self) -> &str;
    /// The bootstrapped app.
    fn app_id(&self) -> String;
    /// The app's service token.
    fn service_token(&self) -> String;

    /// `GET external-auth/tokens/{ty}` with the app's service token, as a
    /// backend function asks: (status, JSON body or null).
    fn token(&self, ty: &str) -> (u16, serde_json::Value) {
        let bearer = format!("Bearer {}", self.service_token());
        let url = format!(
            "{}/api/apps/{}/external-auth/tokens/{ty}",
            self.url(),
            self.app_id()
        );
        let (status, body) =
            http_request("GET", &url, &[("authorization", &bearer)], None).unwrap();
        (status, serde_json::from_str(&body).unwrap_or_default())
    }
}

impl TokenServer for ServerProcess {
    fn url(&self) -> &str {
        &self.url
    }
    fn app_id(&self) -> String {
        ServerProcess::app_id(self)
    }
    fn service_token(&self) -> String {
        ServerProcess::service_token(self)
    }
}

impl TokenServer for TestServer {
    fn url(&self) -> &str {
        &self.url
    }
    fn app_id(&self) -> String {
        TestServer::app_id(self).to_string()
    }
    fn service_token(&self) -> String {
        TestServer::service_token(self).to_string()
    }
}

/// `n` concurrent token requests for `ty` spread round-robin over `servers`,
/// on `client`'s keep-alive connections: (status, access token or "").
pub async fn spread_tokens<S: TokenServer>(
    client: &reqwest::Client,
    servers: &[&S],
    ty: &str,
    n: usize,
) -> Vec<(u16, String)> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let server = servers[i % servers.len()];
        let url = format!(
            "{}/api/apps/{}/external-auth/tokens/{ty}",
            server.url(),
            server.app_id()
        );
        let bearer = format!("Bearer {}", server.service_token());
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .get(&url)
                .header("authorization", &bearer)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            let token = body["access_token"].as_str().unwrap_or_default();
            (status, token.to_string())
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Held by the tests that drive 1,000 concurrent requests per round against
/// real-time token lifetimes: in one test binary they would otherwise run
/// at the same time and slow each other's rounds past those lifetimes.
pub fn one_load_test_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOAD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOAD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
