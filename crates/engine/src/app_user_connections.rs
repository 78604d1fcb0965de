//! App users' own connections of workspace connectors (#13.4), exactly as
//! the SDK calls them (wave2.md §1.1, §1.5): `connectAppUser` starts a
//! consent for the user, `disconnectAppUser` ends it, and a backend
//! function reads the user's token with its service token plus the user's
//! (`getCurrentAppUserConnection`).
//!
//! A connection is a connector row under [`ConnectorKey::app_user`], so
//! refresh, leases and the read cache are the builder connectors' own.

use connectors_store::{is_workspace_connector_id, ConnectorKey, WorkspaceConnectorRow};
use connectors_wire::{ConnectorStatus, ConnectorTokenResponse, Disconnected};

use crate::app_users::return_to;
use crate::events::RemovedBy;
use crate::{AppUser, Engine, EngineError, Result, ServiceApp};

/// What `POST …/app-user-auth/connectors/{connector_id}/initiate` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUserConsent {
    /// Where the user's browser goes: always a usable link (the SDK hands
    /// it to `window.location.href`), also when already connected.
    pub redirect_url: String,
    /// The consent attempt.
    pub connection_id: String,
    /// Whether the user already has an active connection (a new consent
    /// replaces it).
    pub already_authorized: bool,
}

impl Engine {
    /// The workspace connector `id`, if it lets `app_id`'s users connect.
    async fn per_user_connector(&self, app_id: &str, id: &str) -> Result<WorkspaceConnectorRow> {
        let not_configured =
            || EngineError::AppUserConnectorNotConfigured(id.chars().take(100).collect());
        if !is_workspace_connector_id(id) {
            return Err(not_configured());
        }
        let app = self
            .store()
            .get_app(app_id)
            .await?
            .ok_or_else(not_configured)?;
        match self.store().get_workspace_connector(id).await? {
            Some(row) if row.workspace_id == app.workspace_id && row.per_user_enabled => Ok(row),
            _ => Err(not_configured()),
        }
    }

    /// `connectAppUser(connector_id)`: a consent for `user` through the
    /// workspace connector, returning afterwards to `origin_url` (the
    /// SDK's `X-Origin-URL`) when the app allows its origin, else to the
    /// app's default return URL.
    pub async fn connect_app_user(
        &self,
        user: &AppUser,
        connector_id: &str,
        origin_url: Option<&str>,
    ) -> Result<AppUserConsent> {
        let row = self.per_user_connector(&user.app_id, connector_id).await?;
        self.integration(&row.integration_type)?;
        self.inner
            .app_users
            .take_consent(&user.id, self.now_ms())
            .map_err(|retry_after_secs| EngineError::TooManyConsents { retry_after_secs })?;
        let key = ConnectorKey::app_user(&user.app_id, row.integration_type, &row.id, &user.id);
        let already_authorized = self
            .store()
            .get_connector(&key)
            .await?
            .is_some_and(|c| c.status == ConnectorStatus::Active);
        let settings = self.app_user_settings_of(&user.app_id).await?;
        let connection_id = self
            .begin_attempt(&key, row.scopes, None, return_to(&settings, origin_url))
            .await?;
        Ok(AppUserConsent {
            redirect_url: self.consent_link(&connection_id),
            connection_id,
            already_authorized,
        })
    }

    /// `disconnectAppUser(connector_id)`: the user's connection and its
    /// credentials go, and its grant is revoked at the provider.
    pub async fn disconnect_app_user(
        &self,
        user: &AppUser,
        connector_id: &str,
    ) -> Result<Disconnected> {
        self.disconnect_app_user_by(user, connector_id, RemovedBy::AppUser)
            .await
    }

    async fn disconnect_app_user_by(
        &self,
        user: &AppUser,
        connector_id: &str,
        by: RemovedBy,
    ) -> Result<Disconnected> {
        if !is_workspace_connector_id(connector_id) {
            return Err(EngineError::NoActiveAppUserConnection);
        }
        let Some(facts) = self.workspace_connector_facts(connector_id).await? else {
            return Err(EngineError::NoActiveAppUserConnection);
        };
        let key =
            ConnectorKey::app_user(&user.app_id, facts.integration_type, connector_id, &user.id);
        if !self.remove_connection(&key, by).await? {
            return Err(EngineError::NoActiveAppUserConnection);
        }
        Ok(Disconnected {
            status: "disconnected".into(),
            connector_id: connector_id.to_string(),
        })
    }

