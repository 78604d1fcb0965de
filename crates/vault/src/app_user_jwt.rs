//! App-user tokens the server mints (issue #13, wave2.md §4.3 B): EdDSA
//! (Ed25519) JWTs an app's backend asks for with its service token and
//! hands to `@base44/sdk`'s `createClient({token})`.
//!
//! Like [`crate::jwt`], the key pair is derived from each encryption key of
//! the ring (HKDF-SHA256, its own info string) rather than stored, so every
//! replica holds it and `rotate-keys` keeps outstanding tokens valid while
//! the old key stays in the ring; `kid` names the ring key. Unlike login
//! tokens these are asymmetric: apps and their identity-aware proxies may
//! check them against the public keys at `/.well-known/jwks.json`.
//!
//! Only EdDSA is accepted, with `typ: "app_user"`, so neither a login token
//! (HS256) nor any other JWT of this server passes for an app user.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hkdf::Hkdf;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{KeyRing, Secret};

/// Domain separation: this derived key signs nothing but app-user tokens.
const APP_USER_INFO: &[u8] = b"base44-connectors app-user-token signing v1";

/// The `typ` claim of every app-user token.
pub const APP_USER_TOKEN_TYPE: &str = "app_user";

/// PKCS#8 v1 (RFC 8410) prefix of an Ed25519 private key; the 32-byte seed
/// follows. What jsonwebtoken's `from_ed_der` (ring) reads.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// One ring key's app-user key pair.
pub(crate) struct AppUserKey {
    /// The private key as PKCS#8 DER.
    pkcs8: Zeroizing<Vec<u8>>,
    /// The public key, base64url (the JWK's `x`).
    x: String,
}

impl AppUserKey {
    pub(crate) fn derive(material: &[u8]) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, material)
            .expand(APP_USER_INFO, &mut *seed)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&*seed)
            .expect("every 32-byte seed is an Ed25519 key");
        let public = ring::signature::KeyPair::public_key(&pair);
        let mut pkcs8 = Zeroizing::new(Vec::with_capacity(48));
        pkcs8.extend_from_slice(&PKCS8_ED25519_PREFIX);
        pkcs8.extend_from_slice(&*seed);
        Self {
            pkcs8,
            x: URL_SAFE_NO_PAD.encode(public.as_ref()),
        }
    }
}

/// The claims of an app-user token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppUserClaims {
    /// Issuer: the server's public URL.
    pub iss: String,
    /// Audience: the app the user belongs to.
    pub aud: String,
    /// The user's id in the app (what the app's backend named).
    pub sub: String,
    /// Display only: never a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Display only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// A random id, so two tokens minted in the same second differ.
    pub jti: String,
    /// Always [`APP_USER_TOKEN_TYPE`].
    pub typ: String,
}

/// Why a presented app-user token was refused (never carries the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppUserTokenRejected {
    /// Not an app-user token of ours for this app: malformed, another
    /// algorithm or `typ`, a key the ring does not hold, a bad signature,
    /// or the wrong issuer or audience.
    #[error("the app-user token is not valid")]
    Invalid,
    /// Well signed, but past its `exp`.
    #[error("the app-user token has expired")]
    Expired,
}

