//! Command dispatch and the npm CLI's per-command middleware (protocol.md
//! §3.1 step 5): the `--branch` check, then credentials, then the app
//! context, then the action; then the result is written as `Base44Command`
//! writes it (outro and stdout, or the `--json` document).

mod auth_commands;
mod completions;
mod dashboard;
mod initiate;
mod list_available;
mod pull;
mod push;
mod status;
mod workspace;

use std::path::PathBuf;

use connectors_wire::{ConnectorList, STRIPE};

use crate::api::client::Http;
use crate::api::AppClient;
use crate::args::{Cli, Command, ConnectorsCommand, DashboardCommand, GlobalArgs};
use crate::context::{self, AppContext, Config};
use crate::error::CliError;
use crate::output::{print_stdout, Ui};

/// What a command produced, written by [`finish`].
#[derive(Debug, Default)]
pub struct Outcome {
    /// The final status line.
    pub outro: Option<String>,
    /// Machine output (the `--json` document), written verbatim.
    pub stdout: Option<String>,
}

impl Outcome {
    /// Just a status line.
    pub fn outro(text: impl Into<String>) -> Self {
        Self {
            outro: Some(text.into()),
            stdout: None,
        }
    }

    /// A status line and a stdout document.
    pub fn with_stdout(outro: impl Into<String>, stdout: String) -> Self {
        Self {
            outro: Some(outro.into()),
            stdout: Some(stdout),
        }
    }
}

/// Everything a command needs about where it runs.
pub struct Env {
    /// Output.
    pub ui: Ui,
    /// Global options.
    pub global: GlobalArgs,
    /// The working directory.
    pub cwd: PathBuf,
    /// The HTTP client (carries `BASE44_API_URL`).
    pub http: Http,
    /// The environment, resolved.
    pub config: Config,
}

/// Credentials and app, once the middleware has resolved them.
pub struct App {
    /// The app and project.
    pub context: AppContext,
    /// The app's API.
    pub client: AppClient,
}

impl Env {
    /// `--branch` is for sandbox commands; connectors commands refuse it
    /// before doing anything.
    fn check_branch(&self) -> Result<(), CliError> {
        if self.global.branch.is_some() {
            return Err(CliError::invalid_input(
                "--branch is not supported by this command. Use sandbox commands to read or edit branch files; no app changes were made.",
            ));
        }
        Ok(())
    }

    /// Branch check, credentials, app context.
    async fn app(&self) -> Result<App, CliError> {
        self.check_branch()?;
        let auth = crate::auth::ensure_auth(&self.ui, &self.http, &self.config).await?;
        let context = context::app_context(self.global.app_id.as_deref(), &self.config, &self.cwd)?;
        let client = AppClient::new(self.http.clone(), auth, &context.id)?;
        Ok(App { context, client })
    }
}

/// Runs the parsed command; `Err` has not been rendered yet.
pub async fn run(cli: Cli, env: &Env) -> Result<(), CliError> {
    let Some(command) = cli.command else {
        return Ok(());
    };
    let outcome = match command {
        Command::Completions { shell } => {
            completions::run(shell);
            return Ok(());
        }
        Command::Login => {
            env.check_branch()?;
            auth_commands::login(env).await?
        }
        Command::Logout => {
            env.check_branch()?;
            auth_commands::logout(env)?
        }
        Command::Whoami => {
            env.check_branch()?;
            let auth = crate::auth::ensure_auth(&env.ui, &env.http, &env.config).await?;
            auth_commands::whoami(env, &auth)?
        }
        Command::Dashboard(DashboardCommand::Open) => {
            env.check_branch()?;
            dashboard::open(env)?
        }
        Command::Connectors(sub) => {
            let app = env.app().await?;
            match sub {
                ConnectorsCommand::ListAvailable => list_available::run(env, &app).await?,
                ConnectorsCommand::Initiate(args) => initiate::run(env, &app, args).await?,
                ConnectorsCommand::Pull(args) => pull::run(env, &app, args).await?,
                ConnectorsCommand::Push(args) => push::run(env, &app, args).await?,
                ConnectorsCommand::Status(args) => status::run(env, &app, args).await?,
                ConnectorsCommand::Workspace(sub) => workspace::run(env, &app, sub).await?,
            }
        }
    };
    finish(&env.ui, outcome);
    Ok(())
}

/// Writes a successful result as the npm CLI's `Base44Command` does: with
/// `--json`, the document on stdout and the status line on stderr (or
/// `{"output": <status>}` when the command has no document); otherwise the
/// status line, then any document, on stdout.
fn finish(ui: &Ui, outcome: Outcome) {
    if ui.json {
        match outcome.stdout {
            Some(doc) => {
                if let Some(outro) = &outcome.outro {
                    ui.outro(outro);
                }
                print_stdout(&doc);
            }
            None => {
                let line = serde_json::json!({"output": outcome.outro.unwrap_or_default()});
                print_stdout(&format!("{line}\n"));
            }
        }
        return;
    }
    if let Some(outro) = &outcome.outro {
        ui.outro(outro);
    }
    if let Some(doc) = &outcome.stdout {
        print_stdout(doc);
    }
}

/// The remote side of `push --dry-run` and `status`: the connector list and
/// whether Stripe is installed, fetched concurrently under one task line.
/// A failed Stripe check counts as "not installed" unless a local stripe
/// file makes it matter; a failed list fails first.
pub(crate) async fn fetch_remote(
    env: &Env,
    app: &App,
    local: &[connectors_project::ConnectorFile],
) -> Result<(ConnectorList, bool), CliError> {
    let stripe_local = local.iter().any(|c| c.integration_type == STRIPE);
    env.ui
        .task(
            "Fetching connectors from Base44",
            Some("Connectors fetched successfully"),
            Some("Failed to fetch connectors"),
            async {
                let (remote, stripe) =
                    tokio::join!(app.client.list_connectors(), app.client.stripe_status());
                let remote = remote?;
                let installed = match stripe {
                    Ok(s) => s.stripe_mode.is_some(),
                    Err(e) if stripe_local => return Err(e),
                    Err(_) => false,
                };
                Ok((remote, installed))
            },
        )
        .await
}

/// Reads the local connector files for push/pull/status, warning when
/// `--dir` does not apply (a linked project uses its `connectorsDir`).
pub(crate) fn local_connectors(
    env: &Env,
    app: &App,
    dir: Option<&str>,
) -> Result<(PathBuf, Vec<connectors_project::ConnectorFile>), CliError> {
    let (path, ignored) = context::connectors_dir(&app.context, dir, &env.cwd)?;
    if ignored {
        env.ui.warn(&format!(
            "--dir is ignored in a linked project; using {}",
            path.display()
        ));
    }
    let files = connectors_project::read_connectors(&path)?;
    // A custom type is legal, so a near miss of a known one is only a warning.
    for f in &files {
        if let Some(known) = connectors_project::suggest_known_type(&f.integration_type) {
            env.ui.warn(&format!(
                "{}: \"{}\" is not a known integration type; did you mean \"{known}\"? (it is used as a custom type)",
                f.path.display(),
                f.integration_type
            ));
        }
    }
    Ok((path, files))
}
