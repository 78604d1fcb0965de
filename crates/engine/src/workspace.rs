//! Workspace connectors (#13.1–2): a workspace's own OAuth app for one
//! integration type, administered by the workspace's builders, and each
//! app's one shared connection of it, which a builder of the app consents
//! to and the app's functions read with `getWorkspaceConnection`.
//!
//! A connection is an ordinary connector row under
//! [`ConnectorKey::workspace`], so consent, refresh, leases, the read cache
//! and the change feed serve it unchanged; only the OAuth client differs
//! (`provider.rs`).

use std::collections::BTreeMap;

use connectors_store::{
    is_workspace_connector_id, workspace_connector_context, ConnectorKey, WorkspaceConnectorRow,
};
use connectors_vault::Secret;
use connectors_wire::{
    ConnectorTokenResponse, CreateWorkspaceConnector, DeletedWorkspaceConnector, Disconnected,
    IntegrationType, OAuthRedirectUris, OAuthStatusResponse, RedirectUri, SetConnectorResponse,
    UpdateWorkspaceConnector, WorkspaceConnection, WorkspaceConnectionList, WorkspaceConnector,
    WorkspaceConnectorList, CREDENTIAL_SOURCE_BYO,
};

use crate::audit::{Actor, Audit};
use crate::connectors::check_scopes;
use crate::events::RemovedBy;
use crate::{AuthorizedApp, Engine, EngineError, Principal, Result, ServiceApp};
use connectors_wire::events::{
    WORKSPACE_CONNECTOR_CREATED, WORKSPACE_CONNECTOR_DELETED, WORKSPACE_CONNECTOR_UPDATED,
};

/// Longest connector name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most `connection_config` entries a workspace connector keeps.
pub const MAX_CONFIG_ENTRIES: usize = 50;

/// Proof that a builder may administer a workspace: its connector use cases
/// require it.
#[derive(Debug, Clone)]
pub struct AuthorizedWorkspace {
    workspace_id: String,
    /// Who acts: a builder of the workspace, or the operator.
    actor: Actor,
}

impl AuthorizedWorkspace {
    /// The workspace's id.
    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }
}

/// A new connector id: 24 lowercase hex characters, Base44's id shape.
fn new_connector_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fields a workspace connector's update sets, for its audit entry
/// (names only: a secret's value never).
fn changed_fields(patch: &UpdateWorkspaceConnector) -> Vec<&'static str> {
    [
        ("name", patch.name.is_some()),
        ("client_id", patch.client_id.is_some()),
        ("client_secret", patch.client_secret.is_some()),
        ("scopes", patch.scopes.is_some()),
        ("connection_config", patch.connection_config.is_some()),
        (
            "builder_connection_enabled",
            patch.builder_connection_enabled.is_some(),
        ),
        (
            "per_user_connection_enabled",
            patch.per_user_connection_enabled.is_some(),
        ),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// How an audit entry names a connection: its type, and the workspace
/// connector it goes through, if any.
pub(crate) fn connection_target(key: &ConnectorKey) -> String {
    match key.workspace_connector_id() {
        None => key.integration_type.to_string(),
        Some(id) => format!("{} (workspace connector {id})", key.integration_type),
    }
}

fn bad(text: String) -> EngineError {
    EngineError::BadRequest(text)
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(bad(format!(
            "`name` must be 1 to {MAX_NAME_CHARS} characters without control characters, e.g. \"Sales Google Calendar\""
        )));
    }
    Ok(name.to_string())
}

