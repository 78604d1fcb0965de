//! What a builder's dashboard shows of one app (issue #12.3). Only reads:
//! every change the dashboard makes goes through the same use cases as the
//! API ([`Engine::remove_connector`], [`Engine::revoke_api_key`], …), plus
//! [`Engine::reconnect_connector`], which only a person in a browser needs.

use connectors_store::CredentialsHealth;
use connectors_wire::{ConnectorStatus, IntegrationType, SetConnectorResponse, StripeMode};

use crate::{
    provider_env_prefix, ApiKeyInfo, ApiKeyScope, App, AuthorizedApp, Engine, EngineError,
    Principal, Result, ServiceTokenInfo, ServiceTokenScope,
};

/// One app as its dashboard shows it.
#[derive(Debug)]
pub struct AppOverview {
    /// The app.
    pub app: App,
    /// Its OAuth connectors, by type.
    pub connectors: Vec<ConnectorView>,
    /// The workspace's connectors, each with the app's connection of it.
    pub workspace: Vec<WorkspaceConnectorView>,
    /// The app's users' own connections.
    pub app_users: Vec<crate::AppUserConnectionView>,
    /// Where the app's users may come from and return to, and whose
    /// tokens name them.
    pub app_user_settings: connectors_wire::AppUserSettings,
    /// Its Stripe sandbox: `Ok(None)` when there is none, `Err` with a
    /// reason when Stripe could not be asked (the page still renders).
    pub stripe: std::result::Result<Option<StripeView>, String>,
    /// Every OAuth type of the catalog, and whether it can be connected.
    pub providers: Vec<ProviderView>,
    /// The app's service tokens (display prefixes only).
    pub service_tokens: Vec<ServiceTokenInfo>,
    /// The signed-in builder's API keys (display prefixes only).
    pub api_keys: Vec<ApiKeyInfo>,
}

/// One connector with how its credentials are doing.
#[derive(Debug)]
pub struct ConnectorView {
    /// The type.
    pub integration_type: IntegrationType,
    /// The catalog's name for it (the type when the catalog lost it).
    pub display_name: String,
    /// Active, expired or disconnected.
    pub status: ConnectorStatus,
    /// Why it is not active, when known.
    pub status_reason: Option<String>,
    /// Scopes the builder's file declares.
    pub scopes: Vec<String>,
    /// Scopes the last consent granted.
    pub granted_scopes: Vec<String>,
    /// Whose consent the credentials carry.
    pub authorized_by_email: Option<String>,
    /// Times and outcome of the stored credentials, when there are any.
    pub credentials: Option<CredentialsHealth>,
    /// Whether the operator configured the type's OAuth client (else
    /// Reconnect cannot work).
    pub configured: bool,
}

/// A workspace connector and the app's shared connection of it.
#[derive(Debug)]
pub struct WorkspaceConnectorView {
    /// Its id (what functions pass to `getWorkspaceConnection`).
    pub id: String,
    /// Its name in the workspace.
    pub name: String,
    /// Its type.
    pub integration_type: IntegrationType,
    /// The catalog's name for the type.
    pub display_name: String,
    /// Whether builders may connect apps to it.
    pub builder_enabled: bool,
    /// The app's connection, if one was made (or is being made).
    pub connection: Option<ConnectorView>,
}

/// The app's Stripe sandbox.
#[derive(Debug)]
pub struct StripeView {
    /// A sandbox until claimed, then live.
    pub mode: StripeMode,
    /// Where the builder claims it, while unclaimed.
    pub claim_url: Option<String>,
}

/// A catalog type, and what the operator must set before it can be used.
#[derive(Debug)]
pub struct ProviderView {
    /// The type.
    pub integration_type: String,
    /// Its name.
    pub display_name: String,
    /// Defined in the server's config rather than the built-in catalog.
    pub custom: bool,
    /// Whether a client id and secret are configured.
    pub configured: bool,
    /// The environment variables' common prefix (`…_CLIENT_ID`, `…_CLIENT_SECRET`).
    pub env_prefix: String,
}

