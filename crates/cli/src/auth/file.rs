//! The login file, `~/.base44/auth/auth.json`, as the npm CLI reads,
//! validates, writes (0600, pretty JSON) and deletes it; seeding it from
//! `BASE44_ACCESS_TOKEN` + `BASE44_REFRESH_TOKEN` (the JWT claims give the
//! user and expiry).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};

use crate::api::schema::{self, bodies};
use crate::error::{CliError, Hint};

/// `~/.base44/auth/auth.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthData {
    /// Bearer token for the Base44 API.
    #[serde(serialize_with = "expose")]
    pub access_token: SecretString,
    /// Token for `grant_type=refresh_token`.
    #[serde(serialize_with = "expose")]
    pub refresh_token: SecretString,
    /// Expiry, epoch milliseconds.
    pub expires_at: i64,
    /// Who is logged in.
    pub email: String,
    /// Their name.
    pub name: String,
}

/// The file holds the tokens in the clear; only writing it exposes them.
fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// Where the login is kept: `$HOME/.base44/auth/auth.json`.
#[derive(Debug, Clone)]
pub struct AuthFile {
    path: PathBuf,
}

impl AuthFile {
    /// The npm CLI's file under `home` (`os.homedir()`).
    pub fn in_home(home: &Path) -> Self {
        Self {
            path: home.join(".base44").join("auth").join("auth.json"),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and validates auth.json.
    pub fn read(&self) -> Result<AuthData, CliError> {
        let path = &self.path;
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::file_access(format!("Failed to read authentication file: {e}"))
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            CliError::file_access(format!(
                "Failed to read authentication file: File contains invalid JSON: {} ({e})",
                path.display()
            ))
        })?;
        let issues = schema::validate(&bodies::auth_file(), &value);
        if !issues.is_empty() {
            return Err(schema_error("Invalid authentication data", &issues, path));
        }
        serde_json::from_value(value).map_err(|e| CliError::file_access(e.to_string()))
    }

    /// Validates and writes auth.json as pretty JSON (no trailing newline, like
    /// the npm CLI), readable only by its owner.
    pub fn write(&self, data: &AuthData) -> Result<(), CliError> {
        self.write_value(&serde_json::to_value(data).unwrap_or(Value::Null), data)
    }

    fn write_value(&self, candidate: &Value, data: &AuthData) -> Result<(), CliError> {
        let path = &self.path;
        let issues = schema::validate(&bodies::auth_file(), candidate);
        if !issues.is_empty() {
            return Err(schema_error("Invalid authentication data", &issues, path));
        }
        let text = serde_json::to_string_pretty(data).unwrap_or_default();
        let fail = |e: std::io::Error| {
            CliError::file_access(format!("Failed to write authentication file: {e}"))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        use std::io::Write;
        let mut file = options.open(path).map_err(fail)?;
        file.write_all(text.as_bytes()).map_err(fail)
    }

    /// Deletes auth.json (a missing file is fine).
    pub fn delete(&self) -> Result<(), CliError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CliError::file_access(format!(
                "Failed to delete authentication file: {e}"
            ))),
        }
    }

    /// `seedAuthFromEnv`: overwrite auth.json from `BASE44_ACCESS_TOKEN` and
    /// `BASE44_REFRESH_TOKEN` when both are set and the token is a JWT with
    /// `sub` and `exp`; otherwise do nothing.
    pub fn seed(
        &self,
        access: Option<&SecretString>,
        refresh: Option<&SecretString>,
    ) -> Result<(), CliError> {
        let access = access.map(ExposeSecret::expose_secret);
        let refresh = refresh.map(ExposeSecret::expose_secret);
        match seed_candidate(access, refresh) {
            Some((candidate, data)) => self.write_value(&candidate, &data),
            None => Ok(()),
        }
    }
}

fn schema_error(context: &str, issues: &[schema::Issue], path: &Path) -> CliError {
    CliError::Schema {
        message: format!(
            "{context} in {}:\n{}",
            path.display(),
            schema::prettify(issues)
        ),
        hints: vec![Hint::new(format!(
            "Fix the schema/data structure errors in {}",
            path.display()
        ))],
    }
}

