//! The `callApi` proxy's request and envelope (protocol.md §1.2), exactly
//! as `@base44/sdk` 0.8.50 sends and maps them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /api/apps/{app_id}/connectors/{type}/call`'s body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyCallRequest {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE` or `HEAD` (the SDK checks;
    /// the server checks again).
    #[serde(default = "default_method")]
    pub method: String,
    /// One of the type's API hosts by name; absent: the first.
    #[serde(default)]
    pub host: Option<String>,
    /// Relative to the host's API root, with an optional `?query`.
    pub path: String,
    /// Merged into the path's query (arrays repeat the key).
    #[serde(default)]
    pub query: serde_json::Map<String, Value>,
    /// Only those the type allows are forwarded; the rest are dropped.
    #[serde(default)]
    pub headers: serde_json::Map<String, Value>,
    /// JSON, ignored for GET and HEAD.
    #[serde(default)]
    pub body: Value,
}

fn default_method() -> String {
    "GET".into()
}

/// The envelope: upstream answers of any status come back as 200 with
/// `phase: "responded"`; only this server's refusals use other statuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyEnvelope {
    /// A 2xx with its whole body.
    pub success: bool,
    /// `not_sent`, `sent_unconfirmed`, `timed_out` or `responded`.
    pub phase: String,
    /// The upstream status, when it responded.
    pub status_code: Option<u16>,
    /// Parsed JSON, text, null for binary; `{"error": …}` when no
    /// (complete) response came.
    pub data: Value,
    /// Base64 of a binary body.
    pub data_base64: Option<String>,
    /// Set only alongside `data_base64`.
    pub content_type: Option<String>,
    /// The upstream headers the type exposes (rate limits, `etag`, …).
    pub headers: BTreeMap<String, String>,
    /// Always 0 on this server unless an operator meters calls.
    pub credits_charged: u64,
}
