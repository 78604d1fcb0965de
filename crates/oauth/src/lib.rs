//! OAuth 2.0 with providers: consent URLs, token requests, token responses
//! and revocation, every provider difference read from catalog data.
//!
//! The flow is a handful of values and pure functions:
//! [`new_state`] and [`new_pkce`] make the single-use secrets of an attempt
//! ([`OAuthState`], [`PkceVerifier`]: not `Clone`, consumed where used up),
//! [`authorization_url`] builds the consent link from an [`AuthorizationRequest`],
//! [`token_request`] turns a [`Grant`] into a [`TokenRequest`] (URL, headers,
//! body), and [`parse_token_response`] reads the provider's answer into a
//! [`TokenSet`] or a [`TokenError`] that says whether the connection needs
//! re-authorization ([`TokenError::Permanent`]) or a later retry
//! ([`TokenError::Transient`]). [`OAuthClient`] sends those requests over HTTPS
//! (no redirects, bounded time) and adds RFC 7009 revocation.
//!
//! Everything provider-specific comes from [`OAuthSpec`]
//! (`connectors-catalog`): a quirk is a field of the spec, read here, never
//! a provider's name in code.
//! Secrets (tokens, verifiers, state, request bodies) travel as [`Secret`] and
//! never appear in `Debug` output or error texts.
//!
//! This crate knows nothing of storage, HTTP servers, the database or
//! sealing: callers keep attempts and tokens, and decide what to do with
//! each error.
#![deny(missing_docs)]

mod authorize;
mod client;
mod error;
pub mod oidc;
mod response;
mod template;
mod token;

pub use authorize::{authorization_url, AuthorizationRequest};
pub use client::OAuthClient;
pub use error::{OAuthError, TokenError};
pub use oidc::{
    AppUserIdentity, AppUserPolicy, IdTokenCheck, IdTokenClaims, IdTokenError, Jwks, OidcError,
    ProviderMetadata, UserInfoClaims,
};
pub use response::{parse_token_response, parse_token_response_at, TokenSet};
pub use template::{check_endpoint, fill_template};
pub use token::{token_request, Grant, TokenRequest};

pub use connectors_catalog::{BodyFormat, ClientAuth, ClientCredentials, OAuthSpec};
pub use connectors_vault::Secret;

use oauth2::{CsrfToken, PkceCodeChallenge};

/// A PKCE code verifier (RFC 7636): a secret used once, in the
/// authorization-code grant that ends its attempt.
///
/// Not `Clone`: the grant takes it by value ([`Grant::AuthorizationCode`]),
/// so after the exchange no copy is left to send again.
#[derive(Debug)]
pub struct PkceVerifier(Secret);

impl PkceVerifier {
    /// Wraps a verifier kept with the attempt (e.g. opened from storage).
    pub fn new(verifier: Secret) -> Self {
        Self(verifier)
    }

    /// The verifier, to seal it with the attempt or to send it.
    ///
    /// # Security warning
    /// A secret: never log it or put it in an error text.
    pub fn secret(&self) -> &Secret {
        &self.0
    }
}

/// The `state` of one consent (RFC 6749 §10.12): sent in the consent link,
/// then kept only as its hash.
///
/// Not `Clone`; [`OAuthState::into_hash`] consumes it.
#[derive(Debug)]
#[must_use]
pub struct OAuthState(Secret);

impl OAuthState {
    /// Wraps a state as the provider sent it back.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Secret::new(value))
    }

    /// The value, for the consent link.
    ///
    /// # Security warning
    /// A secret: never log it or put it in an error text.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The SHA-256 hash to store or look up; the state itself is gone.
    pub fn into_hash(self) -> String {
        connectors_vault::hash_token(self.0.expose())
    }
}

/// A PKCE pair (RFC 7636, method `S256`) for one authorization attempt.
///
/// Keep the verifier with the attempt (it is a secret) and put the challenge
/// in the consent URL; the verifier goes into the authorization-code grant.
#[derive(Debug)]
pub struct Pkce {
    /// The code verifier: 43 characters of base64url (256 random bits).
    pub verifier: PkceVerifier,
    /// `BASE64URL(SHA256(verifier))`, sent as `code_challenge`.
    pub challenge: String,
}

/// A fresh PKCE verifier and its `S256` challenge.
pub fn new_pkce() -> Pkce {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    Pkce {
        verifier: PkceVerifier(Secret::new(verifier.into_secret())),
        challenge: challenge.as_str().to_owned(),
    }
}

/// A fresh `state` value: 256 random bits, base64url without padding.
///
/// Single use and short-lived; store only its hash.
pub fn new_state() -> OAuthState {
    OAuthState(Secret::new(CsrfToken::new_random_len(32).into_secret()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    #[test]
    fn pkce_is_s256_of_the_verifier() {
        use oauth2::PkceCodeVerifier;
        let pkce = new_pkce();
        let verifier = pkce.verifier.secret().expose();
        assert_eq!(verifier.len(), 43);
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            verifier.to_owned(),
        ));
        assert_eq!(pkce.challenge, expected.as_str());
        assert_ne!(new_pkce().verifier.secret().expose(), verifier);
        let debug = format!("{pkce:?}");
        assert!(!debug.contains(verifier), "{debug}");
    }

    #[test]
    fn state_has_256_bits_of_base64url() {
        let state = new_state();
        let raw = URL_SAFE_NO_PAD.decode(state.expose()).expect("base64url");
        assert_eq!(raw.len(), 32);
        assert_ne!(new_state().expose(), state.expose());
        assert!(!format!("{state:?}").contains(state.expose()));
        let text = state.expose().to_owned();
        assert_eq!(
            OAuthState::new(text.clone()).into_hash(),
            connectors_vault::hash_token(&text)
        );
    }
}
