//! Reading a provider's token response (RFC 6749 §5.1, §5.2, plus the
//! shapes of providers that differ), and classifying failures.

use std::collections::BTreeMap;

use connectors_catalog::OAuthSpec;
use connectors_clock::Clock;
use connectors_vault::Secret;
use serde_json::Value;

use crate::TokenError;

/// The tokens and metadata of a successful token response.
///
/// `Debug` is safe: tokens and the raw body are [`Secret`]s.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token; `None` when the answer has none (after a refresh:
    /// keep the old one).
    pub refresh_token: Option<Secret>,
    /// Lifetime of the access token in seconds, if the provider says.
    pub expires_in: Option<i64>,
    /// The granted scopes, if the provider says.
    pub scope: Option<Vec<String>>,
    /// Values for the connector's `connection_config` read from the response
    /// (`spec.token_response.connection_config`), as strings.
    pub connection_config: BTreeMap<String, String>,
    /// The whole response body as text.
    pub raw: Secret,
}

/// Error codes that mean "try again later" whatever the HTTP status.
const TRANSIENT_CODES: &[&str] = &[
    "temporarily_unavailable",
    "server_error",
    "slow_down",
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// Reads a token endpoint's answer into a [`TokenSet`].
///
/// Values are found by the dotted paths of `spec.token_response` (e.g.
/// `authed_user.access_token`); a dotted path that is absent falls back to
/// its last segment at the top level (Slack answers a user-token refresh with
/// top-level fields). `expires_in` may be a number or a numeric string; without
/// it, `expires_at` (when the spec names one) gives the lifetime from now;
/// `scope` a string split on spaces or commas, or an array of strings;
/// `connection_config` values are strings, numbers or booleans (stringified).
///
/// Failures: a `success_flag` that is `false` (Slack `ok: false`), an HTTP
/// status other than 2xx, or a 2xx body without an access token but with an
/// error (GitHub). A provider error code is [`TokenError::Permanent`] unless it
/// is a "later" code (`temporarily_unavailable`, `server_error`, Slack
/// `ratelimited` / `internal_error`, …) or the status is 5xx, 429 or 408;
/// everything without a provider error code (5xx pages, garbage, a 2xx body
/// that is not a JSON object or lacks the access token) is
/// [`TokenError::Transient`]. Error codes are read from `error` (a string, or an
/// object's `code`/`message`), `errors[0].code`/`detail` (Square) or a string
/// `status` with `message` (HubSpot).
pub fn parse_token_response(
    spec: &OAuthSpec,
    status: u16,
    body: &[u8],
) -> Result<TokenSet, TokenError> {
    parse_token_response_at(spec, status, body, Clock::system().now_secs())
}

/// [`parse_token_response`] at `now_secs` (Unix seconds), which turns an
/// absolute `expires_at` into `expires_in`.
pub fn parse_token_response_at(
    spec: &OAuthSpec,
    status: u16,
    body: &[u8],
    now_secs: i64,
) -> Result<TokenSet, TokenError> {
    let json: Option<Value> = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object);
    if !(200..300).contains(&status) {
        return Err(failure(status, json.as_ref()));
    }
    let Some(json) = json else {
        return Err(TokenError::transient(format!(
            "the token endpoint answered HTTP {status} with a body that is not a JSON object (an HTML page, truncated or malformed JSON)"
        )));
    };
    let paths = &spec.token_response;
    if let Some(flag) = &paths.success_flag {
        if matches!(lookup(&json, flag), Some(Value::Bool(false))) {
            return Err(failure(status, Some(&json)));
        }
    }
    let access_token = match lookup_or_top(&json, &paths.access_token) {
        Some(Value::String(token)) if !token.is_empty() => Secret::new(token.as_str()),
        _ => {
            if error_of(&json, status).is_some() {
                return Err(failure(status, Some(&json)));
            }
            return Err(TokenError::transient(format!(
                "the token response (HTTP {status}) has no access token at `{}`",
                paths.access_token
            )));
        }
    };
    let refresh_token = match lookup_or_top(&json, &paths.refresh_token) {
        Some(Value::String(token)) if !token.is_empty() => Some(Secret::new(token.as_str())),
        _ => None,
    };
    let expires_in = lookup_or_top(&json, &paths.expires_in)
        .and_then(as_seconds)
        .or_else(|| {
            let at = lookup(&json, paths.expires_at.as_deref()?).and_then(as_instant)?;
            Some(at - now_secs)
        });
    let scope = lookup_or_top(&json, &paths.scope).and_then(as_scopes);
    let connection_config = paths
        .connection_config
        .iter()
        .filter_map(|(key, path)| {
            let value = match lookup(&json, path)? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((key.clone(), value))
        })
        .collect();
    Ok(TokenSet {
        access_token,
        refresh_token,
        expires_in,
        scope,
        connection_config,
        raw: Secret::new(String::from_utf8_lossy(body)),
    })
}

/// An absolute time: RFC 3339 text, or Unix seconds (number or numeric text).
fn as_instant(value: &Value) -> Option<i64> {
    if let Some(text) = value.as_str() {
        if let Ok(t) =
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        {
            return Some(t.unix_timestamp());
        }
    }
    as_seconds(value)
}

/// Classifies a failed answer (token or revocation endpoint).
pub(crate) fn failure(status: u16, json: Option<&Value>) -> TokenError {
    let error = json.and_then(|j| error_of(j, status));
    let later_status = status >= 500 || status == 429 || status == 408;
    match error {
        Some((code, description)) => {
            if later_status || TRANSIENT_CODES.contains(&code.to_ascii_lowercase().as_str()) {
                TokenError::transient(format!("HTTP {status}, provider error `{code}`"))
            } else {
                let description = description.map(|d| clean_text(&scrub(&d, json)));
                TokenError::Permanent {
                    error: clean_code(&scrub(&code, json)),
                    description,
                }
            }
        }
        None if (200..300).contains(&status) => TokenError::transient(format!(
            "HTTP {status} with a failure flag but no error code"
        )),
        None => TokenError::transient(format!("HTTP {status} without an OAuth error")),
    }
}

