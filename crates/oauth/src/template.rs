//! URL templates: `{placeholder}` filling and endpoint validation, with the
//! parser and value rules shared with the catalog's API base URLs
//! ([`connectors_catalog::template`]).

use std::collections::BTreeMap;

use connectors_catalog::template::{is_unreserved_value, pieces, Piece};
use connectors_catalog::OAuthSpec;
use url::Url;

pub use connectors_catalog::template::check_endpoint;

use crate::OAuthError;

/// Fills the `{placeholders}` of a URL template from `connection_config`,
/// then from `spec.placeholder_defaults`.
///
/// A placeholder without a value is an error naming it. Values may hold only
/// URL-unreserved characters (letters, digits, `.`, `-`, `_`, `~`) and may not
/// be `.` or `..`, so a builder-supplied value can name a host or a path
/// segment but never move the request (and the client secret) elsewhere.
pub fn fill_template(
    template: &str,
    spec: &OAuthSpec,
    connection_config: &BTreeMap<String, String>,
) -> Result<String, OAuthError> {
    let parts = pieces(template).map_err(|reason| OAuthError::InvalidUrl {
        url: template.to_owned(),
        reason,
    })?;
    let mut out = String::with_capacity(template.len());
    for part in parts {
        let name = match part {
            Piece::Literal(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Placeholder(name) => name,
        };
        let value = connection_config
            .get(name)
            .or_else(|| spec.placeholder_defaults.get(name))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| OAuthError::MissingPlaceholder {
                name: name.to_owned(),
                template: template.to_owned(),
            })?;
        if !is_unreserved_value(value) {
            return Err(OAuthError::InvalidPlaceholderValue {
                name: name.to_owned(),
            });
        }
        out.push_str(value);
    }
    Ok(out)
}

/// Fills and parses an endpoint: `https`, or `http` to a loopback host only.
pub(crate) fn endpoint(
    template: &str,
    spec: &OAuthSpec,
    connection_config: &BTreeMap<String, String>,
) -> Result<Url, OAuthError> {
    let filled = fill_template(template, spec, connection_config)?;
    check_endpoint(&filled).map_err(|reason| OAuthError::InvalidUrl {
        url: template.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors_catalog::OAuthPatch;

    fn spec() -> OAuthSpec {
        OAuthPatch {
            placeholder_defaults: Some([("tenant".to_string(), "common".to_string())].into()),
            ..Default::default()
        }
        .resolve()
    }

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fills_from_config_then_defaults() {
        let t = "https://login.example.com/{tenant}/x/{tenant}";
        assert_eq!(
            fill_template(t, &spec(), &config(&[])).unwrap(),
            "https://login.example.com/common/x/common"
        );
        assert_eq!(
            fill_template(t, &spec(), &config(&[("tenant", "contoso.example")])).unwrap(),
            "https://login.example.com/contoso.example/x/contoso.example"
        );
        assert_eq!(
            fill_template("https://a.example/p?q=1", &spec(), &config(&[])).unwrap(),
            "https://a.example/p?q=1"
        );
    }

    #[test]
    fn missing_placeholder_names_it() {
        let err =
            fill_template("https://{subdomain}.example.com", &spec(), &config(&[])).unwrap_err();
        assert_eq!(
            err,
            OAuthError::MissingPlaceholder {
                name: "subdomain".into(),
                template: "https://{subdomain}.example.com".into()
            }
        );
        assert!(err.to_string().contains("`subdomain`"), "{err}");
        // An empty value counts as missing.
        assert!(matches!(
            fill_template(
                "https://{subdomain}.x",
                &spec(),
                &config(&[("subdomain", "")])
            ),
            Err(OAuthError::MissingPlaceholder { .. })
        ));
    }

    #[test]
    fn values_cannot_move_the_request() {
        for bad in [
            "evil.com/",
            "evil.com#",
            "evil.com?",
            "a@evil.com",
            "a:1",
            "..",
            ".",
            "a b",
            "a%2f",
        ] {
            let err = fill_template("https://{h}.example.com/x", &spec(), &config(&[("h", bad)]))
                .unwrap_err();
            assert_eq!(
                err,
                OAuthError::InvalidPlaceholderValue { name: "h".into() },
                "{bad}"
            );
        }
    }

    #[test]
    fn malformed_templates_are_errors() {
        for t in [
            "https://{oops.example.com",
            "https://{}.example.com",
            "https://{a b}.x",
        ] {
            assert!(matches!(
                fill_template(t, &spec(), &config(&[])),
                Err(OAuthError::InvalidUrl { .. })
            ));
        }
    }

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        let s = spec();
        let c = config(&[]);
        assert!(endpoint("https://a.example/token", &s, &c).is_ok());
        assert!(endpoint("http://127.0.0.1:8080/token", &s, &c).is_ok());
        assert!(endpoint("http://localhost/token", &s, &c).is_ok());
        assert!(endpoint("http://[::1]/token", &s, &c).is_ok());
        for bad in [
            "http://a.example/token",
            "ftp://a.example/token",
            "https://user:pw@a.example/token",
            "https://a.example/token#x",
            "not a url",
        ] {
            assert!(
                matches!(endpoint(bad, &s, &c), Err(OAuthError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }
}
