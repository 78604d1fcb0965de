//! Our server as a separate process (the release `connectors-server`
//! binary), for figures that must be the server's alone: its RSS, read from
//! `/proc/<pid>/status`, and latency without the bench's load in the same
//! process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A server directory: config file, data directory (key file) and logs.
pub struct ServerDir {
    pub root: PathBuf,
}

impl ServerDir {
    /// Writes the config: the database, one never-called custom provider
    /// per type, everything else at its defaults (the cache bound among
    /// them), and the key file in the data directory.
    pub fn create(
        root: &Path,
        database_url: &str,
        types: &[String],
        key_spec: &str,
    ) -> anyhow::Result<Self> {
        let mut toml = format!(
            "database_url = {database_url:?}\ndata_dir = {:?}\n\n",
            root.join("data").display().to_string()
        );
        toml.push_str(&crate::server::providers(types));
        connectors_vault::write_private(&root.join("config.toml"), &toml)?;
        connectors_vault::write_private(
            &root.join("data").join(connectors_server::setup::KEY_FILE),
            &format!("{key_spec}\n"),
        )?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn log(&self) -> PathBuf {
        self.root.join("server.log")
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
}

/// A running server process, killed on drop.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `connectors-server serve` on a free loopback port and waits
    /// until `/healthz` answers 200. With `bootstrap`, an empty database is
    /// bootstrapped and the secrets written there.
    pub async fn start(
        bin: &Path,
        dir: &ServerDir,
        bootstrap: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let addr = free_port()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.log())?;
        let mut command = Command::new(bin);
        // Only the config file speaks: no setting from our environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CONNECTORS_") {
                command.env_remove(key);
            }
        }
        command
            .arg("--config")
            .arg(dir.root.join("config.toml"))
            .arg("serve")
            .arg("--bind")
            .arg(addr.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            // stdout carries the bootstrap secrets: not kept.
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(path) = bootstrap {
            command.arg("--bootstrap-file").arg(path);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok((status, _)) = crate::load::get(addr, "/healthz", None).await {
                if status.is_success() {
                    return Ok(server);
                }
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("the server exited with {status}:\n{}", dir.logs());
            }
            if Instant::now() > deadline {
                bail!(
                    "the server did not answer /healthz within 120 s:\n{}",
                    dir.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server's resident set size and its peak, in MB.
    pub fn rss_mb(&self) -> anyhow::Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("reading the server's /proc status")?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
                .with_context(|| format!("no {name} in /proc/{}/status", self.child.id()))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Stops the server with SIGTERM (its graceful shutdown) and waits.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                self.child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A free loopback port (bound and released: fine for a bench).
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}
