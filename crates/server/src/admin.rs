//! The operator's commands other than `serve`: each parses its input, calls
//! one engine use case and prints what was created. Secrets are printed once
//! on stdout and never logged.

use std::collections::BTreeMap;
use std::io::Write;

use clap::Subcommand;
use connectors_engine::{
    AdminError, ApiKeyScope, EngineError, ImportCredentials, Revocation, ServiceTokenScope,
};
use connectors_vault::Secret;

use crate::config::ServerConfig;
use crate::setup::{self, SetupError};

/// Administration subcommands of `connectors-server`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
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
    /// Print a one-time link with which a builder sets a password and signs
    /// in (creating the builder if needed; replaces their older links).
    Invite {
        /// Workspace id (default: the only workspace).
        #[arg(long)]
        workspace_id: Option<String>,
        /// The builder's email.
        #[arg(long)]
        email: String,
        /// Where browsers reach the server, for the link [default: the
        /// config's public_url (or CONNECTORS_PUBLIC_URL), else http://<bind>].
        #[arg(long)]
        public_url: Option<String>,
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
    /// List API keys (id, owner, prefix, created, revoked; never the key).
    ListApiKeys {
        /// Only this workspace's keys (default: all).
        #[arg(long)]
        workspace_id: Option<String>,
    },
    /// Revoke an API key by id: every later request with it gets 401.
    RevokeApiKey {
        /// The key's id (see `list-api-keys`).
        #[arg(long)]
        id: String,
    },
    /// Revoke every `base44 login` of a builder: their refresh tokens and
    /// access tokens are refused from the next request on.
    RevokeLogins {
        /// Workspace id (default: the only workspace).
        #[arg(long)]
        workspace_id: Option<String>,
        /// The builder's email.
        #[arg(long)]
        email: String,
    },
    /// List service tokens (id, app, prefix, created, revoked; never the token).
    ListServiceTokens {
        /// Only this app's tokens (default: all).
        #[arg(long)]
        app_id: Option<String>,
    },
    /// Revoke a service token by id: every later request with it gets 401.
    RevokeServiceToken {
        /// The token's id (see `list-service-tokens`).
        #[arg(long)]
        id: String,
    },
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
    /// Create a workspace connector (the workspace's own OAuth app for one
    /// type) and print its id, which functions pass as `connectorId`. The
    /// client secret is read from stdin (one line), never from arguments.
    CreateWorkspaceConnector {
        /// Workspace id (default: the only workspace).
        #[arg(long)]
        workspace_id: Option<String>,
        /// A catalog type, e.g. googlecalendar or a custom [providers.X].
        #[arg(long = "type")]
        integration_type: String,
        /// Unique in the workspace.
        #[arg(long)]
        name: String,
        /// The OAuth app's client id.
        #[arg(long)]
        client_id: String,
        /// Read the client secret from stdin (leave out for a public client).
        #[arg(long)]
        client_secret_stdin: bool,
        /// A scope new connections ask for (repeat for more).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A value every connection gets, as key=value (repeat for more).
        #[arg(long = "connection-config")]
        connection_config: Vec<String>,
    },
    /// List workspace connectors (id, type, name, client id; never the secret).
    ListWorkspaceConnectors {
        /// Workspace id (default: the only workspace).
        #[arg(long)]
        workspace_id: Option<String>,
    },
    /// Add a webhook endpoint to an app and print its id and its signing
    /// secret (shown this once).
    CreateWebhook {
        /// The app.
        #[arg(long)]
        app_id: String,
        /// An https:// URL the app serves.
        #[arg(long)]
        url: String,
        /// An event type to receive (repeat for more; none: all).
        #[arg(long = "event-type")]
        event_types: Vec<String>,
        /// A note for people.
        #[arg(long)]
        description: Option<String>,
    },
    /// List an app's webhook endpoints (never their secrets).
    ListWebhooks {
        /// The app.
        #[arg(long)]
        app_id: String,
    },
    /// Enable (after fixing it) or disable an app's webhook endpoint.
    SetWebhookEnabled {
        /// The app.
        #[arg(long)]
        app_id: String,
        /// The endpoint's id (see `list-webhooks`).
        #[arg(long)]
        id: String,
        /// `true` or `false`.
        #[arg(long, action = clap::ArgAction::Set)]
        enabled: bool,
    },
    /// Delete an app's webhook endpoint with its queued deliveries.
    DeleteWebhook {
        /// The app.
        #[arg(long)]
        app_id: String,
        /// The endpoint's id (see `list-webhooks`).
        #[arg(long)]
        id: String,
    },
    /// Delete a workspace connector and every connection made through it
    /// (their tokens are revoked at the provider).
    DeleteWorkspaceConnector {
        /// Workspace id (default: the only workspace).
        #[arg(long)]
        workspace_id: Option<String>,
        /// The connector's id (see `list-workspace-connectors`).
        #[arg(long)]
        id: String,
    },
}

