//! `callApi` (#14): an app's functions call a provider's API through this
//! server without holding its token. The catalog says where the API is
//! and what may pass ([`connectors_catalog::ApiSpec`]); the proxy crate
//! checks the request and makes the call; this use case ties them to the
//! app's connection: its token (cached, refreshed when due), one forced
//! refresh when the provider answers 401, and one replay of an idempotent
//! call with the new token, never more.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connectors_catalog::ApiSpec;
use connectors_proxy::{
    check_path, check_request_header, encode_body, join_url, never_forwarded, query_pairs,
    Outbound, Outcome, Phase, RequestError, UpstreamCall, METHODS,
};
use connectors_store::ConnectorKey;
use connectors_wire::{IntegrationType, ProxyCallRequest, ProxyEnvelope};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use serde_json::Value;

use crate::cache::CachedToken;
use crate::{Engine, EngineError, Result, ServiceApp};

/// The operator's `[proxy]` settings.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// Let the proxy call loopback and private networks (development).
    pub allow_private_networks: bool,
    /// Until the upstream connection (and TLS) is up.
    pub connect_timeout: Duration,
    /// Until the whole upstream response is read.
    pub timeout: Duration,
    /// Largest upstream response body (decoded).
    pub max_response_bytes: usize,
    /// Calls each app may make per UTC month; none: unmetered.
    pub monthly_calls: Option<u64>,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_response_bytes: 10 * 1024 * 1024,
            monthly_calls: None,
        }
    }
}

