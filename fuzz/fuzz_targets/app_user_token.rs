//! A bearer token presented as an app user's (issue #13.3), through both
//! verifiers: the server's own (`KeyRing::verify_app_user_token`, EdDSA by
//! the ring's keys) and an app's identity provider
//! (`connectors_oauth::oidc::verify_app_user_token` against a key set with
//! an Ed25519, an RSA and an EC key, every asymmetric algorithm allowed),
//! plus `unverified_issuer`, which picks between them.
//!
//! Nothing the fuzzer writes can carry a valid signature, so both must
//! refuse every input, and never panic.
#![no_main]

use std::sync::OnceLock;

use connectors_oauth::oidc::{unverified_issuer, verify_app_user_token, ASYMMETRIC_ALGORITHMS};
use connectors_oauth::{AppUserPolicy, Jwks};
use connectors_vault::KeyRing;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    ring: KeyRing,
    jwks: Jwks,
    algorithms: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture {
        ring: KeyRing::from_specs(&[KeyRing::generate_spec("k1").expose()]).expect("a ring"),
        jwks: Jwks::from_document(
            &serde_json::from_str(include_str!("../seeds/jwks_document/mixed.json"))
                .expect("the seed key set is JSON"),
        ),
        algorithms: ASYMMETRIC_ALGORITHMS.map(String::from).to_vec(),
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixture();
    let _ = unverified_issuer(token);
    assert!(f
        .ring
        .verify_app_user_token(token, "https://c.example", "app1", 1_800_000_000)
        .is_err());
    let policy = AppUserPolicy {
        issuer: "https://id.example",
        audience: "app1",
        user_id_claim: "sub",
        email_claim: "email",
        algorithms: &f.algorithms,
        now_secs: 1_800_000_000,
    };
    assert!(verify_app_user_token(token, &policy, &f.jwks).is_err());
});
