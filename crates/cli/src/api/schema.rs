//! Response validation with the npm CLI's rules and words.
//!
//! The npm CLI validates every response with zod and, on failure, prints
//! `Invalid response from server:` followed by zod's issue list. serde alone
//! would accept bodies zod rejects (a `null` `user_email`, an
//! `integration_type` outside `/^[a-z0-9_-]+$/i`, a `status` other than
//! `"removed"`), and would word its errors differently, so each body is
//! checked against a [`Schema`] here first and only then deserialized into
//! its `connectors_wire` type.

use connectors_project::KNOWN_TYPES;
use serde_json::Value;

/// A zod schema, reduced to what the connector endpoints use.
#[derive(Debug, Clone)]
pub enum Schema {
    /// `z.string()`, with optional `.min(1, message)` and `.url()`/`.email()`.
    Str {
        /// `.min(1)`'s message (`None`: no minimum).
        min1: Option<&'static str>,
        /// A format check.
        format: Format,
    },
    /// `z.boolean()`.
    Bool,
    /// `z.number().int().positive(message)`.
    PositiveInt(&'static str),
    /// `z.enum([...])`.
    Enum(&'static [&'static str]),
    /// `z.literal(value)`.
    Literal(&'static str),
    /// `IntegrationTypeSchema`: a known type or `/^[a-z0-9_-]+$/i`.
    IntegrationType,
    /// `.nullable()`.
    Nullable(Box<Schema>),
    /// `.optional()`.
    Optional(Box<Schema>),
    /// `z.array(item)`.
    Array(Box<Schema>),
    /// `z.object({...})` (unknown keys are ignored).
    Object(Vec<(&'static str, Schema)>),
}

/// String formats zod checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Any string.
    Any,
    /// `z.url(message)`.
    Url(&'static str),
    /// `z.email()`.
    Email,
}

/// Shorthands that read like the zod source.
pub mod s {
    use super::{Format, Schema};

    /// `z.string()`.
    pub fn string() -> Schema {
        Schema::Str {
            min1: None,
            format: Format::Any,
        }
    }
    /// `z.string().min(1)` with zod's default message.
    pub fn non_empty() -> Schema {
        non_empty_msg("Too small: expected string to have >=1 characters")
    }
    /// `z.string().min(1, message)`.
    pub fn non_empty_msg(message: &'static str) -> Schema {
        Schema::Str {
            min1: Some(message),
            format: Format::Any,
        }
    }
    /// `z.url(message)`.
    pub fn url(message: &'static str) -> Schema {
        Schema::Str {
            min1: None,
            format: Format::Url(message),
        }
    }
    /// `z.email()`.
    pub fn email() -> Schema {
        Schema::Str {
            min1: None,
            format: Format::Email,
        }
    }
    /// `.nullable()`.
    pub fn nullable(inner: Schema) -> Schema {
        Schema::Nullable(Box::new(inner))
    }
    /// `.optional()`.
    pub fn optional(inner: Schema) -> Schema {
        Schema::Optional(Box::new(inner))
    }
    /// `z.array(item)`.
    pub fn array(item: Schema) -> Schema {
        Schema::Array(Box::new(item))
    }
    /// `z.object(shape)`.
    pub fn object(shape: Vec<(&'static str, Schema)>) -> Schema {
        Schema::Object(shape)
    }
}

/// One step of an issue's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// One validation failure, as zod reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// zod's English message.
    pub message: String,
    /// Where in the body.
    pub path: Vec<Seg>,
}

/// zod's name for the type of a value (`util.parsedType`).
fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

fn expected(what: &str, value: Option<&Value>, path: &[Seg]) -> Issue {
    Issue {
        message: format!(
            "Invalid input: expected {what}, received {}",
            type_name(value)
        ),
        path: path.to_vec(),
    }
}

/// zod's `z.email()` pattern, by hand.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_'+-.".contains(c))
        && local
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || "_+-".contains(c));
    if !local_ok || s.contains("..") {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let (tld, rest) = labels.split_last().expect("at least two labels");
    tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && rest.iter().all(|l| {
            l.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn is_url(s: &str) -> bool {
    reqwest::Url::parse(s).is_ok()
}

fn check(schema: &Schema, value: Option<&Value>, path: &mut Vec<Seg>, out: &mut Vec<Issue>) {
    match schema {
        Schema::Optional(inner) => {
            if value.is_some() {
                check(inner, value, path, out);
            }
        }
        Schema::Nullable(inner) => {
            if !matches!(value, Some(Value::Null)) {
                check(inner, value, path, out);
            }
        }
        Schema::Str { min1, format } => match value {
            Some(Value::String(s)) => {
                if let (Some(msg), true) = (min1, s.is_empty()) {
                    out.push(Issue {
                        message: (*msg).to_string(),
                        path: path.clone(),
                    });
                }
                let bad = match format {
                    Format::Any => None,
                    Format::Url(msg) => (!is_url(s)).then_some(*msg),
                    Format::Email => (!is_email(s)).then_some("Invalid email address"),
                };
                if let Some(msg) = bad {
                    out.push(Issue {
                        message: msg.to_string(),
                        path: path.clone(),
                    });
                }
            }
            v => out.push(expected("string", v, path)),
        },
        Schema::Bool => {
            if !matches!(value, Some(Value::Bool(_))) {
                out.push(expected("boolean", value, path));
            }
        }
        Schema::PositiveInt(msg) => match value {
            Some(Value::Number(n)) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 {
                    out.push(Issue {
                        message: "Invalid input: expected int, received number".into(),
                        path: path.clone(),
                    });
                } else if f <= 0.0 {
                    out.push(Issue {
                        message: (*msg).to_string(),
                        path: path.clone(),
                    });
                }
            }
            v => out.push(expected("number", v, path)),
        },
        Schema::Enum(values) => {
            let ok = matches!(value, Some(Value::String(s)) if values.contains(&s.as_str()));
            if !ok {
                let list: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
                out.push(Issue {
                    message: format!("Invalid option: expected one of {}", list.join("|")),
                    path: path.clone(),
                });
            }
        }
        Schema::Literal(lit) => {
            if !matches!(value, Some(Value::String(s)) if s == lit) {
                out.push(Issue {
                    message: format!("Invalid input: expected \"{lit}\""),
                    path: path.clone(),
                });
            }
        }
        Schema::IntegrationType => match value {
            Some(Value::String(s)) if KNOWN_TYPES.contains(&s.as_str()) => {}
            // zod's union keeps the issues of the one branch that did not
            // abort: the string branch's length and pattern checks.
            Some(Value::String(s)) => {
                if s.is_empty() {
                    out.push(Issue {
                        message: "Too small: expected string to have >=1 characters".into(),
                        path: path.clone(),
                    });
                }
                if !connectors_wire::is_valid_integration_type(s) {
                    out.push(Issue {
                        message: "Invalid string: must match pattern /^[a-z0-9_-]+$/i".into(),
                        path: path.clone(),
                    });
                }
            }
            _ => out.push(Issue {
                message: "Invalid input".into(),
                path: path.clone(),
            }),
        },
        Schema::Array(item) => match value {
            Some(Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    check(item, Some(v), path, out);
                    path.pop();
                }
            }
            v => out.push(expected("array", v, path)),
        },
        Schema::Object(shape) => match value {
            Some(Value::Object(map)) => {
                for (key, field) in shape {
                    path.push(Seg::Key((*key).to_string()));
                    check(field, map.get(*key), path, out);
                    path.pop();
                }
            }
            v => out.push(expected("object", v, path)),
        },
    }
}

/// Every issue of `value` against `schema`, in zod's order.
pub fn validate(schema: &Schema, value: &Value) -> Vec<Issue> {
    let mut out = Vec::new();
    check(schema, Some(value), &mut Vec::new(), &mut out);
    out
}

/// zod's `toDotPath`.
fn dot_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
            Seg::Key(k) => {
                let plain = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
                if plain {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                } else {
                    out.push_str(&format!("[{}]", crate::json::js_string(k)));
                }
            }
        }
    }
    out
}

