//! Standard Webhooks `v1` signatures: HMAC-SHA256 over
//! `{msg_id}.{timestamp}.{body}`, sent as `v1,<base64>`. The id and the
//! timestamp are signed with the body, so a delivery cannot be replayed
//! later, or under another id, without the receiver noticing.
//!
//! [`verify`] is the receiver's side, for our documentation and for apps
//! written in Rust; it checks what the spec's libraries check.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::SigningKey;

/// How far a `webhook-timestamp` may be from the receiver's clock, either
/// way (the spec's libraries use 5 minutes).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The signature's version tag for HMAC-SHA256.
pub const VERSION: &str = "v1";

/// One signature, `v1,<base64 of the HMAC-SHA256>`, of `body` sent as
/// message `msg_id` at `timestamp` (Unix seconds).
pub fn signature(key: &SigningKey, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose()).expect("HMAC takes any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("{VERSION},{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per key, space-separated
/// (while a secret is rotated, the new and the old one both sign, so the
/// receiver accepts whichever it holds).
pub fn signature_header(keys: &[SigningKey], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| signature(key, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a delivery as a receiver would: the `webhook-timestamp` header
/// (`timestamp`, as received) is within `tolerance` of `now` (Unix
/// seconds), and one of the `v1` signatures of `signature_header` was made
/// with one of `keys` over this id, timestamp and body (compared in
/// constant time). Signatures of other versions are skipped.
pub fn verify(
    keys: &[SigningKey],
    msg_id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    if msg_id.is_empty() || timestamp.is_empty() || signature_header.is_empty() {
        return Err(VerifyError::MissingHeaders);
    }
    let sent = parse_timestamp(timestamp).ok_or(VerifyError::BadTimestamp)?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.saturating_sub(sent) > tolerance {
        return Err(VerifyError::TooOld);
    }
    if sent > now.saturating_add(tolerance) {
        return Err(VerifyError::TooNew);
    }
    // Every pair is compared, so the time taken says nothing about which
    // key or which signature matched.
    let mut matched = subtle::Choice::from(0);
    for key in keys {
        let expected = signature(key, msg_id, sent, body);
        for candidate in signature_header.split(' ') {
            matched |= subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), candidate.as_bytes());
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

/// Unix seconds written as the spec says: digits only.
fn parse_timestamp(text: &str) -> Option<i64> {
    if text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Why a delivery does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// `webhook-id`, `webhook-timestamp` or `webhook-signature` is missing.
    #[error("the request lacks `webhook-id`, `webhook-timestamp` or `webhook-signature`: pass the request's headers as received")]
    MissingHeaders,
    /// `webhook-timestamp` is not Unix seconds.
    #[error("`webhook-timestamp` is not a Unix time in seconds: pass the header as received")]
    BadTimestamp,
    /// Sent longer ago than the tolerance: maybe a replay.
    #[error("`webhook-timestamp` is older than the tolerance: refuse the request (a replay, or a clock to fix)")]
    TooOld,
    /// Dated further ahead than the tolerance.
    #[error("`webhook-timestamp` is further in the future than the tolerance: refuse the request, or fix this machine's clock")]
    TooNew,
    /// No signature matches any key.
    #[error("no `v1` signature matches: check that the endpoint's current `whsec_…` secret is configured and that the body is verified exactly as received, before any parsing")]
    NoMatchingSignature,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret;

    fn key(text: &str) -> SigningKey {
        secret::parse(text).unwrap()
    }

    /// The example of the spec's own libraries' tests.
    #[test]
    fn signs_the_reference_example() {
        let key = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let sig = signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verifies_within_the_tolerance_only() {
        let old = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let new = secret::parse(secret::generate().expose()).unwrap();
        let body = b"{}";
        let header = signature_header(&[new.clone(), old.clone()], "msg_1", 1_000_000, body);
        assert_eq!(header.split(' ').count(), 2);
        let check = |keys: &[SigningKey], ts: &str, header: &str, body: &[u8], now: i64| {
            verify(keys, "msg_1", ts, header, body, now, DEFAULT_TOLERANCE)
        };
        for k in [&old, &new] {
            assert_eq!(
                check(std::slice::from_ref(k), "1000000", &header, body, 1_000_300),
                Ok(())
            );
            assert_eq!(
                check(std::slice::from_ref(k), "1000000", &header, body, 999_700),
                Ok(())
            );
        }
        let only_old = [old.clone()];
        assert_eq!(
            check(&only_old, "1000000", &header, body, 1_000_301),
            Err(VerifyError::TooOld)
        );
        assert_eq!(
            check(&only_old, "1000000", &header, body, 999_699),
            Err(VerifyError::TooNew)
        );
        assert_eq!(
            check(&only_old, "1000000", &header, b"{} ", 1_000_000),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            check(&only_old, "1000001", &header, body, 1_000_000),
            Err(VerifyError::NoMatchingSignature)
        );
        let other = secret::parse(secret::generate().expose()).unwrap();
        assert_eq!(
            check(&[other], "1000000", &header, body, 1_000_000),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            check(&[], "1000000", &header, body, 1_000_000),
            Err(VerifyError::NoMatchingSignature)
        );
        for ts in [
            "+1000000",
            "1000000 ",
            "1e6",
            "-5",
            "0x10",
            "99999999999999999999",
        ] {
            assert_eq!(
                check(&only_old, ts, &header, body, 1_000_000),
                Err(VerifyError::BadTimestamp),
                "{ts}"
            );
        }
        assert_eq!(
            check(&only_old, "", &header, body, 1_000_000),
            Err(VerifyError::MissingHeaders)
        );
        assert_eq!(
            check(&only_old, "1000000", "", body, 1_000_000),
            Err(VerifyError::MissingHeaders)
        );
        // Another version's signature, and a v1 one with its base64 retouched.
        let v1 = signature(&old, "msg_1", 1_000_000, body);
        let v1a = v1.replacen("v1,", "v1a,", 1);
        assert_eq!(
            check(&only_old, "1000000", &v1a, body, 1_000_000),
            Err(VerifyError::NoMatchingSignature)
        );
        let unpadded = v1.trim_end_matches('=');
        assert_eq!(
            check(&only_old, "1000000", unpadded, body, 1_000_000),
            Err(VerifyError::NoMatchingSignature)
        );
        let listed = format!("v1a,abc {v1}  v2,xyz");
        assert_eq!(
            check(&only_old, "1000000", &listed, body, 1_000_000),
            Ok(())
        );
    }
}
