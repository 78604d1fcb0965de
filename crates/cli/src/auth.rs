//! Credentials, as the npm CLI finds and keeps them (protocol.md §2.1–2.4):
//! a `b44k_` workspace API key from `BASE44_API_KEY`, else the login stored
//! in `~/.base44/auth/auth.json` (seeded from `BASE44_ACCESS_TOKEN` +
//! `BASE44_REFRESH_TOKEN` when both are set), else the device-code login.
//!
//! A [`Session`] holds the login in memory for the run and refreshes it
//! through `POST /oauth/token`: before a request when it expires within 60 s,
//! and after a 401. The refresh runs under one lock, so concurrent requests
//! (push sends PUTs in parallel) share a single refresh.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::client::{now_ms, Auth, Body, Http, DEFAULT_TIMEOUT};
use crate::api::schema::{self, bodies};
use crate::api::{default_hints, json_body, parse_body};
use crate::error::{ApiError, CliError, Hint};
use crate::output::Ui;

/// The npm CLI's OAuth client id.
const CLIENT_ID: &str = "base44_cli";
/// Refresh this long before the token expires.
const REFRESH_BUFFER_MS: f64 = 60_000.0;

/// `~/.base44/auth/auth.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthData {
    /// Bearer token for the Base44 API.
    pub access_token: String,
    /// Token for `grant_type=refresh_token`.
    pub refresh_token: String,
    /// Expiry, epoch milliseconds.
    pub expires_at: i64,
    /// Who is logged in.
    pub email: String,
    /// Their name.
    pub name: String,
}

/// `$HOME/.base44/auth/auth.json` (`os.homedir()` reads `$HOME` on Unix).
pub fn auth_file_path() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".base44").join("auth").join("auth.json")
}

/// `BASE44_API_KEY`, trimmed, when it is a workspace key (`b44k_`); any
/// other value is ignored entirely.
pub fn workspace_api_key() -> Option<String> {
    let key = std::env::var("BASE44_API_KEY").ok()?;
    let key = key.trim();
    key.starts_with("b44k_").then(|| key.to_string())
}

fn schema_error(context: &str, issues: &[schema::Issue], path: &std::path::Path) -> CliError {
    CliError::Schema {
        message: format!(
            "{context} in {}:\n{}",
            path.display(),
            schema::prettify(issues)
        ),
        hints: vec![Hint::new(format!(
            "Fix the schema/data structure errors in {}",
            path.display()
        ))],
    }
}

/// Reads and validates auth.json.
pub fn read_auth() -> Result<AuthData, CliError> {
    let path = auth_file_path();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::file_access(format!("Failed to read authentication file: {e}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::file_access(format!(
            "Failed to read authentication file: File contains invalid JSON: {} ({e})",
            path.display()
        ))
    })?;
    let issues = schema::validate(&bodies::auth_file(), &value);
    if !issues.is_empty() {
        return Err(schema_error("Invalid authentication data", &issues, &path));
    }
    serde_json::from_value(value).map_err(|e| CliError::file_access(e.to_string()))
}

/// Validates and writes auth.json as pretty JSON (no trailing newline, like
/// the npm CLI), readable only by its owner.
pub fn write_auth(data: &AuthData) -> Result<(), CliError> {
    write_auth_value(&serde_json::to_value(data).unwrap_or(Value::Null), data)
}

fn write_auth_value(candidate: &Value, data: &AuthData) -> Result<(), CliError> {
    let path = auth_file_path();
    let issues = schema::validate(&bodies::auth_file(), candidate);
    if !issues.is_empty() {
        return Err(schema_error("Invalid authentication data", &issues, &path));
    }
    let text = serde_json::to_string_pretty(data).unwrap_or_default();
    let fail = |e: std::io::Error| {
        CliError::file_access(format!("Failed to write authentication file: {e}"))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut file = options.open(&path).map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)
}

/// Deletes auth.json (a missing file is fine).
pub fn delete_auth() -> Result<(), CliError> {
    match std::fs::remove_file(auth_file_path()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::file_access(format!(
            "Failed to delete authentication file: {e}"
        ))),
    }
}

/// The `sub` and `exp` claims of a JWT, decoded without checking the
/// signature (the server checks it), as `jsonwebtoken.decode` does.
pub fn jwt_claims(token: &str) -> Option<(Value, Value)> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return None;
    };
    let decode = |s: &str| -> Option<Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    decode(header)?;
    let claims = decode(payload)?;
    let obj = claims.as_object()?;
    Some((
        obj.get("sub").cloned().unwrap_or(Value::Null),
        obj.get("exp").cloned().unwrap_or(Value::Null),
    ))
}

