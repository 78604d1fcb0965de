//! The integration catalog: which connector types exist, how they are shown
//! to builders, and how each provider speaks OAuth 2.0.
//!
//! Provider differences are data, not code. The built-in catalog is the TOML
//! file `catalog.toml` embedded in the binary; an operator's server config
//! adds custom providers and overrides built-in endpoints through
//! [`ProviderConfig`]. Both go through the same layering, for the OAuth
//! description ([`OAuthPatch`]) and the API description the proxy uses
//! ([`ApiPatch`]): defaults ← provider template ← integration ← operator.
//!
//! Central types: [`Catalog`], [`Integration`], [`OAuthSpec`], [`ApiSpec`].
//! This crate does no I/O and knows nothing of storage or HTTP.
#![deny(missing_docs)]

mod api;
mod model;
pub mod template;

pub use api::*;
pub use model::*;

use std::collections::BTreeMap;

use connectors_wire::{AvailableIntegration, AvailableIntegrations};

/// The built-in catalog, embedded at compile time.
pub const BUILTIN_CATALOG: &str = include_str!("../catalog.toml");

/// Why a catalog or a provider override could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The TOML itself does not parse or does not fit the schema.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// The data parses but is not usable.
    #[error("{0}")]
    Invalid(String),
}

/// Every integration this server offers, in display order.
#[derive(Debug, Clone)]
pub struct Catalog {
    integrations: Vec<Integration>,
    index: BTreeMap<String, usize>,
}

impl Catalog {
    /// The built-in catalog with no operator configuration.
    pub fn builtin() -> Self {
        Self::load(BUILTIN_CATALOG, &BTreeMap::new())
            .expect("the embedded catalog is checked by tests")
    }

    /// Parses `catalog_toml` and applies the operator's provider sections.
    pub fn load(
        catalog_toml: &str,
        operator: &BTreeMap<String, ProviderConfig>,
    ) -> Result<Self, CatalogError> {
        let file: CatalogFile = toml::from_str(catalog_toml)?;
        let mut catalog = Catalog {
            integrations: Vec::new(),
            index: BTreeMap::new(),
        };
        for entry in file.integrations {
            let mut patch = OAuthPatch::default();
            let mut api = ApiPatch::default();
            if let Some(name) = &entry.provider {
                let template = file.providers.get(name).ok_or_else(|| {
                    CatalogError::Invalid(format!(
                        "integration `{}` names unknown provider `{name}`",
                        entry.integration_type
                    ))
                })?;
                patch = patch.overlay(&template.oauth);
                api = api.overlay(&template.api);
            }
            patch = patch.overlay(&entry.oauth);
            api = api.overlay(&entry.api);
            catalog.push(Integration {
                integration_type: entry.integration_type,
                display_name: entry.display_name,
                description: entry.description,
                connection_config_fields: entry.connection_config_fields,
                custom: false,
                oauth_patch: patch,
                api_patch: api,
                client: None,
            })?;
        }
        for (integration_type, config) in operator {
            catalog.apply_operator(integration_type, config)?;
        }
        for integration in &catalog.integrations {
            integration.validate()?;
        }
        Ok(catalog)
    }

    fn push(&mut self, integration: Integration) -> Result<(), CatalogError> {
        if self.index.contains_key(&integration.integration_type) {
            return Err(CatalogError::Invalid(format!(
                "integration `{}` is defined twice",
                integration.integration_type
            )));
        }
        self.index.insert(
            integration.integration_type.clone(),
            self.integrations.len(),
        );
        self.integrations.push(integration);
        Ok(())
    }

