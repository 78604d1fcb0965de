//! The operator's administration: bootstrap, apps, builders, keys, tokens,
//! credential import, key rotation, listing and health. Raw secrets leave
//! only as [`IssuedSecret`], to be printed once.

use std::collections::BTreeMap;

use connectors_store::{
    credentials_context, App, Authorization, Builder, ConnectorKey, CredentialsRow, NewApiKey,
    NewServiceToken, Workspace,
};
use connectors_vault::{generate_token, hash_token, Secret};
use connectors_wire::IntegrationType;
use rand::RngCore;

use crate::audit::{Actor, Audit};
use crate::principal::{API_KEY_PREFIX, SERVICE_TOKEN_PREFIX};
use crate::{Engine, EngineError, Result};

/// A secret created for someone, shown once and never stored in the clear.
#[derive(Debug)]
pub struct IssuedSecret {
    /// Id of the stored record.
    pub id: String,
    /// The raw secret.
    pub secret: Secret,
}

/// What to create on an empty database.
#[derive(Debug, Clone)]
pub struct BootstrapRequest {
    /// Workspace name.
    pub workspace_name: String,
    /// The first builder's email.
    pub builder_email: String,
    /// The first app's name.
    pub app_name: String,
}

/// What bootstrap created.
#[derive(Debug)]
pub struct Bootstrap {
    /// The workspace.
    pub workspace_id: String,
    /// The app.
    pub app_id: String,
    /// The builder.
    pub builder_email: String,
    /// The builder's API key.
    pub api_key: Secret,
    /// The app's service token.
    pub service_token: Secret,
    /// The builder's invite link, to set a password and sign in.
    pub login_url: Secret,
}

/// Credentials to store directly (operator import, and tests before consent exists).
#[derive(Debug)]
pub struct ImportCredentials {
    /// The app.
    pub app_id: String,
    /// The connector type.
    pub integration_type: String,
    /// Email of the builder the connector is attributed to.
    pub builder_email: Option<String>,
    /// Access token.
    pub access_token: Secret,
    /// Refresh token.
    pub refresh_token: Option<Secret>,
    /// Seconds until the access token expires.
    pub expires_in: Option<i64>,
    /// Scopes granted (also declared, if the connector is new).
    pub scopes: Vec<String>,
    /// Values fixed at consent.
    pub connection_config: Option<BTreeMap<String, String>>,
}

/// Why an administration command was refused; each text says what to run.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No workspace was named and none exists.
    #[error("no workspace exists yet; run `connectors-server serve` once (it bootstraps one) or `create-workspace`")]
    NoWorkspace,
    /// No workspace was named and there are several.
    #[error("there are {0} workspaces; pass --workspace-id (see `connectors-server list`)")]
    AmbiguousWorkspace(usize),
    /// No builder with that email in the workspace.
    #[error("no builder `{email}` in workspace {workspace_id}; create one with `create-builder`")]
    NoBuilder {
        /// The email asked for.
        email: String,
        /// The workspace searched.
        workspace_id: String,
    },
    /// No app with that id.
    #[error("no app `{0}`; see `connectors-server list`")]
    NoApp(String),
    /// The use case itself refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<connectors_store::StoreError> for AdminError {
    fn from(e: connectors_store::StoreError) -> Self {
        Self::Engine(e.into())
    }
}

/// A workspace and its apps, as `list` shows them.
#[derive(Debug)]
pub struct WorkspaceApps {
    /// The workspace.
    pub workspace: Workspace,
    /// Its apps.
    pub apps: Vec<App>,
}

/// Whether the server can answer: `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The database answers.
    Ok,
    /// The database does not answer (the cause is logged).
    DatabaseUnavailable,
}

/// A random lowercase hex id of `bytes` bytes (apps use 12, like Base44's).
pub(crate) fn hex_id(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && matches!(email.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty() && !email.contains(char::is_whitespace));
    if ok {
        Ok(())
    } else {
        Err(EngineError::BadRequest(format!(
            "`{email}` is not an email address"
        )))
    }
}

impl Engine {
    /// Creates a workspace, builder, app, API key and service token, if the
    /// database is empty. `None` when it was not empty.
    pub async fn bootstrap(&self, request: &BootstrapRequest) -> Result<Option<Bootstrap>> {
        if !self.store().is_empty().await? {
            return Ok(None);
        }
        check_email(&request.builder_email)?;
        let workspace_id = hex_id(12);
        // Replicas starting together on one empty database: one bootstraps.
        if !self
            .store()
            .create_first_workspace(&Workspace {
                id: workspace_id.clone(),
                name: request.workspace_name.clone(),
                created_at: self.now(),
            })
            .await?
        {
            return Ok(None);
        }
        let builder = self
            .create_builder(&workspace_id, &request.builder_email)
            .await?;
        let app = self.create_app(&workspace_id, &request.app_name).await?;
        let api_key = self
            .issue_api_key(&builder.id, Some(&workspace_id), &Actor::Operator)
            .await?;
        let service_token = self
            .issue_service_token(&app.id, Some(&workspace_id), &Actor::Operator)
            .await?;
        let (login_url, _) = self.invite_builder(&builder.id).await?;
        Ok(Some(Bootstrap {
            workspace_id,
            app_id: app.id,
            builder_email: builder.email,
            api_key: api_key.secret,
            service_token: service_token.secret,
            login_url,
        }))
    }

