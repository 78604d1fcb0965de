//! The catalog's data model: what the TOML holds and what callers get.

use std::collections::BTreeMap;

use connectors_vault::Secret;
use connectors_wire::ConnectionConfigField;
use serde::Deserialize;

use crate::ApiPatch;

/// The shape of `catalog.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogFile {
    /// Shared descriptions, e.g. one `google` for every Google type.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderTemplate>,
    /// Entries in display order.
    #[serde(default)]
    pub integrations: Vec<CatalogEntry>,
}

/// A `[providers.<name>]` template: OAuth fields at the top, `api` below.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProviderTemplate {
    #[serde(default)]
    pub api: ApiPatch,
    #[serde(flatten)]
    pub oauth: OAuthPatch,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogEntry {
    #[serde(rename = "type")]
    pub integration_type: String,
    pub display_name: String,
    pub description: String,
    /// Name of a `[providers.<name>]` template.
    pub provider: Option<String>,
    #[serde(default)]
    pub connection_config_fields: Vec<ConnectionConfigField>,
    /// How the proxy calls the API; overlays the template's.
    #[serde(default)]
    pub api: ApiPatch,
    /// Per-integration overrides of the provider template.
    #[serde(default)]
    pub oauth: OAuthPatch,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the request body.
    ClientSecretPost,
    /// HTTP Basic with `client_id:client_secret`.
    ClientSecretBasic,
}

/// How the token request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// `application/x-www-form-urlencoded` (RFC 6749).
    Form,
    /// `application/json` (Notion, Square).
    Json,
}

/// Where to read values in a provider's token response (dotted JSON paths).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenResponsePatch {
    /// Path of the access token (Slack user tokens: `authed_user.access_token`).
    pub access_token: Option<String>,
    /// Path of the refresh token.
    pub refresh_token: Option<String>,
    /// Path of the lifetime in seconds.
    pub expires_in: Option<String>,
    /// Path of an absolute expiry (RFC 3339 or Unix seconds), read when the
    /// lifetime is absent (Square's `expires_at`).
    pub expires_at: Option<String>,
    /// Path of the granted scopes.
    pub scope: Option<String>,
    /// A boolean that is `false` on failure despite HTTP 200 (Slack's `ok`).
    pub success_flag: Option<String>,
    /// `connection_config` keys filled from the response (key → path).
    #[serde(default)]
    pub connection_config: BTreeMap<String, String>,
}

/// A partial OAuth description; layers are overlaid field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthPatch {
    /// Authorization endpoint; `{name}` is replaced by a `connection_config` value.
    pub authorization_url: Option<String>,
    /// Token endpoint; placeholders as above.
    pub token_url: Option<String>,
    /// Revocation endpoint (RFC 7009), if the provider has one.
    pub revocation_url: Option<String>,
    /// Joins scopes in the authorization request (`" "` by default).
    pub scope_separator: Option<String>,
    /// Name of the scope parameter (`scope` by default; Slack user: `user_scope`).
    pub scope_param: Option<String>,
    /// Name of the client id parameter (`client_id` by default; TikTok: `client_key`).
    pub client_id_param: Option<String>,
    /// Client authentication at the token endpoint.
    pub client_auth: Option<ClientAuth>,
    /// Token request body encoding.
    pub token_body: Option<BodyFormat>,
    /// Whether to send PKCE S256.
    pub pkce: Option<bool>,
    /// Extra authorization parameters (e.g. `access_type=offline`).
    pub authorization_params: Option<BTreeMap<String, String>>,
    /// Extra token request parameters.
    pub token_params: Option<BTreeMap<String, String>>,
    /// Scopes always requested in addition to the builder's (e.g. `offline_access`).
    pub required_scopes: Option<Vec<String>>,
    /// Default values for URL placeholders (e.g. `tenant = "common"`).
    pub placeholder_defaults: Option<BTreeMap<String, String>>,
    /// Where values sit in the token response.
    pub token_response: Option<TokenResponsePatch>,
    /// Whether refresh tokens are single use.
    pub rotating_refresh_tokens: Option<bool>,
    /// Whether a refresh must repeat the consented scopes (Microsoft).
    pub refresh_scopes: Option<bool>,
    /// Extra headers on token requests (GitHub: `Accept: application/json`).
    pub token_headers: Option<BTreeMap<String, String>>,
    /// `connection_config` keys filled from the consent callback's query
    /// (key → parameter), e.g. QuickBooks' company id `realmId`.
    pub callback_params: Option<BTreeMap<String, String>>,
}