/// zod's `prettifyError`: issues sorted by path length, `✖ message` and
/// `  → at path` lines.
pub fn prettify(issues: &[Issue]) -> String {
    let mut sorted: Vec<&Issue> = issues.iter().collect();
    sorted.sort_by_key(|i| i.path.len());
    let mut lines = Vec::new();
    for issue in sorted {
        lines.push(format!("✖ {}", issue.message));
        if !issue.path.is_empty() {
            lines.push(format!("  → at {}", dot_path(&issue.path)));
        }
    }
    lines.join("\n")
}

/// Schemas of the bodies the CLI reads (SRC/core/resources/connector/schema.ts,
/// SRC/core/auth/schema.ts).
pub mod bodies {
    use super::s::*;
    use super::Schema;

    /// `GET external-auth/list`.
    pub fn connector_list() -> Schema {
        object(vec![(
            "integrations",
            array(object(vec![
                ("integration_type", Schema::IntegrationType),
                (
                    "status",
                    Schema::Enum(&["active", "disconnected", "expired"]),
                ),
                ("scopes", array(string())),
                ("user_email", optional(string())),
            ])),
        )])
    }

    /// `PUT external-auth/integrations/{type}`.
    pub fn set_connector() -> Schema {
        object(vec![
            ("redirect_url", nullable(string())),
            ("connection_id", nullable(string())),
            ("already_authorized", Schema::Bool),
            ("error", nullable(string())),
            ("error_message", nullable(string())),
            ("other_user_email", nullable(string())),
        ])
    }

