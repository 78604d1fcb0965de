//! Our server for the benchmarks: `connectors-server`'s router in this
//! process on loopback, over a fresh database (SQLite or PostgreSQL), with custom providers
//! whose connectors already hold tokens (imported, as an operator would), so
//! that nothing waits on a provider or a browser.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use connectors_catalog::{Catalog, OAuthPatch, ProviderConfig, BUILTIN_CATALOG};
use connectors_engine::{Bootstrap, BootstrapRequest, Engine, EngineConfig, ImportCredentials};
use connectors_server::{app, AppState};
use connectors_vault::{KeyRing, Secret};

/// A running server: where it listens and its bootstrap secrets.
pub struct Running {
    /// Loopback address.
    pub addr: SocketAddr,
    /// The workspace, app, builder API key and service token.
    pub boot: Bootstrap,
}

/// Starts the server on the current tokio runtime with one custom provider
/// per entry of `types`, each with an active connector granted `scopes`.
pub async fn start(
    database_url: &str,
    types: &[String],
    scopes: &[String],
) -> anyhow::Result<Running> {
    let store = connectors_store::open(database_url).await?;
    let operator: BTreeMap<_, _> = types
        .iter()
        .map(|t| (t.clone(), provider(t).finish()))
        .collect();
    let catalog = Catalog::load(BUILTIN_CATALOG, &operator)?;
    let keys = KeyRing::from_specs(&[KeyRing::generate_spec("k1").expose()])?;
    let engine = Engine::new(
        store,
        Arc::new(catalog),
        Arc::new(keys),
        EngineConfig::default(),
    );
    let boot = engine
        .bootstrap(&BootstrapRequest {
            workspace_name: "bench".into(),
            builder_email: "bench@example.com".into(),
            app_name: "bench".into(),
        })
        .await?
        .context("fresh database")?;
    for t in types {
        engine
            .import_credentials(ImportCredentials {
                app_id: boot.app_id.clone(),
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = app(AppState { engine }, 64 * 1024);
    tokio::spawn(async move {
        let _ = connectors_server::serve(listener, router, std::future::pending()).await;
    });
    Ok(Running { addr, boot })
}

/// A custom OAuth provider that is never called (its connectors hold tokens).
fn provider(t: &str) -> ProviderConfig {
    ProviderConfig {
        display_name: Some(format!("Bench {t}")),
        client_id: Some("bench".into()),
        oauth: OAuthPatch {
            authorization_url: Some("https://bench.invalid/authorize".into()),
            token_url: Some("https://bench.invalid/token".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}
