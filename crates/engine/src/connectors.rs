//! Connector use cases behind the builder and function endpoints.

use std::collections::BTreeSet;
use std::sync::Arc;

use connectors_catalog::Integration;
use connectors_store::{AttemptRow, Builder, ConnectorKey, ConnectorRow, CredentialsRow};
use connectors_wire::{
    AttemptStatus, AvailableIntegrations, ConnectorList, ConnectorListItem, ConnectorStatus,
    ConnectorTokenResponse, IntegrationType, OAuthStatusResponse, RemoveConnectorResponse,
    SetConnectorResponse, DIFFERENT_USER,
};

use crate::audit::{Actor, Audit};
use crate::cache::{CachedToken, Freshness};
use crate::events::RemovedBy;
use crate::provider::{NoClient, ProviderClient};
use crate::refresh::stale_at;
use crate::{provider_env_prefix, AuthorizedApp, Engine, EngineError, Result, ServiceApp};

/// How often `set_connector` re-reads a connector that changed between its
/// read and its write before it gives up with a conflict.
const SET_CONNECTOR_TRIES: usize = 3;

/// The one scope rule of `connectors_wire::scope`, which `openapi.json`
/// states and `base44 connectors push --dry-run` predicts.
pub(crate) fn check_scopes(scopes: &[String]) -> Result<()> {
    connectors_wire::scope::check_all(scopes).map_err(|e| EngineError::InvalidScopes(e.to_string()))
}

impl Engine {
    /// The catalog entry of an OAuth type, or the reason there is none.
    pub(crate) fn integration(&self, integration_type: &IntegrationType) -> Result<&Integration> {
        if integration_type.is_stripe() {
            return Err(EngineError::StripeIsNotOAuth);
        }
        self.catalog()
            .get(integration_type)
            .ok_or_else(|| EngineError::UnknownType {
                integration_type: integration_type.to_string(),
                suggestion: self.catalog().suggest(integration_type).map(str::to_string),
            })
    }

    /// `GET external-auth/available-integrations`: the catalog, which is public.
    pub fn available_integrations(&self) -> AvailableIntegrations {
        self.catalog().available()
    }

    /// `GET external-auth/list`: the app's connectors (never `stripe`).
    pub async fn list_connectors(&self, app: &AuthorizedApp) -> Result<ConnectorList> {
        let rows = self.store().list_connectors(app.app_id()).await?;
        Ok(ConnectorList {
            integrations: rows
                .into_iter()
                .filter(|c| !c.integration_type.is_stripe())
                .map(|c| ConnectorListItem {
                    integration_type: c.integration_type.into(),
                    status: c.status,
                    scopes: c.scopes,
                    user_email: c.authorized_by_email,
                })
                .collect(),
        })
    }

    /// `PUT external-auth/integrations/{type}`: declare scopes; start consent
    /// unless the active connector already has them.
    ///
    /// Each write is one statement or one transaction, so a concurrent
    /// removal lands wholly before it (the PUT then creates the connector
    /// anew) or after it (and cancels the attempt this PUT started).
    pub async fn set_connector(
        &self,
        app: &AuthorizedApp,
        integration_type: &IntegrationType,
        scopes: Vec<String>,
    ) -> Result<SetConnectorResponse> {
        self.set_connector_scopes(app, integration_type, scopes, false)
            .await
    }

    /// [`Engine::set_connector`]; with `reconsent`, a consent starts even
    /// when the active connector already has the scopes.
    pub(crate) async fn set_connector_scopes(
        &self,
        app: &AuthorizedApp,
        integration_type: &IntegrationType,
        scopes: Vec<String>,
        reconsent: bool,
    ) -> Result<SetConnectorResponse> {
        self.integration(integration_type)?;
        check_scopes(&scopes)?;
        let key = ConnectorKey::new(app.app_id(), integration_type.clone());
        self.start_connection(app, &key, scopes, reconsent).await
    }

