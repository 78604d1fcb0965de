//! Access tokens of `base44 login`: short-lived HS256 JWTs.
//!
//! The signing key is derived from each encryption key of the [`KeyRing`]
//! (HKDF-SHA256, fixed info string) rather than stored: every replica that
//! can open the database already holds the ring, so no new secret has to be
//! distributed, and the key id travels as the JWT's `kid`. A token verifies
//! while the key that signed it is still in the ring, so a rotation that
//! keeps the old key for re-sealing keeps outstanding tokens valid; dropping
//! the old key invalidates them, which is harmless: they live minutes, and
//! the refresh tokens in the database keep working.
//!
//! Only HS256 is accepted: `alg: none` and every other algorithm are refused
//! before any key is used.

use hkdf::Hkdf;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{KeyRing, Secret};

/// Domain separation: this derived key signs nothing but access tokens.
const SIGNING_INFO: &[u8] = b"base44-connectors access-token signing v1";

pub(crate) fn derive_signing_key(material: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, material)
        .expand(SIGNING_INFO, &mut *out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The builder's email (the npm CLI decodes it into auth.json).
    pub sub: String,
    /// Issuer: the server's public URL.
    pub iss: String,
    /// Audience: who may accept it (this server's builder API).
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// The builder's id (emails may change; ids do not).
    pub bid: String,
    /// The login (refresh-token family) it was issued for, so revoking the
    /// login also refuses its outstanding access tokens.
    pub sid: String,
}

/// Why a presented access token was refused (never carries the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    /// Not a JWT of ours: malformed, another algorithm, a key the ring does
    /// not hold, a bad signature, or the wrong issuer or audience.
    #[error("the access token is not valid")]
    Invalid,
    /// Well signed, but past its `exp`.
    #[error("the access token has expired")]
    Expired,
}

impl KeyRing {
    /// Signs `claims` with the active key's signing key.
    pub fn sign_access_token(&self, claims: &AccessClaims) -> Secret {
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.id.clone());
        let token = jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&*key.signing))
            .expect("HS256 over serializable claims cannot fail");
        Secret::new(token)
    }

    /// Verifies an access token: HS256 only, signed by a key of the ring
    /// (named by `kid`), for `issuer` and `audience`, unexpired at `now_secs`
    /// (the caller's clock, not the system's).
    pub fn verify_access_token(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
        now_secs: i64,
    ) -> Result<AccessClaims, TokenRejected> {
        let claims: AccessClaims = self
            .decode_ring_token(token, Algorithm::HS256, issuer, audience, |key| {
                Some(DecodingKey::from_secret(&*key.signing))
            })
            .ok_or(TokenRejected::Invalid)?;
        if claims.exp <= now_secs {
            return Err(TokenRejected::Expired);
        }
        Ok(claims)
    }

    /// The checks login and app-user tokens share: signed with `alg`
    /// (never `none`) by the ring key its `kid` names, by `decoding`'s key,
    /// for `issuer` and `audience`, with `exp`, `iss`, `aud` and `sub`
    /// present. Expiry is left to the caller, on its injected clock.
    pub(crate) fn decode_ring_token<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        alg: Algorithm,
        issuer: &str,
        audience: &str,
        decoding: impl Fn(&crate::Key) -> Option<DecodingKey>,
    ) -> Option<C> {
        // `decode_header` fails on an algorithm jsonwebtoken does not know,
        // `none` included; anything but `alg` is refused here too.
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != alg {
            return None;
        }
        let kid = header.kid?;
        let key = self.keys.iter().find(|k| k.id == kid)?;
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
            .into_iter()
            .map(String::from)
            .collect();
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        jsonwebtoken::decode::<C>(token, &decoding(key)?, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::*;

    fn ring(ids: &[&str]) -> KeyRing {
        let specs: Vec<String> = ids
            .iter()
            .map(|id| KeyRing::generate_spec(id).expose().to_string())
            .collect();
        KeyRing::from_specs(&specs).unwrap()
    }

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            sub: "a@example.com".into(),
            iss: "https://c.example".into(),
            aud: "base44-api".into(),
            iat: 1_000,
            exp,
            bid: "b1".into(),
            sid: "f1".into(),
        }
    }

    fn verify(ring: &KeyRing, token: &str, now: i64) -> Result<AccessClaims, TokenRejected> {
        ring.verify_access_token(token, "https://c.example", "base44-api", now)
    }

    #[test]
    fn round_trip_and_expiry_on_the_given_clock() {
        let r = ring(&["k1"]);
        let t = r.sign_access_token(&claims(2_000));
        assert_eq!(verify(&r, t.expose(), 1_999).unwrap(), claims(2_000));
        assert_eq!(verify(&r, t.expose(), 2_000), Err(TokenRejected::Expired));
    }

    #[test]
    fn wrong_issuer_audience_or_key_is_refused() {
        let r = ring(&["k1"]);
        let t = r.sign_access_token(&claims(2_000));
        let t = t.expose();
        assert!(r
            .verify_access_token(t, "https://other", "base44-api", 1)
            .is_err());
        assert!(r
            .verify_access_token(t, "https://c.example", "other", 1)
            .is_err());
        // Another ring with a key of the same id: another signing key.
        assert_eq!(verify(&ring(&["k1"]), t, 1), Err(TokenRejected::Invalid));
    }

    #[test]
    fn old_key_still_in_the_ring_verifies_after_rotation() {
        let old = KeyRing::generate_spec("old");
        let new = KeyRing::generate_spec("new");
        let before = KeyRing::from_specs(&[old.expose()]).unwrap();
        let t = before.sign_access_token(&claims(2_000));
        let rotated = KeyRing::from_specs(&[new.expose(), old.expose()]).unwrap();
        assert!(verify(&rotated, t.expose(), 1).is_ok());
        let dropped = KeyRing::from_specs(&[new.expose()]).unwrap();
        assert_eq!(verify(&dropped, t.expose(), 1), Err(TokenRejected::Invalid));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let r = ring(&["k1"]);
        let t = r.sign_access_token(&claims(2_000));
        let parts: Vec<&str> = t.expose().split('.').collect();
        for alg in ["none", "None", "HS512", "RS256"] {
            let header =
                URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"k1"}}"#));
            for sig in ["", parts[2]] {
                let forged = format!("{header}.{}.{sig}", parts[1]);
                assert_eq!(verify(&r, &forged, 1), Err(TokenRejected::Invalid), "{alg}");
            }
        }
        assert_eq!(verify(&r, "not a jwt", 1), Err(TokenRejected::Invalid));
        assert_eq!(verify(&r, "", 1), Err(TokenRejected::Invalid));
    }
}
