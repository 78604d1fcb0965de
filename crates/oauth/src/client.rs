//! Sending token and revocation requests.

use std::collections::BTreeMap;
use std::time::Duration;

use connectors_catalog::{ClientCredentials, OAuthSpec};
use connectors_clock::Clock;
use connectors_vault::Secret;

use crate::oidc::{Jwks, ProviderMetadata, UserInfoClaims};
use crate::response::{error_of, failure};
use crate::token::revocation_request;
use crate::OidcError;
use crate::{parse_token_response_at, token_request, Grant, TokenError, TokenRequest, TokenSet};

/// Largest response body read from a provider.
const MAX_BODY: usize = 1024 * 1024;

/// The outbound HTTP client for token endpoints: rustls, no redirects (a
/// redirect could carry the client secret elsewhere), bounded time.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    timeout: Duration,
    /// Turns a provider's absolute `expires_at` into a lifetime.
    clock: Clock,
}

impl OAuthClient {
    /// A client whose connection and whole request (including the body) each
    /// take at most `timeout`.
    ///
    /// # Panics
    /// If the TLS backend cannot be initialized (a broken build, not a
    /// runtime condition).
    pub fn new(timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("connectors-oauth/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the rustls HTTP client builds");
        Self {
            http,
            timeout,
            clock: Clock::system(),
        }
    }

    /// The same client reading "now" from `clock` (tests move it forward).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Trades `grant` for tokens at the provider's token endpoint; the grant
    /// (with its single-use verifier) is used up.
    ///
    /// A request that cannot be built (missing placeholder, missing client
    /// secret, …) is a [`TokenError::Transient`] whose reason says what to
    /// configure.
    pub async fn exchange(
        &self,
        spec: &OAuthSpec,
        client: &ClientCredentials,
        grant: Grant<'_>,
        connection_config: &BTreeMap<String, String>,
    ) -> Result<TokenSet, TokenError> {
        let request = token_request(spec, client, &grant, connection_config)?;
        let answer = self.send(request).await?;
        parse_token_response_at(spec, answer.status, &answer.body, self.clock.now_secs())
            .map_err(|e| answer.with_retry_after(e))
    }

    /// Revokes `token` (RFC 7009) with the same client authentication as
    /// token requests; `token_type_hint` (`access_token`, `refresh_token`)
    /// is omitted when empty. `Ok(())` when the provider has no revocation
    /// endpoint.
    pub async fn revoke(
        &self,
        spec: &OAuthSpec,
        client: &ClientCredentials,
        token: &Secret,
        token_type_hint: &str,
        connection_config: &BTreeMap<String, String>,
    ) -> Result<(), TokenError> {
        let Some(request) =
            revocation_request(spec, client, token, token_type_hint, connection_config)?
        else {
            return Ok(());
        };
        let answer = self.send(request).await?;
        let json = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .filter(serde_json::Value::is_object);
        if (200..300).contains(&answer.status) {
            // RFC 7009 answers 200 with no body. A provider that answers 200
            // with an OAuth error (or `ok: false`) did not revoke; nor did one
            // whose 200 is an HTML page (a proxy's, a login page) or JSON
            // cut short: those are not the revocation endpoint speaking.
            let flagged = spec
                .token_response
                .success_flag
                .as_deref()
                .is_some_and(|flag| {
                    json.as_ref().and_then(|j| j.get(flag)) == Some(&serde_json::Value::Bool(false))
                });
            let error = json.as_ref().and_then(|j| error_of(j, answer.status));
            let blank = answer.body.iter().all(u8::is_ascii_whitespace);
            let media = answer.content_type.as_str();
            let parses = serde_json::from_slice::<serde_json::Value>(&answer.body).is_ok();
            if !blank && media.contains("html") {
                return Err(TokenError::transient(format!(
                    "the revocation endpoint answered HTTP {} with an HTML page",
                    answer.status
                )));
            }
            if !blank && media.contains("json") && !parses {
                return Err(TokenError::transient(format!(
                    "the revocation endpoint answered HTTP {} with malformed JSON",
                    answer.status
                )));
            }
            if !flagged && error.is_none() {
                return Ok(());
            }
        }
        Err(answer.with_retry_after(failure(answer.status, json.as_ref())))
    }

