//! Code for provider quirks that [`OAuthSpec`] data cannot express.
//!
//! The catalog names an adapter with `adapter = "<name>"`; this module is the
//! only place where provider names appear in code. Each adapter may adjust
//! the consent link's parameters, the token request's parameters and the
//! parsed [`TokenSet`]. Today none changes behaviour: the named adapters are
//! placeholders for the flows described in `catalog.toml` (Instagram's
//! long-lived token swap, QuickBooks' `realmId` from the callback, Wix's
//! installer parameters), which need steps beyond one request and response.
//!
//! An adapter name this module does not know is ignored, so an operator's
//! catalog can name an adapter before this crate implements it; the request
//! then follows the data alone.

use connectors_catalog::OAuthSpec;

use crate::TokenSet;

/// A named code adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adapter {
    /// Instagram Business Login (long-lived token exchange).
    Instagram,
    /// QuickBooks Online (company id from the callback).
    QuickBooks,
    /// Wix app installation flow.
    Wix,
}

impl Adapter {
    /// The adapter `spec` names, if this crate knows it.
    pub(crate) fn for_spec(spec: &OAuthSpec) -> Option<Adapter> {
        Self::named(spec.adapter.as_deref()?)
    }

    /// The adapter called `name`; `None` for unknown names (ignored).
    pub(crate) fn named(name: &str) -> Option<Adapter> {
        match name {
            "instagram" => Some(Adapter::Instagram),
            "quickbooks" => Some(Adapter::QuickBooks),
            "wix" => Some(Adapter::Wix),
            _ => None,
        }
    }

    /// Adjusts the consent link's query parameters.
    pub(crate) fn authorization_params(self, _params: &mut Vec<(String, String)>) {
        match self {
            Adapter::Instagram | Adapter::QuickBooks | Adapter::Wix => {}
        }
    }

    /// Adjusts the token request's body parameters.
    pub(crate) fn token_params(self, _params: &mut Vec<(String, String)>) {
        match self {
            Adapter::Instagram | Adapter::QuickBooks | Adapter::Wix => {}
        }
    }

    /// Adjusts a parsed token response.
    pub(crate) fn token_set(self, _set: &mut TokenSet) {
        match self {
            Adapter::Instagram | Adapter::QuickBooks | Adapter::Wix => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors_catalog::OAuthPatch;

    #[test]
    fn known_names_resolve_and_unknown_are_ignored() {
        assert_eq!(Adapter::named("instagram"), Some(Adapter::Instagram));
        assert_eq!(Adapter::named("quickbooks"), Some(Adapter::QuickBooks));
        assert_eq!(Adapter::named("wix"), Some(Adapter::Wix));
        assert_eq!(Adapter::named("no-such-adapter"), None);
        let spec = OAuthPatch {
            adapter: Some("no-such-adapter".into()),
            ..Default::default()
        }
        .resolve();
        assert_eq!(Adapter::for_spec(&spec), None);
        assert_eq!(Adapter::for_spec(&OAuthPatch::default().resolve()), None);
    }

    #[test]
    fn every_catalog_adapter_is_known() {
        for integration in connectors_catalog::Catalog::builtin().iter() {
            if let Some(name) = integration.oauth().adapter {
                assert!(
                    Adapter::named(&name).is_some(),
                    "{} names unknown adapter `{name}`",
                    integration.integration_type
                );
            }
        }
    }
}
