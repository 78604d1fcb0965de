//! A scriptable OpenID Connect provider for the single sign-on tests: its
//! discovery document, signing keys, token and userinfo endpoints are
//! served over HTTP; the authorization step is [`FakeIdp::authorize`], which
//! plays the provider's login page (it records the request and answers the
//! redirect back). Each test sets what the ID token and userinfo say, so
//! wrong nonces, unverified emails and forged signatures are one line each.
//! The real provider (`oidc-provider`) is [`crate::oidc::OidcServer`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::Served;

/// A test-only Ed25519 key (PKCS#8 DER, hex) the fake signs with, and its
/// public `x` as published in the JWKS.
const SIGNING_KEY: &str = "302e020100300506032b6570042204207d4b0f6cdd38bbe8759cf319cb18f516b8163ffb0b664124793ed265c24f9b5c";
const SIGNING_X: &str = "BZPXduDuRXWtVG09L1mGBuIl6EZ1Q87Ik-Xg7CKApo8";
/// Another test-only key, which the JWKS does not publish (forgeries).
const FOREIGN_KEY: &str = "302e020100300506032b65700422042032a75154a48ce98897a4e30129af6b1260181a85985873a7f080b93eccdd295d";
/// The access token the fake issues (userinfo wants it back).
const ACCESS_TOKEN: &str = "fake-idp-access-token";

/// How the fake signs its ID tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// EdDSA with the published key, `kid` "k1".
    Published,
    /// EdDSA with a key the JWKS lacks, claiming `kid` "k1".
    Forged,
    /// HS256 with the client secret.
    ClientSecret,
}

struct Script {
    client_id: String,
    client_secret: String,
    issuer_in_document: Option<String>,
    iss_parameter_supported: bool,
    claims: Value,
    userinfo: Option<Value>,
    signing: Signing,
    /// From the last [`FakeIdp::authorize`]: nonce, challenge, redirect URI.
    nonce: Option<String>,
    challenge: Option<String>,
    redirect_uri: Option<String>,
    token_requests: usize,
    userinfo_requests: usize,
    discovery_requests: usize,
    jwks_requests: usize,
}

/// The fake provider; it stops when dropped.
pub struct FakeIdp {
    /// Its issuer (its origin).
    pub issuer: String,
    script: Arc<Mutex<Script>>,
    _served: Served,
}

fn der(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

impl FakeIdp {
    /// A provider for the client `client_id` / `client_secret`. Its ID
    /// tokens say `sub` "user-1", the nonce of the last authorization, and
    /// no email until [`Self::claims`] adds one.
    pub fn start(client_id: &str, client_secret: &str) -> FakeIdp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        let script = Arc::new(Mutex::new(Script {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            issuer_in_document: None,
            iss_parameter_supported: false,
            claims: json!({}),
            userinfo: None,
            signing: Signing::Published,
            nonce: None,
            challenge: None,
            redirect_uri: None,
            token_requests: 0,
            userinfo_requests: 0,
            discovery_requests: 0,
            jwks_requests: 0,
        }));
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state((issuer.clone(), script.clone()));
        let served = crate::serve_on(listener, router);
        FakeIdp {
            issuer,
            script,
            _served: served,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Script) -> T) -> T {
        f(&mut self.script.lock().expect("script lock"))
    }

    /// Claims the next ID tokens carry besides the defaults (`iss`, `aud`,
    /// `sub`, `exp`, `iat`, `nonce`); a `null` removes a default.
    pub fn claims(&self, claims: Value) {
        self.with(|s| s.claims = claims);
    }

    /// What userinfo answers (`None`: the endpoint is not advertised).
    pub fn userinfo(&self, answer: Option<Value>) {
        self.with(|s| s.userinfo = answer);
    }

    /// How ID tokens are signed.
    pub fn signing(&self, signing: Signing) {
        self.with(|s| s.signing = signing);
    }

    /// The issuer the discovery document names (default: the real one).
    pub fn issuer_in_document(&self, issuer: &str) {
        self.with(|s| s.issuer_in_document = Some(issuer.into()));
    }

    /// Advertise and send `iss` on the redirect back (RFC 9207).
    pub fn iss_parameter(&self, supported: bool) {
        self.with(|s| s.iss_parameter_supported = supported);
    }

    /// (discovery, token, userinfo) requests so far.
    pub fn requests(&self) -> (usize, usize, usize) {
        self.with(|s| (s.discovery_requests, s.token_requests, s.userinfo_requests))
    }

    /// Requests of the JWKS so far.
    pub fn jwks_requests(&self) -> usize {
        self.with(|s| s.jwks_requests)
    }

    /// Where the signing keys are.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// A JWT over `claims` as is (for app-user tokens: the test writes
    /// every claim), signed as `signing` says with `kid`.
    pub fn sign(&self, claims: &Value, signing: Signing, kid: &str) -> String {
        let mut header = Header::new(match signing {
            Signing::ClientSecret => Algorithm::HS256,
            _ => Algorithm::EdDSA,
        });
        header.kid = Some(kid.into());
        let key = match signing {
            Signing::Published => EncodingKey::from_ed_der(&der(SIGNING_KEY)),
            Signing::Forged => EncodingKey::from_ed_der(&der(FOREIGN_KEY)),
            Signing::ClientSecret => {
                EncodingKey::from_secret(self.with(|s| s.client_secret.clone()).as_bytes())
            }
        };
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }

    /// The public key's `x` as the JWKS publishes it.
    pub fn public_x() -> &'static str {
        SIGNING_X
    }

    /// Plays the login page for the authorization URL our server sent the
    /// browser to: checks its parameters, records the nonce and the PKCE
    /// challenge, and answers where the provider would send the browser
    /// back (`redirect_uri?code=…&state=…`).
    pub fn authorize(&self, url: &str) -> String {
        let query: BTreeMap<String, String> = url::Url::parse(url)
            .expect("an authorization URL")
            .query_pairs()
            .into_owned()
            .collect();
        assert!(
            url.starts_with(&format!("{}/authorize?", self.issuer)),
            "{url}"
        );
        let (client_id, iss_param) =
            self.with(|s| (s.client_id.clone(), s.iss_parameter_supported));
        assert_eq!(query.get("response_type").map(String::as_str), Some("code"));
        assert_eq!(query.get("client_id"), Some(&client_id));
        assert_eq!(
            query.get("code_challenge_method").map(String::as_str),
            Some("S256")
        );
        let redirect = query["redirect_uri"].clone();
        self.with(|s| {
            s.nonce = query.get("nonce").cloned();
            s.challenge = query.get("code_challenge").cloned();
            s.redirect_uri = Some(redirect.clone());
        });
        let mut back = url::Url::parse(&redirect).expect("redirect_uri");
        back.query_pairs_mut()
            .append_pair("code", "the-code")
            .append_pair("state", &query["state"]);
        if iss_param {
            back.query_pairs_mut().append_pair("iss", &self.issuer);
        }
        back.into()
    }
}