/// What env seeding would write, if the environment asks for it.
pub fn seed_candidate(access: Option<&str>, refresh: Option<&str>) -> Option<(Value, AuthData)> {
    let access = access.filter(|a| !a.is_empty())?;
    let refresh = refresh.filter(|r| !r.is_empty())?;
    let (sub, exp) = jwt_claims(access)?;
    let sub = sub.as_str().filter(|s| !s.is_empty())?.to_string();
    let exp = exp.as_f64().filter(|e| *e != 0.0)?;
    let expires_at = exp * 1000.0;
    // Validation sees the value JavaScript would have (possibly fractional).
    let candidate = json!({
        "accessToken": access,
        "refreshToken": refresh,
        "expiresAt": if expires_at.fract() == 0.0 { json!(expires_at as i64) } else { json!(expires_at) },
        "email": sub,
        "name": sub,
    });
    Some((
        candidate,
        AuthData {
            access_token: access.to_string(),
            refresh_token: refresh.to_string(),
            expires_at: expires_at as i64,
            email: sub.clone(),
            name: sub,
        },
    ))
}

/// `seedAuthFromEnv`: overwrite auth.json from `BASE44_ACCESS_TOKEN` and
/// `BASE44_REFRESH_TOKEN` when both are set and the token is a JWT with
/// `sub` and `exp`; otherwise do nothing.
pub fn seed_from_env() -> Result<(), CliError> {
    let access = std::env::var("BASE44_ACCESS_TOKEN").ok();
    let refresh = std::env::var("BASE44_REFRESH_TOKEN").ok();
    match seed_candidate(access.as_deref(), refresh.as_deref()) {
        Some((candidate, data)) => write_auth_value(&candidate, &data),
        None => Ok(()),
    }
}

/// `ensureAuth`: the credentials for this run, logging in if there are none.
pub async fn ensure_auth(ui: &Ui, http: &Http) -> Result<Auth, CliError> {
    if let Some(key) = workspace_api_key() {
        return Ok(Auth::ApiKey(key));
    }
    seed_from_env()?;
    let data = match read_auth() {
        Ok(data) => data,
        Err(_) => {
            ui.info("You need to login first to continue.");
            login(ui, http).await?
        }
    };
    Ok(Auth::Session(std::sync::Arc::new(Session::new(data))))
}

/// A stored login, refreshed as needed.
pub struct Session {
    // A tokio mutex: the refresh request is awaited while holding it, which
    // is what makes concurrent refreshes share one.
    state: tokio::sync::Mutex<Option<AuthData>>,
}

impl Session {
    /// Wraps a login read from auth.json.
    pub fn new(data: AuthData) -> Self {
        Self {
            state: tokio::sync::Mutex::new(Some(data)),
        }
    }

    /// The bearer token for the next attempt, refreshed first when it
    /// expires within 60 s. `None` once the login is gone (a failed refresh
    /// deleted it), in which case no Authorization header is sent.
    pub async fn token_for_request(&self, http: &Http) -> Option<String> {
        let mut state = self.state.lock().await;
        let current = state.clone()?;
        if now_ms() < current.expires_at as f64 - REFRESH_BUFFER_MS {
            return Some(current.access_token);
        }
        match refresh_and_save(http, &current).await {
            Some(new) => {
                let token = new.access_token.clone();
                *state = Some(new);
                Some(token)
            }
            None => {
                *state = None;
                // As the npm CLI: this request still carries the old token.
                Some(current.access_token)
            }
        }
    }

    /// After a 401 on `used`: a new token, or `None` when the refresh failed
    /// (auth.json is then deleted and the 401 stands).
    pub async fn refresh_after_unauthorized(&self, http: &Http, used: &str) -> Option<String> {
        let mut state = self.state.lock().await;
        let current = state.clone()?;
        if current.access_token != used {
            // Another request refreshed while this one was in flight.
            return Some(current.access_token);
        }
        match refresh_and_save(http, &current).await {
            Some(new) => {
                let token = new.access_token.clone();
                *state = Some(new);
                Some(token)
            }
            None => {
                *state = None;
                None
            }
        }
    }
}

/// A validated `POST /oauth/token` success.
#[derive(Debug, Clone, Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: i64,
    refresh_token: String,
}

/// `refreshAndSaveTokens`: any failure deletes auth.json.
async fn refresh_and_save(http: &Http, current: &AuthData) -> Option<AuthData> {
    // Boxed: renewing goes through `Http::send`, which called us.
    match Box::pin(renew(http, &current.refresh_token)).await {
        Ok(token) => {
            let new = AuthData {
                access_token: token.access_token,
                refresh_token: token.refresh_token,
                expires_at: now_ms() as i64 + token.expires_in * 1000,
                ..current.clone()
            };
            match write_auth(&new) {
                Ok(()) => Some(new),
                Err(_) => {
                    let _ = delete_auth();
                    None
                }
            }
        }
        Err(_) => {
            let _ = delete_auth();
            None
        }
    }
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
        .map_err(|e| {
            CliError::Api(ApiError {
                message: e.message().to_string(),
                status: None,
                request_id: None,
                details: vec![],
                hints: default_hints(None, false),
            })
        })?;
    let value = json_body(&resp)?;
    Ok((resp.status, resp.status_text, value))
}