    /// `getCurrentAppUserConnection(connector_id)`: the token of `user`'s
    /// connection, for the app's own service token only (the caller proved
    /// both). Another user's connection is never this one's.
    pub async fn app_user_token(
        &self,
        app: &ServiceApp,
        user: &AppUser,
        connector_id: &str,
    ) -> Result<ConnectorTokenResponse> {
        let not_found =
            || EngineError::AppUserConnectionNotFound(connector_id.chars().take(100).collect());
        if user.app_id != app.app_id() {
            return Err(EngineError::Unauthorized);
        }
        if !is_workspace_connector_id(connector_id) {
            return Err(not_found());
        }
        let facts = self
            .workspace_connector_facts(connector_id)
            .await?
            .ok_or_else(not_found)?;
        facts.allows(connector_id, false)?;
        let key =
            ConnectorKey::app_user(app.app_id(), facts.integration_type, connector_id, &user.id);
        self.connection_token(&key, not_found).await
    }
}

/// One app user's connection, as a builder lists them (never a token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUserConnectionView {
    /// The user.
    pub user: AppUser,
    /// The workspace connector.
    pub connector_id: String,
    /// Its type.
    pub integration_type: String,
    /// `active`, `expired`, or `disconnected` (consent not finished).
    pub status: ConnectorStatus,
    /// Scopes the user granted.
    pub granted_scopes: Vec<String>,
    /// Unix seconds.
    pub updated_at: i64,
}

impl Engine {
    /// For scheduled jobs, which run for no request's user: the token of the
    /// user the app knows as `subject` (at `issuer`: by default this
    /// server's minted tokens, then the app's identity provider), for the
    /// app's own service token only.
    pub async fn named_app_user_token(
        &self,
        app: &ServiceApp,
        subject: &str,
        issuer: Option<&str>,
        connector_id: &str,
    ) -> Result<ConnectorTokenResponse> {
        let not_found =
            || EngineError::AppUserConnectionNotFound(connector_id.chars().take(100).collect());
        let issuers: Vec<String> = match issuer {
            Some(i) => vec![i.to_string()],
            None => {
                let mut all = vec![self.config().public_url.clone()];
                if let Some(p) = self
                    .app_user_settings_of(app.app_id())
                    .await?
                    .identity_provider
                {
                    all.push(p.issuer);
                }
                all
            }
        };
        for issuer in issuers {
            if let Some(row) = self
                .store()
                .app_user_by_subject(app.app_id(), &issuer, subject)
                .await?
            {
                return self
                    .app_user_token(app, &AppUser::from(row), connector_id)
                    .await;
            }
        }
        Err(not_found())
    }

    /// `GET /api/apps/{app_id}/app-user-connections`: who of the app's users
    /// connected what, for its builders.
    pub async fn list_app_user_connections(
        &self,
        app: &crate::AuthorizedApp,
    ) -> Result<Vec<AppUserConnectionView>> {
        let users = self.store().list_app_users(app.app_id()).await?;
        let rows = self.store().list_app_user_connections(app.app_id()).await?;
        Ok(rows
            .into_iter()
            .filter_map(|c| {
                let key = c.key();
                let user = users
                    .iter()
                    .find(|u| Some(u.id.as_str()) == key.app_user_id())?;
                Some(AppUserConnectionView {
                    user: AppUser::from(user.clone()),
                    connector_id: key.workspace_connector_id()?.to_string(),
                    integration_type: c.integration_type.to_string(),
                    status: c.status,
                    granted_scopes: c.granted_scopes,
                    updated_at: c.updated_at,
                })
            })
            .collect())
    }
}

impl Engine {
    /// A builder ends one of the app's users' connections (the user's own
    /// `disconnectAppUser` does the same): `user_id` is the user's opaque id
    /// on this server, as `GET …/app-user-connections` lists it.
    pub async fn builder_disconnect_app_user(
        &self,
        app: &crate::AuthorizedApp,
        user_id: &str,
        connector_id: &str,
    ) -> Result<Disconnected> {
        let user = match self.store().get_app_user(user_id).await? {
            Some(row) if row.app_id == app.app_id() => AppUser::from(row),
            _ => return Err(EngineError::NoActiveAppUserConnection),
        };
        let disconnected = self
            .disconnect_app_user_by(&user, connector_id, RemovedBy::Builder)
            .await?;
        self.audit(
            &crate::audit::Actor::builder(app.builder()),
            crate::audit::Audit::on(app, "app_user_connection.disconnected")
                .target(format!("workspace connector {connector_id}"))
                .detail(match &user.email {
                    Some(email) => format!("app user {} ({email})", user.id),
                    None => format!("app user {}", user.id),
                }),
        )
        .await;
        Ok(disconnected)
    }
}
