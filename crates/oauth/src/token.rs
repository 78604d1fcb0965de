//! Token requests (RFC 6749 §4.1.3, §6) and revocation requests (RFC 7009),
//! built as plain values so they can be checked without a network.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use connectors_catalog::{BodyFormat, ClientAuth, ClientCredentials, OAuthSpec};
use connectors_vault::Secret;
use url::form_urlencoded;

use crate::authorize::set_param;
use crate::template::endpoint;
use crate::{OAuthError, PkceVerifier};

/// What is traded for tokens at the token endpoint. `Debug` redacts the code.
///
/// Not `Clone`: an authorization-code grant owns its single-use verifier and
/// is consumed by [`crate::OAuthClient::exchange`].
pub enum Grant<'a> {
    /// The code from the consent callback.
    AuthorizationCode {
        /// The `code` query parameter of the callback.
        code: &'a str,
        /// The same `redirect_uri` as in the consent link.
        redirect_uri: &'a str,
        /// The attempt's PKCE verifier; required when `spec.pkce`, ignored otherwise.
        pkce_verifier: Option<PkceVerifier>,
    },
    /// A refresh token.
    RefreshToken {
        /// The refresh token.
        refresh_token: &'a Secret,
        /// Scopes to send (with `spec.required_scopes`, joined by
        /// `spec.scope_separator`); none are sent when `None`.
        scopes: Option<&'a [String]>,
    },
}

impl fmt::Debug for Grant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::AuthorizationCode {
                redirect_uri,
                pkce_verifier,
                ..
            } => f
                .debug_struct("AuthorizationCode")
                .field("code", &"[redacted]")
                .field("redirect_uri", redirect_uri)
                .field("pkce_verifier", pkce_verifier)
                .finish(),
            Grant::RefreshToken {
                refresh_token,
                scopes,
            } => f
                .debug_struct("RefreshToken")
                .field("refresh_token", refresh_token)
                .field("scopes", scopes)
                .finish(),
        }
    }
}

/// A token or revocation request ready to send: `POST url` with `headers`,
/// `Content-Type: content_type` and `body`.
///
/// `Debug` shows the URL, the header names and the content type only: the
/// body and the `Authorization` header hold secrets.
pub struct TokenRequest {
    /// The endpoint, placeholders filled.
    pub url: String,
    /// Headers other than `Content-Type` (`Accept`, `Authorization`, `spec.token_headers`).
    pub headers: Vec<(String, String)>,
    /// `application/x-www-form-urlencoded` or `application/json`.
    pub content_type: &'static str,
    /// The encoded body (holds the code, verifier, refresh token or client secret).
    pub body: Secret,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("TokenRequest")
            .field("url", &self.url)
            .field("headers", &header_names)
            .field("content_type", &self.content_type)
            .field("body", &self.body)
            .finish()
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// The token request for `grant`, per `spec`.
///
/// Client authentication follows `spec.client_auth`: HTTP Basic with the
/// form-urlencoded `client_id:client_secret` (RFC 6749 §2.3.1), or the client
/// id under `spec.client_id_param` plus `client_secret` in the body (a client
/// without a secret is accepted in the body only when the provider uses PKCE).
/// The body is encoded per `spec.token_body` and holds `grant_type`, the
/// grant's values and `spec.token_params`; headers are
/// `Accept: application/json` and `spec.token_headers`.
pub fn token_request(
    spec: &OAuthSpec,
    client: &ClientCredentials,
    grant: &Grant<'_>,
    connection_config: &BTreeMap<String, String>,
) -> Result<TokenRequest, OAuthError> {
    let mut params: Vec<(String, String)> = Vec::new();
    match grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            pkce_verifier,
        } => {
            params.push(("grant_type".into(), "authorization_code".into()));
            params.push(("code".into(), (*code).to_owned()));
            params.push(("redirect_uri".into(), (*redirect_uri).to_owned()));
            if spec.pkce {
                let verifier = pkce_verifier
                    .as_ref()
                    .ok_or(OAuthError::MissingPkce { what: "verifier" })?;
                params.push((
                    "code_verifier".into(),
                    verifier.secret().expose().to_owned(),
                ));
            }
        }
        Grant::RefreshToken {
            refresh_token,
            scopes,
        } => {
            params.push(("grant_type".into(), "refresh_token".into()));
            params.push(("refresh_token".into(), refresh_token.expose().to_owned()));
            let scopes = scopes
                .map(|s| crate::authorize::merge_scopes(s, &spec.required_scopes))
                .unwrap_or_default();
            if !scopes.is_empty() {
                params.push(("scope".into(), scopes.join(&spec.scope_separator)));
            }
        }
    }
    for (name, value) in &spec.token_params {
        set_param(&mut params, name, value);
    }
    build(
        spec,
        client,
        &spec.token_url,
        params,
        spec.token_body,
        connection_config,
    )
}

