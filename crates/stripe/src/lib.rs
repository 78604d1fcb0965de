//! Stripe's Claimable Sandboxes API (v2), the one Stripe mechanism for
//! "provision a sandbox a builder can claim later": create a sandbox,
//! retrieve its state, and renew its onboarding (claim) link.
//!
//! Central types: [`StripeClient`], [`Sandbox`], [`StripeError`].
//! Requests carry `Authorization: Bearer <platform key>` and `Stripe-Version`;
//! bodies are JSON. The one-time API keys of a new sandbox come back only
//! from create, as [`Secret`]s. This crate knows nothing of storage or apps.
#![deny(missing_docs)]

use std::time::Duration;

use connectors_vault::Secret;
use serde_json::{json, Value};

/// The API version this client speaks.
pub const DEFAULT_VERSION: &str = "2026-11-18.endive";

/// Lifecycle of a claimable sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxStatus {
    /// Not claimed yet (60 days to claim).
    Unclaimed,
    /// Claimed into a Stripe account, still a sandbox.
    Claimed,
    /// The claiming account is live.
    Live,
    /// Not claimed in time; deleted by Stripe.
    Expired,
}

impl SandboxStatus {
    /// Reads the wire spelling.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "unclaimed" => Self::Unclaimed,
            "claimed" => Self::Claimed,
            "live" => Self::Live,
            "expired" => Self::Expired,
            _ => return None,
        })
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unclaimed => "unclaimed",
            Self::Claimed => "claimed",
            Self::Live => "live",
            Self::Expired => "expired",
        }
    }
}

/// A claimable sandbox as Stripe describes it.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// `clmsbx_…`.
    pub id: String,
    /// Lifecycle status.
    pub status: SandboxStatus,
    /// The sandbox's account id (`acct_…`).
    pub account: Option<String>,
    /// The onboarding (claim) link.
    pub onboarding_url: Option<String>,
    /// When the onboarding link expires (Unix seconds).
    pub onboarding_expires_at: Option<i64>,
    /// The sandbox's secret key (create only).
    pub secret_key: Option<Secret>,
    /// The sandbox's publishable key (create only).
    pub publishable_key: Option<String>,
}

/// A failed Stripe call. Never holds a key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error object.
    #[error("Stripe refused ({status}{}): {message}", code.as_ref().map(|c| format!(", {c}")).unwrap_or_default())]
    Api {
        /// HTTP status.
        status: u16,
        /// Stripe's error code.
        code: Option<String>,
        /// Stripe's message.
        message: String,
    },
    /// Stripe could not be reached or answered something unreadable.
    #[error("Stripe is unreachable or answered unexpectedly: {0}")]
    Transport(String),
}

/// Values prefilled when the builder claims the sandbox.
#[derive(Debug, Clone)]
pub struct Prefill {
    /// The builder's email.
    pub email: String,
    /// The sandbox's name (the app's name).
    pub name: String,
    /// Two-letter country code.
    pub country: String,
}

/// A client for the platform's Stripe account.
#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    api_base: String,
    api_key: Secret,
    version: String,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("api_base", &self.api_base)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl StripeClient {
    /// A client for `api_base` (e.g. `https://api.stripe.com`) with the platform key.
    pub fn new(api_base: &str, api_key: Secret, version: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .expect("a TLS backend is compiled in");
        Self {
            http,
            api_base: api_base.trim_end_matches('/').to_string(),
            api_key,
            version: version.to_string(),
        }
    }

    /// `POST /v2/core/claimable_sandboxes`.
    pub async fn create(
        &self,
        prefill: &Prefill,
        refresh_url: &str,
    ) -> Result<Sandbox, StripeError> {
        let body = json!({
            "enable_mcp_access": false,
            "prefill": {"email": prefill.email, "name": prefill.name, "country": prefill.country},
            "onboarding_link_details": {"refresh_url": refresh_url},
        });
        self.call(
            reqwest::Method::POST,
            "/v2/core/claimable_sandboxes",
            Some(body),
        )
        .await
    }

    /// `GET /v2/core/claimable_sandboxes/{id}`.
    pub async fn retrieve(&self, id: &str) -> Result<Sandbox, StripeError> {
        self.call(
            reqwest::Method::GET,
            &format!("/v2/core/claimable_sandboxes/{}", path_segment(id)?),
            None,
        )
        .await
    }

    /// `POST /v2/core/claimable_sandboxes/{id}/renew_onboarding_link`.
    pub async fn renew_onboarding_link(
        &self,
        id: &str,
        refresh_url: &str,
    ) -> Result<Sandbox, StripeError> {
        let body = json!({"onboarding_link_details": {"refresh_url": refresh_url}});
        self.call(
            reqwest::Method::POST,
            &format!(
                "/v2/core/claimable_sandboxes/{}/renew_onboarding_link",
                path_segment(id)?
            ),
            Some(body),
        )
        .await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Sandbox, StripeError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api_base))
            .bearer_auth(self.api_key.expose())
            .header("Stripe-Version", &self.version)
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            StripeError::Transport(if e.is_timeout() {
                "timed out".into()
            } else {
                "connection failed".into()
            })
        })?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|_| StripeError::Transport("the answer was cut off".into()))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
            StripeError::Transport(format!("HTTP {status} with a body that is not JSON"))
        })?;
        if !(200..300).contains(&status) {
            let error = &value["error"];
            return Err(StripeError::Api {
                status,
                code: error["code"].as_str().map(str::to_string),
                message: error["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .chars()
                    .take(300)
                    .collect(),
            });
        }
        parse_sandbox(&value)
    }
}