/// Why an administration command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminCommandError {
    /// The engine could not be assembled from the configuration.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The command was refused (unknown workspace, builder or app).
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// The use case refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Stdin could not be read.
    #[error("reading credentials JSON from stdin")]
    Stdin(#[source] std::io::Error),
    /// Stdin is not the credentials JSON.
    #[error("stdin must be JSON {{\"access_token\", \"refresh_token\"?, \"expires_in\"?, \"scopes\"?, \"connection_config\"?}}")]
    ImportJson(#[source] serde_json::Error),
    /// `--public-url` is not an http(s) URL.
    #[error("--public-url `{0}` must start with http:// or https://")]
    PublicUrl(String),
    /// A `--connection-config` argument is not `key=value`.
    #[error(
        "--connection-config `{0}` must be key=value, e.g. --connection-config account=xy12345"
    )]
    ConfigArg(String),
    /// Stdout could not be written.
    #[error("writing to stdout")]
    Output(#[from] std::io::Error),
}

/// The stdin of `import-credentials`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportJson {
    access_token: Secret,
    refresh_token: Option<Secret>,
    expires_in: Option<i64>,
    #[serde(default)]
    scopes: Vec<String>,
    connection_config: Option<BTreeMap<String, String>>,
}

/// Runs `command` against the configured database; `stdin` supplies the
/// credentials of `import-credentials`, results go to `out`.
pub async fn run(
    config: &ServerConfig,
    command: AdminCommand,
    stdin: impl std::io::Read,
    out: &mut impl Write,
) -> Result<(), AdminCommandError> {
    let given = match &command {
        AdminCommand::Invite {
            public_url: Some(url),
            ..
        } => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(AdminCommandError::PublicUrl(url.clone()));
            }
            Some(url.clone())
        }
        _ => config.public_url.clone(),
    };
    let guessed = given.is_none();
    // The address `serve` would derive from the same config.
    let public_url = given.unwrap_or_else(|| {
        let bind = config.bind;
        let host = if bind.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            bind.ip().to_string()
        };
        format!("http://{host}:{}", bind.port())
    });
    let engine = setup::engine(config, &public_url).await?;
    match command {
        AdminCommand::CreateWorkspace { name } => {
            let w = engine.create_workspace(&name).await?;
            writeln!(out, "workspace_id: {}", w.id)?;
        }
        AdminCommand::CreateApp { workspace_id, name } => {
            let ws = engine.default_workspace(workspace_id).await?;
            let app = engine.create_app(&ws, &name).await?;
            let token = engine.create_service_token(&app.id).await?;
            writeln!(out, "app_id:        {}", app.id)?;
            writeln!(out, "service_token_id: {}", token.id)?;
            writeln!(
                out,
                "service_token: {}   (shown once)",
                token.secret.expose()
            )?;
        }
        AdminCommand::CreateBuilder {
            workspace_id,
            email,
        } => {
            let ws = engine.default_workspace(workspace_id).await?;
            let builder = engine.create_builder(&ws, &email).await?;
            let key = engine.create_api_key(&builder.id).await?;
            writeln!(out, "builder_email: {}", builder.email)?;
            writeln!(out, "api_key_id:    {}", key.id)?;
            writeln!(out, "api_key:       {}   (shown once)", key.secret.expose())?;
        }
        AdminCommand::Invite {
            workspace_id,
            email,
            ..
        } => {
            let ws = engine.default_workspace(workspace_id).await?;
            let invite = engine.invite(&ws, &email).await?;
            if invite.created_builder {
                writeln!(
                    out,
                    "created builder {} in workspace {}",
                    invite.builder_email, invite.workspace_id
                )?;
            }
            writeln!(out, "builder_email: {}", invite.builder_email)?;
            writeln!(
                out,
                "invite_url:    {}   (single use; open it in a browser to set a password; expires at Unix second {})",
                invite.url.expose(),
                invite.expires_at
            )?;
            if guessed {
                writeln!(
                    out,
                    "note: public_url is not configured, so the link assumes browsers reach this server at {public_url}; set public_url in the config (or CONNECTORS_PUBLIC_URL), or pass --public-url"
                )?;
            }
        }
        AdminCommand::CreateApiKey {
            workspace_id,
            email,
        } => {
            let ws = engine.default_workspace(workspace_id).await?;
            let key = engine.create_api_key_for(&ws, &email).await?;
            writeln!(out, "api_key_id: {}", key.id)?;
            writeln!(out, "api_key: {}   (shown once)", key.secret.expose())?;
        }
        AdminCommand::CreateServiceToken { app_id } => {
            let token = engine.create_service_token_for(&app_id).await?;
            writeln!(out, "service_token_id: {}", token.id)?;
            writeln!(
                out,
                "service_token: {}   (shown once)",
                token.secret.expose()
            )?;
        }
        AdminCommand::List => {
            for entry in engine.describe().await? {
                let w = &entry.workspace;
                writeln!(out, "workspace {} ({})", w.id, w.name)?;
                for app in &entry.apps {
                    writeln!(out, "  app {} ({})", app.id, app.name)?;
                }
            }
        }
        AdminCommand::ListApiKeys { workspace_id } => {
            let scope = ApiKeyScope::Operator {
                workspace_id: workspace_id.as_deref(),
            };
            for k in engine.list_api_keys(scope).await? {
                writeln!(
                    out,
                    "api_key {} prefix={} owner={} workspace={} created_at={} last_used_at={} revoked_at={}",
                    k.id,
                    k.display_prefix,
                    k.builder_email,
                    k.workspace_id,
                    k.created_at,
                    or_dash(k.last_used_at),
                    or_dash(k.revoked_at)
                )?;
            }
        }
        AdminCommand::RevokeApiKey { id } => {
            let scope = ApiKeyScope::Operator { workspace_id: None };
            let done = engine.revoke_api_key(&id, scope).await?;
            report_revocation(out, "API key", &done)?;
        }
        AdminCommand::RevokeLogins {
            workspace_id,
            email,
        } => {
            let ws = engine.default_workspace(workspace_id).await?;
            let n = engine.revoke_logins_for(&ws, &email).await?;
            writeln!(out, "revoked {n} login(s) of {email}")?;
        }
        AdminCommand::ListServiceTokens { app_id } => {
            let scope = ServiceTokenScope::Operator {
                app_id: app_id.as_deref(),
            };
            for t in engine.list_service_tokens(scope).await? {
                writeln!(
                    out,
                    "service_token {} prefix={} app={} workspace={} created_at={} last_used_at={} revoked_at={}",
                    t.id,
                    t.display_prefix,
                    t.app_id,
                    t.workspace_id,
                    t.created_at,
                    or_dash(t.last_used_at),
                    or_dash(t.revoked_at)
                )?;
            }
        }
        AdminCommand::RevokeServiceToken { id } => {
            let scope = ServiceTokenScope::Operator { app_id: None };
            let done = engine.revoke_service_token(&id, scope).await?;
            report_revocation(out, "service token", &done)?;
        }
        AdminCommand::ImportCredentials {
            app_id,
            integration_type,
            builder_email,
        } => {
            let json: ImportJson =
                serde_json::from_reader(stdin).map_err(|e| match e.io_error_kind() {
                    Some(_) => AdminCommandError::Stdin(e.into()),
                    None => AdminCommandError::ImportJson(e),
                })?;
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
            writeln!(out, "stored credentials for `{integration_type}`")?;
        }
        AdminCommand::CreateWorkspaceConnector {
            workspace_id,
            integration_type,
            name,
            client_id,
            client_secret_stdin,
            scopes,
            connection_config,
        } => {
            let workspace = engine.operator_workspace(workspace_id).await?;
            let connection_config = connection_config
                .iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => Ok((k.to_string(), v.to_string())),
                    None => Err(AdminCommandError::ConfigArg(kv.clone())),
                })
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            let client_secret = if client_secret_stdin {
                let mut text = String::new();
                let mut stdin = stdin;
                stdin
                    .read_to_string(&mut text)
                    .map_err(AdminCommandError::Stdin)?;
                Some(text.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let made = engine
                .create_workspace_connector(
                    &workspace,
                    connectors_wire::CreateWorkspaceConnector {
                        integration_type,
                        name,
                        credential_source: None,
                        client_id: Some(client_id),
                        client_secret,
                        scopes,
                        connection_config,
                        builder_connection_enabled: None,
                        per_user_connection_enabled: None,
                    },
                )
                .await?;
            writeln!(out, "workspace_connector_id: {}", made.id)?;
            writeln!(
                out,
                "redirect_uri: {}   (register it in the OAuth app)",
                engine.external_redirect_uri()
            )?;
        }
        AdminCommand::CreateWebhook {
            app_id,
            url,
            event_types,
            description,
        } => {
            let owner = engine.operator_webhook_owner(&app_id).await?;
            let made = engine
                .create_webhook_endpoint(
                    owner,
                    connectors_wire::events::CreateWebhookEndpoint {
                        url,
                        event_types,
                        description,
                    },
                )
                .await?;
            writeln!(out, "webhook_endpoint_id: {}", made.endpoint.id)?;
            writeln!(
                out,
                "secret: {}   (shown once: the receiver verifies webhook-signature with it)",
                made.secret
            )?;
        }
        AdminCommand::ListWebhooks { app_id } => {
            let owner = engine.operator_webhook_owner(&app_id).await?;
            for e in engine.list_webhook_endpoints(owner).await?.endpoints {
                writeln!(
                    out,
                    "webhook_endpoint {} url={} events={} enabled={}{}",
                    e.id,
                    e.url,
                    if e.event_types.is_empty() {
                        "all".to_string()
                    } else {
                        e.event_types.join(",")
                    },
                    e.enabled,
                    e.disabled_reason
                        .map(|r| format!(" reason={r:?}"))
                        .unwrap_or_default()
                )?;
            }
        }
        AdminCommand::SetWebhookEnabled {
            app_id,
            id,
            enabled,
        } => {
            let owner = engine.operator_webhook_owner(&app_id).await?;
            let e = engine
                .update_webhook_endpoint(
                    owner,
                    &id,
                    connectors_wire::events::UpdateWebhookEndpoint {
                        enabled: Some(enabled),
                        ..Default::default()
                    },
                )
                .await?;
            writeln!(out, "webhook endpoint {} enabled={}", e.id, e.enabled)?;
        }
        AdminCommand::DeleteWebhook { app_id, id } => {
            let owner = engine.operator_webhook_owner(&app_id).await?;
            engine.delete_webhook_endpoint(owner, &id).await?;
            writeln!(out, "deleted webhook endpoint {id}")?;
        }
        AdminCommand::ListWorkspaceConnectors { workspace_id } => {
            let workspace = engine.operator_workspace(workspace_id).await?;
            for c in engine
                .list_workspace_connectors(&workspace)
                .await?
                .connectors
            {
                writeln!(
                    out,
                    "workspace_connector {} type={} name={:?} client_id={} secret={} builder_connections={} per_user_connections={}",
                    c.id,
                    c.integration_type,
                    c.name,
                    c.client_id,
                    if c.has_client_secret { "set" } else { "-" },
                    c.builder_connection_enabled,
                    c.per_user_connection_enabled
                )?;
            }
        }
        AdminCommand::DeleteWorkspaceConnector { workspace_id, id } => {
            let workspace = engine.operator_workspace(workspace_id).await?;
            let done = engine.delete_workspace_connector(&workspace, &id).await?;
            writeln!(
                out,
                "deleted workspace connector {} and {} connection(s)",
                done.id, done.connections_removed
            )?;
        }
        AdminCommand::RotateKeys => {
            let n = engine.rotate_keys().await?;
            writeln!(
                out,
                "re-encrypted {n} values under key `{}`",
                engine.active_key_id()
            )?;
        }
    }
    Ok(())
}

/// A time of the listings, or `-` for none (never used, not revoked).
fn or_dash(at: Option<i64>) -> String {
    at.map_or_else(|| "-".to_string(), |t| t.to_string())
}

fn report_revocation(out: &mut impl Write, what: &str, done: &Revocation) -> std::io::Result<()> {
    if done.already_revoked {
        writeln!(
            out,
            "{what} {} already revoked (at {}); nothing changed",
            done.id, done.revoked_at
        )
    } else {
        writeln!(
            out,
            "revoked {what} {}; requests with it now get 401",
            done.id
        )
    }
}
