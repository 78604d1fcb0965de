//! The token endpoint, `POST /oauth/token` (protocol.md §2.2, §2.3): the
//! refresh grant the session uses and the device-code grant the login
//! polls, with the npm CLI's validation and error texts.

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::api::client::{Auth, Body, Http, DEFAULT_TIMEOUT};
use crate::api::schema::{self, bodies};
use crate::api::{default_hints, json_body, parse_body};
use crate::error::{ApiError, CliError, Hint};

/// The npm CLI's OAuth client id.
pub const CLIENT_ID: &str = "base44_cli";

/// A validated `POST /oauth/token` success.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The new bearer token.
    pub access_token: SecretString,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The token for the next refresh.
    pub refresh_token: SecretString,
}

/// The `API_ERROR` of an auth request, with the npm CLI's default hints
/// for `status` (none of these requests uses an API key).
pub fn api_error(message: impl Into<String>, status: Option<u16>) -> CliError {
    CliError::Api(ApiError {
        message: message.into(),
        status,
        request_id: None,
        details: vec![],
        hints: default_hints(status, false),
    })
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = reqwest::Url::parse("http://x/").expect("static URL");
    {
        let mut q = s.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    s.query().unwrap_or("").to_string()
}

async fn post_token_form(
    http: &Http,
    pairs: &[(&str, &str)],
) -> Result<(u16, String, Value), CliError> {
    let url = http
        .prefixed("oauth/token")
        .map_err(|m| CliError::ConfigInvalid {
            message: m,
            hints: vec![],
        })?;
    let resp = http
        .send(
            Method::POST,
            url,
            Body::Form(form(pairs)),
            &Auth::None,
            DEFAULT_TIMEOUT,
        )
        .await
        .map_err(|e| api_error(e.message(), None))?;
    let value = json_body(&resp)?;
    Ok((resp.status, resp.status_text, value))
}

/// `renewAccessToken`.
pub async fn renew(http: &Http, refresh_token: &SecretString) -> Result<TokenResponse, CliError> {
    let (status, status_text, value) = post_token_form(
        http,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
            ("client_id", CLIENT_ID),
        ],
    )
    .await?;
    if !(200..300).contains(&status) {
        if !schema::validate(&bodies::oauth_error(), &value).is_empty() {
            return Err(api_error(
                format!("Token refresh failed: {status_text}"),
                Some(status),
            ));
        }
        return Err(api_error(oauth_error_text(&value), Some(status)));
    }
    parse_body(
        &bodies::token(),
        &value,
        "Invalid token response from server",
    )
}

fn oauth_error_text(value: &Value) -> String {
    match value.get("error_description").and_then(Value::as_str) {
        Some(d) => d.to_string(),
        None => format!(
            "OAuth error: {}",
            value.get("error").and_then(Value::as_str).unwrap_or("")
        ),
    }
}

/// One poll of the device-code grant: `None` while pending.
pub async fn poll_device_token(
    http: &Http,
    device_code: &SecretString,
) -> Result<Option<TokenResponse>, CliError> {
    let (status, _, value) = post_token_form(
        http,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code.expose_secret()),
            ("client_id", CLIENT_ID),
        ],
    )
    .await?;
    if !(200..300).contains(&status) {
        let issues = schema::validate(&bodies::oauth_error(), &value);
        if !issues.is_empty() {
            return Err(CliError::Schema {
                message: format!("Token request failed:\n{}", schema::prettify(&issues)),
                hints: vec![Hint::new("Fix the schema/data structure errors above")],
            });
        }
        let error = value.get("error").and_then(Value::as_str).unwrap_or("");
        if error == "authorization_pending" || error == "slow_down" {
            return Ok(None);
        }
        return Err(api_error(oauth_error_text(&value), Some(status)));
    }
    parse_body(
        &bodies::token(),
        &value,
        "Invalid token response from server",
    )
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_like_url_search_params() {
        assert_eq!(
            form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "a b+c/=")
            ]),
            "grant_type=refresh_token&refresh_token=a+b%2Bc%2F%3D"
        );
    }

    #[test]
    fn token_response_debug_is_redacted() {
        let token: TokenResponse = serde_json::from_value(serde_json::json!({
            "access_token": "at-secret-1",
            "expires_in": 3600,
            "refresh_token": "rt-secret-2",
        }))
        .unwrap();
        let shown = format!("{token:?}");
        assert!(!shown.contains("at-secret-1"), "{shown}");
        assert!(!shown.contains("rt-secret-2"), "{shown}");
        assert_eq!(token.access_token.expose_secret(), "at-secret-1");
    }
}