/// The provider's error code (sanitized) and description (raw: scrub and
/// shorten it before keeping it).
pub(crate) fn error_of(json: &Value, status: u16) -> Option<(String, Option<String>)> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let (code, description) = match json.get("error") {
        Some(Value::String(code)) => (
            Some(code.clone()),
            text(json.get("error_description")).or_else(|| text(json.get("message"))),
        ),
        Some(Value::Object(obj)) => (
            text(obj.get("code")).or_else(|| text(obj.get("type"))),
            text(obj.get("message")),
        ),
        _ => match json.get("errors").and_then(|e| e.get(0)) {
            Some(first) => (text(first.get("code")), text(first.get("detail"))),
            None if !(200..300).contains(&status) => {
                (text(json.get("status")), text(json.get("message")))
            }
            None => (None, None),
        },
    };
    let code = code.map(|c| clean_code(&c)).filter(|c| !c.is_empty())?;
    Some((code, description))
}

fn clean_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        .take(64)
        .collect()
}

fn clean_text(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// Removes from `text` every long string value the body holds under a key
/// naming a token or secret (in case a provider echoes one).
fn scrub(text: &str, json: Option<&Value>) -> String {
    fn walk(value: &Value, secret_key: bool, found: &mut Vec<String>) {
        match value {
            Value::String(s) if secret_key && s.len() >= 8 => found.push(s.clone()),
            Value::Object(map) => {
                for (k, v) in map {
                    let k = k.to_ascii_lowercase();
                    walk(v, k.contains("token") || k.contains("secret"), found);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, secret_key, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    if let Some(json) = json {
        walk(json, false, &mut found);
    }
    let mut out = text.to_owned();
    for secret in found {
        out = out.replace(&secret, "[redacted]");
    }
    out
}

/// The value at a dotted path (`a.b.0.c`), if any and not null.
fn lookup<'v>(json: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = json;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(map) => map.get(seg)?,
            Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    (!cur.is_null()).then_some(cur)
}

/// [`lookup`], falling back to the last segment at the top level.
fn lookup_or_top<'v>(json: &'v Value, path: &str) -> Option<&'v Value> {
    lookup(json, path).or_else(|| {
        let (_, last) = path.rsplit_once('.')?;
        lookup(json, last)
    })
}

fn as_seconds(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

fn as_scopes(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(
            s.split([' ', ','])
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_follows_dots_and_indexes() {
        let j = json!({"a": {"b": [{"c": 1}]}, "n": null, "t": "x"});
        assert_eq!(lookup(&j, "a.b.0.c"), Some(&json!(1)));
        assert_eq!(lookup(&j, "a.b.1.c"), None);
        assert_eq!(lookup(&j, "n"), None);
        assert_eq!(lookup_or_top(&j, "missing.t"), Some(&json!("x")));
        assert_eq!(lookup_or_top(&j, "t.x"), None);
    }

    #[test]
    fn error_shapes() {
        assert_eq!(
            error_of(
                &json!({"error": "invalid_grant", "error_description": "bad\nthing"}),
                400
            ),
            Some(("invalid_grant".into(), Some("bad\nthing".into())))
        );
        assert_eq!(
            error_of(
                &json!({"errors": [{"code": "UNAUTHORIZED", "detail": "d"}]}),
                401
            ),
            Some(("UNAUTHORIZED".into(), Some("d".into())))
        );
        assert_eq!(
            error_of(&json!({"status": "BAD_REFRESH_TOKEN", "message": "m"}), 400),
            Some(("BAD_REFRESH_TOKEN".into(), Some("m".into())))
        );
        assert_eq!(error_of(&json!({"status": "ok"}), 200), None);
        assert_eq!(
            error_of(&json!({"error": {"code": "x y!", "message": "m"}}), 400),
            Some(("xy".into(), Some("m".into())))
        );
    }

    #[test]
    fn echoed_tokens_are_scrubbed_before_shortening() {
        let token = "rt-0123456789abcdef";
        let body = json!({"refresh_token": token, "nested": {"access_token": "at-0123456789"}});
        assert_eq!(
            scrub(
                "token rt-0123456789abcdef and at-0123456789 are bad",
                Some(&body)
            ),
            "token [redacted] and [redacted] are bad"
        );
        let long = format!("{}{token}", "x".repeat(195));
        let err = failure(
            400,
            Some(
                &json!({"error": "invalid_grant", "error_description": long, "refresh_token": token}),
            ),
        );
        let TokenError::Permanent {
            description: Some(d),
            ..
        } = err
        else {
            panic!("{err:?}")
        };
        assert!(!d.contains("rt-01234"), "{d}");
        assert!(d.ends_with('…'), "{d}");
    }

    #[test]
    fn seconds_and_scopes() {
        assert_eq!(as_seconds(&json!(3600)), Some(3600));
        assert_eq!(as_seconds(&json!(3600.7)), Some(3600));
        assert_eq!(as_seconds(&json!(" 3600 ")), Some(3600));
        assert_eq!(as_seconds(&json!("soon")), None);
        assert_eq!(
            as_scopes(&json!("a b,c  d")),
            Some(vec!["a".into(), "b".into(), "c".into(), "d".into()])
        );
        assert_eq!(
            as_scopes(&json!(["a", 1, "b"])),
            Some(vec!["a".into(), "b".into()])
        );
    }
}
