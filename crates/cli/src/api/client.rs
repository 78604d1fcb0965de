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

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};

/// How many times a failed attempt may be retried.
const RETRY_LIMIT: u32 = 2;
/// Statuses ky retries.
const RETRY_STATUSES: [u16; 7] = [408, 413, 429, 500, 502, 503, 504];
/// Statuses whose `Retry-After` ky honours.
const RETRY_AFTER_STATUSES: [u16; 3] = [413, 429, 503];
/// ky's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The timeout of the three Stripe calls.
pub const STRIPE_TIMEOUT: Duration = Duration::from_secs(60);
/// We honour `Retry-After`, but not beyond this: a misconfigured server must
/// not park the CLI for a day.
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

/// What one attempt ended with, for [`retry_delay`].
#[derive(Debug, Clone, Copy)]
pub enum Attempt<'a> {
    /// An HTTP response with this status and `Retry-After`-like header.
    Status(u16, Option<&'a str>),
    /// No response (network error).
    Network,
    /// The attempt timed out.
    Timeout,
}

/// ky's retry policy: the delay before retry number `retry` (1-based), or
/// `None` when the failure is final.
pub fn retry_delay(
    method: &Method,
    retry: u32,
    attempt: Attempt<'_>,
    now_ms: f64,
) -> Option<Duration> {
    if retry > RETRY_LIMIT {
        return None;
    }
    if !matches!(
        *method,
        Method::GET | Method::PUT | Method::HEAD | Method::DELETE | Method::OPTIONS | Method::TRACE
    ) {
        return None;
    }
    let backoff = Duration::from_millis((300.0 * 2f64.powi(retry as i32 - 1)) as u64);
    match attempt {
        Attempt::Timeout => None,
        Attempt::Network => Some(backoff),
        Attempt::Status(code, retry_after) => {
            if !RETRY_STATUSES.contains(&code) {
                return None;
            }
            if let (Some(value), true) = (retry_after, RETRY_AFTER_STATUSES.contains(&code)) {
                if let Some(ms) = retry_after_ms(value, now_ms) {
                    let ms = ms.clamp(0.0, MAX_RETRY_AFTER.as_millis() as f64);
                    return Some(Duration::from_millis(ms as u64));
                }
            }
            if code == 413 {
                return None;
            }
            Some(backoff)
        }
    }
}

/// `Retry-After` in milliseconds: seconds, an epoch timestamp in seconds
/// (ky treats values at or after 2024-01-01 as one), or an HTTP date.
fn retry_after_ms(value: &str, now_ms: f64) -> Option<f64> {
    const JAN_2024_MS: f64 = 1_704_067_200_000.0;
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Ok(secs) = value.parse::<f64>() {
        let ms = secs * 1000.0;
        return Some(if ms >= JAN_2024_MS { ms - now_ms } else { ms });
    }
    http_date_ms(value).map(|t| t - now_ms)
}

/// An HTTP date (any of the three forms) as epoch milliseconds.
fn http_date_ms(value: &str) -> Option<f64> {
    let time = httpdate::parse_http_date(value).ok()?;
    let since = time.duration_since(UNIX_EPOCH).ok()?;
    Some(since.as_millis() as f64)
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
            let kind = match &outcome {
                Ok(a) => Attempt::Status(a.status, a.retry_after.as_deref()),
                Err(TransportError::Timeout(_)) => Attempt::Timeout,
                Err(TransportError::Network(_)) => Attempt::Network,
            };
            match retry_delay(&method, retry, kind, now_ms()) {
                Some(delay) => tokio::time::sleep(delay).await,
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
        let retry_after = [
            "retry-after",
            "ratelimit-reset",
            "x-ratelimit-retry-after",
            "x-ratelimit-reset",
            "x-rate-limit-reset",
        ]
        .iter()
        .find_map(|h| header(h));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_like_ky() {
        let get = Method::GET;
        assert_eq!(
            retry_delay(&get, 1, Attempt::Status(500, None), 0.0),
            Some(Duration::from_millis(300))
        );
        assert_eq!(
            retry_delay(&get, 2, Attempt::Status(503, None), 0.0),
            Some(Duration::from_millis(600))
        );
        assert_eq!(retry_delay(&get, 3, Attempt::Status(500, None), 0.0), None);
        assert_eq!(retry_delay(&get, 1, Attempt::Status(404, None), 0.0), None);
        assert_eq!(retry_delay(&get, 1, Attempt::Status(401, None), 0.0), None);
        assert_eq!(
            retry_delay(&get, 1, Attempt::Network, 0.0),
            Some(Duration::from_millis(300))
        );
        assert_eq!(retry_delay(&get, 1, Attempt::Timeout, 0.0), None);
        assert_eq!(
            retry_delay(&Method::POST, 1, Attempt::Status(500, None), 0.0),
            None
        );
        assert_eq!(
            retry_delay(&Method::PUT, 1, Attempt::Status(502, None), 0.0),
            Some(Duration::from_millis(300))
        );
    }

    #[test]
    fn retry_after_on_413_429_503_only() {
        let get = Method::GET;
        assert_eq!(
            retry_delay(&get, 1, Attempt::Status(429, Some("2")), 0.0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_delay(&get, 1, Attempt::Status(500, Some("2")), 0.0),
            Some(Duration::from_millis(300))
        );
        // 413 is retried only when the server says when.
        assert_eq!(retry_delay(&get, 1, Attempt::Status(413, None), 0.0), None);
        assert_eq!(
            retry_delay(&get, 1, Attempt::Status(413, Some("1")), 0.0),
            Some(Duration::from_secs(1))
        );
        // An epoch timestamp and an HTTP date.
        let now = 1_800_000_000_000.0;
        assert_eq!(
            retry_delay(&get, 1, Attempt::Status(503, Some("1800000003")), now),
            Some(Duration::from_secs(3))
        );
        let date_ms = http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(date_ms, 784_111_777_000.0);
        // The two obsolete forms HTTP still allows.
        assert_eq!(
            http_date_ms("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784_111_777_000.0)
        );
        assert_eq!(
            http_date_ms("Sun Nov  6 08:49:37 1994"),
            Some(784_111_777_000.0)
        );
        assert_eq!(http_date_ms("tomorrow"), None);
        assert_eq!(
            retry_delay(
                &get,
                1,
                Attempt::Status(503, Some("Sun, 06 Nov 1994 08:49:40 GMT")),
                date_ms
            ),
            Some(Duration::from_secs(3))
        );
    }
}
