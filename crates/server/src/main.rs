//! `connectors-server`: run the server, and administer apps, builders and keys.
//!
//! Parses the command line, resolves the configuration, hands the command to
//! the library (`run` for `serve`, `admin` for the rest) and maps the error
//! to an exit code.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use connectors_server::admin::{self, AdminCommand};
use connectors_server::config::{Overrides, ServerConfig};
use connectors_server::run::{self, ServeOptions};
use connectors_vault::KeyRing;

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
    #[command(flatten)]
    Admin(AdminCommand),
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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
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
    // Colors only for a person at a terminal: escape codes garble a log
    // file or journal, and styling each field costs on every request span.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let mut overrides = Overrides {
        config: cli.global.config.clone(),
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
        ..Overrides::default()
    };
    match cli.command {
        Command::GenerateKey { id } => {
            println!("{}", KeyRing::generate_spec(&id).expose());
            Ok(())
        }
        Command::Serve(args) => {
            overrides.bind = args.bind;
            overrides.public_url = args.public_url;
            let config = ServerConfig::resolve(&overrides)?;
            init_logging(config.log_json);
            let options = ServeOptions {
                bootstrap_file: args.bootstrap_file,
                bootstrap_email: args.bootstrap_email,
                bootstrap_app_name: args.bootstrap_app_name,
            };
            Ok(run::run(config, options).await?)
        }
        Command::Admin(command) => {
            let config = ServerConfig::resolve(&overrides)?;
            init_logging(config.log_json);
            let stdout = &mut std::io::stdout().lock();
            Ok(admin::run(&config, command, std::io::stdin().lock(), stdout).await?)
        }
    }
}
