//! `base44 connectors workspace list | connect | disconnect`: the app's
//! shared connections of workspace connectors (a workspace's own OAuth app
//! per type, set up by a workspace admin). Our server's routes; the npm CLI
//! has no such command.

use connectors_wire::{WorkspaceConnection, WorkspaceConnectionList};
use serde::Serialize;

use super::initiate::refusal;
use super::{App, Env, Outcome};
use crate::args::{WorkspaceCommand, WorkspaceConnectArgs, WorkspaceDisconnectArgs};
use crate::error::{CliError, Hint};
use crate::json;
use crate::oauth_prompt::{prompt_oauth_flows, FlowStatus, Pending, Target};
use crate::output::print_stdout;

/// Where a person finds connector ids.
const LIST_COMMAND: &str = "base44 connectors workspace list";

/// Runs one `connectors workspace` command.
pub async fn run(env: &Env, app: &App, command: WorkspaceCommand) -> Result<Outcome, CliError> {
    match command {
        WorkspaceCommand::List => list(env, app).await,
        WorkspaceCommand::Connect(args) => connect(env, app, args).await,
        WorkspaceCommand::Disconnect(args) => disconnect(env, app, args).await,
    }
}

/// The id as typed; an empty one is refused before any request.
fn connector_id(value: &str) -> Result<&str, CliError> {
    if value.trim().is_empty() {
        return Err(CliError::InvalidInput {
            message: "A workspace connector id is required (24 hex characters).".into(),
            hints: vec![Hint::with_command(
                "See the app's connections, or ask a workspace admin for the id",
                LIST_COMMAND,
            )],
        });
    }
    Ok(value)
}

/// Replaces the generic hints of a 404 or 403 about `connector_id` with
/// what to do about it.
fn explain(err: CliError, connector_id: &str) -> CliError {
    let CliError::Api(mut e) = err else {
        return err;
    };
    match e.status {
        Some(404) => {
            e.hints = vec![Hint::with_command(
                format!("Check the connector id \"{connector_id}\" against '{LIST_COMMAND}', or ask a workspace admin for the workspace connector's id"),
                LIST_COMMAND,
            )];
        }
        Some(403) => {
            e.hints = vec![Hint::new(format!(
                "Builder connections are switched off for workspace connector \"{connector_id}\"; a workspace admin can turn them on (builder_connection_enabled)"
            ))];
        }
        _ => {}
    }
    CliError::Api(e)
}

