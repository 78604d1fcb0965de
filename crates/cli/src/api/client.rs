//! The HTTP layer: headers, credentials, timeouts and retries exactly as the
//! npm CLI's ky clients do them (protocol.md §1.1, §2.1, §2.3).
//!
//! - Every attempt gets `User-Agent: Base44 CLI` and a fresh `X-Request-ID`
//!   (ky runs its `beforeRequest` hooks per attempt); a re-send after a token
//!   refresh keeps the id, so server logs show one logical request.
//! - GET/PUT/HEAD/DELETE are retried up to twice on 408/413/429/500/502/503/504
//!   and network errors, after 0.3 s then 0.6 s, or after `Retry-After` on
//!   413/429/503; POST and timeouts are never retried.
//! - A 401 with a stored login refreshes the token once and re-sends.
//!
//! Credentials come in through [`Auth`]; a login is a [`TokenSource`], so
//! this module knows nothing of login files, refresh requests or the
//! terminal.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connectors_npm_compat::ky::{self, Failure};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};

/// ky's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The timeout of the three Stripe calls.
pub const STRIPE_TIMEOUT: Duration = Duration::from_secs(60);
/// We honour `Retry-After`, but not beyond this: a misconfigured server must
/// not park the CLI for a day (ky itself would wait up to 24.8 days).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Where the bearer token of a login comes from. [`Http::send`] asks before
/// each request and once more after a 401; how the token is kept and
/// renewed is the implementor's business.
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync {
    /// The token for the next request; `None` sends no `Authorization`.
    async fn token(&self) -> Option<SecretString>;

    /// After a 401 on `used`: a token worth one more attempt, or `None`
    /// when the 401 stands.
    async fn after_unauthorized(&self, used: &SecretString) -> Option<SecretString>;
}

/// How the request authenticates.
#[derive(Clone)]
pub enum Auth {
    /// No credentials (the `oauth/*` endpoints).
    None,
    /// A workspace API key, sent as `api_key`.
    ApiKey(SecretString),
    /// A login, sent as `Authorization: Bearer`, renewed by its source.
    Session(Arc<dyn TokenSource>),
}

/// A request body.
#[derive(Clone, Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/json`.
    Json(String),
    /// `application/x-www-form-urlencoded`.
    Form(String),
}

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The reason phrase (canonical for the code).
    pub status_text: String,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The response's `X-Request-ID`.
    pub request_id: Option<String>,
    /// The body as text.
    pub body: String,
    /// The request's method, for error messages.
    pub method: Method,
    /// The request's URL, for error messages.
    pub url: Url,
}

impl Response {
    /// 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A request that got no HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The attempt exceeded its timeout (`Request timed out: GET <url>`).
    Timeout(String),
    /// Connection refused, DNS failure, TLS failure, reset...
    Network(String),
}

impl TransportError {
    /// The text the npm CLI would put after `Error <context>: `.
    pub fn message(&self) -> &str {
        match self {
            Self::Timeout(m) | Self::Network(m) => m,
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0)
}

/// The shared HTTP client.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    /// `BASE44_API_URL` as given (the `oauth/*` prefix keeps its path).
    pub api_url: String,
}

impl Http {
    /// A client for `api_url`.
    pub fn new(api_url: String) -> Self {
        let client = reqwest::Client::builder()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { client, api_url }
    }

    /// `{BASE44_API_URL}/{path}` as ky's `prefixUrl` joins it.
    pub fn prefixed(&self, path: &str) -> Result<Url, String> {
        let base = if self.api_url.ends_with('/') {
            self.api_url.clone()
        } else {
            format!("{}/", self.api_url)
        };
        Url::parse(&format!("{base}{path}")).map_err(|e| format!("Invalid URL {base}{path}: {e}"))
    }