impl KeyRing {
    /// Signs `claims` with the active key's app-user key.
    pub fn sign_app_user_token(&self, claims: &AppUserClaims) -> Secret {
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.id.clone());
        let token = jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_ed_der(&key.app_user.pkcs8),
        )
        .expect("Ed25519 over serializable claims cannot fail");
        Secret::new(token)
    }

    /// Verifies an app-user token: EdDSA only, signed by a key of the ring
    /// (named by `kid`), issued by `issuer` for `app_id`, `typ` app_user,
    /// unexpired at `now_secs` (the caller's clock).
    pub fn verify_app_user_token(
        &self,
        token: &str,
        issuer: &str,
        app_id: &str,
        now_secs: i64,
    ) -> Result<AppUserClaims, AppUserTokenRejected> {
        let claims: AppUserClaims = self
            .decode_ring_token(token, Algorithm::EdDSA, issuer, app_id, |key| {
                DecodingKey::from_ed_components(&key.app_user.x).ok()
            })
            .ok_or(AppUserTokenRejected::Invalid)?;
        if claims.typ != APP_USER_TOKEN_TYPE || claims.sub.is_empty() {
            return Err(AppUserTokenRejected::Invalid);
        }
        if claims.exp <= now_secs {
            return Err(AppUserTokenRejected::Expired);
        }
        Ok(claims)
    }

    /// The public keys of app-user tokens as a JWK Set (RFC 7517 §5), one
    /// per ring key, the signing one first.
    pub fn app_user_jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": k.app_user.x,
                    "use": "sig",
                    "alg": "EdDSA",
                    "kid": k.id,
                })
            })
            .collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::Validation;

    use super::*;

    fn ring(ids: &[&str]) -> KeyRing {
        let specs: Vec<String> = ids
            .iter()
            .map(|id| KeyRing::generate_spec(id).expose().to_string())
            .collect();
        KeyRing::from_specs(&specs).unwrap()
    }

    fn claims(exp: i64) -> AppUserClaims {
        AppUserClaims {
            iss: "https://c.example".into(),
            aud: "app1".into(),
            sub: "user-1".into(),
            email: Some("u@example.com".into()),
            name: None,
            iat: 1_000,
            exp,
            jti: "j1".into(),
            typ: APP_USER_TOKEN_TYPE.into(),
        }
    }

    fn verify(
        ring: &KeyRing,
        token: &str,
        now: i64,
    ) -> Result<AppUserClaims, AppUserTokenRejected> {
        ring.verify_app_user_token(token, "https://c.example", "app1", now)
    }

    #[test]
    fn round_trip_expiry_issuer_and_audience() {
        let r = ring(&["k1"]);
        let t = r.sign_app_user_token(&claims(2_000));
        assert_eq!(verify(&r, t.expose(), 1_999).unwrap(), claims(2_000));
        assert_eq!(
            verify(&r, t.expose(), 2_000),
            Err(AppUserTokenRejected::Expired)
        );
        let other_app = r.verify_app_user_token(t.expose(), "https://c.example", "app2", 1);
        assert_eq!(other_app, Err(AppUserTokenRejected::Invalid));
        let other_iss = r.verify_app_user_token(t.expose(), "https://d.example", "app1", 1);
        assert_eq!(other_iss, Err(AppUserTokenRejected::Invalid));
        // Another ring with a key of the same id: another key pair.
        assert_eq!(
            verify(&ring(&["k1"]), t.expose(), 1),
            Err(AppUserTokenRejected::Invalid)
        );
    }

    #[test]
    fn the_jwks_verifies_what_the_ring_signs() {
        let r = ring(&["k1", "k0"]);
        let jwks = r.app_user_jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(jwks["keys"][0]["kid"], "k1");
        let t = r.sign_app_user_token(&claims(2_000));
        let x = jwks["keys"][0]["x"].as_str().unwrap();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&["app1"]);
        v.validate_exp = false;
        let key = DecodingKey::from_ed_components(x).unwrap();
        assert!(jsonwebtoken::decode::<Value>(t.expose(), &key, &v).is_ok());
        assert!(!jwks.to_string().contains("\"d\""), "no private part");
    }

    #[test]
    fn old_key_still_in_the_ring_verifies_after_rotation() {
        let old = KeyRing::generate_spec("old");
        let new = KeyRing::generate_spec("new");
        let before = KeyRing::from_specs(&[old.expose()]).unwrap();
        let t = before.sign_app_user_token(&claims(2_000));
        let rotated = KeyRing::from_specs(&[new.expose(), old.expose()]).unwrap();
        assert!(verify(&rotated, t.expose(), 1).is_ok());
        let dropped = KeyRing::from_specs(&[new.expose()]).unwrap();
        assert_eq!(
            verify(&dropped, t.expose(), 1),
            Err(AppUserTokenRejected::Invalid)
        );
    }

    #[test]
    fn login_tokens_other_types_and_forged_headers_are_refused() {
        let r = ring(&["k1"]);
        let login = r.sign_access_token(&crate::AccessClaims {
            sub: "a@example.com".into(),
            iss: "https://c.example".into(),
            aud: "app1".into(),
            iat: 1,
            exp: 2_000,
            bid: "b".into(),
            sid: "s".into(),
        });
        assert_eq!(
            verify(&r, login.expose(), 1),
            Err(AppUserTokenRejected::Invalid)
        );
        let mut c = claims(2_000);
        c.typ = "login".into();
        let wrong_typ = r.sign_app_user_token(&c);
        assert_eq!(
            verify(&r, wrong_typ.expose(), 1),
            Err(AppUserTokenRejected::Invalid)
        );
        let t = r.sign_app_user_token(&claims(2_000));
        let parts: Vec<&str> = t.expose().split('.').collect();
        for alg in ["none", "HS256", "RS256", "ES256"] {
            let header =
                URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"k1"}}"#));
            for sig in ["", parts[2]] {
                let forged = format!("{header}.{}.{sig}", parts[1]);
                assert_eq!(
                    verify(&r, &forged, 1),
                    Err(AppUserTokenRejected::Invalid),
                    "{alg}"
                );
            }
        }
        // HS256 with the public key as the secret (the classic confusion).
        let x = r.app_user_jwks()["keys"][0]["x"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        let confused =
            jsonwebtoken::encode(&h, &claims(2_000), &EncodingKey::from_secret(x.as_bytes()))
                .unwrap();
        assert_eq!(verify(&r, &confused, 1), Err(AppUserTokenRejected::Invalid));
        assert_eq!(verify(&r, "", 1), Err(AppUserTokenRejected::Invalid));
        assert_eq!(
            verify(&r, "b44s_abc", 1),
            Err(AppUserTokenRejected::Invalid)
        );
    }
}