    /// Declares a connection's scopes and starts its consent unless it is
    /// active with them already (or `reconsent`): what a builder's PUT does
    /// for an app's own connector and for its connection of a workspace
    /// connector alike.
    pub(crate) async fn start_connection(
        &self,
        app: &AuthorizedApp,
        key: &ConnectorKey,
        scopes: Vec<String>,
        reconsent: bool,
    ) -> Result<SetConnectorResponse> {
        let declared = if scopes.is_empty() {
            "no scopes".to_string()
        } else {
            format!("scopes: {}", scopes.join(" "))
        };
        let answer = self.declare_connection(app, key, scopes, reconsent).await?;
        // A refusal (another builder's connector) changed nothing.
        if answer.error.is_none() {
            let outcome = if answer.already_authorized {
                "already authorized"
            } else if reconsent {
                "reconnect started"
            } else {
                "consent started"
            };
            self.audit(
                &Actor::builder(app.builder()),
                Audit::on(app, "connector.set")
                    .target(crate::workspace::connection_target(key))
                    .detail(format!("{outcome}; {declared}")),
            )
            .await;
        }
        Ok(answer)
    }

    /// [`Engine::start_connection`] without its audit entry.
    async fn declare_connection(
        &self,
        app: &AuthorizedApp,
        key: &ConnectorKey,
        scopes: Vec<String>,
        reconsent: bool,
    ) -> Result<SetConnectorResponse> {
        let builder = app.builder();
        let integration_type = &key.integration_type;
        for _ in 0..SET_CONNECTOR_TRIES {
            let existing = self.store().get_connector(key).await?;
            if let Some(c) = &existing {
                if !reconsent
                    && c.status == ConnectorStatus::Active
                    && covers(&c.granted_scopes, &scopes)
                {
                    let updated = self
                        .store()
                        .update_active_scopes(key, &scopes, self.now())
                        .await;
                    self.inner.cache.forget_connector(key);
                    if updated? {
                        return Ok(SetConnectorResponse {
                            already_authorized: true,
                            ..Default::default()
                        });
                    }
                    // Expired or removed since the read: decide again.
                    continue;
                }
                if let Some(other) = other_owner(c, builder) {
                    let what = match key.workspace_connector_id() {
                        None => format!("`{integration_type}`"),
                        Some(id) => format!("workspace connector `{id}`"),
                    };
                    let fix = match key.workspace_connector_id() {
                        None => "remove the connector first (delete its file and run `base44 connectors push`)",
                        Some(_) => "disconnect it first",
                    };
                    return Ok(SetConnectorResponse {
                        error: Some(DIFFERENT_USER.into()),
                        error_message: Some(format!(
                            "{what} is already connected by {other}; ask them to update it, or {fix}"
                        )),
                        other_user_email: Some(other),
                        ..Default::default()
                    });
                }
            }
            let connection_id = self
                .begin_attempt(key, scopes, Some(builder.id.clone()), None)
                .await?;
            return Ok(SetConnectorResponse {
                redirect_url: Some(self.consent_link(&connection_id)),
                connection_id: Some(connection_id),
                ..Default::default()
            });
        }
        Err(EngineError::Conflict(format!(
            "`{integration_type}` kept changing while its scopes were being set (another push or removal of it is running); run `base44 connectors push` again"
        )))
    }

    /// Records a `PENDING` consent attempt of the connection `key` (creating
    /// the connection `disconnected` if new) after checking it has a usable
    /// OAuth client; answers the attempt's id.
    pub(crate) async fn begin_attempt(
        &self,
        key: &ConnectorKey,
        scopes: Vec<String>,
        builder_id: Option<String>,
        return_to: Option<String>,
    ) -> Result<String> {
        if let Err(e) = self.provider_client(key).await {
            return Err(no_client_error(e, key));
        }
        let now = self.now();
        let connection_id = uuid::Uuid::new_v4().simple().to_string();
        self.store()
            .start_attempt(&AttemptRow {
                connection_id: connection_id.clone(),
                app_id: key.app_id.clone(),
                integration_type: key.integration_type.clone(),
                holder: key.holder.clone(),
                scopes,
                builder_id,
                status: AttemptStatus::Pending,
                status_reason: None,
                state_hash: None,
                pkce_verifier: None,
                browser_hash: None,
                connection_config: None,
                created_at: now,
                expires_at: now + self.config().attempt_ttl_secs,
                return_to,
            })
            .await?;
        self.inner.cache.forget_connector(key);
        Ok(connection_id)
    }

