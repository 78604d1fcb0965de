//! Which OAuth app a connection speaks through. An app's own connector uses
//! the operator's client for its type (`[providers.X]`); a connection of a
//! workspace connector uses that connector's own client, at the catalog's
//! endpoints for its type, with the connector's `connection_config`.
//! Consent, refresh and revocation all ask here, so the difference lives in
//! one place.

use std::collections::BTreeMap;

use connectors_catalog::{ClientCredentials, Integration, OAuthSpec};
use connectors_store::{workspace_connector_context, ConnectorKey, Holder};

use crate::consent::{CALLBACK_PATH, EXTERNAL_CALLBACK_PATH};
use crate::Engine;

/// What a connection's OAuth calls need.
pub(crate) struct ProviderClient<'a> {
    /// The catalog entry of the connection's type.
    pub integration: &'a Integration,
    /// Its endpoints and quirks.
    pub spec: OAuthSpec,
    /// Whose client id (and secret) the calls carry.
    pub client: ClientCredentials,
    /// Values every connection of a workspace connector gets (empty for an
    /// app's own connector, whose values come from the consent form).
    pub preset_config: BTreeMap<String, String>,
    /// The callback the provider sends the browser back to.
    pub callback_path: &'static str,
}

/// Why a connection has no usable OAuth client; the texts say who can fix it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NoClient {
    /// The type left the catalog (the operator's config changed).
    #[error("`{0}` is no longer offered by this server")]
    NotInCatalog(String),
    /// The operator set no client for the type.
    #[error("`{0}` has no OAuth client configured on this server; ask the operator to set [providers.{0}] client_id and client_secret")]
    NotConfigured(String),
    /// The workspace connector was deleted.
    #[error("the workspace connector `{0}` was deleted; ask a workspace admin to create it again, then connect again")]
    ConnectorDeleted(String),
    /// Its client secret cannot be opened with the configured keys.
    #[error("the client secret of workspace connector `{0}` cannot be opened with this server's keys; ask the operator to check the key ring, or set the secret again")]
    Sealed(String),
    /// The database could not be read.
    #[error(transparent)]
    Store(#[from] connectors_store::StoreError),
}

impl Engine {
    /// The OAuth client, endpoints and callback of the connection `key`.
    pub(crate) async fn provider_client(
        &self,
        key: &ConnectorKey,
    ) -> Result<ProviderClient<'_>, NoClient> {
        let ty = &key.integration_type;
        let integration = self
            .catalog()
            .get(ty)
            .ok_or_else(|| NoClient::NotInCatalog(ty.to_string()))?;
        let spec = integration.oauth();
        match &key.holder {
            Holder::App => {
                let client = integration
                    .client
                    .clone()
                    .ok_or_else(|| NoClient::NotConfigured(ty.to_string()))?;
                Ok(ProviderClient {
                    integration,
                    spec,
                    client,
                    preset_config: BTreeMap::new(),
                    callback_path: CALLBACK_PATH,
                })
            }
            Holder::Workspace { connector_id } | Holder::AppUser { connector_id, .. } => {
                let connector = self
                    .store()
                    .get_workspace_connector(connector_id)
                    .await?
                    .ok_or_else(|| NoClient::ConnectorDeleted(connector_id.clone()))?;
                let client_secret = match &connector.client_secret {
                    Some(sealed) => Some(
                        self.keys()
                            .open_secret(sealed, &workspace_connector_context(&connector.id))
                            .map_err(|_| NoClient::Sealed(connector.id.clone()))?,
                    ),
                    None => None,
                };
                Ok(ProviderClient {
                    integration,
                    spec,
                    client: ClientCredentials {
                        client_id: connector.client_id,
                        client_secret,
                    },
                    preset_config: connector.connection_config,
                    callback_path: EXTERNAL_CALLBACK_PATH,
                })
            }
        }
    }
}
