//! The proxy's check of a caller's header (`check_request_header`,
//! `never_forwarded`): the input is `name:value`. An accepted header has a
//! lower-case valid name and a value with no line break or NUL (no header
//! injection upstream); credentials, routing, framing and CORS headers are
//! never forwarded, whatever their case.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (name, value) = text.split_once(':').unwrap_or((text, ""));
    let Ok((header, checked)) = connectors_proxy::check_request_header(name, value) else {
        return;
    };
    assert_eq!(header.as_str(), name.to_ascii_lowercase(), "{text:?}");
    assert!(
        !checked
            .as_bytes()
            .iter()
            .any(|b| matches!(b, b'\r' | b'\n' | 0)),
        "{text:?}"
    );
    let lower = header.as_str();
    assert_eq!(
        connectors_proxy::never_forwarded(name),
        connectors_proxy::never_forwarded(lower)
    );
    for secret in ["authorization", "cookie", "host", "proxy-authorization"] {
        if lower == secret {
            assert!(connectors_proxy::never_forwarded(name), "{text:?}");
        }
    }
});