macro_rules! overlay_fields {
    ($base:ident, $top:ident; $($field:ident),*) => {
        $( if $top.$field.is_some() { $base.$field = $top.$field.clone(); } )*
    };
}

impl OAuthPatch {
    /// `self` with every field that `top` sets replaced by `top`'s value.
    pub fn overlay(mut self, top: &OAuthPatch) -> OAuthPatch {
        overlay_fields!(self, top; authorization_url, token_url, revocation_url,
            scope_separator, scope_param, client_id_param, client_auth, token_body, pkce,
            authorization_params, token_params, required_scopes, placeholder_defaults,
            rotating_refresh_tokens, refresh_scopes, token_headers, callback_params);
        if let Some(top_tr) = &top.token_response {
            let mut tr = self.token_response.take().unwrap_or_default();
            overlay_fields!(tr, top_tr; access_token, refresh_token, expires_in, expires_at, scope, success_flag);
            tr.connection_config
                .extend(top_tr.connection_config.clone());
            self.token_response = Some(tr);
        }
        self
    }

    /// Fills defaults for everything left unset.
    pub fn resolve(&self) -> OAuthSpec {
        let tr = self.token_response.clone().unwrap_or_default();
        OAuthSpec {
            authorization_url: self.authorization_url.clone().unwrap_or_default(),
            token_url: self.token_url.clone().unwrap_or_default(),
            revocation_url: self.revocation_url.clone(),
            scope_separator: self.scope_separator.clone().unwrap_or_else(|| " ".into()),
            scope_param: self.scope_param.clone().unwrap_or_else(|| "scope".into()),
            client_id_param: self
                .client_id_param
                .clone()
                .unwrap_or_else(|| "client_id".into()),
            client_auth: self.client_auth.unwrap_or(ClientAuth::ClientSecretPost),
            token_body: self.token_body.unwrap_or(BodyFormat::Form),
            pkce: self.pkce.unwrap_or(true),
            authorization_params: self.authorization_params.clone().unwrap_or_default(),
            token_params: self.token_params.clone().unwrap_or_default(),
            required_scopes: self.required_scopes.clone().unwrap_or_default(),
            placeholder_defaults: self.placeholder_defaults.clone().unwrap_or_default(),
            token_response: TokenResponseSpec {
                access_token: tr.access_token.unwrap_or_else(|| "access_token".into()),
                refresh_token: tr.refresh_token.unwrap_or_else(|| "refresh_token".into()),
                expires_in: tr.expires_in.unwrap_or_else(|| "expires_in".into()),
                expires_at: tr.expires_at,
                scope: tr.scope.unwrap_or_else(|| "scope".into()),
                success_flag: tr.success_flag,
                connection_config: tr.connection_config,
            },
            rotating_refresh_tokens: self.rotating_refresh_tokens.unwrap_or(false),
            refresh_scopes: self.refresh_scopes.unwrap_or(false),
            token_headers: self.token_headers.clone().unwrap_or_default(),
            callback_params: self.callback_params.clone().unwrap_or_default(),
        }
    }
}

