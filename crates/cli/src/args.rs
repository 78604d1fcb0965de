//! Command-line syntax: what the user typed, validated only as far as clap
//! can. Everything that needs the environment or the disk (app id, project,
//! credentials) is resolved later in `context`.
//!
//! Usage errors are rendered the way commander (the npm CLI's parser) renders
//! them (`error: unknown option '--x'`) and exit 1, because scripts written
//! against the npm CLI match on those texts and codes.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// The version the npm CLI reports; we are a drop-in for `base44` 0.1.18, so
/// scripts that check `base44 --version` keep working.
pub const NPM_COMPAT_VERSION: &str = "0.1.18";

/// `base44`: the native Base44 CLI (connectors commands).
#[derive(Debug, Parser)]
#[command(
    name = "base44",
    about = "Base44 CLI - Unified interface for managing Base44 applications",
    disable_version_flag = true,
    subcommand_required = false,
    arg_required_else_help = false
)]
pub struct Cli {
    /// Global options, accepted before or after the subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command accepts, anywhere on the command line.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Base44 app ID to use [env: BASE44_APP_ID]
    // Not clap's `env`: commander reads the variable even when it is empty
    // (`BASE44_APP_ID=""` must fail with "App id cannot be empty."), so the
    // fallback to the environment happens in `context`.
    #[arg(long = "app-id", value_name = "id", global = true)]
    pub app_id: Option<String>,

    /// Output machine-readable JSON to stdout (status/logs go to stderr)
    #[arg(long, global = true)]
    pub json: bool,

    /// Target an app branch by exact name (sandbox commands only)
    #[arg(long, value_name = "name", global = true)]
    pub branch: Option<String>,

    /// Output the version number
    #[arg(short = 'V', long = "version", global = true)]
    pub version: bool,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Authenticate with Base44
    Login,
    /// Logout from current device
    Logout,
    /// Display current authenticated user
    Whoami,
    /// Manage project connectors (OAuth integrations)
    #[command(subcommand)]
    Connectors(ConnectorsCommand),
    /// The app's dashboard on the server
    #[command(subcommand)]
    Dashboard(DashboardCommand),
    /// Print a shell completion script
    Completions {
        /// The shell to generate completions for
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// `base44 dashboard …`
#[derive(Debug, Subcommand)]
pub enum DashboardCommand {
    /// Open the app's dashboard (overview) in the browser; prints its URL
    Open,
}

/// `base44 connectors …`
#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// List all available integration types
    ListAvailable,
    /// Initialize a connector on an app and start its OAuth flow (works with --app-id, no local project required)
    Initiate(InitiateArgs),
    /// Pull connectors from Base44 to local files (replaces all local connector configs)
    Pull(DirArgs),
    /// Push local connectors to Base44 (overwrites connectors on Base44)
    Push(PushArgs),
    /// Show each local connector file beside its status on Base44
    Status(DirArgs),
    /// The app's shared connections of the workspace's connectors (its own OAuth apps, set up by a workspace admin)
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
}

/// `base44 connectors workspace …`
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// List the app's connections of workspace connectors: connector id, type, status and who consented
    List,
    /// Connect the app to a workspace connector: prints the consent link and, on a terminal, opens it and waits
    Connect(WorkspaceConnectArgs),
    /// Disconnect the app from a workspace connector (its grant is revoked at the provider)
    Disconnect(WorkspaceDisconnectArgs),
}

/// `connectors workspace connect` options.
#[derive(Debug, Args)]
pub struct WorkspaceConnectArgs {
    /// The workspace connector's id (24 hex characters; see 'base44 connectors workspace list' or ask a workspace admin)
    #[arg(value_name = "connector_id")]
    pub connector_id: String,

    /// Start a new consent even when the connection is already active (e.g. to consent as another account)
    #[arg(long)]
    pub reconnect: bool,
}

/// `connectors workspace disconnect` options.
#[derive(Debug, Args)]
pub struct WorkspaceDisconnectArgs {
    /// The workspace connector's id (see 'base44 connectors workspace list')
    #[arg(value_name = "connector_id")]
    pub connector_id: String,

    /// Skip confirmation prompt (required in non-interactive mode)
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// `connectors initiate` options.
#[derive(Debug, Args)]
pub struct InitiateArgs {
    /// Integration type to initiate (e.g. googlecalendar, gmail, slack)
    // Optional for clap so that a missing flag gets commander's exact message.
    #[arg(long = "integration-type", value_name = "type")]
    pub integration_type: Option<String>,

    /// OAuth scopes to request (space- or comma-separated)
    #[arg(long, value_name = "scopes", num_args = 1.., action = clap::ArgAction::Append)]
    pub scopes: Vec<String>,
}

/// `--dir` for commands that read or write connector files.
#[derive(Debug, Args)]
pub struct DirArgs {
    /// Directory of connector files (default: ./connectors when using --app-id)
    #[arg(long, value_name = "path")]
    pub dir: Option<String>,
}

/// `connectors push` options.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Directory to read connector files from (default: ./connectors when using --app-id)
    #[arg(long, value_name = "path")]
    pub dir: Option<String>,

    /// Skip confirmation prompt
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Print what push would change (add, re-scope, remove, provision Stripe) and change nothing. Stricter than push: exits 1 when the server would refuse a connector's type (not in list-available) or scopes
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// Shells `base44 completions` can generate for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// Bash
    Bash,
    /// Zsh
    Zsh,
    /// Fish
    Fish,
    /// PowerShell
    Powershell,
    /// Elvish
    Elvish,
}