type Shared = State<(String, Arc<Mutex<Script>>)>;

async fn discovery(State((issuer, script)): Shared) -> Json<Value> {
    let mut s = script.lock().expect("script lock");
    s.discovery_requests += 1;
    let mut doc = json!({
        "issuer": s.issuer_in_document.clone().unwrap_or_else(|| issuer.clone()),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["EdDSA", "HS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": s.iss_parameter_supported,
    });
    if s.userinfo.is_some() {
        doc["userinfo_endpoint"] = json!(format!("{issuer}/userinfo"));
    }
    Json(doc)
}

async fn jwks(State((_, script)): Shared) -> Json<Value> {
    script.lock().expect("script lock").jwks_requests += 1;
    Json(json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "use": "sig", "x": SIGNING_X}
    ]}))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(
    State((issuer, script)): Shared,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let mut s = script.lock().expect("script lock");
    s.token_requests += 1;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", s.client_id, s.client_secret))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if form.get("grant_type").map(String::as_str) != Some("authorization_code")
        || form.get("code").map(String::as_str) != Some("the-code")
        || s.challenge.as_deref() != Some(challenge.as_str())
        || form.get("redirect_uri") != s.redirect_uri.as_ref()
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "wrong code, verifier or redirect_uri",
        );
    }
    s.challenge = None; // single use
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let mut claims = json!({
        "iss": issuer, "aud": s.client_id, "sub": "user-1",
        "iat": now, "exp": now + 300, "nonce": s.nonce,
    });
    for (k, v) in s.claims.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            claims.as_object_mut().expect("object").remove(&k);
        } else {
            claims[k] = v;
        }
    }
    let id_token = match s.signing {
        Signing::Published | Signing::Forged => {
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some("k1".into());
            let key = if s.signing == Signing::Published {
                SIGNING_KEY
            } else {
                FOREIGN_KEY
            };
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der(key)))
        }
        Signing::ClientSecret => jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(s.client_secret.as_bytes()),
        ),
    }
    .expect("sign the ID token");
    Json(json!({
        "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300,
        "scope": "openid email", "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State((_, script)): Shared, headers: HeaderMap) -> Response {
    let mut s = script.lock().expect("script lock");
    s.userinfo_requests += 1;
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {ACCESS_TOKEN}"))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match &s.userinfo {
        Some(answer) => Json(answer.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