/// The `sub` and `exp` claims of a JWT, decoded without checking the
/// signature (the server checks it), as `jsonwebtoken.decode` does.
pub fn jwt_claims(token: &str) -> Option<(Value, Value)> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return None;
    };
    let decode = |s: &str| -> Option<Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    decode(header)?;
    let claims = decode(payload)?;
    let obj = claims.as_object()?;
    Some((
        obj.get("sub").cloned().unwrap_or(Value::Null),
        obj.get("exp").cloned().unwrap_or(Value::Null),
    ))
}

/// What env seeding would write, if the environment asks for it.
pub fn seed_candidate(access: Option<&str>, refresh: Option<&str>) -> Option<(Value, AuthData)> {
    let access = access.filter(|a| !a.is_empty())?;
    let refresh = refresh.filter(|r| !r.is_empty())?;
    let (sub, exp) = jwt_claims(access)?;
    let sub = sub.as_str().filter(|s| !s.is_empty())?.to_string();
    let exp = exp.as_f64().filter(|e| *e != 0.0)?;
    let expires_at = exp * 1000.0;
    // Validation sees the value JavaScript would have (possibly fractional).
    let candidate = json!({
        "accessToken": access,
        "refreshToken": refresh,
        "expiresAt": if expires_at.fract() == 0.0 { json!(expires_at as i64) } else { json!(expires_at) },
        "email": sub,
        "name": sub,
    });
    Some((
        candidate,
        AuthData {
            access_token: access.into(),
            refresh_token: refresh.into(),
            expires_at: expires_at as i64,
            email: sub.clone(),
            name: sub,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: Value) -> String {
        let enc = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!(
            "{}.{}.sig",
            enc(&json!({"alg": "HS256", "typ": "JWT"})),
            enc(&claims)
        )
    }

    #[test]
    fn seeding_needs_both_tokens_and_sub_and_exp() {
        let token = jwt(json!({"sub": "dev@example.com", "exp": 2_000_000_000}));
        let (candidate, data) = seed_candidate(Some(&token), Some("rt")).unwrap();
        assert_eq!(data.email, "dev@example.com");
        assert_eq!(data.name, "dev@example.com");
        assert_eq!(data.expires_at, 2_000_000_000_000);
        assert!(schema::validate(&bodies::auth_file(), &candidate).is_empty());

        assert!(seed_candidate(Some(&token), None).is_none());
        assert!(seed_candidate(Some(&token), Some("")).is_none());
        assert!(seed_candidate(Some("not-a-jwt"), Some("rt")).is_none());
        let no_exp = jwt(json!({"sub": "dev@example.com"}));
        assert!(seed_candidate(Some(&no_exp), Some("rt")).is_none());
        let numeric_sub = jwt(json!({"sub": 5, "exp": 1}));
        assert!(seed_candidate(Some(&numeric_sub), Some("rt")).is_none());
    }

    #[test]
    fn seeding_a_non_email_sub_fails_validation() {
        let token = jwt(json!({"sub": "user-123", "exp": 2_000_000_000}));
        let (candidate, _) = seed_candidate(Some(&token), Some("rt")).unwrap();
        let issues = schema::validate(&bodies::auth_file(), &candidate);
        assert_eq!(
            schema::prettify(&issues),
            "✖ Invalid email address\n  → at email"
        );
    }

    #[test]
    fn auth_file_is_camel_case_pretty_json() {
        let data = AuthData {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at: 5,
            email: "e@example.com".into(),
            name: "n".into(),
        };
        assert_eq!(
            serde_json::to_string_pretty(&data).unwrap(),
            "{\n  \"accessToken\": \"a\",\n  \"refreshToken\": \"r\",\n  \"expiresAt\": 5,\n  \"email\": \"e@example.com\",\n  \"name\": \"n\"\n}"
        );
    }

    #[test]
    fn auth_data_debug_is_redacted() {
        let data = AuthData {
            access_token: "at-secret-1".into(),
            refresh_token: "rt-secret-2".into(),
            expires_at: 5,
            email: "e@example.com".into(),
            name: "n".into(),
        };
        let shown = format!("{data:?}");
        assert!(!shown.contains("at-secret-1"), "{shown}");
        assert!(!shown.contains("rt-secret-2"), "{shown}");
        assert!(shown.contains("e@example.com"), "{shown}");
    }
}