impl ProxySettings {
    pub(crate) fn outbound(&self) -> Outbound {
        Outbound::new(connectors_proxy::OutboundConfig {
            policy: connectors_proxy::AddressPolicy {
                allow_private_networks: self.allow_private_networks,
                setting: "[proxy] allow_private_networks",
            },
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

fn bad(e: impl std::fmt::Display) -> EngineError {
    EngineError::BadRequest(e.to_string())
}

impl From<RequestError> for EngineError {
    fn from(e: RequestError) -> Self {
        bad(e)
    }
}

/// `call_api`'s answer: the envelope, and the time spent waiting for the
/// upstream (both calls when a 401 was replayed), for the metrics.
#[derive(Debug, Clone)]
pub struct ProxyAnswer {
    /// What the SDK gets.
    pub envelope: ProxyEnvelope,
    /// Time in upstream calls.
    pub upstream_time: Duration,
}

/// What a checked request will send, before the token is known.
struct Prepared {
    method: reqwest::Method,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    query: Vec<(String, String)>,
}

impl Engine {
    /// `POST /api/apps/{app_id}/connectors/{type}/call`: the app's own
    /// connection of `integration_type` calls its API. Everything a caller
    /// controls is checked before any network I/O.
    pub async fn call_api(
        &self,
        app: &ServiceApp,
        ty: &IntegrationType,
        request: ProxyCallRequest,
    ) -> Result<ProxyAnswer> {
        let not_configured = || EngineError::ProxyNotConfigured(ty.to_string());
        let api = self
            .catalog()
            .get(ty)
            .map(|i| i.api())
            .filter(|api| !api.hosts.is_empty())
            .ok_or_else(not_configured)?;
        let prepared = prepare(&api, &request)?;
        let key = ConnectorKey::new(app.app_id(), ty.clone());
        let token = self
            .usable_token(&key, || EngineError::ConnectorNotFound(ty.to_string()))
            .await?;
        let config = token.connection_config.clone().unwrap_or_default();
        let base = api
            .base_url(request.host.as_deref(), &config)
            .map_err(bad)?;
        let url = join_url(&base, &request.path, &prepared.query)?;
        let metered = self.take_call(app).await?;
        let outbound = &self.inner.outbound;
        let mut outcome = outbound
            .send(upstream(&api, &prepared, &url, &token)?)
            .await;
        let mut upstream_time = outcome.elapsed;
        if outcome.phase == Phase::Responded && outcome.status == Some(401) {
            if let Some(replayed) = self
                .after_refused(&key, &api, &prepared, &url, &token)
                .await?
            {
                upstream_time += replayed.elapsed;
                outcome = replayed;
            }
        }
        let mut credits = 0;
        if let Some(month) = metered {
            if outcome.phase == Phase::NotSent {
                self.store().refund_proxy_call(app.app_id(), &month).await?;
            } else {
                credits = 1;
            }
        }
        let mut answer = envelope(&api, outcome);
        answer.credits_charged = credits;
        Ok(ProxyAnswer {
            envelope: answer,
            upstream_time,
        })
    }

    /// Counts the call against the app's monthly quota, when the operator
    /// set one: the month counted, or `ProxyQuotaExhausted`.
    async fn take_call(&self, app: &ServiceApp) -> Result<Option<String>> {
        let Some(limit) = self.config().proxy.monthly_calls else {
            return Ok(None);
        };
        let Ok(now) = time::OffsetDateTime::from_unix_timestamp(self.now()) else {
            return Err(EngineError::ServerMisconfigured(
                "the server clock is out of range; fix the system time".into(),
            ));
        };
        let month = format!("{:04}-{:02}", now.year(), u8::from(now.month()));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        if self
            .store()
            .take_proxy_call(app.app_id(), &month, limit)
            .await?
        {
            Ok(Some(month))
        } else {
            Err(EngineError::ProxyQuotaExhausted)
        }
    }

    /// The provider refused the token: one refresh (shared with every
    /// caller refused the same token), then the replay of an idempotent
    /// call with the new token. `None`: the 401 stands (not idempotent, no
    /// new token, or the refresh failed).
    async fn after_refused(
        &self,
        key: &ConnectorKey,
        api: &ApiSpec,
        prepared: &Prepared,
        url: &url::Url,
        refused: &CachedToken,
    ) -> Result<Option<Outcome>> {
        let renewed = match self.refresh_refused(key, refused.version).await {
            Ok(row) if row.version != refused.version => row,
            Ok(_) => return Ok(None),
            Err(e) if e.is_internal() => return Err(e),
            Err(e) => {
                tracing::info!(app_id = %key.app_id, integration_type = %key.integration_type,
                    reason = %e, "refresh after the provider's 401 failed");
                return Ok(None);
            }
        };
        if !idempotent(&prepared.method) {
            return Ok(None);
        }
        let token = Arc::new(self.cached_token(
            key,
            refused.connection_config.clone(),
            &renewed,
            self.now_ms(),
        )?);
        Ok(Some(
            self.inner
                .outbound
                .send(upstream(api, prepared, url, &token)?)
                .await,
        ))
    }
}

/// GET, HEAD, PUT and DELETE may be sent twice with the same effect.
fn idempotent(method: &reqwest::Method) -> bool {
    use reqwest::Method;
    [Method::GET, Method::HEAD, Method::PUT, Method::DELETE].contains(method)
}

/// The method, the headers the type lets through (others are dropped, as
/// the SDK documents), the body as bytes, and the query pairs.
fn prepare(api: &ApiSpec, request: &ProxyCallRequest) -> Result<Prepared> {
    let method = METHODS
        .iter()
        .find(|m| **m == request.method)
        .and_then(|m| reqwest::Method::from_bytes(m.as_bytes()).ok())
        .ok_or_else(|| {
            bad("`method` must be one of GET, POST, PUT, PATCH, DELETE or HEAD (upper case)")
        })?;
    check_path(&request.path)?;
    api.host(request.host.as_deref()).map_err(bad)?;
    let query = query_pairs(&request.query)?;
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => {
                return Err(bad(format!(
                    "header `{}` must be a string",
                    name.chars().take(100).collect::<String>()
                )))
            }
        };
        let (name, value) = check_request_header(name, &value)?;
        if never_forwarded(name.as_str()) || !api.allows_request_header(name.as_str()) {
            continue;
        }
        headers.append(name, value);
    }
    let body = if method == reqwest::Method::GET || method == reqwest::Method::HEAD {
        None
    } else {
        match &request.body {
            Value::Null => None,
            // A string sent with a non-JSON content type is the body itself
            // (a form, XML); anything else is JSON.
            Value::String(text)
                if headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|c| !c.to_ascii_lowercase().contains("json")) =>
            {
                Some(text.clone().into_bytes())
            }
            json => {
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                Some(json.to_string().into_bytes())
            }
        }
    };
    Ok(Prepared {
        method,
        headers,
        body,
        query,
    })
}

/// The call with `token` in the type's auth header.
fn upstream(
    api: &ApiSpec,
    prepared: &Prepared,
    url: &url::Url,
    token: &CachedToken,
) -> Result<UpstreamCall> {
    let mut headers = prepared.headers.clone();
    let name =
        HeaderName::from_bytes(api.auth.header.to_ascii_lowercase().as_bytes()).map_err(|_| {
            EngineError::ServerMisconfigured(format!(
                "the API auth header `{}` is not a valid header name; fix `api.auth` of this type",
                api.auth.header
            ))
        })?;
    let mut value = HeaderValue::from_str(&api.auth.value_for(token.access_token.expose()))
        .map_err(|_| {
            EngineError::ServerMisconfigured(
            "the API auth header's value is not a valid header value; fix `api.auth` of this type"
                .into(),
        )
        })?;
    value.set_sensitive(true);
    headers.insert(name, value);
    Ok(UpstreamCall {
        method: prepared.method.clone(),
        url: url.clone(),
        headers,
        body: prepared.body.clone(),
        follow_redirects: api.follow_redirects,
    })
}

/// The SDK's envelope of `outcome`: the body as JSON, text or base64; only
/// the headers the type exposes; an `{"error": …}` when no (whole)
/// response came.
fn envelope(api: &ApiSpec, outcome: Outcome) -> ProxyEnvelope {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &outcome.headers {
        if api.exposes_response_header(name) {
            headers
                .entry(name.clone())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(value);
                })
                .or_insert_with(|| value.clone());
        }
    }
    let success = outcome.success();
    let (data, data_base64, content_type) = match (&outcome.phase, &outcome.error) {
        (Phase::Responded, None) => {
            let b = encode_body(
                outcome.content_type.as_deref(),
                &outcome.body,
                &api.binary_types,
            );
            (b.data, b.data_base64, b.content_type)
        }
        (_, error) => (
            serde_json::json!({"error": error.as_deref().unwrap_or("no response")}),
            None,
            None,
        ),
    };
    ProxyEnvelope {
        success,
        phase: outcome.phase.as_str().into(),
        status_code: outcome.status,
        data,
        data_base64,
        content_type,
        headers,
        credits_charged: 0,
    }
}
