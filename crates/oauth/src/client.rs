//! Sending token and revocation requests.

use std::collections::BTreeMap;
use std::time::Duration;

use connectors_catalog::{ClientCredentials, OAuthSpec};
use connectors_clock::Clock;
use connectors_vault::Secret;

use crate::response::failure;
use crate::token::revocation_request;
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
        let (status, body) = self.send(request).await?;
        parse_token_response_at(spec, status, &body, self.clock.now_secs())
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
        let (status, body) = self.send(request).await?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        let json = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .filter(serde_json::Value::is_object);
        Err(failure(status, json.as_ref()))
    }

    /// Sends `request` and reads the answer, at most [`MAX_BODY`] bytes.
    async fn send(&self, request: TokenRequest) -> Result<(u16, Vec<u8>), TokenError> {
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
        let mut response = builder
            .body(request.body.expose().to_owned())
            .send()
            .await
            .map_err(|e| self.transport_error(&e, &host))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(&e, &host))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(TokenError::Transient {
                    reason: format!(
                        "the answer of `{host}` (HTTP {status}) exceeds {MAX_BODY} bytes"
                    ),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }

    /// A short reason for a transport failure; never reqwest's own text,
    /// which may quote the URL or a header.
    fn transport_error(&self, error: &reqwest::Error, host: &str) -> TokenError {
        let reason = if error.is_timeout() {
            format!("`{host}` did not answer within {:?}", self.timeout)
        } else if error.is_connect() {
            format!("could not connect to `{host}`")
        } else if error.is_builder() {
            "the request could not be built (check `token_headers`)".to_owned()
        } else if error.is_body() || error.is_decode() {
            format!("reading the answer of `{host}` failed")
        } else {
            format!("the request to `{host}` failed")
        };
        TokenError::Transient { reason }
    }
}