    /// The link that starts an attempt's consent in a browser.
    pub(crate) fn consent_link(&self, connection_id: &str) -> String {
        format!("{}/connect/{connection_id}", self.config().public_url)
    }

    /// `GET external-auth/status`: the state of one consent attempt.
    pub async fn attempt_status(
        &self,
        app: &AuthorizedApp,
        integration_type: &IntegrationType,
        connection_id: &str,
    ) -> Result<OAuthStatusResponse> {
        let key = ConnectorKey::new(app.app_id(), integration_type.clone());
        self.attempt_status_of(&key, connection_id).await
    }

    /// The state of one consent attempt of the connection `key`.
    pub(crate) async fn attempt_status_of(
        &self,
        key: &ConnectorKey,
        connection_id: &str,
    ) -> Result<OAuthStatusResponse> {
        let not_found = || EngineError::AttemptNotFound {
            integration_type: key.integration_type.to_string(),
            connection_id: connection_id.chars().take(100).collect(),
        };
        let attempt = self
            .store()
            .get_attempt(connection_id)
            .await?
            .ok_or_else(not_found)?;
        if attempt.key() != *key {
            return Err(not_found());
        }
        let status = match attempt.status {
            AttemptStatus::Pending if attempt.expires_at <= self.now() => AttemptStatus::Failed,
            s => s,
        };
        Ok(OAuthStatusResponse { status })
    }

    /// `DELETE external-auth/integrations/{type}/remove`: one transaction
    /// removes the connector and its credentials and cancels its pending
    /// consents; the credentials it removed are then revoked.
    pub async fn remove_connector(
        &self,
        app: &AuthorizedApp,
        integration_type: &IntegrationType,
    ) -> Result<RemoveConnectorResponse> {
        let key = ConnectorKey::new(app.app_id(), integration_type.clone());
        if !self.remove_connection(&key, RemovedBy::Builder).await? {
            return Err(EngineError::ConnectorNotFound(integration_type.to_string()));
        }
        self.audit(
            &Actor::builder(app.builder()),
            Audit::on(app, "connector.removed").target(integration_type.as_str()),
        )
        .await;
        Ok(RemoveConnectorResponse {
            status: "removed".into(),
            integration_type: integration_type.to_string(),
        })
    }

    /// Removes a connection in one transaction that reports
    /// `connector.disconnected.v1` (`by`), drops it from the read cache,
    /// and revokes its grant in the background; whether there was one.
    pub(crate) async fn remove_connection(
        &self,
        key: &ConnectorKey,
        by: RemovedBy,
    ) -> Result<bool> {
        let removed = self
            .store()
            .delete_connector(key, self.now(), &self.disconnected_events(by))
            .await;
        self.inner.cache.forget_connector(key);
        let Some(removed) = removed? else {
            return Ok(false);
        };
        if let Some(credentials) = removed.credentials {
            self.revoke_in_background(
                credentials,
                removed.connector.connection_config.unwrap_or_default(),
            )
            .await;
        }
        Ok(true)
    }

    /// Revokes removed credentials at the provider, best effort: the removal
    /// never waits for it or fails because of it.
    pub(crate) async fn revoke_in_background(
        &self,
        credentials: CredentialsRow,
        config: std::collections::BTreeMap<String, String>,
    ) {
        match self.provider_client(&credentials.key()).await {
            Ok(provider) => self.revoke_with(&provider, credentials, config),
            Err(e) => tracing::warn!(app_id = %credentials.app_id,
                integration_type = %credentials.integration_type, reason = %e,
                "cannot revoke removed credentials"),
        }
    }

