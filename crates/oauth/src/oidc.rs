//! OpenID Connect on top of the OAuth flow (OpenID Connect Core 1.0,
//! Discovery 1.0), for signing builders in with the operator's identity
//! provider: the discovery document ([`ProviderMetadata`]), the provider's
//! signing keys ([`Jwks`]), the ID token check ([`verify_id_token`]) and
//! the userinfo answer.
//!
//! The authorization request and the code exchange are the crate's own
//! [`crate::authorization_url`] and [`crate::OAuthClient::exchange`], over
//! the [`OAuthSpec`] the metadata describes ([`ProviderMetadata::spec`]).

use connectors_catalog::{ClientAuth, OAuthPatch, OAuthSpec};
use connectors_vault::{ct_eq, Secret};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::template::check_endpoint;

/// Clock skew allowed when checking an ID token's `exp`, in seconds.
pub const ID_TOKEN_LEEWAY_SECS: i64 = 60;

/// Where the discovery document of `issuer` is (Discovery §4: a trailing
/// `/` of the issuer is dropped before the well-known path).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Whether `issuer` can name an identity provider: an `https` URL (plain
/// `http` only to a loopback host) without query, fragment or user
/// information. The reason otherwise.
pub fn check_issuer(issuer: &str) -> Result<(), String> {
    let url = check_endpoint(issuer)?;
    if url.query().is_some() {
        return Err("it has a query".into());
    }
    Ok(())
}

