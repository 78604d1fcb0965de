//! The device-code login (protocol.md §2.2), with the npm CLI's progress
//! lines: ask for a code, show it, poll the token endpoint until the person
//! confirms, then read who they are and write auth.json.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::file::{AuthData, AuthFile};
use super::session::Session;
use super::token::{api_error, poll_device_token, TokenResponse, CLIENT_ID};
use crate::api::client::{now_ms, Auth, Body, Http, DEFAULT_TIMEOUT};
use crate::api::schema::bodies;
use crate::api::{json_body, parse_body};
use crate::error::CliError;
use crate::output::Ui;

/// A validated device-code answer.
#[derive(Debug, Clone, Deserialize)]
struct DeviceCode {
    device_code: SecretString,
    user_code: String,
    verification_uri: String,
    /// Ours sends it (RFC 8628 §3.3.1); the page still asks to approve.
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    interval: u64,
}

/// A validated userinfo answer.
#[derive(Debug, Clone, Deserialize)]
struct UserInfo {
    email: String,
    name: String,
}

/// The device-code login; writes the login to `file` and returns it. On a
/// terminal it also opens `verification_uri_complete` (with `browser`, the
/// `BROWSER` variable, or the platform's opener), which the npm CLI does not.
pub async fn login(
    ui: &Ui,
    http: &Http,
    file: &AuthFile,
    browser: Option<&str>,
) -> Result<AuthData, CliError> {
    let config = |m: String| CliError::ConfigInvalid {
        message: m,
        hints: vec![],
    };
    let device: DeviceCode = ui
        .task(
            "Generating device code...",
            Some("Device code generated"),
            Some("Failed to generate device code"),
            async {
                let url = http.prefixed("oauth/device/code").map_err(config)?;
                let body =
                    json!({"client_id": CLIENT_ID, "scope": "apps:read apps:write sandbox:write"});
                let resp = http
                    .send(
                        Method::POST,
                        url,
                        Body::Json(body.to_string()),
                        &Auth::None,
                        DEFAULT_TIMEOUT,
                    )
                    .await
                    .map_err(|e| api_error(e.message(), None))?;
                if !resp.ok() {
                    return Err(api_error(
                        format!(
                            "Failed to generate device code: {} {}",
                            resp.status, resp.status_text
                        ),
                        Some(resp.status),
                    ));
                }
                let value = json_body(&resp)?;
                parse_body(
                    &bodies::device_code(),
                    &value,
                    "Invalid device code response from server",
                )
            },
        )
        .await?;
    ui.info(&format!(
        "Verification code: {}\nPlease confirm this code at: {}",
        device.user_code, device.verification_uri
    ));
    if ui.interactive {
        if let Some(url) = &device.verification_uri_complete {
            // Only a convenience: the code and URL are printed above.
            let _ = crate::terminal::open_browser(browser, url);
        }
    }

    let token: TokenResponse = ui
        .task(
            "Waiting for authentication...",
            Some("Authentication completed!"),
            Some("Authentication failed"),
            async {
                let deadline = Instant::now() + Duration::from_secs(device.expires_in);
                loop {
                    if let Some(token) = poll_device_token(http, &device.device_code).await? {
                        return Ok(token);
                    }
                    let next = Instant::now() + Duration::from_secs(device.interval);
                    if next >= deadline {
                        return Err(CliError::AuthExpired {
                            message: "Authentication timed out. Please try again.".into(),
                        });
                    }
                    tokio::time::sleep_until(next.into()).await;
                }
            },
        )
        .await?;

    let url = http.prefixed("oauth/userinfo").map_err(config)?;
    let session = Auth::Session(Arc::new(Session::new(
        http.clone(),
        file.clone(),
        AuthData {
            access_token: token.access_token.clone(),
            refresh_token: token.refresh_token.clone(),
            // Far in the future: the userinfo call must not try a refresh.
            expires_at: i64::MAX / 2,
            email: String::new(),
            name: String::new(),
        },
    )));
    let resp = http
        .send(Method::GET, url, Body::Empty, &session, DEFAULT_TIMEOUT)
        .await
        .map_err(|e| api_error(e.message(), None))?;
    if !resp.ok() {
        return Err(api_error(
            format!(
                "Request failed with status code {} {}: GET {}",
                resp.status, resp.status_text, resp.url
            ),
            Some(resp.status),
        ));
    }
    let value = json_body(&resp)?;
    let user: UserInfo = parse_body(
        &bodies::user_info(),
        &value,
        "Invalid UserInfo response from server",
    )?;
    let data = AuthData {
        access_token: token.access_token,
        refresh_token: token.refresh_token,
        expires_at: now_ms() as i64 + token.expires_in * 1000,
        email: user.email,
        name: user.name,
    };
    file.write(&data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_code_debug_is_redacted() {
        let device: DeviceCode = serde_json::from_value(json!({
            "device_code": "dc-secret-1",
            "user_code": "ABCD-EFGH",
            "verification_uri": "https://example.com/device",
            "expires_in": 600,
            "interval": 5,
        }))
        .unwrap();
        let shown = format!("{device:?}");
        assert!(!shown.contains("dc-secret-1"), "{shown}");
        assert!(shown.contains("ABCD-EFGH"), "{shown}");
    }
}