/// The RFC 7009 revocation request, or `None` when the provider has no
/// revocation endpoint. Same client authentication as [`token_request`];
/// the body is always a form (RFC 7009 §2.1).
pub(crate) fn revocation_request(
    spec: &OAuthSpec,
    client: &ClientCredentials,
    token: &Secret,
    token_type_hint: &str,
    connection_config: &BTreeMap<String, String>,
) -> Result<Option<TokenRequest>, OAuthError> {
    let Some(url) = &spec.revocation_url else {
        return Ok(None);
    };
    let mut params = vec![("token".to_owned(), token.expose().to_owned())];
    if !token_type_hint.is_empty() {
        params.push(("token_type_hint".into(), token_type_hint.to_owned()));
    }
    build(
        spec,
        client,
        url,
        params,
        BodyFormat::Form,
        connection_config,
    )
    .map(Some)
}

fn build(
    spec: &OAuthSpec,
    client: &ClientCredentials,
    url_template: &str,
    mut params: Vec<(String, String)>,
    format: BodyFormat,
    connection_config: &BTreeMap<String, String>,
) -> Result<TokenRequest, OAuthError> {
    if client.client_id.is_empty() {
        return Err(OAuthError::MissingClientId);
    }
    let url = endpoint(url_template, spec, connection_config)?;
    let mut headers: Vec<(String, String)> = vec![("Accept".into(), JSON.into())];
    for (name, value) in &spec.token_headers {
        set_header(&mut headers, name, value);
    }

    let secret = client
        .client_secret
        .as_ref()
        .map(Secret::expose)
        .filter(|s| !s.is_empty());
    match spec.client_auth {
        ClientAuth::ClientSecretBasic => {
            let secret = secret.ok_or(OAuthError::MissingClientSecret {
                needs: "authenticates clients with HTTP Basic (client_secret_basic)",
            })?;
            let pair = format!("{}:{}", form_encode(&client.client_id), form_encode(secret));
            set_header(
                &mut headers,
                "Authorization",
                &format!("Basic {}", STANDARD.encode(pair)),
            );
        }
        ClientAuth::ClientSecretPost => {
            set_param(&mut params, &spec.client_id_param, &client.client_id);
            match secret {
                Some(secret) => set_param(&mut params, "client_secret", secret),
                None if spec.pkce => {}
                None => {
                    return Err(OAuthError::MissingClientSecret {
                        needs: "does not use PKCE, so only a confidential client can use it",
                    })
                }
            }
        }
    }

    let (content_type, body) = match format {
        BodyFormat::Form => {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            ser.extend_pairs(&params);
            (FORM, ser.finish())
        }
        BodyFormat::Json => {
            let object: serde_json::Map<String, serde_json::Value> = params
                .iter()
                .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
                .collect();
            (JSON, serde_json::Value::Object(object).to_string())
        }
    };
    Ok(TokenRequest {
        url: url.into(),
        headers,
        content_type,
        body: Secret::new(body),
    })
}

fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Replaces a header (names compare case-insensitively) or appends it.
fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value.to_owned()));
}
