//! The consent flow: the page a `redirect_url` opens, the redirect to the
//! provider, and the callback that stores the credentials.

use std::collections::BTreeMap;

use connectors_oauth::{
    authorization_url, new_pkce, new_state, AuthorizationRequest, Grant, OAuthState, PkceVerifier,
    TokenError,
};
use connectors_store::{
    attempt_context, AttemptRow, Authorization, BeginConsent, CredentialsRow, Holder,
};
use connectors_vault::{ct_eq, generate_token, hash_token, Secret};
use connectors_wire::{AttemptStatus, ConnectionConfigField};

use crate::events;
use crate::provider::ProviderClient;
use crate::{Engine, EngineError};
use connectors_wire::events as wire_events;

/// Path of the one redirect URI registered at every provider.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// Where providers send the browser back after consent to a connection of a
/// workspace connector (Base44's own path).
pub const EXTERNAL_CALLBACK_PATH: &str = "/api/external-auth/callback";

/// Why a consent page or callback was refused. Shown to the person in the
/// browser, so every text says what to do next; no variant holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// The link names no attempt.
    #[error("This authorization link is unknown or was removed. Run `base44 connectors push` again for a new link.")]
    UnknownLink,
    /// The attempt already ended.
    #[error("This authorization link was already used ({0}). Run `base44 connectors push` again if the connector still needs authorization.")]
    Finished(&'static str),
    /// The connector was removed from the app while its consent was pending
    /// (or in progress); nothing was saved.
    #[error("This connector was removed from the app while it was being authorized, so this authorization was not saved. If the app still needs it, run `base44 connectors push` again for a new link.")]
    ConnectorRemoved,
    /// The attempt or its state is too old.
    #[error(
        "This authorization link has expired. Run `base44 connectors push` again for a new link."
    )]
    Expired,
    /// The callback's state is missing, forged or already used.
    #[error("The authorization response is not valid here: its state is missing, unknown or already used. Start again from `base44 connectors push`.")]
    InvalidState,
    /// The callback came to another browser than the one that started consent.
    #[error("This authorization was started in another browser (or its cookie was lost). Open the authorization link again in this browser.")]
    WrongBrowser,
    /// The provider answered `error=`.
    #[error(
        "The provider refused the authorization: {0}. Run `base44 connectors push` to try again."
    )]
    Provider(String),
    /// The callback has no code.
    #[error("The provider's answer has no authorization code. Run `base44 connectors push` to try again.")]
    MissingCode,
    /// The code exchange failed; the text names the provider.
    #[error("Exchanging the authorization code failed: {0}. The connector is unchanged; run `base44 connectors push` to try again.")]
    Exchange(String),
    /// The server cannot run this integration's consent.
    #[error("{0}")]
    Unavailable(String),
    /// Our side failed.
    #[error(transparent)]
    Internal(#[from] EngineError),
}

/// What `GET/POST /connect/{id}` shows.
#[derive(Debug)]
pub enum ConnectPage {
    /// Ask for the integration's `connection_config_fields` first.
    Form {
        /// Display name of the integration.
        display_name: String,
        /// The fields to fill.
        fields: Vec<ConnectionConfigField>,
        /// Values already typed (re-shown after an error).
        values: BTreeMap<String, String>,
        /// What was wrong with them.
        error: Option<String>,
    },
    /// Send the browser to the provider, binding it to the attempt (the
    /// server keeps `binding` in a cookie per attempt, so parallel consents
    /// do not collide).
    Redirect {
        /// The provider's authorization URL.
        url: String,
        /// The attempt the browser is bound to.
        connection_id: String,
        /// The value the browser must present at the callback.
        binding: Secret,
        /// How long the binding is accepted, in seconds.
        binding_ttl_secs: i64,
        /// The callback the provider returns to (the binding's cookie path).
        callback_path: &'static str,
    },
}

