//! A JWK Set document as an identity provider serves it
//! (`connectors_oauth::Jwks::from_document`): whatever the document, reading
//! it never panics, keeps at most as many keys as it lists, and checking a
//! token against what it kept never panics (and an unsigned one never
//! verifies).
#![no_main]

use connectors_oauth::oidc::{verify_app_user_token, ASYMMETRIC_ALGORITHMS};
use connectors_oauth::{AppUserPolicy, Jwks};
use libfuzzer_sys::fuzz_target;

/// An EdDSA token (kid "k1") without a signature: no key set may verify it.
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUiLCJhdWQiOiJhcHAxIiwic3ViIjoidTEiLCJleHAiOjI1MDAwMDAwMDB9.";

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let jwks = Jwks::from_document(&document);
    let listed = document
        .get("keys")
        .and_then(|k| k.as_array())
        .map_or(0, Vec::len);
    assert!(jwks.len() <= listed);
    let algorithms = ASYMMETRIC_ALGORITHMS.map(String::from).to_vec();
    let policy = AppUserPolicy {
        issuer: "https://id.example",
        audience: "app1",
        user_id_claim: "sub",
        email_claim: "email",
        algorithms: &algorithms,
        now_secs: 1_800_000_000,
    };
    // The token has no signature, so nothing verifies it.
    assert!(verify_app_user_token(TOKEN, &policy, &jwks).is_err());
});