    /// [`Engine::revoke_in_background`] through a client read beforehand
    /// (a deleted workspace connector's, which is gone by now).
    pub(crate) fn revoke_with(
        &self,
        provider: &ProviderClient<'_>,
        credentials: CredentialsRow,
        config: std::collections::BTreeMap<String, String>,
    ) {
        let spec = provider.spec.clone();
        if spec.revocation_url.is_none() {
            return;
        }
        let client = provider.client.clone();
        let provider = provider.integration.display_name.clone();
        let engine = self.clone();
        tokio::spawn(async move {
            let key = credentials.key();
            let (app, ty) = (&key.app_id, &key.integration_type);
            // Revoking the refresh token ends the whole grant at most providers.
            let (sealed, column, hint) = match &credentials.refresh_token {
                Some(r) => (r.clone(), "refresh_token", "refresh_token"),
                None => (
                    credentials.access_token.clone(),
                    "access_token",
                    "access_token",
                ),
            };
            let Ok(token) = engine
                .keys()
                .open_secret(&sealed, &key.credentials_context(column))
            else {
                return;
            };
            // Transient failures are retried like refreshes (a token left
            // live at the provider is the cost of giving up).
            let attempts = engine.config().refresh_attempts.max(1);
            for attempt in 1..=attempts {
                match engine
                    .oauth()
                    .revoke(&spec, &client, &token, hint, &config)
                    .await
                {
                    Ok(()) => {
                        tracing::info!(app_id = %app, integration_type = %ty, "revoked removed connector's token");
                        return;
                    }
                    Err(e) => {
                        let retry = !e.is_permanent()
                            && attempt < attempts
                            && e.retry_after_secs().is_none_or(|s| s <= 5);
                        tracing::warn!(app_id = %app, integration_type = %ty, provider = %provider, attempt, error = %e,
                            "revocation failed (connector removed anyway){}", if retry { "; retrying" } else { "" });
                        if !retry {
                            return;
                        }
                        let pause = e.retry_after_secs().map_or(
                            std::time::Duration::from_millis(200 << (attempt - 1).min(5)),
                            std::time::Duration::from_secs,
                        );
                        tokio::time::sleep(pause).await;
                    }
                }
            }
        });
    }

    /// `GET external-auth/tokens/{type}`: a usable token for the app's functions.
    pub async fn connector_token(
        &self,
        app: &ServiceApp,
        integration_type: &IntegrationType,
    ) -> Result<ConnectorTokenResponse> {
        let app_id = app.app_id();
        if integration_type.is_stripe() {
            return Box::pin(self.stripe_token(app_id)).await;
        }
        let key = ConnectorKey::new(app_id, integration_type.clone());
        self.connection_token(&key, || {
            EngineError::ConnectorNotFound(integration_type.to_string())
        })
        .await
    }

    /// A usable token of any connection: from the read cache, else read
    /// (and refreshed when due). `not_found` is the error of a missing or
    /// unfinished connection, worded for its kind.
    pub(crate) async fn connection_token(
        &self,
        key: &ConnectorKey,
        not_found: impl Fn() -> EngineError,
    ) -> Result<ConnectorTokenResponse> {
        let token = self.usable_token(key, not_found).await?;
        Ok(token_answer(&token, &key.integration_type))
    }

    /// A connection's access token outside its refresh margin, from the
    /// read cache when it may be served, else from the store (refreshed
    /// if due, through the single flight and lease).
    pub(crate) async fn usable_token(
        &self,
        key: &ConnectorKey,
        not_found: impl Fn() -> EngineError,
    ) -> Result<Arc<CachedToken>> {
        let cache = &self.inner.cache;
        let margin = self.config().refresh_margin_secs;
        let now_ms = self.now_ms();
        let fresh = |t: &CachedToken| !stale_at(t.expires_at_ms, t.updated_at, now_ms, margin);
        if let Some(hit) = cache.token(key, now_ms, fresh) {
            return Ok(hit);
        }
        // The miss (database reads, maybe a refresh) is boxed: inline, its
        // state would make every read's future kilobytes large, hits
        // included, and copied on each move.
        Box::pin(self.read_connection_token(key, not_found, now_ms)).await
    }

