//! Secrets at rest: the key ring that seals tokens, the [`Secret`] newtype
//! that keeps them out of logs, and hashing for API keys and service tokens.
//!
//! Sealed values are self-describing text `v1.<key id>.<base64url(nonce ‖ ciphertext)>`,
//! so every stored secret names the key that sealed it and keys can rotate:
//! the first key of a [`KeyRing`] seals, every key opens. The associated data
//! binds a sealed value to its row (for example `credentials:<app>:<type>:access`),
//! so a ciphertext copied to another row does not open.
//!
//! This crate knows nothing of storage, HTTP or providers.
#![deny(missing_docs)]

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub mod app_user_jwt;
pub mod jwt;
pub use app_user_jwt::{AppUserClaims, AppUserTokenRejected, APP_USER_TOKEN_TYPE};
pub use jwt::{AccessClaims, TokenRejected};

/// A secret string: redacted in `Debug`, no `Display`, zeroed on drop.
///
/// Read it only through [`Secret::expose`], which is easy to grep for.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret itself.
    ///
    /// # Security warning
    /// Never log or echo the returned value.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &str) -> bool {
        ct_eq(self.expose().as_bytes(), other.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Constant-time comparison of two byte strings (length may leak, content does not).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// SHA-256 of a high-entropy token, hex encoded: what the database keeps of
/// API keys, service tokens and OAuth `state` values.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// A new random token `<prefix><base64url of bytes>`, e.g. `b44k_…`.
pub fn generate_token(prefix: &str, bytes: usize) -> Secret {
    let mut raw = Zeroizing::new(vec![0u8; bytes]);
    rand::rngs::OsRng.fill_bytes(&mut raw);
    Secret::new(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(&*raw)))
}

/// Why sealing, opening or loading keys failed. Never carries secret material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// A key specification is malformed.
    #[error("invalid encryption key `{id}`: {reason}")]
    InvalidKey {
        /// The key id (or the part before `:`).
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// The sealed value names a key the ring does not hold.
    #[error("no encryption key `{0}` is configured; add it to [encryption] keys to read data sealed with it")]
    UnknownKey(String),
    /// The value is not a sealed value, or was tampered with or moved.
    #[error("a sealed value failed to open (corrupted, or moved to another row)")]
    Corrupt,
    /// The ring has no key at all.
    #[error("no encryption key configured")]
    Empty,
    /// Reading or writing the key file failed.
    #[error("encryption key file {path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

struct Key {
    id: String,
    cipher: Aes256Gcm,
    /// The access-token signing key derived from this key (see [`jwt`]).
    signing: Zeroizing<[u8; 32]>,
    /// The app-user token key pair derived from this key (see [`app_user_jwt`]).
    app_user: app_user_jwt::AppUserKey,
}

/// The encryption keys: the first seals, all open.
pub struct KeyRing {
    keys: Vec<Key>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

const SEAL_VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

impl KeyRing {
    /// Builds a ring from specs `"<id>:<base64 of 32 bytes>"`, active key first.
    pub fn from_specs<S: AsRef<str>>(specs: &[S]) -> Result<Self, VaultError> {
        let mut keys: Vec<Key> = Vec::new();
        for spec in specs {
            let spec = spec.as_ref().trim();
            let (id, material) = spec.split_once(':').ok_or_else(|| VaultError::InvalidKey {
                id: "?".into(),
                reason: "expected `<id>:<base64 of 32 bytes>`".into(),
            })?;
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(VaultError::InvalidKey {
                    id: id.into(),
                    reason: "the id must be letters, digits, `-` or `_`".into(),
                });
            }
            let bytes = Zeroizing::new(STANDARD.decode(material.trim()).map_err(|_| {
                VaultError::InvalidKey {
                    id: id.into(),
                    reason: "the key material is not valid base64".into(),
                }
            })?);
            if bytes.len() != 32 {
                return Err(VaultError::InvalidKey {
                    id: id.into(),
                    reason: format!("the key must be 32 bytes, found {}", bytes.len()),
                });
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(VaultError::InvalidKey {
                    id: id.into(),
                    reason: "the same key id appears twice".into(),
                });
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| VaultError::InvalidKey {
                id: id.into(),
                reason: "unusable key".into(),
            })?;
            let signing = jwt::derive_signing_key(&bytes);
            let app_user = app_user_jwt::AppUserKey::derive(&bytes);
            keys.push(Key {
                id: id.into(),
                cipher,
                signing,
                app_user,
            });
        }
        if keys.is_empty() {
            return Err(VaultError::Empty);
        }
        Ok(Self { keys })
    }

    /// A fresh random key spec `"<id>:<base64>"`.
    pub fn generate_spec(id: &str) -> Secret {
        let mut raw = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut *raw);
        Secret::new(format!("{id}:{}", STANDARD.encode(*raw)))
    }

    /// Reads the key file at `path` (one spec per line, active first), or
    /// creates it with one new key and mode 0600. Returns whether it was created.
    pub fn load_or_create_file(path: &Path) -> Result<(Self, bool), VaultError> {
        let io = |source| VaultError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                let specs: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .collect();
                Ok((Self::from_specs(&specs)?, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let spec = Self::generate_spec(&format!("k{}", unix_now()));
                write_private(path, &format!("{}\n", spec.expose())).map_err(io)?;
                Ok((Self::from_specs(&[spec.expose()])?, true))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The id of the key that seals.
    pub fn active_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Encrypts `plaintext` under the active key, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        format!("{SEAL_VERSION}.{}.{}", key.id, URL_SAFE_NO_PAD.encode(blob))
    }

    /// Seals a secret string.
    pub fn seal_secret(&self, secret: &Secret, context: &str) -> String {
        self.seal(secret.expose().as_bytes(), context)
    }

    /// Decrypts a value sealed for `context` by any key of the ring.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let (id, blob) = parse_sealed(sealed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| VaultError::UnknownKey(id.to_string()))?;
        if blob.len() < NONCE_LEN {
            return Err(VaultError::Corrupt);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Corrupt)
    }

    /// Decrypts a sealed UTF-8 secret.
    pub fn open_secret(&self, sealed: &str, context: &str) -> Result<Secret, VaultError> {
        let bytes = self.open(sealed, context)?;
        String::from_utf8(bytes.to_vec())
            .map(Secret::new)
            .map_err(|_| VaultError::Corrupt)
    }

    /// Whether `sealed` was sealed by a key other than the active one.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        parse_sealed(sealed)
            .map(|(id, _)| id != self.active_id())
            .unwrap_or(true)
    }

    /// Opens with any key and seals again under the active key.
    pub fn reseal(&self, sealed: &str, context: &str) -> Result<String, VaultError> {
        let plain = self.open(sealed, context)?;
        Ok(self.seal(&plain, context))
    }
}