/// Why discovery, the key set or userinfo could not be used. The texts
/// name the URL and what the operator can do; never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The document could not be fetched or read.
    #[error("fetching {what} from `{url}` failed: {reason}")]
    Fetch {
        /// "the discovery document", "the signing keys", "userinfo".
        what: &'static str,
        /// Where from.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The discovery document names another issuer (Discovery §4.3).
    #[error("the discovery document at `{url}` names the issuer `{found}`, not the configured `{configured}`; set [auth.oidc] issuer to exactly the provider's issuer")]
    IssuerMismatch {
        /// Where the document is.
        url: String,
        /// The configured issuer.
        configured: String,
        /// What the document says.
        found: String,
    },
    /// The document lacks or garbles something the flow needs.
    #[error("the discovery document at `{url}` cannot be used: {reason}")]
    Metadata {
        /// Where the document is.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// What the provider's discovery document says, as far as sign-in needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The issuer, equal to the configured one.
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// Where claims missing from the ID token can be read.
    pub userinfo_endpoint: Option<String>,
    /// The provider's public signing keys.
    pub jwks_uri: Option<String>,
    /// `token_endpoint_auth_methods_supported` (empty: the default,
    /// `client_secret_basic`).
    pub token_endpoint_auth_methods: Vec<String>,
    /// RFC 9207: the provider adds `iss` to its authorization responses.
    pub iss_parameter_supported: bool,
}

impl ProviderMetadata {
    /// Reads the discovery document `document` fetched from `url` for the
    /// configured `issuer`.
    pub fn from_document(issuer: &str, url: &str, document: &Value) -> Result<Self, OidcError> {
        let invalid = |reason: String| OidcError::Metadata {
            url: url.to_owned(),
            reason,
        };
        let text = |key: &str| document.get(key).and_then(Value::as_str);
        let found = text("issuer").ok_or_else(|| invalid("it has no `issuer`".into()))?;
        if found != issuer {
            return Err(OidcError::IssuerMismatch {
                url: url.to_owned(),
                configured: issuer.to_owned(),
                found: found.to_owned(),
            });
        }
        let endpoint = |key: &str, required: bool| -> Result<Option<String>, OidcError> {
            match text(key) {
                Some(value) => check_endpoint(value)
                    .map(|_| Some(value.to_owned()))
                    .map_err(|reason| {
                        invalid(format!("`{key}` `{value}` is not usable: {reason}"))
                    }),
                None if required => Err(invalid(format!("it has no `{key}`"))),
                None => Ok(None),
            }
        };
        let authorization_endpoint = endpoint("authorization_endpoint", true)?.expect("required");
        let token_endpoint = endpoint("token_endpoint", true)?.expect("required");
        let strings = |key: &str| -> Vec<String> {
            document
                .get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let metadata = Self {
            issuer: found.to_owned(),
            authorization_endpoint,
            token_endpoint,
            userinfo_endpoint: endpoint("userinfo_endpoint", false)?,
            jwks_uri: endpoint("jwks_uri", false)?,
            token_endpoint_auth_methods: strings("token_endpoint_auth_methods_supported"),
            iss_parameter_supported: document
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        metadata.client_auth().map_err(invalid)?;
        Ok(metadata)
    }

    /// How the token endpoint wants confidential clients to authenticate:
    /// HTTP Basic when it takes it (the default when unsaid), else the
    /// secret in the body.
    fn client_auth(&self) -> Result<ClientAuth, String> {
        let methods = &self.token_endpoint_auth_methods;
        if methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic") {
            Ok(ClientAuth::ClientSecretBasic)
        } else if methods.iter().any(|m| m == "client_secret_post") {
            Ok(ClientAuth::ClientSecretPost)
        } else {
            Err(format!(
                "its token endpoint takes neither client_secret_basic nor client_secret_post (only {}), which this server needs",
                methods.join(", ")
            ))
        }
    }

    /// The OAuth description of this provider: its endpoints, its client
    /// authentication, PKCE S256, space-separated scopes.
    pub fn spec(&self) -> OAuthSpec {
        OAuthPatch {
            authorization_url: Some(self.authorization_endpoint.clone()),
            token_url: Some(self.token_endpoint.clone()),
            client_auth: Some(self.client_auth().unwrap_or(ClientAuth::ClientSecretBasic)),
            pkce: Some(true),
            ..Default::default()
        }
        .resolve()
    }
}

/// The provider's public signing keys (a JWK Set, RFC 7517 §5): the
/// asymmetric signature keys only; keys this server cannot read (other
/// types, encryption keys) are left out rather than failing the set.
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

impl Jwks {
    /// Reads a JWK Set document.
    pub fn from_document(document: &Value) -> Self {
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .filter(|k| {
                !matches!(k.algorithm, AlgorithmParameters::OctetKey(_))
                    && !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption))
            })
            .collect();
        Self { keys }
    }

    /// How many keys were read.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key was read.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// What an ID token must say to sign someone in (Core §3.1.3.7).
#[derive(Debug, Clone, Copy)]
pub struct IdTokenCheck<'a> {
    /// `iss`: the configured issuer.
    pub issuer: &'a str,
    /// `aud` must hold it; `azp`, when present or when `aud` holds several.
    pub client_id: &'a str,
    /// The key of `HS256`/`HS384`/`HS512` tokens (Core §10.1).
    pub client_secret: &'a Secret,
    /// The `nonce` sent in the authorization request.
    pub nonce: &'a str,
    /// Now, in Unix seconds (the caller's clock).
    pub now_secs: i64,
}

/// The claims of a verified ID token that sign-in reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// The subject: who signed in, at this provider.
    pub sub: String,
    /// The email address, if the token carries one.
    pub email: Option<String>,
    /// Whether the provider verified that address, if the token says.
    pub email_verified: Option<bool>,
}