fn check_source(source: Option<&str>) -> Result<()> {
    match source {
        None | Some(CREDENTIAL_SOURCE_BYO) => Ok(()),
        Some(other) => Err(bad(format!(
            "credential_source `{}` is not available: this server has no OAuth app of its own to lend; register an OAuth app at the provider and send credential_source \"byo\" with its client_id and client_secret",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

fn check_client_id(id: Option<&str>) -> Result<String> {
    match id {
        Some(id) if !id.is_empty() && id.len() <= 512 && !id.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Ok(id.to_string())
        }
        _ => Err(bad(
            "`client_id` is required: the client id of the OAuth app you registered at the provider (1 to 512 characters, no spaces)".into(),
        )),
    }
}

fn check_secret(secret: &str) -> Result<()> {
    if secret.is_empty() || secret.len() > 4096 || secret.chars().any(char::is_control) {
        return Err(bad(
            "`client_secret` must be 1 to 4096 bytes without control characters; leave it out for a public client".into(),
        ));
    }
    Ok(())
}

fn check_config(config: &BTreeMap<String, String>) -> Result<()> {
    if config.len() > MAX_CONFIG_ENTRIES {
        return Err(bad(format!(
            "`connection_config` has {} entries; at most {MAX_CONFIG_ENTRIES}",
            config.len()
        )));
    }
    for (key, value) in config {
        let key_ok = !key.is_empty()
            && key.len() <= 64
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !key_ok || value.len() > 2048 || value.chars().any(char::is_control) {
            return Err(bad(format!(
                "`connection_config` entry `{}` is invalid: keys are 1 to 64 letters, digits or `_`, values at most 2048 bytes without control characters",
                key.chars().take(64).collect::<String>()
            )));
        }
    }
    Ok(())
}

impl Engine {
    /// The workspace a builder route acts on: the caller's own (another
    /// workspace is "not found"); a service token is refused.
    pub fn builder_workspace(
        &self,
        principal: &Principal,
        workspace_id: &str,
    ) -> Result<AuthorizedWorkspace> {
        match principal {
            Principal::Builder(b) if b.workspace_id == workspace_id => Ok(AuthorizedWorkspace {
                workspace_id: b.workspace_id.clone(),
                actor: Actor::builder(b),
            }),
            Principal::Builder(_) => Err(EngineError::WorkspaceNotFound(
                workspace_id.chars().take(100).collect(),
            )),
            _ => Err(EngineError::BuilderOnly),
        }
    }

    /// The workspace the operator's commands act on (`default_workspace`
    /// resolves and checks it): the administration's own way in.
    pub async fn operator_workspace(
        &self,
        workspace_id: Option<String>,
    ) -> Result<AuthorizedWorkspace> {
        let workspace_id = self
            .default_workspace(workspace_id)
            .await
            .map_err(|e| EngineError::BadRequest(e.to_string()))?;
        let known = self.store().list_workspaces().await?;
        if !known.iter().any(|w| w.id == workspace_id) {
            return Err(EngineError::WorkspaceNotFound(workspace_id));
        }
        Ok(AuthorizedWorkspace {
            workspace_id,
            actor: Actor::Operator,
        })
    }

    fn workspace_connector_view(row: &WorkspaceConnectorRow) -> WorkspaceConnector {
        WorkspaceConnector {
            id: row.id.clone(),
            workspace_id: row.workspace_id.clone(),
            integration_type: row.integration_type.to_string(),
            name: row.name.clone(),
            credential_source: CREDENTIAL_SOURCE_BYO.into(),
            client_id: row.client_id.clone(),
            has_client_secret: row.client_secret.is_some(),
            scopes: row.scopes.clone(),
            connection_config: row.connection_config.clone(),
            builder_connection_enabled: row.builder_enabled,
            per_user_connection_enabled: row.per_user_enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    /// `POST /api/workspace/{workspace_id}/connectors`.
    pub async fn create_workspace_connector(
        &self,
        workspace: &AuthorizedWorkspace,
        request: CreateWorkspaceConnector,
    ) -> Result<WorkspaceConnector> {
        let ty = IntegrationType::new(request.integration_type.as_str())?;
        if ty.is_stripe() {
            return Err(EngineError::StripeIsNotOAuth);
        }
        self.integration(&ty)?;
        let name = check_name(&request.name)?;
        check_source(request.credential_source.as_deref())?;
        let client_id = check_client_id(request.client_id.as_deref())?;
        if let Some(secret) = &request.client_secret {
            check_secret(secret)?;
        }
        check_scopes(&request.scopes)?;
        check_config(&request.connection_config)?;
        let id = new_connector_id();
        let now = self.now();
        let row = WorkspaceConnectorRow {
            client_secret: request.client_secret.map(|s| {
                self.keys()
                    .seal_secret(&Secret::new(s), &workspace_connector_context(&id))
            }),
            id,
            workspace_id: workspace.workspace_id().to_string(),
            integration_type: ty,
            name,
            client_id,
            scopes: request.scopes,
            connection_config: request.connection_config,
            builder_enabled: request.builder_connection_enabled.unwrap_or(true),
            per_user_enabled: request.per_user_connection_enabled.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        let event = self.workspace_connector_event(WORKSPACE_CONNECTOR_CREATED, &row, None);
        self.store()
            .create_workspace_connector(&row, &[event])
            .await?;
        self.audit(
            &workspace.actor,
            Audit::workspace(workspace.workspace_id(), "workspace_connector.created")
                .target(&row.id)
                .detail(format!("\"{}\" ({})", row.name, row.integration_type)),
        )
        .await;
        Ok(Self::workspace_connector_view(&row))
    }

    /// `GET /api/workspace/{workspace_id}/connectors`.
    pub async fn list_workspace_connectors(
        &self,
        workspace: &AuthorizedWorkspace,
    ) -> Result<WorkspaceConnectorList> {
        let rows = self
            .store()
            .list_workspace_connectors(workspace.workspace_id())
            .await?;
        Ok(WorkspaceConnectorList {
            connectors: rows.iter().map(Self::workspace_connector_view).collect(),
        })
    }

    /// The workspace's connector `id`; another workspace's is "not found".
    async fn own_connector(&self, workspace_id: &str, id: &str) -> Result<WorkspaceConnectorRow> {
        let not_found = || EngineError::WorkspaceConnectorNotFound(id.chars().take(100).collect());
        if !is_workspace_connector_id(id) {
            return Err(not_found());
        }
        match self.store().get_workspace_connector(id).await? {
            Some(row) if row.workspace_id == workspace_id => Ok(row),
            _ => Err(not_found()),
        }
    }

    /// `PUT /api/workspace/{workspace_id}/connectors/{connector_id}`: a new
    /// secret rotates it for every connection (the next refresh uses it);
    /// new scopes apply to new connections only.
    pub async fn update_workspace_connector(
        &self,
        workspace: &AuthorizedWorkspace,
        id: &str,
        patch: UpdateWorkspaceConnector,
    ) -> Result<WorkspaceConnector> {
        let mut row = self.own_connector(workspace.workspace_id(), id).await?;
        let changed = changed_fields(&patch);
        if let Some(ty) = &patch.integration_type {
            if ty != row.integration_type.as_str() {
                return Err(bad(format!(
                    "a workspace connector's integration_type cannot change (it is `{}`); create another connector for `{}`",
                    row.integration_type,
                    ty.chars().take(100).collect::<String>()
                )));
            }
        }
        check_source(patch.credential_source.as_deref())?;
        if let Some(name) = &patch.name {
            row.name = check_name(name)?;
        }
        if patch.client_id.is_some() {
            row.client_id = check_client_id(patch.client_id.as_deref())?;
        }
        if let Some(secret) = patch.client_secret {
            check_secret(&secret)?;
            row.client_secret = Some(
                self.keys()
                    .seal_secret(&Secret::new(secret), &workspace_connector_context(&row.id)),
            );
        }
        if let Some(scopes) = patch.scopes {
            check_scopes(&scopes)?;
            row.scopes = scopes;
        }
        if let Some(config) = patch.connection_config {
            check_config(&config)?;
            row.connection_config = config;
        }
        if let Some(on) = patch.builder_connection_enabled {
            row.builder_enabled = on;
        }
        if let Some(on) = patch.per_user_connection_enabled {
            row.per_user_enabled = on;
        }
        row.updated_at = self.now();
        let event = self.workspace_connector_event(WORKSPACE_CONNECTOR_UPDATED, &row, None);
        if !self
            .store()
            .update_workspace_connector(&row, &[event])
            .await?
        {
            return Err(EngineError::WorkspaceConnectorNotFound(id.to_string()));
        }
        // Switches and config change what connections may do.
        self.inner.connector_facts.remove(&row.id);
        self.forget_connections_of(&row.id).await?;
        self.audit(
            &workspace.actor,
            Audit::workspace(workspace.workspace_id(), "workspace_connector.updated")
                .target(&row.id)
                .detail(format!(
                    "\"{}\" ({}); changed: {}",
                    row.name,
                    row.integration_type,
                    if changed.is_empty() {
                        "nothing".into()
                    } else {
                        changed.join(", ")
                    }
                )),
        )
        .await;
        Ok(Self::workspace_connector_view(&row))
    }

    /// `DELETE /api/workspace/{workspace_id}/connectors/{connector_id}`:
    /// the connector and every connection made through it, whose tokens
    /// are then revoked at the provider (best effort).
    pub async fn delete_workspace_connector(
        &self,
        workspace: &AuthorizedWorkspace,
        id: &str,
    ) -> Result<DeletedWorkspaceConnector> {
        let row = self.own_connector(workspace.workspace_id(), id).await?;
        self.inner.connector_facts.remove(id);
        // Read before the delete: afterwards the client and tokens are gone.
        let keys = self.store().connections_of_workspace_connector(id).await?;
        let mut removed = Vec::new();
        for key in &keys {
            if let (Some(credentials), Some(connector)) = (
                self.store().get_credentials(key).await?,
                self.store().get_connector(key).await?,
            ) {
                removed.push((credentials, connector.connection_config.unwrap_or_default()));
            }
        }
        let provider = self
            .provider_client(&ConnectorKey::workspace(
                "",
                row.integration_type.clone(),
                &row.id,
            ))
            .await
            .ok();
        let deleted = self
            .store()
            .delete_workspace_connector(
                id,
                self.now(),
                &[self.workspace_connector_event(WORKSPACE_CONNECTOR_DELETED, &row, None)],
                &self.disconnected_events(RemovedBy::Policy),
            )
            .await;
        for key in &keys {
            self.inner.cache.forget_connector(key);
        }
        if !deleted? {
            return Err(EngineError::WorkspaceConnectorNotFound(id.to_string()));
        }
        if let Some(provider) = &provider {
            for (credentials, config) in removed {
                self.revoke_with(provider, credentials, config);
            }
        }
        self.audit(
            &workspace.actor,
            Audit::workspace(workspace.workspace_id(), "workspace_connector.deleted")
                .target(id)
                .detail(format!(
                    "\"{}\" ({}); {} connection{} removed",
                    row.name,
                    row.integration_type,
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" }
                )),
        )
        .await;
        Ok(DeletedWorkspaceConnector {
            status: "deleted".into(),
            id: id.to_string(),
            connections_removed: keys.len(),
        })
    }

    async fn forget_connections_of(&self, id: &str) -> Result<()> {
        for key in self.store().connections_of_workspace_connector(id).await? {
            self.inner.cache.forget_connector(&key);
        }
        Ok(())
    }

    /// `GET /api/apps/{app_id}/oauth-redirect-uris`: what a workspace
    /// connector's OAuth app must have registered. Builders' and end users'
    /// consents return to the same callback, so one URI serves both.
    pub fn oauth_redirect_uris(&self, _app: &AuthorizedApp) -> OAuthRedirectUris {
        let uri = self.external_redirect_uri();
        OAuthRedirectUris {
            builder_redirect_uri: uri.clone(),
            app_redirect_uris: vec![RedirectUri { uri }],
            gateway_redirect_uri: None,
        }
    }

    /// The key of the app's connection of workspace connector `id`, after
    /// checking the connector is in the app's workspace.
    async fn workspace_connection_key(
        &self,
        app: &AuthorizedApp,
        id: &str,
    ) -> Result<(ConnectorKey, WorkspaceConnectorRow)> {
        let row = self.own_connector(&app.app().workspace_id, id).await?;
        let key = ConnectorKey::workspace(app.app_id(), row.integration_type.clone(), &row.id);
        Ok((key, row))
    }

    /// `PUT /api/apps/{app_id}/external-auth/connectors/{connector_id}`: the
    /// builder starts (or, with `reconsent`, redoes) the app's shared
    /// connection; the answer has the same six keys as the integrations PUT.
    pub async fn connect_workspace_connector(
        &self,
        app: &AuthorizedApp,
        id: &str,
        reconsent: bool,
    ) -> Result<SetConnectorResponse> {
        let (key, row) = self.workspace_connection_key(app, id).await?;
        if !row.builder_enabled {
            return Err(EngineError::ConnectionsDisabled {
                connector_id: row.id,
                what: "builder connections",
            });
        }
        self.integration(&row.integration_type)?;
        self.start_connection(app, &key, row.scopes, reconsent)
            .await
    }

    /// `GET …/external-auth/connectors/{connector_id}/status`: a consent
    /// attempt of the app's connection, like `external-auth/status`.
    pub async fn workspace_connection_status(
        &self,
        app: &AuthorizedApp,
        id: &str,
        connection_id: &str,
    ) -> Result<OAuthStatusResponse> {
        let (key, _) = self.workspace_connection_key(app, id).await?;
        self.attempt_status_of(&key, connection_id).await
    }

    /// `DELETE /api/apps/{app_id}/external-auth/connectors/{connector_id}`.
    pub async fn disconnect_workspace_connector(
        &self,
        app: &AuthorizedApp,
        id: &str,
    ) -> Result<Disconnected> {
        let (key, _) = self.workspace_connection_key(app, id).await?;
        if !self.remove_connection(&key, RemovedBy::Builder).await? {
            return Err(EngineError::WorkspaceConnectionNotFound(id.into()));
        }
        self.audit(
            &Actor::builder(app.builder()),
            Audit::on(app, "connector.removed").target(connection_target(&key)),
        )
        .await;
        Ok(Disconnected {
            status: "disconnected".into(),
            connector_id: id.to_string(),
        })
    }

    /// `GET /api/apps/{app_id}/external-auth/connectors`: the app's
    /// connections of workspace connectors.
    pub async fn list_workspace_connections(
        &self,
        app: &AuthorizedApp,
    ) -> Result<WorkspaceConnectionList> {
        let rows = self
            .store()
            .list_workspace_connections(app.app_id())
            .await?;
        let connections = rows
            .into_iter()
            .filter_map(|c| {
                let connector_id = c.key().workspace_connector_id()?.to_string();
                Some(WorkspaceConnection {
                    connector_id,
                    integration_type: c.integration_type.to_string(),
                    status: c.status.as_str().to_string(),
                    status_reason: c.status_reason,
                    scopes: c.scopes,
                    granted_scopes: c.granted_scopes,
                    user_email: c.authorized_by_email,
                })
            })
            .collect();
        Ok(WorkspaceConnectionList { connections })
    }

    /// `GET /api/apps/{app_id}/external-auth/tokens/connectors/{connector_id}`
    /// (`getWorkspaceConnection`): the app's shared connection's token.
    /// Another app's connection of the same connector is not this app's.
    pub async fn workspace_connection_token(
        &self,
        app: &ServiceApp,
        id: &str,
    ) -> Result<ConnectorTokenResponse> {
        let not_found = || EngineError::WorkspaceConnectionNotFound(id.chars().take(100).collect());
        if !is_workspace_connector_id(id) {
            return Err(not_found());
        }
        let facts = self
            .workspace_connector_facts(id)
            .await?
            .ok_or_else(not_found)?;
        facts.allows(id, true)?;
        let key = ConnectorKey::workspace(app.app_id(), facts.integration_type, id);
        let response = self.connection_token(&key, not_found).await?;
        Ok(response)
    }

    /// What the token routes need of workspace connector `id`: its type
    /// (which never changes) and its two switches (which do). Kept for the
    /// read cache's maximum age, so a switch turned off stops token reads
    /// on every replica within that bound (at once in this process), with
    /// no database read per request.
    pub(crate) async fn workspace_connector_facts(
        &self,
        id: &str,
    ) -> Result<Option<ConnectorFacts>> {
        let now = self.now_ms();
        let max_age = i64::try_from(self.config().cache.max_age_ms).unwrap_or(i64::MAX);
        if let Some(facts) = self.inner.connector_facts.get(id) {
            if (0..max_age).contains(&now.saturating_sub(facts.read_at_ms)) {
                return Ok(Some(facts));
            }
        }
        let Some(row) = self.store().get_workspace_connector(id).await? else {
            self.inner.connector_facts.remove(id);
            return Ok(None);
        };
        let facts = ConnectorFacts {
            integration_type: row.integration_type,
            builder_enabled: row.builder_enabled,
            per_user_enabled: row.per_user_enabled,
            read_at_ms: now,
        };
        self.inner
            .connector_facts
            .insert(id.to_string(), facts.clone());
        Ok(Some(facts))
    }
}

/// See [`Engine::workspace_connector_facts`].
#[derive(Debug, Clone)]
pub(crate) struct ConnectorFacts {
    pub(crate) integration_type: IntegrationType,
    pub(crate) builder_enabled: bool,
    pub(crate) per_user_enabled: bool,
    read_at_ms: i64,
}

impl ConnectorFacts {
    /// Refuses a token read when a workspace admin turned this kind of
    /// connection off (Base44's switches stop existing connections too).
    pub(crate) fn allows(&self, id: &str, builder: bool) -> Result<()> {
        let (on, what) = if builder {
            (self.builder_enabled, "builder connections")
        } else {
            (self.per_user_enabled, "per-user connections")
        };
        if on {
            Ok(())
        } else {
            Err(EngineError::ConnectionsDisabled {
                connector_id: id.to_string(),
                what,
            })
        }
    }
}
