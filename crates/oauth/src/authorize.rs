//! The consent link (RFC 6749 §4.1.1, RFC 7636 §4.3).

use std::collections::BTreeMap;

use connectors_catalog::OAuthSpec;
use url::Url;

use crate::template::endpoint;
use crate::OAuthError;

/// What goes into a consent link. `Debug` redacts `state`.
#[derive(Clone, Copy)]
pub struct AuthorizationRequest<'a> {
    /// The provider description.
    pub spec: &'a OAuthSpec,
    /// The operator's client id at the provider.
    pub client_id: &'a str,
    /// Where the provider sends the browser back.
    pub redirect_uri: &'a str,
    /// The builder's scopes; `spec.required_scopes` are added after them
    /// (duplicates removed, order kept).
    pub scopes: &'a [String],
    /// The attempt's `state`.
    pub state: &'a str,
    /// The `S256` challenge; required when `spec.pkce`, ignored otherwise.
    pub pkce_challenge: Option<&'a str>,
    /// Values for the URL template's placeholders.
    pub connection_config: &'a BTreeMap<String, String>,
}

impl std::fmt::Debug for AuthorizationRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("authorization_url", &self.spec.authorization_url)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("state", &"[redacted]")
            .field("pkce_challenge", &self.pkce_challenge)
            .field("connection_config", &self.connection_config)
            .finish()
    }
}

/// The provider's consent URL for `req`.
///
/// Query parameters of the template are kept; then come `response_type=code`,
/// `<client_id_param>`, `redirect_uri`, `<scope_param>` (scopes joined by
/// `scope_separator`, omitted when there are none), `state`, `code_challenge`
/// and `code_challenge_method=S256` when `spec.pkce`, and finally
/// `spec.authorization_params` (which may replace `response_type` or a
/// template parameter, but not a parameter of the flow itself).
pub fn authorization_url(req: &AuthorizationRequest<'_>) -> Result<Url, OAuthError> {
    let spec = req.spec;
    if req.client_id.is_empty() {
        return Err(OAuthError::MissingClientId);
    }
    let mut url = endpoint(&spec.authorization_url, spec, req.connection_config)?;
    let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();

    set_param(&mut params, "response_type", "code");
    set_param(&mut params, &spec.client_id_param, req.client_id);
    set_param(&mut params, "redirect_uri", req.redirect_uri);
    let scopes = merge_scopes(req.scopes, &spec.required_scopes);
    if !scopes.is_empty() {
        set_param(
            &mut params,
            &spec.scope_param,
            &scopes.join(&spec.scope_separator),
        );
    }
    set_param(&mut params, "state", req.state);
    if spec.pkce {
        let challenge = req
            .pkce_challenge
            .ok_or(OAuthError::MissingPkce { what: "challenge" })?;
        set_param(&mut params, "code_challenge", challenge);
        set_param(&mut params, "code_challenge_method", "S256");
    }

    let reserved = [
        spec.client_id_param.as_str(),
        spec.scope_param.as_str(),
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
    ];
    for (name, value) in &spec.authorization_params {
        if reserved.contains(&name.as_str()) {
            return Err(OAuthError::ReservedParameter { name: name.clone() });
        }
        set_param(&mut params, name, value);
    }

    url.query_pairs_mut().clear().extend_pairs(&params);
    Ok(url)
}

/// The builder's scopes then the required ones, without empties or repeats.
pub(crate) fn merge_scopes(scopes: &[String], required: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(scopes.len() + required.len());
    for scope in scopes.iter().chain(required) {
        let scope = scope.trim();
        if !scope.is_empty() && !out.iter().any(|s| s == scope) {
            out.push(scope.to_owned());
        }
    }
    out
}

/// Replaces the value of `name` (first occurrence, later ones removed) or appends it.
pub(crate) fn set_param(params: &mut Vec<(String, String)>, name: &str, value: &str) {
    match params.iter().position(|(n, _)| n == name) {
        Some(i) => {
            params[i].1 = value.to_owned();
            let mut seen = 0;
            params.retain(|(n, _)| {
                if n == name {
                    seen += 1;
                    seen == 1
                } else {
                    true
                }
            });
        }
        None => params.push((name.to_owned(), value.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors_catalog::OAuthPatch;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scopes_are_merged_in_order_without_repeats() {
        assert_eq!(
            merge_scopes(
                &strings(&["b", "a", "", "b", " c "]),
                &strings(&["offline_access", "a"])
            ),
            strings(&["b", "a", "c", "offline_access"])
        );
    }

    #[test]
    fn template_params_are_kept_and_pkce_required() {
        let spec = OAuthPatch {
            authorization_url: Some("https://a.example/auth?request=authorize&state=old".into()),
            token_url: Some("https://a.example/token".into()),
            ..Default::default()
        }
        .resolve();
        let config = BTreeMap::new();
        let mut req = AuthorizationRequest {
            spec: &spec,
            client_id: "id",
            redirect_uri: "https://me.example/cb",
            scopes: &[],
            state: "STATE",
            pkce_challenge: None,
            connection_config: &config,
        };
        assert_eq!(
            authorization_url(&req).unwrap_err(),
            OAuthError::MissingPkce { what: "challenge" }
        );
        req.pkce_challenge = Some("CH");
        let url = authorization_url(&req).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![
                ("request".into(), "authorize".into()),
                ("state".into(), "STATE".into()),
                ("response_type".into(), "code".into()),
                ("client_id".into(), "id".into()),
                ("redirect_uri".into(), "https://me.example/cb".into()),
                ("code_challenge".into(), "CH".into()),
                ("code_challenge_method".into(), "S256".into()),
            ]
        );
        req.client_id = "";
        assert_eq!(
            authorization_url(&req).unwrap_err(),
            OAuthError::MissingClientId
        );
    }

    #[test]
    fn authorization_params_cannot_replace_flow_params() {
        let spec = OAuthPatch {
            authorization_url: Some("https://a.example/auth".into()),
            token_url: Some("https://a.example/token".into()),
            pkce: Some(false),
            authorization_params: Some([("state".to_string(), "x".to_string())].into()),
            ..Default::default()
        }
        .resolve();
        let config = BTreeMap::new();
        let req = AuthorizationRequest {
            spec: &spec,
            client_id: "id",
            redirect_uri: "https://me.example/cb",
            scopes: &[],
            state: "STATE",
            pkce_challenge: None,
            connection_config: &config,
        };
        assert_eq!(
            authorization_url(&req).unwrap_err(),
            OAuthError::ReservedParameter {
                name: "state".into()
            }
        );
    }
}
