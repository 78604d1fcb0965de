//! Where an end user is sent back after consent, and which browser origins
//! CORS admits (`connectors_engine::return_to`, `origin_allowed`), for an
//! app whose allowed origins are `https://app.example.com` and
//! `http://localhost:5173`. The input is the candidate page URL (the SDK's
//! `X-Origin-URL`) and, as is, the `Origin` header.
//!
//! Checked: the answer is the default return URL or a URL that parses to
//! one of the allowed origins (never another host, scheme, port, nor user
//! information), and an admitted `Origin` is exactly, byte for byte, an allowed origin.
#![no_main]

use connectors_engine::{origin_allowed, return_to};
use connectors_wire::AppUserSettings;
use libfuzzer_sys::fuzz_target;

const ALLOWED: [&str; 2] = ["https://app.example.com", "http://localhost:5173"];
const DEFAULT: &str = "https://app.example.com/after-consent";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings = AppUserSettings {
        allowed_origins: ALLOWED.map(String::from).to_vec(),
        default_return_url: Some(DEFAULT.into()),
        identity_provider: None,
    };
    let to = return_to(&settings, Some(text)).expect("the default at least");
    if to != DEFAULT {
        let url = url::Url::parse(&to).expect("an answered URL parses");
        assert!(
            url.username().is_empty() && url.password().is_none(),
            "{to}"
        );
        let origin = url.origin().ascii_serialization();
        assert!(ALLOWED.contains(&origin.as_str()), "{text:?} -> {to}");
    }
    if origin_allowed(&settings, text) {
        let origin = url::Url::parse(text)
            .expect("parses")
            .origin()
            .ascii_serialization();
        assert!(ALLOWED.contains(&origin.as_str()), "{text:?}");
        assert!(!text.ends_with('/') && !text.contains('@'), "{text:?}");
    }
    let empty = AppUserSettings::default();
    assert_eq!(return_to(&empty, Some(text)), None);
    assert!(!origin_allowed(&empty, text));
});