/// Why an ID token was refused. The texts never quote the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// Not a JWT, or claims that are not a JSON object.
    #[error("the ID token is not a well-formed signed JWT")]
    Malformed,
    /// An algorithm this server does not accept (`none`, or a key of
    /// another kind).
    #[error("the ID token is signed with an algorithm this server does not accept ({0})")]
    Algorithm(String),
    /// No key of the provider's key set matches the token's `kid`: the
    /// caller fetches the set again once (the provider may have rotated).
    #[error("the ID token is signed with a key the provider does not publish")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the ID token's signature does not verify")]
    Signature,
    /// `iss` is another issuer.
    #[error("the ID token was issued by `{0}`, not the configured issuer")]
    Issuer(String),
    /// `aud` does not hold the client id, or `azp` names another client.
    #[error("the ID token is meant for another client (its `aud` or `azp` is not the configured client_id)")]
    Audience,
    /// `exp` has passed (or is missing).
    #[error(
        "the ID token has expired (or says no expiry); check that this server's clock is right"
    )]
    Expired,
    /// `nbf` has not come yet (or is not a number).
    #[error("the token is not valid yet (its `nbf` is in the future); check that this server's clock is right")]
    NotYetValid,
    /// `nonce` is missing or not this sign-in's: a replayed or injected token.
    #[error("the ID token's nonce is not this sign-in's (a replayed or substituted token)")]
    Nonce,
    /// No `sub`.
    #[error("the ID token names no subject (`sub`)")]
    NoSubject,
}

fn algorithm(name: &str) -> Option<Algorithm> {
    use Algorithm::*;
    Some(match name {
        "HS256" => HS256,
        "HS384" => HS384,
        "HS512" => HS512,
        "RS256" => RS256,
        "RS384" => RS384,
        "RS512" => RS512,
        "PS256" => PS256,
        "PS384" => PS384,
        "PS512" => PS512,
        "ES256" => ES256,
        "ES384" => ES384,
        "EdDSA" => EdDSA,
        _ => return None,
    })
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// The `alg` of a JWT's header, read without trusting anything else.
fn header_alg_and_kid(token: &str) -> Result<(String, Option<String>), IdTokenError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(IdTokenError::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(IdTokenError::Malformed)?
        .to_owned();
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((alg, kid))
}

/// Verifies an ID token received from the token endpoint: its signature
/// (by the provider's `keys`, or the client secret for HMAC algorithms),
/// then `iss`, `aud`/`azp`, `exp` and `nbf` (with [`ID_TOKEN_LEEWAY_SECS`]),
/// `nonce` (constant time) and `sub`. `alg: none` is refused.
pub fn verify_id_token(
    token: &str,
    check: &IdTokenCheck<'_>,
    keys: &Jwks,
) -> Result<IdTokenClaims, IdTokenError> {
    let claims = verify_signature(token, keys, |_| true, Some(check.client_secret))?;
    check_claims(&claims, check)
}

/// The claims of a JWT whose signature verifies: by `keys` for an
/// asymmetric `alg`, by `hmac_secret` (when given) for HS256/384/512.
/// `allowed` must accept the `alg` first; `none` never passes. The one
/// signature check of ID tokens and app-user tokens.
fn verify_signature(
    token: &str,
    keys: &Jwks,
    allowed: impl Fn(&str) -> bool,
    hmac_secret: Option<&Secret>,
) -> Result<Map<String, Value>, IdTokenError> {
    let (alg_name, kid) = header_alg_and_kid(token)?;
    let alg = algorithm(&alg_name)
        .filter(|_| allowed(&alg_name))
        .ok_or_else(|| IdTokenError::Algorithm(alg_name.clone()))?;
    let mut validation = Validation::new(alg);
    // Expiry and audience are checked by the callers, on their clock.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let decoded = if is_hmac(alg) {
        let secret = hmac_secret.ok_or_else(|| IdTokenError::Algorithm(alg_name.clone()))?;
        let key = DecodingKey::from_secret(secret.expose().as_bytes());
        jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(signature_error)?
    } else {
        let candidates: Vec<&Jwk> = keys
            .keys
            .iter()
            .filter(|k| kid.is_none() || k.common.key_id == kid)
            .filter(|k| {
                k.common
                    .key_algorithm
                    .is_none_or(|a| format!("{a:?}") == alg_name)
            })
            .collect();
        if candidates.is_empty() {
            return Err(IdTokenError::UnknownKey);
        }
        let mut outcome = Err(IdTokenError::Signature);
        for jwk in candidates {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            match jsonwebtoken::decode::<Value>(token, &key, &validation) {
                Ok(data) => {
                    outcome = Ok(data);
                    break;
                }
                Err(e) => {
                    if !matches!(outcome, Err(IdTokenError::Malformed)) {
                        outcome = Err(signature_error(e));
                    }
                }
            }
        }
        outcome?
    };
    match decoded.claims {
        Value::Object(claims) => Ok(claims),
        _ => Err(IdTokenError::Malformed),
    }
}

