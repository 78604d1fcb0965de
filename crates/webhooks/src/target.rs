//! Which URLs may receive webhooks, checked when a builder saves an
//! endpoint (and again before each delivery): anyone who can add an
//! endpoint makes our server send requests, so a URL must not reach this
//! server's own network. Names are checked again on the addresses they
//! resolve to, at every connection, by the proxy's policy.

use std::net::IpAddr;

use url::{Host, Url};

/// The longest webhook URL, in bytes (as given and as serialized).
pub const MAX_URL_BYTES: usize = 2048;

/// `text` as a webhook endpoint's URL: absolute `https` (plain `http` too
/// when `allow_private_networks`, for development), with a host (no empty
/// label), no user name or password, no fragment, at most
/// [`MAX_URL_BYTES`], no whitespace or control character; unless
/// `allow_private_networks`, not a private or reserved IP address nor a
/// local name (`localhost`, `*.localhost`, `*.local`, `*.internal`,
/// `*.home.arpa`, a name without a dot).
pub fn check_target_url(text: &str, allow_private_networks: bool) -> Result<Url, TargetError> {
    if text.is_empty() {
        return Err(TargetError::Empty);
    }
    if text.len() > MAX_URL_BYTES {
        return Err(TargetError::TooLong);
    }
    // The URL parser would drop some of them silently.
    if let Some(at) = text.find(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(TargetError::Whitespace(at));
    }
    let url = Url::parse(text).map_err(TargetError::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private_networks => {}
        "http" => return Err(TargetError::PlainHttp),
        other => return Err(TargetError::Scheme(other.to_string())),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(TargetError::Fragment);
    }
    let host = match url.host() {
        Some(host) => host,
        None => return Err(TargetError::NoHost),
    };
    match host {
        Host::Domain(name) => {
            // Only a final dot (the root) may follow an empty label.
            if name
                .strip_suffix('.')
                .unwrap_or(name)
                .split('.')
                .any(str::is_empty)
            {
                return Err(TargetError::EmptyLabel(name.to_string()));
            }
            if !allow_private_networks {
                local_name(name)?
            }
        }
        Host::Ipv4(ip) if !allow_private_networks => private_ip(IpAddr::V4(ip))?,
        Host::Ipv6(ip) if !allow_private_networks => private_ip(IpAddr::V6(ip))?,
        _ => {}
    }
    // Percent-encoding and IDNA can lengthen it.
    if url.as_str().len() > MAX_URL_BYTES {
        return Err(TargetError::TooLong);
    }
    Ok(url)
}

fn private_ip(ip: IpAddr) -> Result<(), TargetError> {
    if connectors_proxy::policy::is_public(ip) {
        Ok(())
    } else {
        Err(TargetError::PrivateAddress(ip))
    }
}

/// Names that only mean something inside a network: localhost (RFC 6761),
/// multicast DNS, the private-use `internal` and home networks' names, and
/// single labels, which a resolver completes with its search domains.
fn local_name(name: &str) -> Result<(), TargetError> {
    let bare = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let local = !bare.contains('.')
        || ["localhost", "local", "internal", "home.arpa"]
            .iter()
            .any(|zone| bare == *zone || bare.ends_with(&format!(".{zone}")));
    if local {
        Err(TargetError::LocalName(name.to_string()))
    } else {
        Ok(())
    }
}

