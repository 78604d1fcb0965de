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
pub(crate) fn providers(types: &[String]) -> String {
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