/// `iss` must be exactly `issuer`.
fn check_issuer_claim(claims: &Map<String, Value>, issuer: &str) -> Result<(), IdTokenError> {
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == issuer => Ok(()),
        other => Err(IdTokenError::Issuer(other.unwrap_or("").to_owned())),
    }
}

/// The audiences of `aud` (a string or an array of strings).
fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// `exp` (required) has not passed and `nbf` (optional) has come, at
/// `now_secs` give or take [`ID_TOKEN_LEEWAY_SECS`].
fn check_times(claims: &Map<String, Value>, now_secs: i64) -> Result<(), IdTokenError> {
    let exp = claims.get("exp").and_then(Value::as_i64);
    if exp.is_none_or(|exp| now_secs >= exp.saturating_add(ID_TOKEN_LEEWAY_SECS)) {
        return Err(IdTokenError::Expired);
    }
    match claims.get("nbf") {
        None => Ok(()),
        Some(nbf) => match nbf.as_i64() {
            Some(nbf) if now_secs.saturating_add(ID_TOKEN_LEEWAY_SECS) >= nbf => Ok(()),
            _ => Err(IdTokenError::NotYetValid),
        },
    }
}

/// The algorithms an app's identity provider may sign app-user tokens
/// with: asymmetric only, since the keys come from a public JWKS (an HMAC
/// "key" from it would be the public key itself).
pub const ASYMMETRIC_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// The allow-list of an app's identity provider when none is set.
pub const DEFAULT_APP_USER_ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// The longest user id (an app user's `sub`, or a minted token's
/// `user_id`), in characters.
pub const MAX_USER_ID_CHARS: usize = 255;

/// Whether `id` can name an app user: 1 to [`MAX_USER_ID_CHARS`]
/// characters, none of them a control character.
pub fn valid_user_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= MAX_USER_ID_CHARS && !id.chars().any(char::is_control)
}

/// How an app checks the tokens of its own identity provider (wave2.md
/// §4.3 A).
#[derive(Debug, Clone, Copy)]
pub struct AppUserPolicy<'a> {
    /// `iss` must be exactly this.
    pub issuer: &'a str,
    /// `aud` must hold this.
    pub audience: &'a str,
    /// The claim naming the user (usually `sub`).
    pub user_id_claim: &'a str,
    /// The claim with the user's email (display only).
    pub email_claim: &'a str,
    /// The accepted `alg`s, a subset of [`ASYMMETRIC_ALGORITHMS`].
    pub algorithms: &'a [String],
    /// Now, in Unix seconds (the caller's clock).
    pub now_secs: i64,
}

/// Who a verified app-user token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUserIdentity {
    /// The user id at the issuer (the policy's user-id claim).
    pub subject: String,
    /// The email, if the token says one (display only).
    pub email: Option<String>,
    /// The `name`, if the token says one (display only).
    pub name: Option<String>,
    /// Its `exp`, Unix seconds.
    pub expires_at: i64,
}