/// What the provider's callback carried.
#[derive(Debug, Default)]
pub struct CallbackParams {
    /// Our state.
    pub state: Option<String>,
    /// The authorization code.
    pub code: Option<String>,
    /// The provider's refusal.
    pub error: Option<String>,
    /// The provider's explanation.
    pub error_description: Option<String>,
    /// The rest of the query: values a provider sends beside the code
    /// (QuickBooks' `realmId`), kept when its `callback_params` names them.
    pub extra: BTreeMap<String, String>,
}

/// Whether a callback value may go into `connection_config` (which
/// functions receive and URL templates may use): short, printable.
fn plausible_callback_value(value: &str) -> bool {
    !value.is_empty() && value.len() <= 200 && !value.chars().any(char::is_control)
}

/// A finished consent.
#[derive(Debug)]
pub struct Completed {
    /// The app now connected (its dashboard links back to it).
    pub app_id: String,
    /// The connector type.
    pub integration_type: String,
    /// Display name.
    pub display_name: String,
    /// The attempt whose browser binding is no longer needed.
    pub connection_id: String,
    /// Where an app user goes next, when the consent was an app user's.
    pub landing: Option<Landing>,
}

/// How an app user's consent ends in their browser (wave2.md §1.5): the
/// opener (a popup's) hears of it, or the browser returns to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landing {
    /// The workspace connector connected.
    pub connector_id: String,
    /// The app's page to return to (on one of its allowed origins).
    pub return_to: Option<String>,
}

/// An app user's attempt's landing; builders' attempts have none.
fn landing_of(attempt: AttemptRow) -> Option<Landing> {
    match attempt.holder {
        Holder::AppUser { connector_id, .. } => Some(Landing {
            connector_id,
            return_to: attempt.return_to,
        }),
        _ => None,
    }
}

fn validate_form(
    fields: &[ConnectionConfigField],
    values: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut config = BTreeMap::new();
    for field in fields {
        let value = values.get(&field.name).map(|v| v.trim()).unwrap_or("");
        if value.is_empty() {
            if field.required {
                return Err(format!("{} is required.", field.display_name));
            }
            continue;
        }
        if let Some(pattern) = &field.validation_pattern {
            let ok = regex::Regex::new(pattern)
                .map(|re| re.is_match(value))
                .unwrap_or(false);
            if !ok {
                return Err(field
                    .validation_error
                    .clone()
                    .unwrap_or_else(|| format!("{} has an invalid value.", field.display_name)));
            }
        }
        config.insert(field.name.clone(), value.to_string());
    }
    Ok(config)
}