/// The human table: one line per connection.
fn table(connections: &[WorkspaceConnection]) -> String {
    let header = ["CONNECTOR", "TYPE", "STATUS", "CONSENTED BY"].map(String::from);
    let rows: Vec<[String; 4]> = connections
        .iter()
        .map(|c| {
            let status = match &c.status_reason {
                Some(reason) if !reason.is_empty() && c.status != "active" => {
                    format!("{} ({reason})", c.status)
                }
                _ => c.status.clone(),
            };
            [
                c.connector_id.clone(),
                c.integration_type.clone(),
                status,
                c.user_email.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let all = std::iter::once(&header).chain(&rows);
    let width = |i: usize| all.clone().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = String::new();
    for row in all.clone() {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0], row[1], row[2], row[3]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

async fn list(env: &Env, app: &App) -> Result<Outcome, CliError> {
    let (list, raw): (WorkspaceConnectionList, _) = env
        .ui
        .task(
            "Fetching workspace connections from Base44",
            Some("Workspace connections fetched successfully"),
            Some("Failed to fetch workspace connections"),
            app.client.workspace_connections(),
        )
        .await?;
    let found = format!(
        "{} workspace connection(s) on this app",
        list.connections.len()
    );
    if env.ui.json {
        return Ok(Outcome::with_stdout(found, json::to_stdout(&raw)));
    }
    if list.connections.is_empty() {
        return Ok(Outcome::outro(
            "No workspace connections on this app. Connect one with 'base44 connectors workspace connect <connector_id>' (a workspace admin has the ids).",
        ));
    }
    print_stdout(&table(&list.connections));
    Ok(Outcome::outro(found))
}

/// `connect --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectOutput<'a> {
    connector_id: &'a str,
    already_authorized: bool,
    redirect_url: Option<&'a str>,
    connection_id: Option<&'a str>,
}

async fn connect(env: &Env, app: &App, args: WorkspaceConnectArgs) -> Result<Outcome, CliError> {
    let ui = &env.ui;
    let id = connector_id(&args.connector_id)?;
    let response = ui
        .task(
            &format!("Connecting workspace connector {id}"),
            Some(&format!("Workspace connector {id} connection started")),
            Some(&format!("Failed to connect workspace connector {id}")),
            app.client.connect_workspace_connector(id, args.reconnect),
        )
        .await
        .map_err(|e| explain(e, id))?;

    if let Some(refused) = refusal(&response) {
        return Err(CliError::invalid_input(format!(
            "Could not connect workspace connector {id}: {refused}"
        )));
    }

    if ui.json {
        let outro = if response.already_authorized {
            format!("connector {id} already connected")
        } else {
            format!("connector {id} needs authorization")
        };
        return Ok(Outcome::with_stdout(
            outro,
            json::to_stdout(&ConnectOutput {
                connector_id: id,
                already_authorized: response.already_authorized,
                redirect_url: response.redirect_url.as_deref(),
                connection_id: response.connection_id.as_deref(),
            }),
        ));
    }

    let redirect = response.redirect_url.as_deref().filter(|u| !u.is_empty());
    let Some(redirect_url) = redirect.filter(|_| !response.already_authorized) else {
        return Ok(Outcome::outro(format!(
            "Workspace connector {id} is already connected to this app. Pass --reconnect to consent again."
        )));
    };

    ui.info(&format!("Authorize connector {id} here: {redirect_url}"));
    let pending = Pending {
        target: Target::WorkspaceConnector(id.to_string()),
        redirect_url: redirect_url.to_string(),
        connection_id: response.connection_id.clone(),
    };
    let name = pending.name();
    let outcomes = prompt_oauth_flows(
        ui,
        env.config.browser.as_deref(),
        &app.client,
        std::slice::from_ref(&pending),
        !ui.interactive,
    )
    .await;
    match outcomes.iter().find(|(k, _)| *k == name).map(|(_, s)| *s) {
        Some(FlowStatus::Active) => Ok(Outcome::outro(format!(
            "Workspace connector {id} connected. The app's functions can read its token now."
        ))),
        Some(FlowStatus::Failed) => Err(CliError::InvalidInput {
            message: format!("Authorization of workspace connector {id} failed."),
            hints: vec![Hint::with_command(
                "Try again, and check the provider's consent page for an error",
                format!("base44 connectors workspace connect {id}"),
            )],
        }),
        _ => Ok(Outcome::outro(format!(
            "Open the link above to finish connecting workspace connector {id}, then check with '{LIST_COMMAND}'."
        ))),
    }
}

async fn disconnect(
    env: &Env,
    app: &App,
    args: WorkspaceDisconnectArgs,
) -> Result<Outcome, CliError> {
    let ui = &env.ui;
    let id = connector_id(&args.connector_id)?;
    if !args.yes {
        if !ui.interactive {
            return Err(CliError::InvalidInput {
                message: "--yes is required in non-interactive mode".into(),
                hints: vec![Hint::with_command(
                    "Pass -y to disconnect without a prompt",
                    format!("base44 connectors workspace disconnect {id} -y"),
                )],
            });
        }
        ui.warn(&format!(
            "This removes the app's connection of workspace connector {id}: its functions lose access until a builder connects it again."
        ));
        if ui.confirm("Are you sure you want to continue?") != Some(true) {
            return Ok(Outcome::outro("Disconnect cancelled"));
        }
    }
    let gone = ui
        .task(
            &format!("Disconnecting workspace connector {id}"),
            None,
            Some(&format!("Failed to disconnect workspace connector {id}")),
            app.client.disconnect_workspace_connector(id),
        )
        .await
        .map_err(|e| explain(e, id))?;
    let outro = format!("Workspace connector {id} disconnected from this app");
    if ui.json {
        return Ok(Outcome::with_stdout(outro, json::to_stdout(&gone)));
    }
    Ok(Outcome::outro(outro))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    #[test]
    fn the_table_names_who_consented_and_why_not_active() {
        let c = |id: &str, status: &str, reason: Option<&str>, email: Option<&str>| {
            WorkspaceConnection {
                connector_id: id.into(),
                integration_type: "ws_oidc".into(),
                status: status.into(),
                status_reason: reason.map(str::to_string),
                scopes: vec![],
                granted_scopes: vec![],
                user_email: email.map(str::to_string),
            }
        };
        assert_eq!(
            table(&[
                c("aaa", "active", None, Some("owner@example.com")),
                c("bbbb", "expired", Some("refused"), None),
            ]),
            "CONNECTOR  TYPE     STATUS             CONSENTED BY\n\
             aaa        ws_oidc  active             owner@example.com\n\
             bbbb       ws_oidc  expired (refused)  -\n"
        );
    }

    #[test]
    fn not_found_and_forbidden_say_what_to_do() {
        let api = |status| {
            CliError::Api(ApiError {
                message: "Error x: y".into(),
                status: Some(status),
                request_id: None,
                details: vec![],
                hints: vec![Hint::new("generic")],
            })
        };
        let hints = explain(api(404), "abc").hints();
        assert_eq!(hints[0].command.as_deref(), Some(LIST_COMMAND));
        assert!(hints[0].message.contains("\"abc\""));
        assert!(hints[0].message.contains("workspace admin"));
        let hints = explain(api(403), "abc").hints();
        assert!(hints[0]
            .message
            .contains("a workspace admin can turn them on"));
        assert_eq!(explain(api(500), "abc").hints()[0].message, "generic");
        assert_eq!(connector_id("abc").unwrap(), "abc");
        assert!(connector_id(" ")
            .unwrap_err()
            .message()
            .contains("required"));
    }
}