/// The outcome of parsing argv.
pub enum Parsed {
    /// Run this.
    Run(Cli),
    /// Print this to stdout and exit 0 (help, version).
    Print(String),
    /// A usage error, already in commander's words; exit 1.
    Usage(String),
    /// No command given: print help to stderr and exit 1, as commander does.
    Help(String),
}

/// Parses argv, turning clap's outcomes into what the npm CLI would do.
pub fn parse<I, T>(argv: I) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let argv: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
    match Cli::try_parse_from(&argv) {
        Ok(cli) => {
            if cli.global.version {
                return Parsed::Print(format!("{NPM_COMPAT_VERSION}\n"));
            }
            match &cli.command {
                None => Parsed::Help(Cli::command().render_help().to_string()),
                Some(Command::Connectors(ConnectorsCommand::Initiate(a)))
                    if a.integration_type.is_none() =>
                {
                    Parsed::Usage(
                        "error: required option '--integration-type <type>' not specified".into(),
                    )
                }
                _ => Parsed::Run(cli),
            }
        }
        Err(err) => {
            // `-V` given together with a usage error elsewhere still prints
            // the version, like commander, which handles it first.
            if argv.iter().skip(1).any(|a| a == "-V" || a == "--version") {
                return Parsed::Print(format!("{NPM_COMPAT_VERSION}\n"));
            }
            match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    Parsed::Print(err.render().to_string())
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | ErrorKind::MissingSubcommand => Parsed::Help(err.render().to_string()),
                _ => Parsed::Usage(commander_message(&err)),
            }
        }
    }
}

/// Renders a clap error in commander's words where commander has words for
/// it; otherwise clap's own first line.
fn commander_message(err: &clap::Error) -> String {
    let arg = || match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    match err.kind() {
        ErrorKind::UnknownArgument => {
            if let Some(a) = arg() {
                let a = a.split('=').next().unwrap_or(&a).to_string();
                if a.starts_with('-') {
                    return format!("error: unknown option '{a}'");
                }
                return format!("error: too many arguments. Expected 0 arguments but got 1: '{a}'");
            }
        }
        ErrorKind::MissingRequiredArgument => {
            if let Some(ContextValue::Strings(names)) = err.get(ContextKind::InvalidArg) {
                if let Some(name) = names.first().filter(|n| !n.starts_with('-')) {
                    let name = name.trim_start_matches('<').trim_end_matches('>');
                    return format!("error: missing required argument '{name}'");
                }
            }
        }
        ErrorKind::InvalidSubcommand => {
            if let Some(ContextValue::String(s)) = err.get(ContextKind::InvalidSubcommand) {
                return format!("error: unknown command '{s}'");
            }
        }
        ErrorKind::InvalidValue | ErrorKind::NoEquals => {
            if let Some(a) = arg() {
                let name = a.split_whitespace().next().unwrap_or(&a).to_string();
                let value = match name.as_str() {
                    "--app-id" => "<id>",
                    "--branch" => "<name>",
                    "--integration-type" => "<type>",
                    "--scopes" => "<scopes...>",
                    "--dir" => "<path>",
                    _ => "",
                };
                if !value.is_empty() {
                    return format!("error: option '{name} {value}' argument missing");
                }
            }
        }
        _ => {}
    }
    let rendered = err.render().to_string();
    rendered
        .lines()
        .next()
        .unwrap_or("error: invalid arguments")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Cli {
        match parse(std::iter::once("base44").chain(args.iter().copied())) {
            Parsed::Run(cli) => cli,
            Parsed::Usage(u) => panic!("usage: {u}"),
            Parsed::Print(p) | Parsed::Help(p) => panic!("print: {p}"),
        }
    }

    fn usage(args: &[&str]) -> String {
        match parse(std::iter::once("base44").chain(args.iter().copied())) {
            Parsed::Usage(u) => u,
            _ => panic!("expected a usage error"),
        }
    }

    #[test]
    fn global_options_after_the_subcommand() {
        let cli = run(&["connectors", "push", "--app-id", "a1", "--json", "-y"]);
        assert_eq!(cli.global.app_id.as_deref(), Some("a1"));
        assert!(cli.global.json);
    }

    #[test]
    fn version_anywhere_prints_the_npm_version() {
        for args in [&["--version"][..], &["connectors", "push", "-V"][..]] {
            match parse(std::iter::once("base44").chain(args.iter().copied())) {
                Parsed::Print(p) => assert_eq!(p, "0.1.18\n"),
                _ => panic!("expected version"),
            }
        }
    }

    #[test]
    fn commander_texts() {
        assert_eq!(
            usage(&["connectors", "initiate"]),
            "error: required option '--integration-type <type>' not specified"
        );
        assert_eq!(
            usage(&["connectors", "push", "--bogus"]),
            "error: unknown option '--bogus'"
        );
        assert_eq!(
            usage(&["connectors", "bogus"]),
            "error: unknown command 'bogus'"
        );
        assert_eq!(
            usage(&["connectors", "pull", "--app-id"]),
            "error: option '--app-id <id>' argument missing"
        );
        assert_eq!(
            usage(&["connectors", "workspace", "connect"]),
            "error: missing required argument 'connector_id'"
        );
    }

    #[test]
    fn variadic_scopes() {
        let cli = run(&[
            "connectors",
            "initiate",
            "--integration-type",
            "gmail",
            "--scopes",
            "a,b",
            "c",
            "--json",
        ]);
        match cli.command {
            Some(Command::Connectors(ConnectorsCommand::Initiate(a))) => {
                assert_eq!(a.scopes, vec!["a,b", "c"]);
            }
            _ => panic!(),
        }
    }
}