impl Engine {
    /// The OAuth client of an attempt's connection, or why consent cannot
    /// go on.
    async fn consent_provider(
        &self,
        attempt: &AttemptRow,
    ) -> Result<ProviderClient<'_>, ConsentError> {
        self.provider_client(&attempt.key())
            .await
            .map_err(|e| ConsentError::Unavailable(format!("{e}.")))
    }

    /// The redirect URI of an app's own connectors, registered at providers
    /// in the operator's OAuth apps.
    pub fn redirect_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.config().public_url)
    }

    /// The redirect URI of connections of workspace connectors, registered
    /// in the workspaces' own OAuth apps (Base44's path, so an OAuth app
    /// registered for Base44 keeps working when only the host changes).
    pub fn external_redirect_uri(&self) -> String {
        format!("{}{EXTERNAL_CALLBACK_PATH}", self.config().public_url)
    }

    /// `GET /connect/{id}` (no form) and `POST /connect/{id}` (form values).
    pub async fn open_consent(
        &self,
        connection_id: &str,
        form: Option<BTreeMap<String, String>>,
    ) -> Result<ConnectPage, ConsentError> {
        let attempt = self
            .store()
            .get_attempt(connection_id)
            .await
            .map_err(EngineError::from)?
            .ok_or(ConsentError::UnknownLink)?;
        if attempt.was_cancelled_by_removal() {
            return Err(ConsentError::ConnectorRemoved);
        }
        match attempt.status {
            AttemptStatus::Pending => {}
            AttemptStatus::Active => {
                return Err(ConsentError::Finished("authorization already completed"))
            }
            AttemptStatus::Failed => return Err(ConsentError::Finished("authorization failed")),
        }
        let now = self.now();
        if attempt.expires_at <= now {
            return Err(ConsentError::Expired);
        }
        let provider = self.consent_provider(&attempt).await?;
        let integration = provider.integration;
        // A workspace connector's own values are not asked again.
        let fields: Vec<_> = integration
            .connection_config_fields
            .iter()
            .filter(|f| !provider.preset_config.contains_key(&f.name))
            .cloned()
            .collect();
        let mut config = provider.preset_config.clone();
        if !fields.is_empty() {
            let Some(values) = form else {
                return Ok(ConnectPage::Form {
                    display_name: integration.display_name.clone(),
                    fields,
                    values: BTreeMap::new(),
                    error: None,
                });
            };
            match validate_form(&fields, &values) {
                Ok(asked) => config.extend(asked),
                Err(error) => {
                    return Ok(ConnectPage::Form {
                        display_name: integration.display_name.clone(),
                        fields,
                        values,
                        error: Some(error),
                    })
                }
            }
        }
        let spec = &provider.spec;
        let state = new_state();
        let pkce = spec.pkce.then(new_pkce);
        let browser = generate_token("", 32);
        let redirect_uri = format!("{}{}", self.config().public_url, provider.callback_path);
        let url = authorization_url(&AuthorizationRequest {
            spec,
            client_id: &provider.client.client_id,
            redirect_uri: &redirect_uri,
            scopes: &attempt.scopes,
            state: state.expose(),
            pkce_challenge: pkce.as_ref().map(|p| p.challenge.as_str()),
            connection_config: &config,
        })
        .map_err(|e| ConsentError::Unavailable(e.to_string()))?;
        let ttl = self.config().state_ttl_secs;
        let begun = self
            .store()
            .begin_consent(&BeginConsent {
                connection_id: connection_id.to_string(),
                state_hash: state.into_hash(),
                pkce_verifier: pkce.map(|p| {
                    self.keys().seal_secret(
                        p.verifier.secret(),
                        &attempt_context(connection_id, "pkce_verifier"),
                    )
                }),
                browser_hash: hash_token(browser.expose()),
                connection_config: (!config.is_empty()).then_some(config),
                expires_at: now + ttl,
                now,
            })
            .await
            .map_err(EngineError::from)?;
        if !begun {
            // Ended since it was read: removed with its connector, or expired.
            let now_removed = self
                .store()
                .get_attempt(connection_id)
                .await
                .map_err(EngineError::from)?
                .is_none_or(|a| a.was_cancelled_by_removal());
            return Err(if now_removed {
                ConsentError::ConnectorRemoved
            } else {
                ConsentError::Expired
            });
        }
        Ok(ConnectPage::Redirect {
            url: url.to_string(),
            connection_id: connection_id.to_string(),
            binding: browser,
            binding_ttl_secs: ttl,
            callback_path: provider.callback_path,
        })
    }

    /// Where the browser lands if the consent that `state` names fails: an
    /// app user's attempt has a landing (its opener or the app's page hears
    /// of the failure); a builder's has none. Read before
    /// [`Engine::finish_consent`], which consumes the state.
    pub async fn landing_of_state(&self, state: Option<&str>) -> Option<Landing> {
        let state = OAuthState::new(state.filter(|s| !s.is_empty())?.to_string());
        let attempt = self
            .store()
            .attempt_by_state_hash(&state.into_hash())
            .await
            .ok()??;
        landing_of(attempt)
    }

    /// The same for the consent link `/connect/{connection_id}`, whose
    /// failures an app user reads (an expired or used link) before any
    /// provider is involved.
    pub async fn landing_of_connection(&self, connection_id: &str) -> Option<Landing> {
        landing_of(self.store().get_attempt(connection_id).await.ok()??)
    }

    /// `GET /oauth/callback`: checks state, browser and expiry, exchanges the
    /// code and stores the credentials. `binding` gives the browser binding
    /// the request carries for a connection id, if any.
    pub async fn finish_consent(
        &self,
        params: CallbackParams,
        binding: impl Fn(&str) -> Option<String>,
    ) -> Result<Completed, ConsentError> {
        let state = params
            .state
            .filter(|s| !s.is_empty())
            .map(OAuthState::new)
            .ok_or(ConsentError::InvalidState)?;
        let state_hash = state.into_hash();
        let attempt = self
            .store()
            .attempt_by_state_hash(&state_hash)
            .await
            .map_err(EngineError::from)?
            .ok_or(ConsentError::InvalidState)?;
        let id = attempt.connection_id.clone();
        // `connector.attempt_failed.v1`, written with the attempt's failure.
        let failed = |reason: &str, detail: &str| {
            let mut data = events::connector_data(&attempt.key(), &attempt.scopes);
            data.reason = Some(reason.into());
            data.detail = events::detail(detail);
            vec![self.connector_event(wire_events::ATTEMPT_FAILED, &data)]
        };
        let browser_ok = match (binding(&id), &attempt.browser_hash) {
            (Some(value), Some(expected)) => {
                ct_eq(hash_token(&value).as_bytes(), expected.as_bytes())
            }
            _ => false,
        };
        if !browser_ok {
            return Err(ConsentError::WrongBrowser);
        }
        if attempt.was_cancelled_by_removal() {
            return Err(ConsentError::ConnectorRemoved);
        }
        let now = self.now();
        if attempt.expires_at <= now {
            self.store()
                .fail_attempt(&id, "the consent took longer than allowed", now, &[])
                .await
                .map_err(EngineError::from)?;
            return Err(ConsentError::Expired);
        }
        if !self
            .store()
            .consume_state(&id, &state_hash)
            .await
            .map_err(EngineError::from)?
        {
            return Err(ConsentError::InvalidState);
        }
        if let Some(error) = &params.error {
            let reason = match &params.error_description {
                Some(d) if !d.is_empty() => format!("{error} ({d})"),
                _ => error.clone(),
            };
            let reason: String = reason.chars().take(300).collect();
            let code = if error == "access_denied" {
                "denied"
            } else {
                "provider_error"
            };
            self.store()
                .fail_attempt(&id, &reason, now, &failed(code, &reason))
                .await
                .map_err(EngineError::from)?;
            return Err(ConsentError::Provider(reason));
        }
        let Some(code) = params.code.as_deref().filter(|c| !c.is_empty()) else {
            self.store()
                .fail_attempt(
                    &id,
                    "no authorization code",
                    now,
                    &failed("provider_error", "the provider sent no authorization code"),
                )
                .await
                .map_err(EngineError::from)?;
            return Err(ConsentError::MissingCode);
        };
        let provider = match self.consent_provider(&attempt).await {
            Ok(p) => p,
            Err(e) => {
                self.store()
                    .fail_attempt(
                        &id,
                        &e.to_string(),
                        now,
                        &failed("provider_error", &e.to_string()),
                    )
                    .await
                    .map_err(EngineError::from)?;
                return Err(e);
            }
        };
        let (integration, spec, client) = (provider.integration, &provider.spec, &provider.client);
        let verifier = match &attempt.pkce_verifier {
            Some(sealed) => Some(PkceVerifier::new(
                self.keys()
                    .open_secret(sealed, &attempt_context(&id, "pkce_verifier"))
                    .map_err(EngineError::from)?,
            )),
            None => None,
        };
        let config = attempt.connection_config.clone().unwrap_or_default();
        let redirect_uri = format!("{}{}", self.config().public_url, provider.callback_path);
        let grant = Grant::AuthorizationCode {
            code,
            redirect_uri: &redirect_uri,
            pkce_verifier: verifier,
        };
        let tokens = match self.oauth().exchange(spec, client, grant, &config).await {
            Ok(t) => t,
            Err(e) => {
                // Named by its display name: the person in the browser may
                // not know the integration type.
                let provider = &integration.display_name;
                let reason = match &e {
                    TokenError::Permanent { error, description } => match description {
                        Some(d) => format!("{provider} refused the code: {error} ({d})"),
                        None => format!("{provider} refused the code: {error}"),
                    },
                    TokenError::Transient { reason, .. } => {
                        format!("{provider} is unavailable ({reason})")
                    }
                };
                tracing::warn!(
                    app_id = %attempt.app_id,
                    integration_type = %attempt.integration_type,
                    reason,
                    "code exchange failed"
                );
                let reason: String = reason.chars().take(300).collect();
                let code = match &e {
                    TokenError::Permanent { .. } => "provider_error",
                    TokenError::Transient { .. } => "provider_unavailable",
                };
                self.store()
                    .fail_attempt(&id, &reason, now, &failed(code, &reason))
                    .await
                    .map_err(EngineError::from)?;
                return Err(ConsentError::Exchange(reason));
            }
        };
        let mut connection_config = config;
        connection_config.extend(tokens.connection_config.clone());
        for (key, param) in &spec.callback_params {
            if let Some(value) = params
                .extra
                .get(param)
                .filter(|v| plausible_callback_value(v))
            {
                connection_config.insert(key.clone(), value.clone());
            }
        }
        let granted = tokens
            .scope
            .clone()
            .unwrap_or_else(|| attempt.scopes.clone());
        let key = attempt.key();
        let keys = self.keys();
        let credentials = CredentialsRow {
            app_id: key.app_id.clone(),
            integration_type: key.integration_type.clone(),
            holder: key.holder.clone(),
            access_token: keys.seal_secret(
                &tokens.access_token,
                &key.credentials_context("access_token"),
            ),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| keys.seal_secret(t, &key.credentials_context("refresh_token"))),
            token_response: Some(
                keys.seal_secret(&tokens.raw, &key.credentials_context("token_response")),
            ),
            expires_at_ms: tokens.expires_in.map(|s| self.now_ms() + s * 1000),
            version: 1,
            updated_at: now,
            refresh_in_flight_since: None,
        };
        let connection_config = (!connection_config.is_empty()).then_some(connection_config);
        // Connected, or a renewal of a connection that was there.
        let renewed = self
            .store()
            .get_connector(&key)
            .await
            .map_err(EngineError::from)?
            .is_some_and(|c| c.status != connectors_wire::ConnectorStatus::Disconnected);
        let event = self.connector_event(
            if renewed {
                wire_events::REAUTHORIZED
            } else {
                wire_events::CONNECTED
            },
            &events::connector_data(&key, &granted),
        );
        let saved = self
            .store()
            .save_authorization(&Authorization {
                connection_id: Some(id.clone()),
                builder_id: attempt.builder_id.clone(),
                scopes: attempt.scopes.clone(),
                granted_scopes: granted,
                connection_config: connection_config.clone(),
                credentials: credentials.clone(),
                events: vec![event],
            })
            .await
            .map_err(EngineError::from);
        self.inner.cache.forget_connector(&key);
        if !saved? {
            // The connector was removed during the exchange (which cancelled
            // this attempt): the grant just obtained is nobody's.
            tracing::info!(app_id = %key.app_id, integration_type = %key.integration_type,
                "consent finished after its connector was removed; revoking the new grant");
            self.revoke_in_background(credentials, connection_config.unwrap_or_default())
                .await;
            return Err(ConsentError::ConnectorRemoved);
        }
        Ok(Completed {
            app_id: key.app_id.clone(),
            integration_type: key.integration_type.to_string(),
            display_name: integration.display_name.clone(),
            connection_id: id,
            landing: match &key.holder {
                Holder::AppUser { connector_id, .. } => Some(Landing {
                    connector_id: connector_id.clone(),
                    return_to: attempt.return_to.clone(),
                }),
                _ => None,
            },
        })
    }
}