    /// [`Self::usable_token`] past a cache miss: read (and refresh when
    /// due), and cache what was read unless an invalidation overtook it.
    async fn read_connection_token(
        &self,
        key: &ConnectorKey,
        not_found: impl Fn() -> EngineError,
        now_ms: i64,
    ) -> Result<Arc<CachedToken>> {
        let integration_type = &key.integration_type;
        let cache = &self.inner.cache;
        let ticket = cache.ticket();
        let connector = self
            .store()
            .get_connector(key)
            .await?
            .ok_or_else(&not_found)?;
        match connector.status {
            ConnectorStatus::Active => {}
            ConnectorStatus::Expired => {
                return Err(EngineError::NeedsReauthorization {
                    integration_type: integration_type.to_string(),
                    reason: connector.status_reason.unwrap_or_else(|| {
                        "the provider no longer accepts the stored grant".into()
                    }),
                })
            }
            ConnectorStatus::Disconnected => return Err(not_found()),
        }
        let credentials = self.fresh_credentials(key).await?;
        let token =
            Arc::new(self.cached_token(key, connector.connection_config, &credentials, now_ms)?);
        cache.put_token(ticket, key, token.clone());
        Ok(token)
    }

    /// `credentials` opened for handing out.
    pub(crate) fn cached_token(
        &self,
        key: &ConnectorKey,
        connection_config: Option<std::collections::BTreeMap<String, String>>,
        credentials: &CredentialsRow,
        now_ms: i64,
    ) -> Result<CachedToken> {
        let access_token = self.keys().open_secret(
            &credentials.access_token,
            &key.credentials_context("access_token"),
        )?;
        Ok(CachedToken {
            access_token,
            connection_config,
            expires_at_ms: credentials.expires_at_ms,
            updated_at: credentials.updated_at,
            version: credentials.version,
            read: Freshness::at(now_ms),
        })
    }
}

/// The answer of a token read.
fn token_answer(token: &CachedToken, integration_type: &IntegrationType) -> ConnectorTokenResponse {
    ConnectorTokenResponse {
        access_token: token.access_token.expose().to_owned(),
        integration_type: integration_type.as_str().to_owned(),
        connection_config: token.connection_config.clone(),
    }
}

/// Whether `granted` includes every scope of `requested`.
/// The API error of a connection without a usable OAuth client.
pub(crate) fn no_client_error(e: NoClient, key: &ConnectorKey) -> EngineError {
    match e {
        NoClient::NotConfigured(ty) => {
            EngineError::ProviderNotConfigured(ty, provider_env_prefix(&key.integration_type))
        }
        NoClient::NotInCatalog(ty) => EngineError::UnknownType {
            integration_type: ty,
            suggestion: None,
        },
        NoClient::ConnectorDeleted(id) => EngineError::WorkspaceConnectorNotFound(id),
        NoClient::Sealed(_) => EngineError::ServerMisconfigured(e.to_string()),
        NoClient::Store(e) => e.into(),
    }
}

fn covers(granted: &[String], requested: &[String]) -> bool {
    let granted: BTreeSet<&str> = granted.iter().map(String::as_str).collect();
    requested.iter().all(|s| granted.contains(s.as_str()))
}

/// The email of another builder whose consent an active connector carries.
fn other_owner(connector: &ConnectorRow, builder: &Builder) -> Option<String> {
    if connector.status != ConnectorStatus::Active {
        return None;
    }
    match (&connector.authorized_by, &connector.authorized_by_email) {
        (Some(id), Some(email)) if *id != builder.id => Some(email.clone()),
        _ => None,
    }
}
