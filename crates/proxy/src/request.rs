//! What a caller may ask the proxy for, checked before any network I/O:
//! a relative path that cannot climb out of the API root or name another
//! host, query values, and headers that are safe to forward.

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

/// The methods the SDK sends (exactly these, upper case).
pub const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// Longest path (with its query) accepted.
const MAX_PATH_BYTES: usize = 8 * 1024;
/// Longest header value accepted.
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Why a request was refused before it was sent; every text says what to
/// send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The path is not a relative path under the API root.
    #[error("`path` {0}; give a path relative to the connector's API root, such as `/v1/items?limit=10`")]
    Path(&'static str),
    /// A query value is not a string, number, boolean or a list of them.
    #[error("`query.{0}` must be a string, number, boolean, or a list of them")]
    Query(String),
    /// A header cannot be forwarded as given.
    #[error("header `{name}` {why}")]
    Header {
        /// The name as given (shortened).
        name: String,
        /// What is wrong.
        why: &'static str,
    },
}

/// Checks `path` (with an optional `?query`): it must start with a single
/// `/`, and hold no backslash, `#`, whitespace or control character, and
/// no `.` or `..` segment, however percent-encoded (an upstream that
/// decodes twice must not see one either).
pub fn check_path(path: &str) -> Result<(), RequestError> {
    if path.is_empty() {
        return Err(RequestError::Path("is empty"));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(RequestError::Path("is longer than 8 KiB"));
    }
    if !path.starts_with('/') {
        return Err(RequestError::Path(
            "must start with `/` (an absolute URL or a scheme is not accepted)",
        ));
    }
    if path.starts_with("//") {
        return Err(RequestError::Path(
            "starts with `//`, which would name another host",
        ));
    }
    if path.contains('\\') {
        return Err(RequestError::Path("contains a backslash"));
    }
    if path.contains('#') {
        return Err(RequestError::Path(
            "contains `#` (a fragment is never sent)",
        ));
    }
    if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RequestError::Path(
            "contains whitespace or a control character (percent-encode it)",
        ));
    }
    let only_path = path.split_once('?').map_or(path, |(p, _)| p);
    for segment in only_path.split('/') {
        if is_dot_segment(segment) {
            return Err(RequestError::Path("contains a `.` or `..` segment"));
        }
    }
    Ok(())
}

/// Whether `segment`, decoded up to three times, is `.` or `..`.
fn is_dot_segment(segment: &str) -> bool {
    let mut text = segment.to_string();
    for _ in 0..4 {
        if text == "." || text == ".." {
            return true;
        }
        let decoded = percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned();
        if decoded == text {
            return false;
        }
        text = decoded;
    }
    // Still changing after three decodings: nobody needs that.
    true
}

/// The query pairs of the SDK's `query` object, in order: arrays repeat
/// their key; `null` is left out.
pub fn query_pairs(
    query: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(String, String)>, RequestError> {
    use serde_json::Value;
    let scalar = |key: &str, v: &Value| -> Result<Option<String>, RequestError> {
        Ok(match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => return Err(RequestError::Query(shorten(key))),
        })
    };
    let mut pairs = Vec::new();
    for (key, value) in query {
        match value {
            Value::Array(items) => {
                for item in items {
                    pairs.extend(scalar(key, item)?.map(|v| (key.clone(), v)));
                }
            }
            other => pairs.extend(scalar(key, other)?.map(|v| (key.clone(), v))),
        }
    }
    Ok(pairs)
}

/// `base` + `path` (checked by [`check_path`]), its own query kept and
/// `extra` appended. The answer is always under `base`: same scheme, host
/// and port, and a path that starts with `base`'s.
pub fn join_url(base: &Url, path: &str, extra: &[(String, String)]) -> Result<Url, RequestError> {
    check_path(path)?;
    let (only_path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let root = base.path().trim_end_matches('/');
    let mut url = base.clone();
    url.set_path(&format!("{root}{only_path}"));
    url.set_query(query.filter(|q| !q.is_empty()));
    if !extra.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in extra {
            pairs.append_pair(k, v);
        }
    }
    url.set_fragment(None);
    let same_origin = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default();
    if !same_origin || !url.path().starts_with(root) {
        return Err(RequestError::Path("leaves the connector's API root"));
    }
    Ok(url)
}

