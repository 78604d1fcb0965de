//! `base44 connectors initiate --integration-type <type> [--scopes …]`
//! (protocol.md §3.7): one PUT, then the consent link (and, on a terminal,
//! the browser and the status poll).

use connectors_wire::SetConnectorResponse;
use serde::Serialize;

use super::{App, Env, Outcome};
use crate::args::InitiateArgs;
use crate::error::{CliError, Hint};
use crate::json;
use crate::oauth_prompt::{prompt_oauth_flows, FlowStatus, Pending, Target};

/// `--scopes a,b c` → `["a", "b", "c"]`: variadic tokens, each split on
/// commas, trimmed, empties dropped.
pub fn split_scopes(tokens: &[String]) -> Vec<String> {
    tokens
        .iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The `--json` document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Output<'a> {
    integration_type: &'a str,
    already_authorized: bool,
    redirect_url: Option<&'a str>,
    connection_id: Option<&'a str>,
}

/// `IntegrationTypeSchema`: a known type or `/^[a-z0-9_-]+$/i`.
fn parse_type(value: &str) -> Result<String, CliError> {
    if connectors_wire::is_valid_integration_type(value) {
        return Ok(value.to_string());
    }
    let mut hints = vec![];
    if let Some(known) = connectors_project::suggest_known_type(value) {
        hints.push(Hint::new(format!("Did you mean \"{known}\"?")));
    }
    Err(CliError::InvalidInput {
        message: "A valid --integration-type is required (e.g. googlecalendar, gmail, slack)."
            .into(),
        hints,
    })
}

/// The refusal a PUT answered with, as `error (detail)`; `None` when it
/// went through. JavaScript truthiness: an empty `error` is no error.
pub(super) fn refusal(response: &SetConnectorResponse) -> Option<String> {
    let error = response.error.as_ref().filter(|e| !e.is_empty())?;
    let detail = match (&response.other_user_email, &response.error_message) {
        (Some(email), _) if error == connectors_wire::DIFFERENT_USER && !email.is_empty() => {
            format!(" (already authorized by {email})")
        }
        (_, Some(message)) if !message.is_empty() => format!(" ({message})"),
        _ => String::new(),
    };
    Some(format!("{error}{detail}"))
}

/// Runs the command.
pub async fn run(env: &Env, app: &App, args: InitiateArgs) -> Result<Outcome, CliError> {
    let ui = &env.ui;
    let integration_type = parse_type(args.integration_type.as_deref().unwrap_or(""))?;
    if let Some(known) = connectors_project::suggest_known_type(&integration_type) {
        ui.warn(&format!(
            "\"{integration_type}\" is not a known integration type; did you mean \"{known}\"?"
        ));
    }
    let scopes = split_scopes(&args.scopes);
    let t = integration_type.as_str();

    let response = ui
        .task(
            &format!("Initiating {t} connector"),
            Some(&format!("Connector {t} initialized")),
            Some(&format!("Failed to initialize {t}")),
            app.client.set_connector(t, &scopes),
        )
        .await?;

    if let Some(refused) = refusal(&response) {
        return Err(CliError::invalid_input(format!(
            "Could not initiate {t}: {refused}"
        )));
    }

    if ui.json {
        let outro = if response.already_authorized {
            format!("{t} already authorized")
        } else {
            format!("{t} initialized")
        };
        return Ok(Outcome::with_stdout(
            outro,
            json::to_stdout(&Output {
                integration_type: t,
                already_authorized: response.already_authorized,
                redirect_url: response.redirect_url.as_deref(),
                connection_id: response.connection_id.as_deref(),
            }),
        ));
    }

    let redirect = response.redirect_url.as_deref().filter(|u| !u.is_empty());
    let Some(redirect_url) = redirect.filter(|_| !response.already_authorized) else {
        return Ok(Outcome::outro(format!(
            "{t} is already authorized. Run 'base44 connectors pull' to fetch its config."
        )));
    };

    ui.info(&format!("Authorize {t} here: {redirect_url}"));
    let pending = Pending {
        target: Target::Integration(t.to_string()),
        redirect_url: redirect_url.to_string(),
        connection_id: response.connection_id.clone(),
    };
    let outcomes = prompt_oauth_flows(
        ui,
        env.config.browser.as_deref(),
        &app.client,
        &[pending],
        !ui.interactive,
    )
    .await;
    if outcomes
        .iter()
        .any(|(k, s)| k == t && *s == FlowStatus::Active)
    {
        return Ok(Outcome::outro(format!(
            "{t} authorized. Run 'base44 connectors pull' to fetch its config."
        )));
    }
    Ok(Outcome::outro(format!(
        "{t} initialized. Open the link above to finish authorizing, then run 'base44 connectors pull'."
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_split_on_commas_and_spaces() {
        let tokens = vec!["a,b".to_string(), "c".to_string(), " , d ,".to_string()];
        assert_eq!(split_scopes(&tokens), vec!["a", "b", "c", "d"]);
        assert!(split_scopes(&[]).is_empty());
    }

    #[test]
    fn invalid_types_are_refused_with_a_suggestion() {
        assert!(parse_type("custom-crm").is_ok());
        let err = parse_type("google calendar").unwrap_err();
        assert_eq!(
            err.message(),
            "A valid --integration-type is required (e.g. googlecalendar, gmail, slack)."
        );
        assert_eq!(err.hints()[0].message, "Did you mean \"googlecalendar\"?");
        assert!(parse_type("").is_err());
    }
}