/// A provider's OAuth behaviour with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSpec {
    /// Authorization endpoint (may hold `{placeholders}`).
    pub authorization_url: String,
    /// Token endpoint (may hold `{placeholders}`).
    pub token_url: String,
    /// Revocation endpoint, if any.
    pub revocation_url: Option<String>,
    /// Joins scopes.
    pub scope_separator: String,
    /// Name of the scope parameter.
    pub scope_param: String,
    /// Name of the client id parameter.
    pub client_id_param: String,
    /// Client authentication method.
    pub client_auth: ClientAuth,
    /// Token request body encoding.
    pub token_body: BodyFormat,
    /// Whether PKCE S256 is sent.
    pub pkce: bool,
    /// Extra authorization parameters.
    pub authorization_params: BTreeMap<String, String>,
    /// Extra token request parameters.
    pub token_params: BTreeMap<String, String>,
    /// Scopes always requested.
    pub required_scopes: Vec<String>,
    /// Defaults for URL placeholders.
    pub placeholder_defaults: BTreeMap<String, String>,
    /// Where values sit in the token response.
    pub token_response: TokenResponseSpec,
    /// Whether refresh tokens are single use.
    pub rotating_refresh_tokens: bool,
    /// Whether a refresh must repeat the consented scopes.
    pub refresh_scopes: bool,
    /// Extra headers on token requests.
    pub token_headers: BTreeMap<String, String>,
    /// `connection_config` keys read from the callback's query (key → parameter).
    pub callback_params: BTreeMap<String, String>,
}

/// Resolved token-response paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponseSpec {
    /// Path of the access token.
    pub access_token: String,
    /// Path of the refresh token.
    pub refresh_token: String,
    /// Path of the lifetime in seconds.
    pub expires_in: String,
    /// Path of an absolute expiry, if the provider gives one instead.
    pub expires_at: Option<String>,
    /// Path of the granted scopes.
    pub scope: String,
    /// Boolean that is false on failure, if any.
    pub success_flag: Option<String>,
    /// `connection_config` keys taken from the response.
    pub connection_config: BTreeMap<String, String>,
}

/// The operator's OAuth client at a provider.
#[derive(Debug, Clone, Deserialize)]
pub struct ClientCredentials {
    /// The public client id.
    pub client_id: String,
    /// The client secret (absent for public clients).
    pub client_secret: Option<Secret>,
}

/// One `[providers.<type>]` section of the server config: credentials for a
/// built-in type, overrides of its endpoints, or a whole custom provider.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Shown in `available-integrations` (custom providers).
    pub display_name: Option<String>,
    /// Shown in `available-integrations` (custom providers).
    pub description: Option<String>,
    /// Replaces the catalog's fields.
    pub connection_config_fields: Option<Vec<ConnectionConfigField>>,
    /// How the proxy calls the API (`[providers.X.api]`); overlays the catalog's.
    #[serde(default)]
    pub api: ApiPatch,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<Secret>,
    /// Overrides of the OAuth description.
    #[serde(flatten)]
    pub oauth: OAuthPatch,
    /// Filled from `client_id`/`client_secret` by [`ProviderConfig::finish`].
    #[serde(skip)]
    pub client: Option<ClientCredentials>,
}

impl ProviderConfig {
    /// Combines the id and secret (from file or environment) into `client`.
    pub fn finish(mut self) -> Self {
        self.client = self.client_id.clone().map(|client_id| ClientCredentials {
            client_id,
            client_secret: self.client_secret.clone(),
        });
        self
    }
}

/// One integration of the catalog.
#[derive(Debug, Clone)]
pub struct Integration {
    /// The connector type, e.g. `googlecalendar`.
    pub integration_type: String,
    /// Human name.
    pub display_name: String,
    /// One sentence.
    pub description: String,
    /// Values the builder supplies before consent.
    pub connection_config_fields: Vec<ConnectionConfigField>,
    /// Defined by the operator rather than the built-in catalog.
    pub custom: bool,
    /// The OAuth client the operator configured, if any.
    pub client: Option<ClientCredentials>,
    pub(crate) oauth_patch: OAuthPatch,
    pub(crate) api_patch: ApiPatch,
}