/// Headers never taken from a caller, whatever a catalog entry allows:
/// credentials, routing, framing, hop-by-hop and CORS.
pub fn never_forwarded(name: &str) -> bool {
    const NAMES: [&str; 17] = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "expect",
        "origin",
        "referer",
        "forwarded",
        "accept-encoding",
    ];
    let name = name.to_ascii_lowercase();
    NAMES.contains(&name.as_str())
        || name.starts_with("access-control-")
        || name.starts_with("x-forwarded-")
        || name.starts_with("sec-")
        || name.starts_with("proxy-")
}

/// A caller's header as it would be forwarded: a valid name (lower case)
/// and a value with no line break or NUL. Whether it *is* forwarded is
/// the catalog's allow-list and [`never_forwarded`].
pub fn check_request_header(
    name: &str,
    value: &str,
) -> Result<(HeaderName, HeaderValue), RequestError> {
    let bad = |why| RequestError::Header {
        name: shorten(name),
        why,
    };
    let header = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
        .map_err(|_| bad("is not a valid header name"))?;
    if value.len() > MAX_HEADER_BYTES {
        return Err(bad("has a value longer than 8 KiB"));
    }
    let value = HeaderValue::from_str(value)
        .map_err(|_| bad("has a value with a line break or a control character"))?;
    Ok((header, value))
}

fn shorten(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_root_or_name_a_host_are_refused() {
        for bad in [
            "",
            "x",
            "//evil.example/x",
            "http://127.0.0.1/",
            "https:/x",
            "/../../x",
            "/a/../b",
            "/%2e%2e/x",
            "/%2E%2e/x",
            "/.%2e/x",
            "/%252e%252e/x",
            "/./x",
            "/a\\b",
            "/a b",
            "/a\nb",
            "/a\u{0}b",
            "/a#frag",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?} was accepted");
        }
        for good in [
            "/",
            "/v1/items",
            "/v1/items?limit=10&q=a%20b",
            "/projects/group%2Fname",
            "/a/..b/c...",
            "/file.txt",
            "/ünïcode",
        ] {
            assert!(check_path(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn joined_urls_stay_under_the_base() {
        let base = Url::parse("https://www.googleapis.com/calendar/v3").unwrap();
        let url = join_url(
            &base,
            "/calendars/primary/events?maxResults=10",
            &[("q".into(), "a b&c".into())],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://www.googleapis.com/calendar/v3/calendars/primary/events?maxResults=10&q=a+b%26c"
        );
        let root = Url::parse("https://api.example.com/").unwrap();
        assert_eq!(
            join_url(&root, "/ünï", &[]).unwrap().as_str(),
            "https://api.example.com/%C3%BCn%C3%AF"
        );
        assert!(join_url(&root, "/%2e%2e/x", &[]).is_err());
    }

    #[test]
    fn query_objects_become_pairs() {
        let q = serde_json::json!({"q": "base44", "max_results": 10, "on": true, "ids": [1, "2"], "skip": null});
        let pairs = query_pairs(q.as_object().unwrap()).unwrap();
        assert_eq!(
            pairs,
            [
                ("ids", "1"),
                ("ids", "2"),
                ("max_results", "10"),
                ("on", "true"),
                ("q", "base44")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let nested = serde_json::json!({"a": {"b": 1}});
        assert!(query_pairs(nested.as_object().unwrap()).is_err());
    }

    #[test]
    fn headers_are_checked_and_some_never_forwarded() {
        assert!(check_request_header("Notion-Version", "2022-06-28").is_ok());
        assert!(check_request_header("bad name", "x").is_err());
        assert!(check_request_header("x-a", "a\r\nb: c").is_err());
        for name in [
            "Authorization",
            "cookie",
            "Host",
            "access-control-allow-origin",
            "x-forwarded-for",
            "transfer-encoding",
        ] {
            assert!(never_forwarded(name), "{name}");
        }
        assert!(!never_forwarded("accept"));
    }
}