impl Engine {
    /// A connection as the dashboard shows it, with its credentials' health
    /// (taken out of `health`, matched on type and holder).
    fn connector_view(
        &self,
        c: connectors_store::ConnectorRow,
        health: &mut Vec<CredentialsHealth>,
        configured: bool,
    ) -> ConnectorView {
        let credentials = health
            .iter()
            .position(|h| h.integration_type == c.integration_type && h.holder == c.holder)
            .map(|i| health.swap_remove(i));
        ConnectorView {
            display_name: self.catalog().get(&c.integration_type).map_or_else(
                || c.integration_type.to_string(),
                |i| i.display_name.clone(),
            ),
            configured,
            integration_type: c.integration_type,
            status: c.status,
            status_reason: c.status_reason,
            scopes: c.scopes,
            granted_scopes: c.granted_scopes,
            authorized_by_email: c.authorized_by_email,
            credentials,
        }
    }

    /// Everything the app-connections page shows of `app`.
    pub async fn app_overview(&self, app: &AuthorizedApp) -> Result<AppOverview> {
        let rows = self.store().list_connectors(app.app_id()).await?;
        let mut health = self.store().credentials_health(app.app_id()).await?;
        let connectors = rows
            .into_iter()
            .filter(|c| !c.integration_type.is_stripe())
            .map(|c| {
                let configured = self
                    .catalog()
                    .get(&c.integration_type)
                    .is_some_and(|i| i.client.is_some());
                self.connector_view(c, &mut health, configured)
            })
            .collect();
        let mut connections = self
            .store()
            .list_workspace_connections(app.app_id())
            .await?;
        let workspace = self
            .store()
            .list_workspace_connectors(&app.app().workspace_id)
            .await?
            .into_iter()
            .map(|w| {
                let connection = connections
                    .iter()
                    .position(|c| c.key().workspace_connector_id() == Some(w.id.as_str()))
                    .map(|i| connections.swap_remove(i))
                    .map(|c| self.connector_view(c, &mut health, true));
                WorkspaceConnectorView {
                    display_name: self.catalog().get(&w.integration_type).map_or_else(
                        || w.integration_type.to_string(),
                        |i| i.display_name.clone(),
                    ),
                    id: w.id,
                    name: w.name,
                    integration_type: w.integration_type,
                    builder_enabled: w.builder_enabled,
                    connection,
                }
            })
            .collect();
        let stripe = match self.stripe_status(app).await {
            Ok(status) => Ok(status.stripe_mode.map(|mode| StripeView {
                mode,
                claim_url: status.sandbox_claim_url,
            })),
            Err(e) if e.is_internal() => return Err(e),
            Err(e) => Err(e.to_string()),
        };
        let providers = self
            .catalog()
            .iter()
            .map(|i| ProviderView {
                env_prefix: provider_env_prefix(&i.integration_type),
                integration_type: i.integration_type.clone(),
                display_name: i.display_name.clone(),
                custom: i.custom,
                configured: i.client.is_some(),
            })
            .collect();
        Ok(AppOverview {
            app: app.app().clone(),
            connectors,
            workspace,
            app_users: self.list_app_user_connections(app).await?,
            app_user_settings: self.app_user_settings(app).await?,
            stripe,
            providers,
            service_tokens: self
                .list_service_tokens(ServiceTokenScope::App(app))
                .await?,
            api_keys: self
                .list_api_keys(ApiKeyScope::Caller(&Principal::Builder(
                    app.builder().clone(),
                )))
                .await?,
        })
    }

    /// Starts a new consent for a connector the app already has, with the
    /// scopes its file declares, whatever its status: what the dashboard's
    /// Connect and Reconnect buttons do. Like a push, it refuses a connector
    /// another builder authorized (they must reconnect it, or it must be
    /// removed first).
    pub async fn reconnect_connector(
        &self,
        app: &AuthorizedApp,
        integration_type: &IntegrationType,
    ) -> Result<SetConnectorResponse> {
        let key = connectors_store::ConnectorKey::new(app.app_id(), integration_type.clone());
        let connector = self
            .store()
            .get_connector(&key)
            .await?
            .ok_or_else(|| EngineError::ConnectorNotFound(integration_type.to_string()))?;
        self.set_connector_scopes(app, integration_type, connector.scopes, true)
            .await
    }
}
