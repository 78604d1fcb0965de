//! `connectors-server` in process, for end-to-end runs of the CLIs: the
//! given config, a temp SQLite db, one bootstrapped workspace/app/builder.

use connectors_engine::Engine;

use super::runtime;

/// A running server; stops when dropped.
pub struct RealServer {
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    pub app_id: String,
    pub api_key: String,
    pub service_token: String,
    /// The server's engine, for set-up the API does not offer.
    pub engine: Engine,
    /// The temp dir holding `config.toml` and `data/`.
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for RealServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the server with `config_toml` as its config file.
pub fn start_real_server(config_toml: &str) -> RealServer {
    use connectors_server::config::{Overrides, ServerConfig};
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config_toml).unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let rt = runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let origin = format!("http://{addr}");
    let config = ServerConfig::resolve(&Overrides {
        config: Some(config_path),
        bind: Some(addr.to_string()),
        data_dir: Some(data_dir),
        public_url: Some(origin.clone()),
        database_url: None,
    })
    .expect("server config");
    let (engine, boot) = rt.block_on(async {
        let engine = connectors_server::setup::engine(&config, &origin)
            .await
            .expect("engine");
        let boot = engine
            .bootstrap(&connectors_engine::BootstrapRequest {
                workspace_name: "parity".into(),
                builder_email: "owner@example.com".into(),
                app_name: "parity app".into(),
            })
            .await
            .expect("bootstrap")
            .expect("first bootstrap");
        (engine, boot)
    });
    let router = connectors_server::app(
        connectors_server::AppState {
            engine: engine.clone(),
        },
        config.max_body_bytes,
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(async move {
        let _ = connectors_server::serve(listener, router, async {
            let _ = rx.await;
        })
        .await;
    });
    RealServer {
        origin,
        app_id: boot.app_id.clone(),
        api_key: boot.api_key.expose().to_string(),
        service_token: boot.service_token.expose().to_string(),
        engine,
        dir,
        shutdown: Some(tx),
    }
}