fn api_error(message: String, status: u16) -> CliError {
    CliError::Api(ApiError {
        message,
        status: Some(status),
        request_id: None,
        details: vec![],
        hints: default_hints(Some(status), false),
    })
}

/// `renewAccessToken`.
async fn renew(http: &Http, refresh_token: &str) -> Result<TokenResponse, CliError> {
    let (status, status_text, value) = post_token_form(
        http,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
        ],
    )
    .await?;
    if !(200..300).contains(&status) {
        if !schema::validate(&bodies::oauth_error(), &value).is_empty() {
            return Err(api_error(
                format!("Token refresh failed: {status_text}"),
                status,
            ));
        }
        return Err(api_error(oauth_error_text(&value), status));
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

/// A validated device-code answer.
#[derive(Debug, Clone, Deserialize)]
struct DeviceCode {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    interval: u64,
}

/// A validated userinfo answer.
#[derive(Debug, Clone, Deserialize)]
struct UserInfo {
    email: String,
    name: String,
}

/// The device-code login (protocol.md §2.2); writes and returns the login.
pub async fn login(ui: &Ui, http: &Http) -> Result<AuthData, CliError> {
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
                    .map_err(|e| api_error_no_status(e.message()))?;
                if !resp.ok() {
                    return Err(api_error(
                        format!(
                            "Failed to generate device code: {} {}",
                            resp.status, resp.status_text
                        ),
                        resp.status,
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
    let session = Auth::Session(std::sync::Arc::new(Session::new(AuthData {
        access_token: token.access_token.clone(),
        refresh_token: token.refresh_token.clone(),
        // Far in the future: the userinfo call must not try a refresh.
        expires_at: i64::MAX / 2,
        email: String::new(),
        name: String::new(),
    })));
    let resp = http
        .send(Method::GET, url, Body::Empty, &session, DEFAULT_TIMEOUT)
        .await
        .map_err(|e| api_error_no_status(e.message()))?;
    if !resp.ok() {
        return Err(api_error(
            format!(
                "Request failed with status code {} {}: GET {}",
                resp.status, resp.status_text, resp.url
            ),
            resp.status,
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
    write_auth(&data)?;
    Ok(data)
}

fn api_error_no_status(message: &str) -> CliError {
    CliError::Api(ApiError {
        message: message.to_string(),
        status: None,
        request_id: None,
        details: vec![],
        hints: default_hints(None, false),
    })
}

/// One poll of the device-code grant: `None` while pending.
async fn poll_device_token(
    http: &Http,
    device_code: &str,
) -> Result<Option<TokenResponse>, CliError> {
    let (status, _, value) = post_token_form(
        http,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
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
        return Err(api_error(oauth_error_text(&value), status));
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

    fn jwt(claims: Value) -> String {
        let enc = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!(
            "{}.{}.sig",
            enc(&json!({"alg": "HS256", "typ": "JWT"})),
            enc(&claims)
        )
    }

    #[test]
    fn seeding_needs_both_tokens_and_sub_and_exp() {
        let token = jwt(json!({"sub": "dev@example.com", "exp": 2_000_000_000}));
        let (candidate, data) = seed_candidate(Some(&token), Some("rt")).unwrap();
        assert_eq!(data.email, "dev@example.com");
        assert_eq!(data.name, "dev@example.com");
        assert_eq!(data.expires_at, 2_000_000_000_000);
        assert!(schema::validate(&bodies::auth_file(), &candidate).is_empty());

        assert!(seed_candidate(Some(&token), None).is_none());
        assert!(seed_candidate(Some(&token), Some("")).is_none());
        assert!(seed_candidate(Some("not-a-jwt"), Some("rt")).is_none());
        let no_exp = jwt(json!({"sub": "dev@example.com"}));
        assert!(seed_candidate(Some(&no_exp), Some("rt")).is_none());
        let numeric_sub = jwt(json!({"sub": 5, "exp": 1}));
        assert!(seed_candidate(Some(&numeric_sub), Some("rt")).is_none());
    }

    #[test]
    fn seeding_a_non_email_sub_fails_validation() {
        let token = jwt(json!({"sub": "user-123", "exp": 2_000_000_000}));
        let (candidate, _) = seed_candidate(Some(&token), Some("rt")).unwrap();
        let issues = schema::validate(&bodies::auth_file(), &candidate);
        assert_eq!(
            schema::prettify(&issues),
            "✖ Invalid email address\n  → at email"
        );
    }

    #[test]
    fn auth_file_is_camel_case_pretty_json() {
        let data = AuthData {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at: 5,
            email: "e@example.com".into(),
            name: "n".into(),
        };
        assert_eq!(
            serde_json::to_string_pretty(&data).unwrap(),
            "{\n  \"accessToken\": \"a\",\n  \"refreshToken\": \"r\",\n  \"expiresAt\": 5,\n  \"email\": \"e@example.com\",\n  \"name\": \"n\"\n}"
        );
    }

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
}