    /// Creates a workspace.
    pub async fn create_workspace(&self, name: &str) -> Result<Workspace> {
        let workspace = Workspace {
            id: hex_id(12),
            name: name.to_string(),
            created_at: self.now(),
        };
        self.store().create_workspace(&workspace).await?;
        Ok(workspace)
    }

    /// Creates a builder in a workspace.
    pub async fn create_builder(&self, workspace_id: &str, email: &str) -> Result<Builder> {
        check_email(email)?;
        let builder = Builder {
            id: uuid::Uuid::new_v4().simple().to_string(),
            workspace_id: workspace_id.to_string(),
            email: email.to_string(),
            created_at: self.now(),
        };
        self.store().create_builder(&builder).await?;
        Ok(builder)
    }

    /// Creates an app in a workspace.
    pub async fn create_app(&self, workspace_id: &str, name: &str) -> Result<App> {
        let app = App {
            id: hex_id(12),
            workspace_id: workspace_id.to_string(),
            name: name.to_string(),
            created_at: self.now(),
        };
        self.store().create_app(&app).await?;
        Ok(app)
    }

    /// Issues an API key (`b44k_…`) for a builder, as the operator.
    pub async fn create_api_key(&self, builder_id: &str) -> Result<IssuedSecret> {
        let workspace_id = self
            .store()
            .get_builder(builder_id)
            .await?
            .map(|b| b.workspace_id);
        self.issue_api_key(builder_id, workspace_id.as_deref(), &Actor::Operator)
            .await
    }

    /// Issues an API key for a builder of `workspace_id` on `actor`'s
    /// behalf: the one place keys are made, so each is audited once.
    pub(crate) async fn issue_api_key(
        &self,
        builder_id: &str,
        workspace_id: Option<&str>,
        actor: &Actor,
    ) -> Result<IssuedSecret> {
        let secret = generate_token(API_KEY_PREFIX, 32);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let display_prefix: String = secret.expose().chars().take(10).collect();
        self.store()
            .create_api_key(&NewApiKey {
                id: id.clone(),
                builder_id: builder_id.to_string(),
                key_hash: hash_token(secret.expose()),
                display_prefix: display_prefix.clone(),
                created_at: self.now(),
            })
            .await?;
        if let Some(workspace_id) = workspace_id {
            self.audit(
                actor,
                Audit::workspace(workspace_id, "api_key.created")
                    .target(format!("{display_prefix}…"))
                    .detail(format!("key {id}")),
            )
            .await;
        }
        Ok(IssuedSecret { id, secret })
    }

    /// Issues a service token (`b44s_…`) for an app's server side, as the
    /// operator.
    pub async fn create_service_token(&self, app_id: &str) -> Result<IssuedSecret> {
        let workspace_id = self.store().get_app(app_id).await?.map(|a| a.workspace_id);
        self.issue_service_token(app_id, workspace_id.as_deref(), &Actor::Operator)
            .await
    }

    /// Issues a service token for an app of `workspace_id` on `actor`'s
    /// behalf: the one place tokens are made, so each is audited once.
    pub(crate) async fn issue_service_token(
        &self,
        app_id: &str,
        workspace_id: Option<&str>,
        actor: &Actor,
    ) -> Result<IssuedSecret> {
        let secret = generate_token(SERVICE_TOKEN_PREFIX, 32);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let display_prefix: String = secret.expose().chars().take(10).collect();
        self.store()
            .create_service_token(&NewServiceToken {
                id: id.clone(),
                app_id: app_id.to_string(),
                token_hash: hash_token(secret.expose()),
                display_prefix: display_prefix.clone(),
                created_at: self.now(),
            })
            .await?;
        if let Some(workspace_id) = workspace_id {
            self.audit(
                actor,
                Audit::app(workspace_id, app_id, "service_token.created")
                    .target(format!("{display_prefix}…"))
                    .detail(format!("token {id}")),
            )
            .await;
        }
        Ok(IssuedSecret { id, secret })
    }

    /// The workspace an administration command acts on: the given one, or
    /// the only one there is.
    pub async fn default_workspace(
        &self,
        given: Option<String>,
    ) -> std::result::Result<String, AdminError> {
        if let Some(id) = given {
            return Ok(id);
        }
        let all = self.store().list_workspaces().await?;
        match all.as_slice() {
            [only] => Ok(only.id.clone()),
            [] => Err(AdminError::NoWorkspace),
            _ => Err(AdminError::AmbiguousWorkspace(all.len())),
        }
    }

