//! A provider's token endpoint answer (code exchange and refresh), read with
//! the OAuth description of a real catalog entry. The first byte picks the
//! integration, the next two the HTTP status; the rest is the body.
#![no_main]

use std::sync::OnceLock;

use connectors_catalog::{Catalog, OAuthSpec};
use connectors_oauth::parse_token_response_at;
use libfuzzer_sys::fuzz_target;

fn specs() -> &'static [OAuthSpec] {
    static SPECS: OnceLock<Vec<OAuthSpec>> = OnceLock::new();
    SPECS.get_or_init(|| Catalog::builtin().iter().map(|i| i.oauth()).collect())
}

fuzz_target!(|data: &[u8]| {
    let [pick, hi, lo, body @ ..] = data else {
        return;
    };
    let specs = specs();
    let spec = &specs[usize::from(*pick) % specs.len()];
    // Mostly 2xx and the 4xx/5xx neighbourhood, sometimes anything.
    let status = match hi % 4 {
        0 => 200 + u16::from(*lo) % 8,
        1 => 400 + u16::from(*lo) % 32,
        2 => 500 + u16::from(*lo) % 8,
        _ => u16::from_be_bytes([*hi, *lo]),
    };
    match parse_token_response_at(spec, status, body, 1_800_000_000) {
        Ok(tokens) => {
            assert!((200..300).contains(&status), "HTTP {status} accepted");
            assert!(!tokens.access_token.expose().is_empty());
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