    fn apply_operator(
        &mut self,
        integration_type: &str,
        config: &ProviderConfig,
    ) -> Result<(), CatalogError> {
        if !is_operator_type(integration_type) {
            return Err(CatalogError::Invalid(format!(
                "provider `{integration_type}` does not match ^[a-z0-9_-]+$; rename the section"
            )));
        }
        if integration_type == connectors_wire::STRIPE {
            return Err(CatalogError::Invalid(
                "`stripe` is not an OAuth provider; configure it under [stripe]".into(),
            ));
        }
        let client = config.client.clone();
        match self.index.get(integration_type) {
            Some(&i) => {
                let existing = &mut self.integrations[i];
                existing.oauth_patch = existing.oauth_patch.clone().overlay(&config.oauth);
                existing.api_patch = existing.api_patch.clone().overlay(&config.api);
                if let Some(name) = &config.display_name {
                    existing.display_name = name.clone();
                }
                if let Some(text) = &config.description {
                    existing.description = text.clone();
                }
                if let Some(fields) = &config.connection_config_fields {
                    existing.connection_config_fields = fields.clone();
                }
                if client.is_some() {
                    existing.client = client;
                }
            }
            None => {
                if config.oauth.authorization_url.is_none() || config.oauth.token_url.is_none() {
                    return Err(CatalogError::Invalid(format!(
                        "custom provider `{integration_type}` needs `authorization_url` and `token_url`"
                    )));
                }
                self.push(Integration {
                    integration_type: integration_type.to_string(),
                    display_name: config
                        .display_name
                        .clone()
                        .unwrap_or_else(|| integration_type.to_string()),
                    description: config.description.clone().unwrap_or_else(|| {
                        format!("Custom OAuth 2.0 provider `{integration_type}`")
                    }),
                    connection_config_fields: config
                        .connection_config_fields
                        .clone()
                        .unwrap_or_default(),
                    custom: true,
                    oauth_patch: OAuthPatch::default().overlay(&config.oauth),
                    api_patch: ApiPatch::default().overlay(&config.api),
                    client,
                })?;
            }
        }
        Ok(())
    }

    /// Looks an integration up by its type (exact, case-sensitive).
    pub fn get(&self, integration_type: &str) -> Option<&Integration> {
        self.index
            .get(integration_type)
            .map(|&i| &self.integrations[i])
    }

    /// All integrations in display order.
    pub fn iter(&self) -> impl Iterator<Item = &Integration> {
        self.integrations.iter()
    }

    /// The body of `available-integrations`.
    pub fn available(&self) -> AvailableIntegrations {
        AvailableIntegrations {
            integrations: self.iter().map(Integration::to_wire).collect(),
        }
    }

    /// The known type `unknown` is probably a misspelling of, for "did you
    /// mean" hints (the rule the CLI uses too: [`connectors_wire::suggest_type`]).
    pub fn suggest(&self, unknown: &str) -> Option<&str> {
        connectors_wire::suggest_type(unknown, self.iter().map(|i| i.integration_type.as_str()))
    }
}

/// Operator-defined types are lowercase (`^[a-z0-9_-]+$`).
pub fn is_operator_type(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl Integration {
    /// The catalog entry as `available-integrations` shows it.
    pub fn to_wire(&self) -> AvailableIntegration {
        AvailableIntegration {
            integration_type: self.integration_type.clone(),
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            connection_config_fields: self.connection_config_fields.clone(),
        }
    }

    /// The resolved OAuth description (all layers applied, defaults filled in).
    pub fn oauth(&self) -> OAuthSpec {
        self.oauth_patch.resolve()
    }

    /// How the proxy calls this type's API (all layers applied, defaults
    /// filled in). Every built-in type has hosts; a custom provider without
    /// `[providers.X.api]` has none, and so no proxy.
    pub fn api(&self) -> ApiSpec {
        self.api_patch.resolve()
    }

    fn validate(&self) -> Result<(), CatalogError> {
        let t = &self.integration_type;
        if connectors_wire::IntegrationType::new(t.as_str()).is_err() {
            return Err(CatalogError::Invalid(format!(
                "integration type `{t}` does not match ^[a-z0-9_-]+$ or is longer than {} bytes",
                connectors_wire::IntegrationType::MAX_LEN
            )));
        }
        if self.oauth_patch.authorization_url.is_none() || self.oauth_patch.token_url.is_none() {
            return Err(CatalogError::Invalid(format!(
                "integration `{t}` has no `authorization_url` or `token_url`"
            )));
        }
        let api = self.api();
        if api.request_headers.contains(&api.auth.header) {
            return Err(CatalogError::Invalid(format!(
                "integration `{t}`: api.request_headers lists `{}`, the header that carries the token; remove it",
                api.auth.header
            )));
        }
        for field in &self.connection_config_fields {
            if let Some(pattern) = &field.validation_pattern {
                regex::Regex::new(pattern).map_err(|e| {
                    CatalogError::Invalid(format!(
                        "integration `{t}` field `{}`: bad validation_pattern: {e}",
                        field.name
                    ))
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