/// Verifies a token of an app's own identity provider against its `keys`:
/// `alg` in the policy's allow-list (asymmetric only: never `none`, never
/// HS*), the signature, `iss`, `aud`, `exp`/`nbf` with
/// [`ID_TOKEN_LEEWAY_SECS`], and a usable user id.
pub fn verify_app_user_token(
    token: &str,
    policy: &AppUserPolicy<'_>,
    keys: &Jwks,
) -> Result<AppUserIdentity, IdTokenError> {
    let allowed = |alg: &str| {
        ASYMMETRIC_ALGORITHMS.contains(&alg) && policy.algorithms.iter().any(|a| a == alg)
    };
    let claims = verify_signature(token, keys, allowed, None)?;
    check_issuer_claim(&claims, policy.issuer)?;
    if !audiences(&claims).contains(&policy.audience) {
        return Err(IdTokenError::Audience);
    }
    check_times(&claims, policy.now_secs)?;
    let subject = match claims.get(policy.user_id_claim) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        _ => return Err(IdTokenError::NoSubject),
    };
    if !valid_user_id(&subject) {
        return Err(IdTokenError::NoSubject);
    }
    let display = |key: &str| {
        claims
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.chars().count() <= 320)
            .map(str::to_owned)
    };
    Ok(AppUserIdentity {
        expires_at: claims
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        subject,
        email: display(policy.email_claim),
        name: display("name"),
    })
}

/// The `iss` of a JWT, read WITHOUT verifying anything: only to pick the
/// verifier, which then checks it.
pub fn unverified_issuer(token: &str) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

fn signature_error(e: jsonwebtoken::errors::Error) -> IdTokenError {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            IdTokenError::Algorithm("a key of another kind".into())
        }
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => IdTokenError::Malformed,
        _ => IdTokenError::Signature,
    }
}

/// The claim checks of Core §3.1.3.7 on verified claims.
fn check_claims(
    claims: &Map<String, Value>,
    check: &IdTokenCheck<'_>,
) -> Result<IdTokenClaims, IdTokenError> {
    let text = |key: &str| claims.get(key).and_then(Value::as_str);
    check_issuer_claim(claims, check.issuer)?;
    let audiences = audiences(claims);
    if !audiences.contains(&check.client_id) {
        return Err(IdTokenError::Audience);
    }
    match text("azp") {
        Some(azp) if azp != check.client_id => return Err(IdTokenError::Audience),
        None if audiences.len() > 1 => return Err(IdTokenError::Audience),
        _ => {}
    }
    check_times(claims, check.now_secs)?;
    if !text("nonce").is_some_and(|n| ct_eq(n.as_bytes(), check.nonce.as_bytes())) {
        return Err(IdTokenError::Nonce);
    }
    let sub = text("sub")
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError::NoSubject)?;
    let (email, email_verified) = email_claims(claims);
    Ok(IdTokenClaims {
        sub: sub.to_owned(),
        email,
        email_verified,
    })
}

/// What a userinfo answer says of the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfoClaims {
    /// Whom it describes (must be the ID token's `sub`).
    pub sub: Option<String>,
    /// The email address, if given.
    pub email: Option<String>,
    /// Whether the provider verified it, if it says.
    pub email_verified: Option<bool>,
}

impl UserInfoClaims {
    pub(crate) fn from_answer(answer: &Value) -> Self {
        let empty = Map::new();
        let map = answer.as_object().unwrap_or(&empty);
        let (email, email_verified) = email_claims(map);
        Self {
            sub: map.get("sub").and_then(Value::as_str).map(str::to_owned),
            email,
            email_verified,
        }
    }
}

/// The `id_token` of a token response (Core §3.1.3.3), if it has one.
pub fn id_token(tokens: &crate::TokenSet) -> Option<Secret> {
    serde_json::from_str::<Value>(tokens.raw.expose())
        .ok()?
        .get("id_token")?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(Secret::new)
}