fn parse_sealed(sealed: &str) -> Result<(&str, Vec<u8>), VaultError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some(SEAL_VERSION), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(VaultError::Corrupt);
    };
    let blob = URL_SAFE_NO_PAD
        .decode(data)
        .map_err(|_| VaultError::Corrupt)?;
    Ok((id, blob))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(ids: &[&str]) -> KeyRing {
        let specs: Vec<Secret> = ids.iter().map(|id| KeyRing::generate_spec(id)).collect();
        let specs: Vec<&str> = specs.iter().map(Secret::expose).collect();
        KeyRing::from_specs(&specs).unwrap()
    }

    #[test]
    fn seal_and_open_round_trip() {
        let ring = ring(&["k1"]);
        let sealed = ring.seal(b"canary-token", "ctx");
        assert!(sealed.starts_with("v1.k1."));
        assert!(!sealed.contains("canary"));
        assert_eq!(&*ring.open(&sealed, "ctx").unwrap(), b"canary-token");
    }

    #[test]
    fn context_binds_the_value_to_its_row() {
        let ring = ring(&["k1"]);
        let sealed = ring.seal(b"x", "row-a");
        assert!(matches!(
            ring.open(&sealed, "row-b"),
            Err(VaultError::Corrupt)
        ));
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old_spec = KeyRing::generate_spec("k1");
        let new_spec = KeyRing::generate_spec("k2");
        let old = KeyRing::from_specs(&[old_spec.expose()]).unwrap();
        let sealed = old.seal(b"v", "c");
        let both = KeyRing::from_specs(&[new_spec.expose(), old_spec.expose()]).unwrap();
        assert!(both.needs_reseal(&sealed));
        let resealed = both.reseal(&sealed, "c").unwrap();
        assert!(!both.needs_reseal(&resealed));
        let new_only = KeyRing::from_specs(&[new_spec.expose()]).unwrap();
        assert_eq!(&*new_only.open(&resealed, "c").unwrap(), b"v");
        assert!(matches!(
            new_only.open(&sealed, "c"),
            Err(VaultError::UnknownKey(_))
        ));
    }

    #[test]
    fn bad_specs_are_explained() {
        let err = KeyRing::from_specs(&["k1:short"]).unwrap_err().to_string();
        assert!(err.contains("k1"), "{err}");
        assert!(KeyRing::from_specs(&["nocolon"]).is_err());
        assert!(matches!(
            KeyRing::from_specs::<&str>(&[]),
            Err(VaultError::Empty)
        ));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("canary");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert!(s.ct_eq("canary"));
        assert!(!s.ct_eq("canarz"));
    }

    #[test]
    fn key_file_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let (ring, created) = KeyRing::load_or_create_file(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, created) = KeyRing::load_or_create_file(&path).unwrap();
        assert!(!created);
        assert_eq!(ring.active_id(), again.active_id());
    }

    #[test]
    fn tokens_are_prefixed_and_hashes_stable() {
        let t = generate_token("b44k_", 24);
        assert!(t.expose().starts_with("b44k_"));
        assert_eq!(hash_token("a"), hash_token("a"));
        assert_eq!(hash_token("a").len(), 64);
    }
}
