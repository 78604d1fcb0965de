//! URL templates: `{placeholder}` filling and endpoint validation.

use std::collections::BTreeMap;

use connectors_catalog::OAuthSpec;
use url::Url;

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
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| OAuthError::InvalidUrl {
            url: template.to_owned(),
            reason: "a `{` has no matching `}`".into(),
        })?;
        let name = &after[..close];
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(OAuthError::InvalidUrl {
                url: template.to_owned(),
                reason: format!("`{{{name}}}` is not a placeholder name"),
            });
        }
        let value = connection_config
            .get(name)
            .or_else(|| spec.placeholder_defaults.get(name))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| OAuthError::MissingPlaceholder {
                name: name.to_owned(),
                template: template.to_owned(),
            })?;
        if !is_safe_value(value) {
            return Err(OAuthError::InvalidPlaceholderValue {
                name: name.to_owned(),
            });
        }
        out.push_str(value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_safe_value(value: &str) -> bool {
    value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~'))
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

/// Parses a URL the client may send secrets to: `https`, or `http` to a
/// loopback host only; no user information, no fragment. The reason
/// otherwise.
pub fn check_endpoint(url: &str) -> Result<Url, String> {
    let url = Url::parse(url).map_err(|e| e.to_string())?;
    let host = url.host().ok_or_else(|| "it has no host".to_string())?;
    let loopback = match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("plain http is accepted only for loopback hosts".into()),
        other => return Err(format!("scheme `{other}` is not https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it holds user information".into());
    }
    if url.fragment().is_some() {
        return Err("it has a fragment".into());
    }
    Ok(url)
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
