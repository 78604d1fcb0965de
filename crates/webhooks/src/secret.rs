//! Endpoint secrets as the spec serializes them: `whsec_` and the standard
//! base64 of the key, so an app pastes ours into any Standard Webhooks
//! library as is.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use connectors_vault::Secret;
use rand::RngCore;
use zeroize::Zeroizing;

/// What marks a symmetric Standard Webhooks secret.
pub const PREFIX: &str = "whsec_";

/// Bytes of key in the secrets we make.
pub const KEY_BYTES: usize = 32;

/// The key sizes the spec allows: at least 24 bytes, at most 64 (512 bits).
pub const KEY_BYTES_RANGE: std::ops::RangeInclusive<usize> = 24..=64;

/// A new endpoint secret, `whsec_` + standard base64 of 32 random bytes.
/// Shown once to the builder, then kept only sealed.
pub fn generate() -> Secret {
    let mut raw = Zeroizing::new([0u8; KEY_BYTES]);
    rand::rngs::OsRng.fill_bytes(&mut *raw);
    Secret::new(format!("{PREFIX}{}", STANDARD.encode(*raw)))
}

/// The key bytes of a secret, with or without its `whsec_` prefix (the
/// spec's libraries accept both).
pub fn parse(text: &str) -> Result<SigningKey, SecretError> {
    let encoded = text.strip_prefix(PREFIX).unwrap_or(text);
    if encoded.is_empty() {
        return Err(SecretError::Empty);
    }
    let key = Zeroizing::new(
        STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?,
    );
    if !KEY_BYTES_RANGE.contains(&key.len()) {
        return Err(SecretError::Length(key.len()));
    }
    Ok(SigningKey(key))
}

/// An endpoint's HMAC key: redacted `Debug`, zeroed on drop.
#[derive(Clone)]
pub struct SigningKey(Zeroizing<Vec<u8>>);

impl SigningKey {
    /// The key itself.
    ///
    /// # Security warning
    /// Never log or echo the returned bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

/// Why a text is not a webhook secret. Never carries the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Nothing after the prefix.
    #[error("the webhook secret is empty: use the `whsec_…` secret shown when the endpoint was created or its secret rotated")]
    Empty,
    /// Not standard base64 (with padding).
    #[error("the webhook secret is not `whsec_` followed by standard base64: copy the whole `whsec_…` secret shown when the endpoint was created or its secret rotated")]
    NotBase64,
    /// A key outside the spec's 24 to 64 bytes.
    #[error("the webhook secret holds a {0}-byte key, outside the 24 to 64 bytes Standard Webhooks allows: copy the whole `whsec_…` secret, or rotate the endpoint's secret for a new one")]
    Length(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};

    #[test]
    fn a_generated_secret_parses_back_to_32_random_bytes() {
        let a = generate();
        let b = generate();
        assert!(a.expose().starts_with(PREFIX));
        assert_eq!(a.expose().len(), PREFIX.len() + 44);
        let key = parse(a.expose()).unwrap();
        assert_eq!(key.expose().len(), KEY_BYTES);
        assert_ne!(key.expose(), parse(b.expose()).unwrap().expose());
        let bare = a.expose().strip_prefix(PREFIX).unwrap();
        assert_eq!(parse(bare).unwrap().expose(), key.expose());
    }

    #[test]
    fn refusals_never_echo_the_text() {
        // 25 bytes: two `=` of padding, left out.
        let unpadded = format!("{PREFIX}{}", STANDARD_NO_PAD.encode([1u8; 25]));
        // `-` and `_` belong to the URL-safe alphabet only.
        let url_safe = format!("{PREFIX}{}", URL_SAFE.encode([0xfbu8; 30]));
        let too_short = format!("{PREFIX}{}", STANDARD.encode([7u8; 23]));
        let too_long = format!("{PREFIX}{}", STANDARD.encode([7u8; 65]));
        for (text, error) in [
            ("", SecretError::Empty),
            ("whsec_", SecretError::Empty),
            ("whsec_not base64!", SecretError::NotBase64),
            (unpadded.as_str(), SecretError::NotBase64),
            (url_safe.as_str(), SecretError::NotBase64),
            (
                "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                SecretError::NotBase64,
            ),
            (too_short.as_str(), SecretError::Length(23)),
            (too_long.as_str(), SecretError::Length(65)),
        ] {
            let refused = parse(text).unwrap_err();
            assert_eq!(refused, error, "{text}");
            let message = refused.to_string();
            assert!(message.contains("whsec_"), "{message}");
            let body = text.strip_prefix(PREFIX).unwrap_or(text);
            assert!(body.is_empty() || !message.contains(body), "{message}");
        }
        for n in [24, 64] {
            let text = format!("{PREFIX}{}", STANDARD.encode(vec![1u8; n]));
            assert_eq!(parse(&text).unwrap().expose().len(), n);
        }
    }

    #[test]
    fn a_key_is_redacted() {
        let key = parse(generate().expose()).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey([redacted])");
    }
}
