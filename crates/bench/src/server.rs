//! Our server for the benchmarks: `connectors-server`'s test server (the
//! suites' own assembly) in this process on loopback, over the given
//! database (SQLite or PostgreSQL), with custom providers whose connectors
//! already hold tokens (imported, as an operator would), so that nothing
//! waits on a provider or a browser.

use std::fmt::Write as _;
use std::net::SocketAddr;

use anyhow::Context;
use connectors_engine::{Bootstrap, BootstrapRequest, ImportCredentials};
use connectors_server::testing::TestServer;
use connectors_vault::Secret;

/// A running server: where it listens and its bootstrap secrets.
pub struct Running {
    /// Loopback address.
    pub addr: SocketAddr,
    /// Serves until dropped.
    server: TestServer,
}

impl Running {
    /// The workspace, app, builder API key and service token.
    pub fn boot(&self) -> &Bootstrap {
        &self.server.boot
    }

    /// Adds apps, each with an active connector of every type in `types`,
    /// from app number `from_app` until `apps` exist: imported through the
    /// engine (8 at a time), so every row is sealed and would decrypt like
    /// a real one. How long it took.
    pub async fn seed(
        &self,
        types: &[String],
        from_app: usize,
        apps: usize,
    ) -> anyhow::Result<std::time::Duration> {
        const WORKERS: usize = 8;
        let start = std::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..WORKERS {
            let engine = self.server.engine.clone();
            let workspace = self.server.boot.workspace_id.clone();
            let types = types.to_vec();
            tasks.spawn(async move {
                for i in (from_app + worker..apps).step_by(WORKERS) {
                    let app = engine.create_app(&workspace, &format!("seed-{i}")).await?;
                    for t in &types {
                        engine
                            .import_credentials(ImportCredentials {
                                app_id: app.id.clone(),
                                integration_type: t.clone(),
                                builder_email: None,
                                access_token: Secret::new(format!("seed-access-{i}-{t}")),
                                refresh_token: Some(Secret::new(format!("seed-refresh-{i}-{t}"))),
                                expires_in: Some(86_400 + (i % 3600) as i64),
                                scopes: Vec::new(),
                                connection_config: None,
                            })
                            .await?;
                    }
                }
                anyhow::Ok(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(start.elapsed())
    }
}

/// Starts the server on the current tokio runtime with one custom provider
/// per entry of `types`, each with an active connector granted `scopes`.
pub async fn start(
    database_url: &str,
    types: &[String],
    scopes: &[String],
) -> anyhow::Result<Running> {
    let server = TestServer::builder()
        .providers(&providers(types))
        .database_url(database_url)
        .bootstrap(BootstrapRequest {
            workspace_name: "bench".into(),
            builder_email: "bench@example.com".into(),
            app_name: "bench".into(),
        })
        .serve()
        .start()
        .await;
    for t in types {
        server
            .engine
            .import_credentials(ImportCredentials {
                app_id: server.boot.app_id.clone(),
                integration_type: t.clone(),
                builder_email: None,
                access_token: Secret::new("bench-access-token"),
                refresh_token: None,
                expires_in: None,
                scopes: scopes.to_vec(),
                connection_config: None,
            })
            .await
            .with_context(|| format!("importing a token for {t}"))?;
    }
    let addr = server
        .url
        .trim_start_matches("http://")
        .parse()
        .context("the test server's address")?;
    Ok(Running { addr, server })
}

/// Custom OAuth providers that are never called (their connectors hold tokens).
fn providers(types: &[String]) -> String {
    let mut toml = String::new();
    for t in types {
        let _ = write!(
            toml,
            "[providers.{t}]\ndisplay_name = \"Bench {t}\"\nclient_id = \"bench\"\n\
             authorization_url = \"https://bench.invalid/authorize\"\n\
             token_url = \"https://bench.invalid/token\"\n\n"
        );
    }
    toml
}
