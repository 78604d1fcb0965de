//! A webhook endpoint's URL (`connectors_webhooks::check_target_url`),
//! checked under both policies: strict, and with private networks allowed
//! (development).
//!
//! Checked: never a panic; an accepted URL is `https` (or `http` with
//! private networks allowed), has a host, no user name or password, no
//! fragment, at most 2048 bytes; under the strict policy a literal IP host
//! is public and the name is not `localhost`; its serialization is accepted
//! again as the same URL; and what the strict policy accepts, the other
//! does too.
#![no_main]

use connectors_webhooks::check_target_url;
use libfuzzer_sys::fuzz_target;
use url::Host;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = check_target_url(text, false);
    let dev = check_target_url(text, true);
    if strict.is_ok() {
        assert!(dev.is_ok(), "{text:?}: {dev:?}");
    }
    for (allow, checked) in [(false, strict), (true, dev)] {
        let url = match checked {
            Ok(url) => url,
            Err(refused) => {
                assert!(!refused.to_string().is_empty());
                continue;
            }
        };
        assert!(
            url.scheme() == "https" || (allow && url.scheme() == "http"),
            "{text:?} -> {url}"
        );
        let host = url.host().expect("a host");
        assert!(!url.host_str().unwrap_or_default().is_empty(), "{text:?}");
        assert!(
            url.username().is_empty() && url.password().is_none(),
            "{text:?}"
        );
        assert_eq!(url.fragment(), None, "{text:?} -> {url}");
        assert!(url.as_str().len() <= 2048, "{text:?}");
        if !allow {
            match host {
                Host::Ipv4(ip) => assert!(connectors_proxy::policy::is_public(ip.into()), "{url}"),
                Host::Ipv6(ip) => assert!(connectors_proxy::policy::is_public(ip.into()), "{url}"),
                Host::Domain(name) => {
                    let name = name.trim_end_matches('.').to_ascii_lowercase();
                    assert!(
                        name != "localhost" && !name.ends_with(".localhost"),
                        "{url}"
                    );
                }
            }
        }
        let again = check_target_url(url.as_str(), allow);
        assert_eq!(again.as_ref(), Ok(&url), "{text:?} -> {url}");
    }
});
