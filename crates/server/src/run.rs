//! `connectors-server serve`: bind, bootstrap an empty database (printing its
//! secrets once), run the background refresh and the audit trail's purge,
//! serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use connectors_engine::{Bootstrap, BootstrapRequest, EngineError};

use crate::config::ServerConfig;
use crate::setup::{self, SetupError};
use crate::{app, serve, shutdown_signal, AppState};

/// What `serve` creates on an empty database.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Also write the bootstrap credentials here as JSON (mode 0600).
    pub bootstrap_file: Option<PathBuf>,
    /// Email of the first builder.
    pub bootstrap_email: String,
    /// Name of the first app.
    pub bootstrap_app_name: String,
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}; is another server using it? pass --bind")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The engine could not be assembled from the configuration.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Bootstrapping the empty database failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The bootstrap file could not be written.
    #[error("writing the bootstrap file {}", path.display())]
    BootstrapFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Accepting connections failed.
    #[error("serving HTTP")]
    Io(#[from] std::io::Error),
}

/// Runs the server until a shutdown signal, then lets requests finish for
/// at most `[http] shutdown_drain_secs`.
pub async fn run(config: ServerConfig, options: ServeOptions) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServeError::Listen {
            addr: config.bind,
            source,
        })?;
    let local = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| {
        let host = if local.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            local.ip().to_string()
        };
        format!("http://{host}:{}", local.port())
    });
    let engine = setup::engine(&config, &public_url).await?;
    let created = engine
        .bootstrap(&BootstrapRequest {
            workspace_name: "Default workspace".into(),
            builder_email: options.bootstrap_email.clone(),
            app_name: options.bootstrap_app_name.clone(),
        })
        .await?;
    match created {
        Some(b) => print_bootstrap(&b, &public_url, options.bootstrap_file.as_ref())?,
        None => {
            if let Some(path) = options.bootstrap_file.as_ref().filter(|p| !p.exists()) {
                tracing::warn!(path = %path.display(), "the database is not empty, so no bootstrap file was written; create keys with `connectors-server create-api-key`");
            }
        }
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let refresher = config.oauth.background_refresh.then(|| {
        tokio::spawn(setup::background_refresh(
            engine.clone(),
            config.oauth.clone(),
            stop_rx.clone(),
        ))
    });
    let deliveries = tokio::spawn(engine.clone().run_deliveries(stop_rx.clone()));
    let purger = tokio::spawn(setup::background_audit_purge(
        engine.clone(),
        config.audit.clone(),
        stop_rx.clone(),
    ));
    if engine.sso_display_name().is_some() {
        // Discovery now, so a wrong issuer shows in the log before anyone
        // signs in; sign-in retries on its own if the provider is down.
        let engine = engine.clone();
        let redirect_uri = format!("{public_url}{}", connectors_engine::SSO_CALLBACK_PATH);
        tokio::spawn(async move {
            match engine.check_sso().await {
                Ok(()) => tracing::info!(redirect_uri, "single sign-on ready"),
                Err(e) => {
                    tracing::warn!(error = %e, "single sign-on: the identity provider cannot be used yet")
                }
            }
        });
    }
    let router = app(
        AppState::new(engine, config.metrics_bearer.clone()),
        &config.http,
        config.max_body_bytes,
    );
    tracing::info!(bind = %local, public_url, "connectors server listening");
    serve(listener, router, &config.http, shutdown_signal()).await?;
    let _ = stop_tx.send(true);
    if let Some(task) = refresher {
        let _ = task.await;
    }
    let _ = deliveries.await;
    let _ = purger.await;
    tracing::info!("stopped");
    Ok(())
}

/// Prints the bootstrap secrets once on stdout (never logged): the only copy.
fn print_bootstrap(
    b: &Bootstrap,
    public_url: &str,
    file: Option<&PathBuf>,
) -> Result<(), ServeError> {
    println!("Bootstrapped an empty database. Save these now; the secrets are not shown again:");
    println!("  workspace_id:  {}", b.workspace_id);
    println!("  app_id:        {}", b.app_id);
    println!("  builder_email: {}", b.builder_email);
    println!(
        "  api_key:       {}   (BASE44_API_KEY for the base44 CLI)",
        b.api_key.expose()
    );
    println!(
        "  service_token: {}   (for the app's backend functions)",
        b.service_token.expose()
    );
    println!("  api_url:       {public_url}   (BASE44_API_URL)");
    println!(
        "  login_url:     {}   (open once in a browser to set the builder's password)",
        b.login_url.expose()
    );
    if let Some(path) = file {
        let json = serde_json::json!({
            "workspace_id": b.workspace_id,
            "app_id": b.app_id,
            "builder_email": b.builder_email,
            "api_key": b.api_key.expose(),
            "service_token": b.service_token.expose(),
            "api_url": public_url,
            "login_url": b.login_url.expose(),
        });
        let text = serde_json::to_string_pretty(&json).expect("a JSON value serializes");
        connectors_vault::write_private(path, &text).map_err(|source| {
            ServeError::BootstrapFile {
                path: path.clone(),
                source,
            }
        })?;
        println!("  written to:    {}", path.display());
    }
    Ok(())
}