    /// Sends with retries, credentials and refresh; returns the final response
    /// (any status) or the transport failure.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Body,
        auth: &Auth,
        timeout: Duration,
    ) -> Result<Response, TransportError> {
        let mut retry = 0u32;
        // After a refresh on 401 the request is re-sent with the same id
        // and the new token (and so are that re-send's own retries).
        let mut refreshed: Option<(String, SecretString)> = None;
        loop {
            let (request_id, bearer) = match &refreshed {
                Some((id, token)) => (id.clone(), Some(token.clone())),
                None => {
                    let token = match auth {
                        Auth::Session(s) => s.token().await,
                        _ => None,
                    };
                    (uuid::Uuid::new_v4().to_string(), token)
                }
            };
            let outcome = self
                .attempt(
                    &method,
                    &url,
                    &body,
                    auth,
                    bearer.as_ref(),
                    &request_id,
                    timeout,
                )
                .await;
            if let (Ok(a), None, Auth::Session(session), Some(used)) =
                (&outcome, &refreshed, auth, bearer.as_ref())
            {
                if a.status == 401 {
                    if let Some(token) = session.after_unauthorized(used).await {
                        refreshed = Some((request_id, token));
                        continue;
                    }
                }
            }
            if matches!(&outcome, Ok(a) if a.response.ok()) {
                return outcome.map(|a| a.response);
            }
            retry += 1;
            let failure = match &outcome {
                Ok(a) => Failure::Status(a.status, a.retry_after.as_deref()),
                Err(TransportError::Timeout(_)) => Failure::Timeout,
                Err(TransportError::Network(_)) => Failure::Network,
            };
            match ky::retry_delay(method.as_str(), retry, failure, now_ms()) {
                Some(delay) => tokio::time::sleep(delay.min(MAX_RETRY_AFTER)).await,
                None => return outcome.map(|a| a.response),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: &Body,
        auth: &Auth,
        bearer: Option<&SecretString>,
        request_id: &str,
        timeout: Duration,
    ) -> Result<Attempted, TransportError> {
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, HeaderValue::from_static("Base44 CLI"));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert("x-request-id", v);
        }
        match auth {
            Auth::ApiKey(key) => {
                if let Ok(mut v) = HeaderValue::from_str(key.expose_secret()) {
                    v.set_sensitive(true);
                    headers.insert("api_key", v);
                }
            }
            Auth::Session(_) => {
                if let Some(token) = bearer {
                    let value = format!("Bearer {}", token.expose_secret());
                    if let Ok(mut v) = HeaderValue::from_str(&value) {
                        v.set_sensitive(true);
                        headers.insert(reqwest::header::AUTHORIZATION, v);
                    }
                }
            }
            Auth::None => {}
        }
        let mut builder = self
            .client
            .request(method.clone(), url.clone())
            .timeout(timeout);
        match body {
            Body::Empty => {}
            Body::Json(text) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                builder = builder.body(text.clone());
            }
            Body::Form(text) => {
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                builder = builder.body(text.clone());
            }
        }
        let describe = |e: &reqwest::Error| -> TransportError {
            if e.is_timeout() {
                TransportError::Timeout(format!("Request timed out: {method} {url}"))
            } else {
                TransportError::Network(network_message(e, method, url))
            }
        };
        let resp = builder
            .headers(headers)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type");
        let response_id = header("x-request-id");
        let retry_after = ky::RETRY_AFTER_HEADERS.iter().find_map(|h| header(h));
        let text = resp.text().await.map_err(|e| describe(&e))?;
        Ok(Attempted {
            status: status.as_u16(),
            retry_after,
            response: Response {
                status: status.as_u16(),
                status_text: status.canonical_reason().unwrap_or("").to_string(),
                content_type,
                request_id: response_id,
                body: text,
                method: method.clone(),
                url: url.clone(),
            },
        })
    }
}

/// One attempt's response plus what the retry policy needs.
struct Attempted {
    status: u16,
    retry_after: Option<String>,
    response: Response,
}

/// A network failure in words a person can act on (the npm CLI says only
/// `fetch failed`).
fn network_message(e: &reqwest::Error, method: &Method, url: &Url) -> String {
    use std::error::Error as _;
    let mut cause = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        cause = e.to_string();
    }
    format!("fetch failed ({cause}): {method} {url}")
}