    /// Sends `request` and reads the answer, at most [`MAX_BODY`] bytes.
    async fn send(&self, request: TokenRequest) -> Result<Answer, TokenError> {
        let host = reqwest::Url::parse(&request.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let mut builder = self
            .http
            .post(&request.url)
            .header(reqwest::header::CONTENT_TYPE, request.content_type);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = builder
            .body(request.body.expose().to_owned())
            .send()
            .await
            .map_err(|e| self.transport_error(&e, &host))?;
        read_answer(response, &host, self.clock.now_secs())
            .await
            .map_err(|e| TokenError::transient(self.read_failure(e, &host)))
    }

    /// `GET url` for a JSON object (discovery, keys, userinfo), with
    /// `bearer` as `Authorization: Bearer` when given; `what` names the
    /// document in errors.
    async fn get_json(
        &self,
        what: &'static str,
        url: &str,
        bearer: Option<&Secret>,
    ) -> Result<serde_json::Value, OidcError> {
        let fail = |reason: String| OidcError::Fetch {
            what,
            url: url.to_owned(),
            reason,
        };
        let parsed = crate::template::check_endpoint(url).map_err(fail)?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let mut builder = self
            .http
            .get(parsed)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            builder = builder.bearer_auth(token.expose());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| fail(self.transport_reason(&e, &host)))?;
        let answer = read_answer(response, &host, self.clock.now_secs())
            .await
            .map_err(|e| fail(self.read_failure(e, &host)))?;
        if !(200..300).contains(&answer.status) {
            return Err(fail(format!("it answered HTTP {}", answer.status)));
        }
        serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .filter(serde_json::Value::is_object)
            .ok_or_else(|| {
                fail(format!(
                    "it answered HTTP {} with a body that is not a JSON object{}",
                    answer.status,
                    if answer.content_type.contains("jwt") {
                        " (a signed JWT, which this server does not read)"
                    } else {
                        ""
                    }
                ))
            })
    }

    /// Fetches and checks the discovery document of `issuer` (OpenID
    /// Connect Discovery 1.0): it must name exactly that issuer.
    pub async fn discover(&self, issuer: &str) -> Result<ProviderMetadata, OidcError> {
        let url = crate::oidc::discovery_url(issuer);
        let document = self.get_json("the discovery document", &url, None).await?;
        ProviderMetadata::from_document(issuer, &url, &document)
    }

    /// Fetches a provider's signing keys from its `jwks_uri`.
    pub async fn jwks(&self, jwks_uri: &str) -> Result<Jwks, OidcError> {
        let document = self.get_json("the signing keys", jwks_uri, None).await?;
        Ok(Jwks::from_document(&document))
    }

    /// The userinfo answer (OpenID Connect Core §5.3) for `access_token`.
    pub async fn userinfo(
        &self,
        endpoint: &str,
        access_token: &Secret,
    ) -> Result<UserInfoClaims, OidcError> {
        let answer = self
            .get_json("userinfo", endpoint, Some(access_token))
            .await?;
        Ok(UserInfoClaims::from_answer(&answer))
    }

    /// A short reason for a transport failure; never reqwest's own text,
    /// which may quote the URL or a header.
    fn transport_reason(&self, error: &reqwest::Error, host: &str) -> String {
        if error.is_timeout() {
            format!("`{host}` did not answer within {:?}", self.timeout)
        } else if error.is_connect() {
            format!("could not connect to `{host}`")
        } else if error.is_builder() {
            "the request could not be built (check `token_headers`)".to_owned()
        } else if error.is_body() || error.is_decode() {
            format!("reading the answer of `{host}` failed (the connection broke mid-answer)")
        } else {
            format!("`{host}` closed or reset the connection without an answer")
        }
    }

    fn transport_error(&self, error: &reqwest::Error, host: &str) -> TokenError {
        TokenError::transient(self.transport_reason(error, host))
    }

    fn read_failure(&self, failure: ReadFailure, host: &str) -> String {
        match failure {
            ReadFailure::TooLarge(reason) => reason,
            ReadFailure::Transport(e) => self.transport_reason(&e, host),
        }
    }
}

/// Why an answer could not be read whole.
enum ReadFailure {
    /// Longer than [`MAX_BODY`]: the reason.
    TooLarge(String),
    /// The connection failed mid-answer.
    Transport(reqwest::Error),
}

/// Reads a response whole, at most [`MAX_BODY`] bytes.
async fn read_answer(
    mut response: reqwest::Response,
    host: &str,
    now_secs: i64,
) -> Result<Answer, ReadFailure> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let retry_after_secs = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, now_secs));
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadFailure::Transport)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ReadFailure::TooLarge(format!(
                "the answer of `{host}` (HTTP {status}) exceeds {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        content_type,
        retry_after_secs,
        body,
    })
}

/// A provider's answer, read whole.
struct Answer {
    status: u16,
    /// `Content-Type`, lowercased (empty when absent).
    content_type: String,
    /// The `Retry-After` header, in seconds from now.
    retry_after_secs: Option<u64>,
    body: Vec<u8>,
}

impl Answer {
    /// Adds the answer's `Retry-After` to a transient error.
    fn with_retry_after(&self, error: TokenError) -> TokenError {
        match error {
            TokenError::Transient {
                reason,
                retry_after_secs: None,
            } if self.retry_after_secs.is_some() => TokenError::Transient {
                reason,
                retry_after_secs: self.retry_after_secs,
            },
            other => other,
        }
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): seconds, or an HTTP date
/// (turned into seconds from `now_secs`).
fn retry_after(value: &str, now_secs: i64) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some((at - now_secs).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::retry_after;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after("120", 0), Some(120));
        assert_eq!(retry_after(" 0 ", 0), Some(0));
        assert_eq!(retry_after("Thu, 01 Jan 1970 00:02:00 GMT", 60), Some(60));
        assert_eq!(retry_after("Thu, 01 Jan 1970 00:00:00 GMT", 60), Some(0));
        assert_eq!(retry_after("soon", 0), None);
    }
}
