//! The proxy's path check and join (`connectors_proxy::check_path`,
//! `join_url`): whatever a caller sends as `path`, an accepted one yields a
//! URL on the API root's own scheme, host and port, under its base path,
//! with no `.` or `..` segment however encoded, and no fragment.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let base = url::Url::parse("https://api.example.com/v1").unwrap();
    let extra = [("q".to_string(), path.to_string())];
    let checked = connectors_proxy::check_path(path);
    let joined = connectors_proxy::join_url(&base, path, &extra);
    assert_eq!(checked.is_ok(), joined.is_ok(), "{path:?}: {joined:?}");
    let Ok(url) = joined else {
        return;
    };
    assert_eq!(url.scheme(), "https", "{path:?} -> {url}");
    assert_eq!(url.host_str(), Some("api.example.com"), "{path:?} -> {url}");
    assert_eq!(url.port(), None, "{path:?} -> {url}");
    assert!(
        url.path().starts_with("/v1/") || url.path() == "/v1",
        "{path:?} -> {url}"
    );
    assert!(url.username().is_empty() && url.password().is_none());
    assert_eq!(url.fragment(), None, "{path:?} -> {url}");
    for segment in url.path().split('/') {
        let mut text = segment.to_string();
        for _ in 0..3 {
            assert!(text != "." && text != "..", "{path:?} -> {url}");
            text = percent_encoding::percent_decode_str(&text)
                .decode_utf8_lossy()
                .into_owned();
        }
    }
});
