//! An upstream body as the SDK's envelope carries it: JSON parsed into
//! `data`, text as a string, anything else as base64 in `data_base64` with
//! its `content_type`. Bytes are never read as text unless they are valid
//! UTF-8, so a PNG's bytes ≥ 0x80 come back exactly.

use base64::Engine as _;
use serde_json::Value;

/// The envelope's body fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBody {
    /// Parsed JSON, a string, or null (empty or binary).
    pub data: Value,
    /// Standard base64 of a binary body.
    pub data_base64: Option<String>,
    /// Set only alongside `data_base64`.
    pub content_type: Option<String>,
}

/// Encodes `bytes` served as `content_type`; `binary` holds media-type
/// patterns (`image/*`, `application/pdf`) always returned as binary.
pub fn encode_body(content_type: Option<&str>, bytes: &[u8], binary: &[String]) -> EncodedBody {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty());
    let as_binary = || EncodedBody {
        data: Value::Null,
        data_base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        content_type: Some(
            content_type
                .map(str::to_string)
                .unwrap_or_else(|| "application/octet-stream".into()),
        ),
    };
    let plain = |data| EncodedBody {
        data,
        data_base64: None,
        content_type: None,
    };
    if bytes.is_empty() {
        return plain(Value::Null);
    }
    let text = std::str::from_utf8(bytes).ok();
    match media.as_deref() {
        Some(m) if binary.iter().any(|p| matches(p, m)) => as_binary(),
        Some(m) if is_json(m) => match serde_json::from_slice(bytes) {
            Ok(v) => plain(v),
            Err(_) => text.map_or_else(as_binary, |t| plain(Value::String(t.into()))),
        },
        Some(m) if is_text(m) => text.map_or_else(as_binary, |t| plain(Value::String(t.into()))),
        Some(_) => as_binary(),
        None => match serde_json::from_slice(bytes) {
            Ok(v) => plain(v),
            Err(_) => text.map_or_else(as_binary, |t| plain(Value::String(t.into()))),
        },
    }
}

/// `pattern` is a media type or `type/*`.
fn matches(pattern: &str, media: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_suffix("/*") {
        Some(kind) => media.split('/').next() == Some(kind),
        None => pattern == media,
    }
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json") || media == "text/json"
}

fn is_text(media: &str) -> bool {
    media.starts_with("text/")
        || media.ends_with("+xml")
        || matches!(
            media,
            "application/xml"
                | "application/javascript"
                | "application/ecmascript"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
                | "application/x-ndjson"
                | "application/jsonl"
                | "application/yaml"
                | "application/x-yaml"
                | "application/csv"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_and_binary() {
        let none: &[String] = &[];
        assert_eq!(
            encode_body(Some("application/json; charset=utf-8"), br#"{"a":1}"#, none).data,
            serde_json::json!({"a": 1})
        );
        assert_eq!(
            encode_body(Some("application/vnd.api+json"), b"[1]", none).data,
            serde_json::json!([1])
        );
        assert_eq!(
            encode_body(Some("text/plain"), "héllo".as_bytes(), none).data,
            "héllo"
        );
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x80];
        let b = encode_body(Some("image/png"), &png, none);
        assert_eq!(b.data, Value::Null);
        assert_eq!(b.content_type.as_deref(), Some("image/png"));
        let back = base64::engine::general_purpose::STANDARD
            .decode(b.data_base64.unwrap())
            .unwrap();
        assert_eq!(back, png);
        // Text that is not UTF-8 keeps its bytes.
        let latin1 = encode_body(Some("text/plain; charset=latin1"), &[0xe9], none);
        assert!(latin1.data_base64.is_some());
        // Declared binary even when it looks textual.
        let csv = encode_body(Some("text/csv"), b"a,b", &["text/csv".into()]);
        assert!(csv.data_base64.is_some());
        assert_eq!(
            encode_body(Some("application/json"), b"", none).data,
            Value::Null
        );
        assert_eq!(
            encode_body(None, b"{\"x\":true}", none).data,
            serde_json::json!({"x": true})
        );
    }
}
