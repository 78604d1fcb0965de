//! `connectors-server`: run the server, and administer apps, builders and keys.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use connectors_engine::{BootstrapRequest, ImportCredentials};
use connectors_server::config::{Overrides, ServerConfig};
use connectors_server::{app, serve, setup, shutdown_signal, AppState};
use connectors_vault::{KeyRing, Secret};

#[derive(Parser)]
#[command(
    name = "connectors-server",
    version,
    about = "The Base44 connectors server"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Global {
    /// Server config file (TOML).
    #[arg(long, global = true, env = "CONNECTORS_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the embedded database and generated key [default: ./data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://<data-dir>/connectors.db].
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Create a workspace.
    CreateWorkspace {
        /// Workspace name.
        #[arg(long)]
        name: String,
    },
    /// Create an app in a workspace and print its service token once.
    CreateApp {
        /// Workspace id (default: the only workspace).
        #[arg(long)]
        workspace_id: Option<String>,
        /// App name.
        #[arg(long)]
        name: String,
    },
    /// Create a builder in a workspace and print an API key once.
    CreateBuilder {
        /// Workspace id (default: the only workspace).
        #[arg(long)]
        workspace_id: Option<String>,
        /// The builder's email.
        #[arg(long)]
        email: String,
    },
    /// Issue another API key for a builder and print it once.
    CreateApiKey {
        /// Workspace id (default: the only workspace).
        #[arg(long)]
        workspace_id: Option<String>,
        /// The builder's email.
        #[arg(long)]
        email: String,
    },
    /// Issue another service token for an app and print it once.
    CreateServiceToken {
        /// The app.
        #[arg(long)]
        app_id: String,
    },
    /// List workspaces and apps.
    List,
    /// Store credentials for a connector, read as JSON from stdin:
    /// {"access_token", "refresh_token"?, "expires_in"?, "scopes"?, "connection_config"?}.
    ImportCredentials {
        /// The app.
        #[arg(long)]
        app_id: String,
        /// The connector type.
        #[arg(long = "type")]
        integration_type: String,
        /// Attribute the connector to this builder.
        #[arg(long)]
        builder_email: Option<String>,
    },
    /// Re-encrypt every stored secret under the first configured key.
    RotateKeys,
    /// Print a new random encryption key spec for [encryption] keys.
    GenerateKey {
        /// Key id.
        #[arg(long, default_value = "k1")]
        id: String,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8044].
    #[arg(long)]
    bind: Option<String>,
    /// URL browsers and clients use to reach this server [default: http://<bind>].
    #[arg(long)]
    public_url: Option<String>,
    /// On an empty database, also write the bootstrap credentials here as JSON (mode 0600).
    #[arg(long)]
    bootstrap_file: Option<PathBuf>,
    /// Email of the builder created on an empty database.
    #[arg(long, default_value = "builder@example.com")]
    bootstrap_email: String,
    /// Name of the app created on an empty database.
    #[arg(long, default_value = "My App")]
    bootstrap_app_name: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportJson {
    access_token: Secret,
    refresh_token: Option<Secret>,
    expires_in: Option<i64>,
    #[serde(default)]
    scopes: Vec<String>,
    connection_config: Option<std::collections::BTreeMap<String, String>>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut overrides = Overrides {
        config: cli.global.config.clone(),
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
        ..Overrides::default()
    };
    if let Command::Serve(args) = &cli.command {
        overrides.bind = args.bind.clone();
        overrides.public_url = args.public_url.clone();
    }
    if let Command::GenerateKey { id } = &cli.command {
        println!("{}", KeyRing::generate_spec(id).expose());
        return Ok(());
    }
    let config = ServerConfig::resolve(&overrides)?;
    init_logging(config.log_json);
    match cli.command {
        Command::Serve(args) => serve_command(config, args).await,
        command => admin(config, command).await,
    }
}

async fn serve_command(config: ServerConfig, args: ServeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another server using it? pass --bind",
                config.bind
            )
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
            builder_email: args.bootstrap_email.clone(),
            app_name: args.bootstrap_app_name.clone(),
        })
        .await?;
    if let Some(b) = created {
        let json = serde_json::json!({
            "workspace_id": b.workspace_id,
            "app_id": b.app_id,
            "builder_email": b.builder_email,
            "api_key": b.api_key.expose(),
            "service_token": b.service_token.expose(),
            "api_url": public_url,
        });
        // Printed once on stdout (never logged): the only copy of these secrets.
        println!(
            "Bootstrapped an empty database. Save these now; the secrets are not shown again:"
        );
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
        if let Some(path) = &args.bootstrap_file {
            let text = serde_json::to_string_pretty(&json)?;
            connectors_vault::write_private(path, &text)
                .with_context(|| format!("writing the bootstrap file {}", path.display()))?;
            println!("  written to:    {}", path.display());
        }
    } else if let Some(path) = &args.bootstrap_file {
        if !path.exists() {
            tracing::warn!(path = %path.display(), "the database is not empty, so no bootstrap file was written; create keys with `connectors-server create-api-key`");
        }
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let refresher = config.oauth.background_refresh.then(|| {
        tokio::spawn(setup::background_refresh(
            engine.clone(),
            config.oauth.clone(),
            stop_rx,
        ))
    });
    let router = app(AppState { engine }, config.max_body_bytes);
    tracing::info!(bind = %local, public_url, "connectors server listening");
    serve(listener, router, shutdown_signal()).await?;
    let _ = stop_tx.send(true);
    if let Some(task) = refresher {
        let _ = task.await;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn workspace_id(
    engine: &connectors_engine::Engine,
    given: Option<String>,
) -> anyhow::Result<String> {
    if let Some(id) = given {
        return Ok(id);
    }
    let all = engine.store().list_workspaces().await?;
    match all.as_slice() {
        [only] => Ok(only.id.clone()),
        [] => anyhow::bail!("no workspace exists yet; run `connectors-server serve` once (it bootstraps one) or `create-workspace`"),
        _ => anyhow::bail!("there are {} workspaces; pass --workspace-id (see `connectors-server list`)", all.len()),
    }
}

async fn admin(config: ServerConfig, command: Command) -> anyhow::Result<()> {
    let engine = setup::engine(
        &config,
        config
            .public_url
            .as_deref()
            .unwrap_or("http://127.0.0.1:8044"),
    )
    .await?;
    match command {
        Command::Serve(_) | Command::GenerateKey { .. } => unreachable!("handled in run"),
        Command::CreateWorkspace { name } => {
            let w = engine.create_workspace(&name).await?;
            println!("workspace_id: {}", w.id);
        }
        Command::CreateApp {
            workspace_id: ws,
            name,
        } => {
            let ws = workspace_id(&engine, ws).await?;
            let app = engine.create_app(&ws, &name).await?;
            let token = engine.create_service_token(&app.id).await?;
            println!("app_id:        {}", app.id);
            println!("service_token: {}   (shown once)", token.secret.expose());
        }
        Command::CreateBuilder {
            workspace_id: ws,
            email,
        } => {
            let ws = workspace_id(&engine, ws).await?;
            let builder = engine.create_builder(&ws, &email).await?;
            let key = engine.create_api_key(&builder.id).await?;
            println!("builder_email: {}", builder.email);
            println!("api_key:       {}   (shown once)", key.secret.expose());
        }
        Command::CreateApiKey {
            workspace_id: ws,
            email,
        } => {
            let ws = workspace_id(&engine, ws).await?;
            let builder = engine
                .store()
                .find_builder(&ws, &email)
                .await?
                .with_context(|| {
                    format!(
                        "no builder `{email}` in workspace {ws}; create one with `create-builder`"
                    )
                })?;
            let key = engine.create_api_key(&builder.id).await?;
            println!("api_key: {}   (shown once)", key.secret.expose());
        }
        Command::CreateServiceToken { app_id } => {
            engine
                .store()
                .get_app(&app_id)
                .await?
                .with_context(|| format!("no app `{app_id}`; see `connectors-server list`"))?;
            let token = engine.create_service_token(&app_id).await?;
            println!("service_token: {}   (shown once)", token.secret.expose());
        }
        Command::List => {
            for w in engine.store().list_workspaces().await? {
                println!("workspace {} ({})", w.id, w.name);
                for app in engine.store().list_apps(Some(&w.id)).await? {
                    println!("  app {} ({})", app.id, app.name);
                }
            }
        }
        Command::ImportCredentials {
            app_id,
            integration_type,
            builder_email,
        } => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading credentials JSON from stdin")?;
            let json: ImportJson = serde_json::from_str(&text).context(
                "stdin must be JSON {\"access_token\", \"refresh_token\"?, \"expires_in\"?, \"scopes\"?, \"connection_config\"?}",
            )?;
            engine
                .import_credentials(ImportCredentials {
                    app_id,
                    integration_type: integration_type.clone(),
                    builder_email,
                    access_token: json.access_token,
                    refresh_token: json.refresh_token,
                    expires_in: json.expires_in,
                    scopes: json.scopes,
                    connection_config: json.connection_config,
                })
                .await?;
            println!("stored credentials for `{integration_type}`");
        }
        Command::RotateKeys => {
            let n = engine.rotate_keys().await?;
            println!(
                "re-encrypted {n} values under key `{}`",
                engine.keys().active_id()
            );
        }
    }
    Ok(())
}
