//! URL templates with `{placeholder}`s, shared by the OAuth endpoints
//! (`connectors-oauth` fills them) and the API base URLs ([`crate::ApiSpec`]).
//!
//! One parser and one set of value rules, so that a builder-supplied value
//! can name a host or a path segment but never move a request elsewhere.

use url::Url;

/// One part of a URL template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text taken as written.
    Literal(&'a str),
    /// A `{name}` to fill; the name is `[A-Za-z0-9_-]+`.
    Placeholder(&'a str),
}

/// Splits a template into literal text and `{name}` placeholders; the reason
/// when a `{` has no `}` or a name is not `[A-Za-z0-9_-]+`.
pub fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Literal(&rest[..open]));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a `{` has no matching `}`".to_string())?;
        let name = &after[..close];
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!("`{{{name}}}` is not a placeholder name"));
        }
        out.push(Piece::Placeholder(name));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest));
    }
    Ok(out)
}

/// Whether a value keeps a URL's structure wherever it is put: URL-unreserved
/// characters only (letters, digits, `.`, `-`, `_`, `~`), and not `.` or `..`.
pub fn is_unreserved_value(value: &str) -> bool {
    !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~'))
}

/// Whether `value` is a DNS name or part of one: labels of ASCII letters,
/// digits and `-` (1 to 63 bytes each), joined by single dots.
pub fn is_host_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether a host is loopback: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Parses a URL the server may send secrets to: `https`, or `http` to a
/// loopback host only (tests and development); no user information, no
/// fragment. The reason otherwise.
pub fn check_endpoint(url: &str) -> Result<Url, String> {
    let url = Url::parse(url).map_err(|e| e.to_string())?;
    let host = url.host().ok_or_else(|| "it has no host".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
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

    #[test]
    fn splits_literals_and_placeholders() {
        assert_eq!(
            pieces("https://{sub}.example.com/{a}{b}/x").unwrap(),
            [
                Piece::Literal("https://"),
                Piece::Placeholder("sub"),
                Piece::Literal(".example.com/"),
                Piece::Placeholder("a"),
                Piece::Placeholder("b"),
                Piece::Literal("/x"),
            ]
        );
        assert_eq!(pieces("").unwrap(), []);
        assert!(pieces("https://{oops").unwrap_err().contains("no matching"));
        assert!(pieces("https://{}.x").unwrap_err().contains("`{}`"));
        assert!(pieces("https://{a b}.x").is_err());
    }

    #[test]
    fn host_values_are_dotted_labels() {
        for good in ["acme", "xy12345.us-east-1", "a-b.c", "A1"] {
            assert!(is_host_value(good), "{good}");
        }
        let long = "a".repeat(64);
        for bad in [
            "", ".", "..", "a..b", ".a", "a.", "a_b", "a/b", "a:1", "a@b", "%2e", "bücher", &long,
        ] {
            assert!(!is_host_value(bad), "{bad}");
        }
    }
}
