//! Response validation with the npm CLI's rules and words.
//!
//! The npm CLI validates every response with zod and, on failure, prints
//! `Invalid response from server:` followed by zod's issue list. serde alone
//! would accept bodies zod rejects (a `null` `user_email`, an
//! `integration_type` outside `/^[a-z0-9_-]+$/i`, a `status` other than
//! `"removed"`), and would word its errors differently, so each body is
//! checked against a [`Schema`] here first and only then deserialized into
//! its `connectors_wire` type. The zod machinery is `connectors_npm_compat::zod`;
//! this module holds the CLI's schemas.

pub use connectors_npm_compat::zod::{prettify, validate, Issue, Schema};

/// Schemas of the bodies the CLI reads (SRC/core/resources/connector/schema.ts,
/// SRC/core/auth/schema.ts).
pub mod bodies {
    use connectors_npm_compat::zod::s::*;
    use connectors_npm_compat::zod::Schema;
    use connectors_project::KNOWN_TYPES;

    /// `IntegrationTypeSchema`: a known type, or `CustomTypeSchema`
    /// (`z.string().min(1).regex(/^[a-z0-9_-]+$/i)`).
    ///
    /// Written as zod's union rather than as a call to
    /// [`connectors_wire::IntegrationType::new`], for parity with the npm
    /// CLI: the union's shape decides zod's messages (a non-string gets
    /// "Invalid input" because both branches abort, a bad string only the
    /// pattern branch's issues), so the `KNOWN_TYPES` branch stays even
    /// though it accepts nothing the pattern refuses; and zod has no length
    /// limit, so a type longer than `IntegrationType::MAX_LEN` that the npm
    /// CLI accepts is accepted here too. Otherwise it is the one rule: the
    /// test `integration_type_schema_is_the_wire_rule` pins the two together.
    pub(crate) fn integration_type() -> Schema {
        union(vec![
            Schema::Enum(KNOWN_TYPES),
            non_empty_matching_ci("^[a-z0-9_-]+$"),
        ])
    }

    /// `GET external-auth/list`.
    pub fn connector_list() -> Schema {
        object(vec![(
            "integrations",
            array(object(vec![
                ("integration_type", integration_type()),
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
            ("integration_type", integration_type()),
        ])
    }

    /// `GET external-auth/connectors`: the app's connections of workspace
    /// connectors (our server's route; the npm CLI has no schema for it).
    pub fn workspace_connection_list() -> Schema {
        object(vec![(
            "connections",
            array(object(vec![
                ("connector_id", non_empty()),
                ("integration_type", integration_type()),
                (
                    "status",
                    Schema::Enum(&["active", "disconnected", "expired"]),
                ),
                ("status_reason", nullable(string())),
                ("scopes", array(string())),
                ("granted_scopes", array(string())),
                ("user_email", optional(string())),
            ])),
        )])
    }

    /// `DELETE external-auth/connectors/{connector_id}`.
    pub fn disconnected() -> Schema {
        object(vec![
            ("status", Schema::Literal("disconnected")),
            ("connector_id", non_empty()),
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
                positive_int("Expires in must be a positive integer"),
            ),
            (
                "interval",
                positive_int("Interval in must be a positive integer"),
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
                positive_int("Expires in must be a positive integer"),
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
                positive_int("Expires at must be a positive integer"),
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
    use serde_json::Value;

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

    /// The response schema accepts exactly what `IntegrationType` accepts,
    /// up to its length limit (which zod, and so the npm CLI, does not have).
    #[test]
    fn integration_type_schema_is_the_wire_rule() {
        use connectors_wire::IntegrationType;
        let long_ok = "a".repeat(IntegrationType::MAX_LEN);
        let too_long = "a".repeat(IntegrationType::MAX_LEN + 1);
        let mut corpus: Vec<String> = [
            "",
            "slack",
            "Slack",
            "google_calendar",
            "custom-CRM_2",
            "a b",
            "a/b",
            "../x",
            "é",
            "a.b",
            "-",
            "_",
            "stripe",
            " slack",
            "slack\n",
            "a\u{0}b",
            "ＡＢ",
            "\u{212A}",
            "slac\u{212A}",
            "\u{17F}lack",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        corpus.extend(
            connectors_project::KNOWN_TYPES
                .iter()
                .map(|s| s.to_string()),
        );
        // Every one- and two-byte ASCII string.
        for a in 0u8..128 {
            corpus.push((a as char).to_string());
            for b in [b'a', b'-', b'Z', b' ', b'.', b'9', b'_'] {
                corpus.push(format!("{}{}", a as char, b as char));
            }
        }
        corpus.push(long_ok.clone());
        for value in &corpus {
            let zod_ok = validate(&bodies::integration_type(), &json!(value)).is_empty();
            let wire_ok = IntegrationType::new(value.as_str()).is_ok();
            assert_eq!(zod_ok, wire_ok, "{value:?}");
        }
        assert!(validate(&bodies::integration_type(), &json!(too_long)).is_empty());
        assert!(IntegrationType::new(too_long).is_err());
    }

    #[test]
    fn workspace_bodies() {
        let ok = json!({"connections": [{"connector_id": "abc", "integration_type": "ws_oidc",
            "status": "active", "status_reason": null, "scopes": ["a"], "granted_scopes": []}]});
        assert!(validate(&bodies::workspace_connection_list(), &ok).is_empty());
        let bad = json!({"connections": [{"connector_id": "", "integration_type": "ws_oidc",
            "status": "ACTIVE", "scopes": [], "granted_scopes": [], "user_email": null}]});
        assert_eq!(
            pretty(bodies::workspace_connection_list(), bad),
            "✖ Too small: expected string to have >=1 characters\n  → at connections[0].connector_id\n\
             ✖ Invalid option: expected one of \"active\"|\"disconnected\"|\"expired\"\n  → at connections[0].status\n\
             ✖ Invalid input: expected string, received undefined\n  → at connections[0].status_reason\n\
             ✖ Invalid input: expected string, received null\n  → at connections[0].user_email"
        );
        assert!(validate(
            &bodies::disconnected(),
            &json!({"status": "disconnected", "connector_id": "abc"})
        )
        .is_empty());
        assert!(!validate(&bodies::disconnected(), &json!({"status": "removed"})).is_empty());
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
}