fn path_segment(id: &str) -> Result<&str, StripeError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(StripeError::Transport(
            "a stored sandbox id is malformed".into(),
        ))
    }
}

/// A key token wherever this API version puts it: `kind.<kind>_key.token`,
/// `kind.token`, or a bare string (older previews).
fn key_token(keys: &Value, kind: &str) -> Option<String> {
    let entry = &keys[kind];
    entry[format!("{kind}_key")]["token"]
        .as_str()
        .or_else(|| entry["token"].as_str())
        .or_else(|| entry.as_str())
        .map(str::to_string)
}

fn parse_time(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Reads a ClaimableSandbox object.
pub fn parse_sandbox(value: &Value) -> Result<Sandbox, StripeError> {
    let bad = |what: &str| StripeError::Transport(format!("the sandbox object has no {what}"));
    let id = value["id"].as_str().ok_or_else(|| bad("id"))?.to_string();
    let status = value["status"]
        .as_str()
        .and_then(SandboxStatus::parse)
        .ok_or_else(|| bad("known status"))?;
    let details = &value["sandbox_details"];
    let keys = &details["api_keys"];
    let link = &value["onboarding_link_details"];
    Ok(Sandbox {
        id,
        status,
        account: details["account"].as_str().map(str::to_string),
        onboarding_url: link["url"].as_str().map(str::to_string),
        onboarding_expires_at: parse_time(&link["expires_at"]),
        secret_key: key_token(keys, "secret").map(Secret::new),
        publishable_key: key_token(keys, "publishable"),
    })
}

/// Formats Unix seconds as RFC 3339 (for fakes and logs).
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_object_with_keys() {
        let value = json!({
            "id": "clmsbx_test_1", "object": "v2.core.claimable_sandbox", "status": "unclaimed",
            "onboarding_link_details": {"url": "https://dashboard.stripe.com/onboard_sandbox/x", "expires_at": "2025-01-07T01:00:00.000Z"},
            "sandbox_details": {"account": "acct_1", "api_keys": {
                "secret": {"id": "sk_id", "secret_key": {"token": "sk_test_canary"}},
                "publishable": {"id": "pk_id", "publishable_key": {"token": "pk_test_1"}}
            }},
            "livemode": false
        });
        let s = parse_sandbox(&value).unwrap();
        assert_eq!(s.status, SandboxStatus::Unclaimed);
        assert_eq!(s.account.as_deref(), Some("acct_1"));
        assert_eq!(s.secret_key.unwrap().expose(), "sk_test_canary");
        assert_eq!(s.publishable_key.as_deref(), Some("pk_test_1"));
        assert_eq!(s.onboarding_expires_at, Some(1736211600));
    }

    #[test]
    fn keys_may_be_bare_strings_or_absent() {
        let value = json!({"id": "c", "status": "live", "sandbox_details": {"api_keys": {"secret": "sk_x"}}});
        let s = parse_sandbox(&value).unwrap();
        assert_eq!(s.secret_key.unwrap().expose(), "sk_x");
        let value = json!({"id": "c", "status": "claimed", "sandbox_details": {"api_keys": null}});
        assert!(parse_sandbox(&value).unwrap().secret_key.is_none());
        assert!(parse_sandbox(&json!({"status": "live"})).is_err());
    }

    #[test]
    fn rfc3339_round_trips() {
        assert_eq!(parse_time(&json!(rfc3339(1736211600))), Some(1736211600));
    }
}