    /// `GET external-auth/status`.
    pub fn oauth_status() -> Schema {
        object(vec![(
            "status",
            Schema::Enum(&["ACTIVE", "FAILED", "PENDING"]),
        )])
    }

    /// `DELETE external-auth/integrations/{type}/remove`.
    pub fn remove_connector() -> Schema {
        object(vec![
            ("status", Schema::Literal("removed")),
            ("integration_type", Schema::IntegrationType),
        ])
    }

    /// `POST payments/stripe/install`.
    pub fn stripe_install() -> Schema {
        object(vec![
            ("already_installed", Schema::Bool),
            ("claim_url", nullable(string())),
        ])
    }

    /// `GET payments/stripe/status`.
    pub fn stripe_status() -> Schema {
        object(vec![
            ("stripe_mode", nullable(Schema::Enum(&["sandbox", "live"]))),
            ("sandbox_claim_url", optional(nullable(string()))),
        ])
    }

    /// `DELETE payments/stripe`.
    pub fn stripe_remove() -> Schema {
        object(vec![("success", Schema::Bool)])
    }

    /// `GET external-auth/available-integrations`.
    pub fn available_integrations() -> Schema {
        object(vec![(
            "integrations",
            array(object(vec![
                ("integration_type", non_empty()),
                ("display_name", string()),
                ("description", string()),
                (
                    "connection_config_fields",
                    array(object(vec![
                        ("name", string()),
                        ("display_name", string()),
                        ("description", string()),
                        ("placeholder", string()),
                        ("required", Schema::Bool),
                        ("validation_pattern", optional(nullable(string()))),
                        ("validation_error", optional(nullable(string()))),
                    ])),
                ),
            ])),
        )])
    }

    /// `POST oauth/device/code`.
    pub fn device_code() -> Schema {
        object(vec![
            ("device_code", non_empty_msg("Device code cannot be empty")),
            ("user_code", non_empty_msg("User code cannot be empty")),
            ("verification_uri", url("Invalid verification URL")),
            (
                "expires_in",
                Schema::PositiveInt("Expires in must be a positive integer"),
            ),
            (
                "interval",
                Schema::PositiveInt("Interval in must be a positive integer"),
            ),
        ])
    }