    /// Issues another API key for the builder with `email` in a workspace.
    pub async fn create_api_key_for(
        &self,
        workspace_id: &str,
        email: &str,
    ) -> std::result::Result<IssuedSecret, AdminError> {
        let builder = self
            .store()
            .find_builder(workspace_id, email)
            .await?
            .ok_or_else(|| AdminError::NoBuilder {
                email: email.to_string(),
                workspace_id: workspace_id.to_string(),
            })?;
        Ok(self
            .issue_api_key(&builder.id, Some(&builder.workspace_id), &Actor::Operator)
            .await?)
    }

    /// Issues another service token for an existing app.
    pub async fn create_service_token_for(
        &self,
        app_id: &str,
    ) -> std::result::Result<IssuedSecret, AdminError> {
        let app = self
            .store()
            .get_app(app_id)
            .await?
            .ok_or_else(|| AdminError::NoApp(app_id.to_string()))?;
        Ok(self
            .issue_service_token(app_id, Some(&app.workspace_id), &Actor::Operator)
            .await?)
    }

    /// Every workspace with its apps.
    pub async fn describe(&self) -> Result<Vec<WorkspaceApps>> {
        let mut all = Vec::new();
        for workspace in self.store().list_workspaces().await? {
            let apps = self.store().list_apps(Some(&workspace.id)).await?;
            all.push(WorkspaceApps { workspace, apps });
        }
        Ok(all)
    }

    /// Whether the database answers; a failure is logged here, since the
    /// answer to the prober must not carry its cause.
    pub async fn health(&self) -> Health {
        match self.store().is_empty().await {
            Ok(_) => Health::Ok,
            Err(e) => {
                tracing::error!(error = %e, "health check: database unavailable");
                Health::DatabaseUnavailable
            }
        }
    }

    /// Stores credentials for a connector as if consent had just succeeded.
    /// The type comes from the operator's command line, so it is checked here.
    pub async fn import_credentials(&self, import: ImportCredentials) -> Result<()> {
        let integration_type = IntegrationType::new(import.integration_type.as_str())?;
        self.integration(&integration_type)?;
        let app = self
            .store()
            .get_app(&import.app_id)
            .await?
            .ok_or_else(|| EngineError::AppNotFound(import.app_id.clone()))?;
        let builder_id = match &import.builder_email {
            Some(email) => Some(
                self.store()
                    .find_builder(&app.workspace_id, email)
                    .await?
                    .ok_or_else(|| {
                        EngineError::BadRequest(format!(
                            "no builder `{email}` in the app's workspace"
                        ))
                    })?
                    .id,
            ),
            None => None,
        };
        let (app_id, ty) = (&import.app_id, &integration_type);
        let keys = self.keys();
        let now = self.now();
        let saved = self
            .store()
            .save_authorization(&Authorization {
                connection_id: None,
                builder_id,
                scopes: import.scopes.clone(),
                events: vec![self.connector_event(
                    connectors_wire::events::CONNECTED,
                    &crate::events::connector_data(
                        &ConnectorKey::new(app_id.clone(), ty.clone()),
                        &import.scopes,
                    ),
                )],
                granted_scopes: import.scopes,
                connection_config: import.connection_config,
                credentials: CredentialsRow {
                    app_id: app_id.clone(),
                    integration_type: ty.clone(),
                    holder: Default::default(),
                    access_token: keys.seal_secret(
                        &import.access_token,
                        &credentials_context(app_id, ty, "access_token"),
                    ),
                    refresh_token: import.refresh_token.map(|t| {
                        keys.seal_secret(&t, &credentials_context(app_id, ty, "refresh_token"))
                    }),
                    token_response: None,
                    expires_at_ms: import.expires_in.map(|s| self.now_ms() + s * 1000),
                    version: 1,
                    updated_at: now,
                    refresh_in_flight_since: None,
                },
            })
            .await;
        self.inner
            .cache
            .forget_connector(&ConnectorKey::new(app_id.clone(), ty.clone()));
        saved?;
        Ok(())
    }

    /// The id of the key new secrets are sealed with.
    pub fn active_key_id(&self) -> &str {
        self.keys().active_id()
    }

    /// Re-encrypts every stored secret under the active key; how many changed.
    pub async fn rotate_keys(&self) -> Result<usize> {
        let keys = self.keys();
        let reseal = |context: &str, sealed: &str| -> std::result::Result<String, String> {
            if keys.needs_reseal(sealed) {
                keys.reseal(sealed, context).map_err(|e| e.to_string())
            } else {
                Ok(sealed.to_string())
            }
        };
        let resealed = self.store().reseal_all(&reseal).await;
        self.inner.cache.forget_all();
        Ok(resealed?)
    }
}