/// Why a URL cannot receive webhooks. Never carries the URL itself (it may
/// hold a token in its query).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Nothing given.
    #[error("the webhook URL is empty: give the https:// URL your app receives webhooks at")]
    Empty,
    /// Over [`MAX_URL_BYTES`].
    #[error("the webhook URL is longer than 2048 bytes: use a shorter URL, and send nothing secret in it (every delivery is signed)")]
    TooLong,
    /// Whitespace or a control character at this byte offset.
    #[error("the webhook URL contains whitespace or a control character (at byte {0}): remove it, or percent-encode it")]
    Whitespace(usize),
    /// Not an absolute URL.
    #[error("the webhook URL is not an absolute URL ({0}): use an https:// URL that your app serves publicly, such as https://app.example.com/webhooks")]
    NotAUrl(url::ParseError),
    /// `http` while private networks are not allowed.
    #[error("webhook URLs must use https: use an https:// URL that your app serves publicly (plain http:// is only for development, when the operator allows private networks)")]
    PlainHttp,
    /// Neither `https` nor `http`.
    #[error("webhook URLs must use https, not `{0}:`: use an https:// URL that your app serves publicly")]
    Scheme(String),
    /// No host.
    #[error("the webhook URL has no host: use an https:// URL that your app serves publicly, such as https://app.example.com/webhooks")]
    NoHost,
    /// A user name or password.
    #[error("the webhook URL contains a user name or password: remove them (deliveries are authenticated by their signature, which your app verifies with the endpoint's secret)")]
    Credentials,
    /// A `#…` part, which is never sent.
    #[error("the webhook URL has a `#` fragment, which is never sent to the server: remove it")]
    Fragment,
    /// A host name with an empty label (`a..b`, `.a`).
    #[error(
        "`{0}` is not a host name (two dots in a row, or a leading dot): correct the URL's host"
    )]
    EmptyLabel(String),
    /// A literal IP address off the public internet.
    #[error("{0} is a private, loopback or reserved address, which webhooks are not sent to: use an https:// URL that your app serves publicly (an operator may allow private networks for development)")]
    PrivateAddress(IpAddr),
    /// A name that only resolves inside a network.
    #[error("`{0}` is a local host name, which webhooks are not sent to: use an https:// URL that your app serves publicly, under a public domain name (an operator may allow private networks for development)")]
    LocalName(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_https_urls_are_accepted() {
        for text in [
            "https://app.example.com/webhooks",
            "https://app.example.com:8443/hooks/base44?tenant=1",
            "https://EXAMPLE.com",
            "https://8.8.8.8/hook",
            "https://[2607:f8b0:4004:c07::64]/hook",
            "https://bücher.example/hook",
            "https://example.com./hook",
        ] {
            let url = check_target_url(text, false).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(check_target_url(url.as_str(), false).as_ref(), Ok(&url));
        }
    }

    #[test]
    fn each_refusal_says_what_to_do() {
        let long = format!("https://example.com/{}", "a".repeat(2048));
        for (text, error) in [
            ("", TargetError::Empty),
            (long.as_str(), TargetError::TooLong),
            (" https://example.com/", TargetError::Whitespace(0)),
            ("https://example.com/a b", TargetError::Whitespace(21)),
            ("https://example.com/\t", TargetError::Whitespace(20)),
            ("https://exa\nmple.com/", TargetError::Whitespace(11)),
            ("https://example.com/\u{3000}", TargetError::Whitespace(20)),
            (
                "/webhooks",
                TargetError::NotAUrl(url::ParseError::RelativeUrlWithoutBase),
            ),
            (
                "example.org/hooks",
                TargetError::NotAUrl(url::ParseError::RelativeUrlWithoutBase),
            ),
            ("https://", TargetError::NotAUrl(url::ParseError::EmptyHost)),
            ("http://example.com/", TargetError::PlainHttp),
            ("ftp://example.com/", TargetError::Scheme("ftp".into())),
            (
                "javascript:alert(1)",
                TargetError::Scheme("javascript".into()),
            ),
            ("https://user:pass@example.com/", TargetError::Credentials),
            ("https://token@example.com/", TargetError::Credentials),
            ("https://example.com/#x", TargetError::Fragment),
            ("https://example.com/#", TargetError::Fragment),
            (
                "https://127.0.0.1/",
                TargetError::PrivateAddress("127.0.0.1".parse().unwrap()),
            ),
            (
                "https://0x7f.1/",
                TargetError::PrivateAddress("127.0.0.1".parse().unwrap()),
            ),
            (
                "https://2130706433/",
                TargetError::PrivateAddress("127.0.0.1".parse().unwrap()),
            ),
            (
                "https://169.254.169.254/latest/meta-data",
                TargetError::PrivateAddress("169.254.169.254".parse().unwrap()),
            ),
            (
                "https://[::1]/",
                TargetError::PrivateAddress("::1".parse().unwrap()),
            ),
            (
                "https://[::ffff:10.0.0.1]/",
                TargetError::PrivateAddress("::ffff:10.0.0.1".parse().unwrap()),
            ),
            (
                "https://localhost/",
                TargetError::LocalName("localhost".into()),
            ),
            (
                "https://LOCALHOST./",
                TargetError::LocalName("localhost.".into()),
            ),
            (
                "https://app.localhost/",
                TargetError::LocalName("app.localhost".into()),
            ),
            (
                "https://printer.local/",
                TargetError::LocalName("printer.local".into()),
            ),
            (
                "https://metadata.google.internal/",
                TargetError::LocalName("metadata.google.internal".into()),
            ),
            (
                "https://router.home.arpa/",
                TargetError::LocalName("router.home.arpa".into()),
            ),
            (
                "https://intranet/",
                TargetError::LocalName("intranet".into()),
            ),
        ] {
            let refused = check_target_url(text, false).unwrap_err();
            assert_eq!(refused, error, "{text:?}");
            let message = refused.to_string();
            assert!(message.contains(": "), "{message}");
            if text.len() > 10 {
                assert!(!message.contains(text), "{message}");
            }
        }
    }

    #[test]
    fn private_networks_allow_http_loopback_and_local_names() {
        for text in [
            "http://127.0.0.1:8080/hook",
            "https://10.0.0.1/",
            "http://localhost:3000/",
            "http://[::1]:9/",
            "http://receiver/",
        ] {
            check_target_url(text, true).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
        for (text, error) in [
            ("ftp://127.0.0.1/", TargetError::Scheme("ftp".into())),
            ("http://u:p@127.0.0.1/", TargetError::Credentials),
            ("http://127.0.0.1/#f", TargetError::Fragment),
            (
                "http://localhost../",
                TargetError::EmptyLabel("localhost..".into()),
            ),
        ] {
            assert_eq!(check_target_url(text, true).unwrap_err(), error, "{text}");
        }
    }
}
