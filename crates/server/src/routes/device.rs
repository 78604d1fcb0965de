//! `base44 login` (RFC 8628, protocol.md §2.2–2.3): `POST /oauth/device/code`,
//! `POST /oauth/token` (device-code and refresh grants) and
//! `GET /oauth/userinfo`. Every answer is JSON, errors included (the npm
//! CLI parses the body before the status): `{error, error_description}`
//! with 400 (RFC 6749 §5.2), or 500 `server_error` without details.
//! Bodies may be form-encoded (RFC 8628, what the CLI sends to the token
//! endpoint) or JSON (what the npm CLI sends for a device code).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use connectors_engine::{DeviceError, IssuedTokens, DEVICE_CODE_GRANT};
use serde_json::json;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorCause};
use crate::state::AppState;

/// The three routes, at their absolute paths.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/device/code", post(device_code))
        .route("/oauth/token", post(token))
        .route("/oauth/userinfo", get(userinfo))
}

/// An OAuth error answer.
struct OAuthError(DeviceError);

impl From<DeviceError> for OAuthError {
    fn from(e: DeviceError) -> Self {
        Self(e)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let e = self.0;
        if let DeviceError::Internal(inner) = &e {
            let body = json!({
                "error": "server_error",
                "error_description": "internal server error; the operator can find the cause in the server log under this request's X-Request-ID",
            });
            let response =
                (StatusCode::INTERNAL_SERVER_ERROR, no_store(), Json(body)).into_response();
            return ErrorCause::attach(response, inner);
        }
        let body = json!({"error": e.code(), "error_description": e.to_string()});
        (StatusCode::BAD_REQUEST, no_store(), Json(body)).into_response()
    }
}

fn no_store() -> [(axum::http::HeaderName, &'static str); 2] {
    [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")]
}

/// Parameters of an OAuth request body, form-encoded or a JSON object of
/// strings. A parameter given twice is refused (RFC 6749 §3.2).
pub fn parse_params(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<BTreeMap<String, String>, String> {
    let media = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut params = BTreeMap::new();
    let mut add = |k: String, v: String| -> Result<(), String> {
        if params.contains_key(&k) {
            let shown: String = k.chars().take(50).collect();
            return Err(format!("parameter `{shown}` appears more than once"));
        }
        params.insert(k, v);
        Ok(())
    };
    match media.as_str() {
        "application/x-www-form-urlencoded" => {
            for (k, v) in url::form_urlencoded::parse(body) {
                add(k.into_owned(), v.into_owned())?;
            }
        }
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| format!("the body is not valid JSON: {e}"))?;
            let serde_json::Value::Object(map) = value else {
                return Err("the JSON body must be an object of string parameters".into());
            };
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) => add(k, s)?,
                    serde_json::Value::Null => {}
                    _ => {
                        let shown: String = k.chars().take(50).collect();
                        return Err(format!("parameter `{shown}` must be a string"));
                    }
                }
            }
        }
        _ => {
            return Err(
                "send the parameters as application/x-www-form-urlencoded (or application/json)"
                    .into(),
            )
        }
    }
    Ok(params)
}

fn params(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<BTreeMap<String, String>, DeviceError> {
    let body =
        body.map_err(|e| DeviceError::InvalidRequest(format!("cannot read the body: {e}")))?;
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    parse_params(content_type, &body).map_err(DeviceError::InvalidRequest)
}

fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or("")
}

/// `POST /oauth/device/code`.
async fn device_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let p = params(&headers, body)?;
    let d = state
        .engine
        .start_device_login(param(&p, "client_id"), p.get("scope").map(String::as_str))
        .await?;
    let body = json!({
        "device_code": d.device_code.expose(),
        "user_code": d.user_code,
        "verification_uri": d.verification_uri,
        "verification_uri_complete": d.verification_uri_complete,
        "expires_in": d.expires_in,
        "interval": d.interval,
    });
    Ok((no_store(), Json(body)).into_response())
}

/// `POST /oauth/token`.
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let p = params(&headers, body)?;
    let client_id = param(&p, "client_id");
    let issued = match param(&p, "grant_type") {
        DEVICE_CODE_GRANT => {
            state
                .engine
                .poll_device_login(client_id, param(&p, "device_code"))
                .await?
        }
        "refresh_token" => {
            state
                .engine
                .refresh_login(client_id, param(&p, "refresh_token"))
                .await?
        }
        "" => return Err(DeviceError::InvalidRequest("grant_type is required".into()).into()),
        other => {
            return Err(DeviceError::UnsupportedGrantType(other.chars().take(100).collect()).into())
        }
    };
    Ok((no_store(), Json(token_body(&issued))).into_response())
}

fn token_body(t: &IssuedTokens) -> serde_json::Value {
    json!({
        "access_token": t.access_token.expose(),
        "token_type": "Bearer",
        "expires_in": t.expires_in,
        "refresh_token": t.refresh_token.expose(),
        "scope": t.scope,
    })
}

/// `GET /oauth/userinfo`: a missing or refused bearer is 401
/// `invalid_token` (RFC 6750 §3.1), in the OAuth shape like its siblings.
async fn userinfo(State(state): State<AppState>, caller: Result<Caller, ApiError>) -> Response {
    let refused = |detail: String| {
        (
            StatusCode::UNAUTHORIZED,
            [(WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
            Json(json!({"error": "invalid_token", "error_description": detail})),
        )
            .into_response()
    };
    let principal = match caller {
        Ok(Caller(p)) => p,
        Err(ApiError::Engine(e)) if !e.is_internal() => return refused(e.to_string()),
        Err(e) => return e.into_response(),
    };
    match state.engine.userinfo(&principal) {
        Ok(u) => Json(json!({"email": u.email, "name": u.name})).into_response(),
        Err(e) => refused(e.to_string()),
    }
}