/// `email` and `email_verified` of an ID token or a userinfo answer;
/// `email_verified` as a boolean or (some providers) the text `"true"`.
fn email_claims(claims: &Map<String, Value>) -> (Option<String>, Option<bool>) {
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    let verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    };
    (email, verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    /// A test-only Ed25519 key (PKCS#8) and its public `x`.
    const TEST_KEY: &str = "302e020100300506032b6570042204207d4b0f6cdd38bbe8759cf319cb18f516b8163ffb0b664124793ed265c24f9b5c";
    const TEST_X: &str = "BZPXduDuRXWtVG09L1mGBuIl6EZ1Q87Ik-Xg7CKApo8";
    const OTHER_KEY: &str = "302e020100300506032b65700422042032a75154a48ce98897a4e30129af6b1260181a85985873a7f080b93eccdd295d";

    fn der(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    fn keys() -> Jwks {
        Jwks::from_document(&json!({"keys": [
            {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB", "alg": "RSA-OAEP"},
            {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "weird", "crv": "P-999"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "use": "sig", "x": TEST_X},
        ]}))
    }

    fn sign(key: &str, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&der(key))).unwrap()
    }

    fn good() -> Value {
        json!({"iss": "https://id.example", "aud": "client", "sub": "u1", "exp": 1_000_100,
               "iat": 1_000_000, "nonce": "N", "email": "a@example.com", "email_verified": true})
    }

    fn with(mut base: Value, key: &str, value: Value) -> Value {
        if value.is_null() {
            base.as_object_mut().unwrap().remove(key);
        } else {
            base[key] = value;
        }
        base
    }

    fn verify(token: &str) -> Result<IdTokenClaims, IdTokenError> {
        let secret = Secret::new("client-secret");
        verify_id_token(
            token,
            &IdTokenCheck {
                issuer: "https://id.example",
                client_id: "client",
                client_secret: &secret,
                nonce: "N",
                now_secs: 1_000_050,
            },
            &keys(),
        )
    }

    #[test]
    fn the_key_set_keeps_only_signature_keys_it_can_read() {
        assert_eq!(keys().len(), 1);
        assert!(Jwks::from_document(&json!({"nope": 1})).is_empty());
    }

    #[test]
    fn a_good_token_verifies_and_yields_the_email() {
        let claims = verify(&sign(TEST_KEY, Some("k1"), &good())).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.email.as_deref(), Some("a@example.com"));
        assert_eq!(claims.email_verified, Some(true));
        // Without a kid, every fitting key is tried.
        assert!(verify(&sign(TEST_KEY, None, &good())).is_ok());
        // HS256 with the client secret (Core §10.1).
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &with(good(), "email_verified", json!("true")),
            &EncodingKey::from_secret(b"client-secret"),
        )
        .unwrap();
        assert_eq!(verify(&hs).unwrap().email_verified, Some(true));
    }

    #[test]
    fn every_claim_check_refuses() {
        let cases = [
            (
                with(good(), "iss", json!("https://evil.example")),
                IdTokenError::Issuer("https://evil.example".into()),
            ),
            (with(good(), "aud", json!("other")), IdTokenError::Audience),
            (
                with(good(), "aud", json!(["client", "other"])),
                IdTokenError::Audience,
            ),
            (with(good(), "azp", json!("other")), IdTokenError::Audience),
            (
                with(good(), "exp", json!(1_000_050 - 61)),
                IdTokenError::Expired,
            ),
            (with(good(), "exp", Value::Null), IdTokenError::Expired),
            (with(good(), "nonce", json!("M")), IdTokenError::Nonce),
            (with(good(), "nonce", Value::Null), IdTokenError::Nonce),
            (with(good(), "sub", json!("")), IdTokenError::NoSubject),
        ];
        for (claims, expected) in cases {
            assert_eq!(
                verify(&sign(TEST_KEY, Some("k1"), &claims)),
                Err(expected),
                "{claims}"
            );
        }
        // Within the leeway, and several audiences with the right azp.
        assert!(verify(&sign(
            TEST_KEY,
            Some("k1"),
            &with(good(), "exp", json!(1_000_000))
        ))
        .is_ok());
        let multi = with(
            with(good(), "aud", json!(["other", "client"])),
            "azp",
            json!("client"),
        );
        assert!(verify(&sign(TEST_KEY, Some("k1"), &multi)).is_ok());
    }

    #[test]
    fn forged_unsigned_and_unknown_key_tokens_are_refused() {
        assert_eq!(
            verify(&sign(OTHER_KEY, Some("k1"), &good())),
            Err(IdTokenError::Signature)
        );
        assert_eq!(
            verify(&sign(TEST_KEY, Some("k2"), &good())),
            Err(IdTokenError::UnknownKey)
        );
        let hs_wrong = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &good(),
            &EncodingKey::from_secret(b"another secret"),
        )
        .unwrap();
        assert_eq!(verify(&hs_wrong), Err(IdTokenError::Signature));
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(good().to_string())
        );
        assert_eq!(verify(&none), Err(IdTokenError::Algorithm("none".into())));
        assert_eq!(verify("not a jwt"), Err(IdTokenError::Malformed));
        // A token signed by the symmetric JWKS key is not accepted: HMAC
        // keys come only from the client secret.
        let by_jwks_secret = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &good(),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert_eq!(verify(&by_jwks_secret), Err(IdTokenError::Signature));
    }

    fn app_policy(algorithms: &[String]) -> AppUserPolicy<'_> {
        AppUserPolicy {
            issuer: "https://id.example",
            audience: "client",
            user_id_claim: "sub",
            email_claim: "email",
            algorithms,
            now_secs: 1_000_050,
        }
    }

    fn default_algs() -> Vec<String> {
        DEFAULT_APP_USER_ALGORITHMS.map(String::from).to_vec()
    }

    #[test]
    fn app_user_tokens_share_the_checks_and_add_nbf_and_the_allow_list() {
        let algs = default_algs();
        let policy = app_policy(&algs);
        let ok = verify_app_user_token(&sign(TEST_KEY, Some("k1"), &good()), &policy, &keys());
        assert_eq!(
            ok,
            Ok(AppUserIdentity {
                subject: "u1".into(),
                email: Some("a@example.com".into()),
                name: None,
                expires_at: 1_000_100,
            })
        );
        let custom = AppUserPolicy {
            user_id_claim: "uid",
            email_claim: "mail",
            ..policy
        };
        let claims = with(with(good(), "uid", json!(42)), "mail", json!("m@x.example"));
        let id =
            verify_app_user_token(&sign(TEST_KEY, Some("k1"), &claims), &custom, &keys()).unwrap();
        assert_eq!(
            (id.subject.as_str(), id.email.as_deref()),
            ("42", Some("m@x.example"))
        );
        let cases = [
            (
                with(good(), "nbf", json!(1_000_050 + 61)),
                IdTokenError::NotYetValid,
            ),
            (
                with(good(), "nbf", json!("soon")),
                IdTokenError::NotYetValid,
            ),
            (
                with(good(), "exp", json!(1_000_050 - 61)),
                IdTokenError::Expired,
            ),
            (with(good(), "aud", json!("other")), IdTokenError::Audience),
            (
                with(good(), "iss", json!("https://evil.example")),
                IdTokenError::Issuer("https://evil.example".into()),
            ),
            (
                with(good(), "sub", json!("a\u{0}b")),
                IdTokenError::NoSubject,
            ),
            (
                with(good(), "sub", json!("x".repeat(256))),
                IdTokenError::NoSubject,
            ),
            (with(good(), "sub", Value::Null), IdTokenError::NoSubject),
        ];
        for (claims, expected) in cases {
            let token = sign(TEST_KEY, Some("k1"), &claims);
            assert_eq!(
                verify_app_user_token(&token, &policy, &keys()),
                Err(expected),
                "{claims}"
            );
        }
        // Within the leeway.
        let late = with(
            with(good(), "nbf", json!(1_000_100)),
            "exp",
            json!(1_000_000),
        );
        assert!(
            verify_app_user_token(&sign(TEST_KEY, Some("k1"), &late), &policy, &keys()).is_ok()
        );
        // EdDSA not in the allow-list.
        let rs_only = vec!["RS256".to_string()];
        assert_eq!(
            verify_app_user_token(
                &sign(TEST_KEY, Some("k1"), &good()),
                &app_policy(&rs_only),
                &keys()
            ),
            Err(IdTokenError::Algorithm("EdDSA".into()))
        );
    }

    #[test]
    fn app_user_tokens_never_take_none_hmac_or_unknown_keys() {
        let hs_listed = vec!["HS256".to_string(), "EdDSA".to_string()];
        let policy = app_policy(&hs_listed);
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(good().to_string())
        );
        assert_eq!(
            verify_app_user_token(&none, &policy, &keys()),
            Err(IdTokenError::Algorithm("none".into()))
        );
        // HS256 "signed" with the public key as the secret: refused even
        // when a careless policy lists HS256.
        let confused = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &good(),
            &EncodingKey::from_secret(TEST_X.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            verify_app_user_token(&confused, &policy, &keys()),
            Err(IdTokenError::Algorithm("HS256".into()))
        );
        assert_eq!(
            verify_app_user_token(&sign(OTHER_KEY, Some("k1"), &good()), &policy, &keys()),
            Err(IdTokenError::Signature)
        );
        assert_eq!(
            verify_app_user_token(&sign(TEST_KEY, Some("k9"), &good()), &policy, &keys()),
            Err(IdTokenError::UnknownKey)
        );
        assert_eq!(
            verify_app_user_token("b44s_x", &policy, &keys()),
            Err(IdTokenError::Malformed)
        );
        assert_eq!(
            unverified_issuer(&sign(TEST_KEY, None, &good())).as_deref(),
            Some("https://id.example")
        );
        assert_eq!(unverified_issuer("a.b.c"), None);
        assert!(valid_user_id("ü") && !valid_user_id("") && !valid_user_id("a\nb"));
    }

    #[test]
    fn discovery_must_name_the_configured_issuer_and_usable_endpoints() {
        let url = "https://id.example/.well-known/openid-configuration";
        let doc = json!({
            "issuer": "https://id.example",
            "authorization_endpoint": "https://id.example/auth",
            "token_endpoint": "https://id.example/token",
            "jwks_uri": "https://id.example/jwks",
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post"],
            "authorization_response_iss_parameter_supported": true,
        });
        let m = ProviderMetadata::from_document("https://id.example", url, &doc).unwrap();
        assert_eq!(m.spec().client_auth, ClientAuth::ClientSecretPost);
        assert!(m.spec().pkce && m.iss_parameter_supported && m.userinfo_endpoint.is_none());
        assert_eq!(
            ProviderMetadata::from_document("https://id.example/", url, &doc),
            Err(OidcError::IssuerMismatch {
                url: url.into(),
                configured: "https://id.example/".into(),
                found: "https://id.example".into()
            })
        );
        let mut plain = doc.clone();
        plain["token_endpoint"] = json!("http://id.example/token");
        let err = ProviderMetadata::from_document("https://id.example", url, &plain).unwrap_err();
        assert!(err.to_string().contains("plain http"), "{err}");
        let mut jwt_only = doc.clone();
        jwt_only["token_endpoint_auth_methods_supported"] = json!(["private_key_jwt"]);
        let err =
            ProviderMetadata::from_document("https://id.example", url, &jwt_only).unwrap_err();
        assert!(
            err.to_string().contains("neither client_secret_basic"),
            "{err}"
        );
        assert_eq!(
            discovery_url("https://id.example/tenant/"),
            "https://id.example/tenant/.well-known/openid-configuration"
        );
        assert!(check_issuer("https://id.example/t").is_ok());
        assert!(check_issuer("http://127.0.0.1:9/").is_ok());
        assert!(check_issuer("http://id.example").is_err());
        assert!(check_issuer("https://id.example?x=1").is_err());
    }
}