    /// `POST oauth/token` success.
    pub fn token() -> Schema {
        object(vec![
            ("access_token", non_empty_msg("Token cannot be empty")),
            ("token_type", non_empty_msg("Token type cannot be empty")),
            (
                "expires_in",
                Schema::PositiveInt("Expires in must be a positive integer"),
            ),
            (
                "refresh_token",
                non_empty_msg("Refresh token cannot be empty"),
            ),
            ("scope", optional(string())),
        ])
    }

    /// `POST oauth/token` error.
    pub fn oauth_error() -> Schema {
        object(vec![
            ("error", string()),
            ("error_description", optional(string())),
        ])
    }

    /// `GET oauth/userinfo`.
    pub fn user_info() -> Schema {
        object(vec![("email", email()), ("name", string())])
    }

    /// `~/.base44/auth/auth.json`.
    pub fn auth_file() -> Schema {
        object(vec![
            ("accessToken", non_empty_msg("Token cannot be empty")),
            (
                "refreshToken",
                non_empty_msg("Refresh token cannot be empty"),
            ),
            (
                "expiresAt",
                Schema::PositiveInt("Expires at must be a positive integer"),
            ),
            ("email", email()),
            ("name", non_empty_msg("Name cannot be empty")),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pretty(schema: Schema, v: Value) -> String {
        prettify(&validate(&schema, &v))
    }

    #[test]
    fn missing_key_reads_like_zod() {
        let body = json!({"redirect_url": null, "connection_id": null, "already_authorized": false,
                          "error": null, "error_message": null});
        assert_eq!(
            pretty(bodies::set_connector(), body),
            "✖ Invalid input: expected string, received undefined\n  → at other_user_email"
        );
    }

    #[test]
    fn invalid_list_item() {
        let body = json!({"integrations": [{"bad": "data"}]});
        let text = pretty(bodies::available_integrations(), body);
        assert_eq!(
            text,
            "✖ Invalid input: expected string, received undefined\n  → at integrations[0].integration_type\n\
             ✖ Invalid input: expected string, received undefined\n  → at integrations[0].display_name\n\
             ✖ Invalid input: expected string, received undefined\n  → at integrations[0].description\n\
             ✖ Invalid input: expected array, received undefined\n  → at integrations[0].connection_config_fields"
        );
    }

    #[test]
    fn null_user_email_and_uppercase_status_fail() {
        let body = json!({"integrations": [{"integration_type": "slack", "status": "ACTIVE",
                                            "scopes": [], "user_email": null}]});
        assert_eq!(
            pretty(bodies::connector_list(), body),
            "✖ Invalid option: expected one of \"active\"|\"disconnected\"|\"expired\"\n  → at integrations[0].status\n\
             ✖ Invalid input: expected string, received null\n  → at integrations[0].user_email"
        );
    }

    #[test]
    fn integration_type_union() {
        let bad = json!({"status": "removed", "integration_type": "no way"});
        assert_eq!(
            pretty(bodies::remove_connector(), bad),
            "✖ Invalid string: must match pattern /^[a-z0-9_-]+$/i\n  → at integration_type"
        );
        let num = json!({"status": "gone", "integration_type": 3});
        assert_eq!(
            pretty(bodies::remove_connector(), num),
            "✖ Invalid input: expected \"removed\"\n  → at status\n✖ Invalid input\n  → at integration_type"
        );
    }

    #[test]
    fn top_level_type_and_sorting() {
        assert_eq!(
            pretty(bodies::oauth_status(), json!([])),
            "✖ Invalid input: expected object, received array"
        );
        assert!(validate(&bodies::stripe_status(), &json!({"stripe_mode": null})).is_empty());
        assert_eq!(
            pretty(bodies::stripe_status(), json!({})),
            "✖ Invalid option: expected one of \"sandbox\"|\"live\"\n  → at stripe_mode"
        );
    }

    #[test]
    fn emails() {
        assert!(is_email("owner@example.com"));
        assert!(is_email("a.b+c@sub.example.io"));
        assert!(!is_email("owner"));
        assert!(!is_email("owner@localhost"));
        assert!(!is_email(".a@example.com"));
        assert!(!is_email("a@example.c0"));
    }
}
