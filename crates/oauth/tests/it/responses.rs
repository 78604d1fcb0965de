//! Token responses of real provider shapes, failures and their classes, and
//! that nothing secret leaks through `Debug` or error texts.

use connectors_catalog::{Catalog, OAuthSpec};
use connectors_oauth::{parse_token_response, parse_token_response_at, TokenError, TokenSet};
use serde_json::json;

fn spec(t: &str) -> OAuthSpec {
    Catalog::builtin().get(t).unwrap().oauth()
}

fn parse(t: &str, status: u16, body: serde_json::Value) -> Result<TokenSet, TokenError> {
    parse_token_response(&spec(t), status, body.to_string().as_bytes())
}

const AT: &str = "ya29.ACCESS-TOKEN-0123456789";
const RT: &str = "1//REFRESH-TOKEN-0123456789";

/// Debug and Display of `value` hold none of the body's tokens.
fn assert_no_tokens(value: &(impl std::fmt::Debug + ?Sized), display: &str) {
    let debug = format!("{value:?}");
    for token in [
        AT,
        RT,
        "xoxp-USER-TOKEN-0123",
        "xoxb-BOT-TOKEN-0123",
        "xoxe-1-REFRESH-0123",
    ] {
        assert!(!debug.contains(token), "{debug}");
        assert!(!display.contains(token), "{display}");
    }
}

#[test]
fn standard_response() {
    let set = parse(
        "googlecalendar",
        200,
        json!({
            "access_token": AT, "refresh_token": RT, "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/calendar openid", "token_type": "Bearer"
        }),
    )
    .unwrap();
    assert_eq!(set.access_token.expose(), AT);
    assert_eq!(set.refresh_token.as_ref().unwrap().expose(), RT);
    assert_eq!(set.expires_in, Some(3599));
    assert_eq!(
        set.scope,
        Some(vec![
            "https://www.googleapis.com/auth/calendar".to_string(),
            "openid".to_string()
        ])
    );
    assert!(set.connection_config.is_empty());
    assert!(set.raw.expose().contains(AT));
    assert_no_tokens(&set, "");
}

#[test]
fn missing_refresh_token_is_none_and_expires_in_may_be_a_string() {
    let set = parse(
        "hubspot",
        200,
        json!({"access_token": AT, "expires_in": "1800", "token_type": "bearer"}),
    )
    .unwrap();
    assert!(set.refresh_token.is_none());
    assert_eq!(set.expires_in, Some(1800));
    assert_eq!(set.scope, None);
    // An empty or null refresh token is no refresh token either.
    let set = parse(
        "hubspot",
        200,
        json!({"access_token": AT, "refresh_token": ""}),
    )
    .unwrap();
    assert!(set.refresh_token.is_none());
    let set = parse(
        "hubspot",
        200,
        json!({"access_token": AT, "refresh_token": null}),
    )
    .unwrap();
    assert!(set.refresh_token.is_none());
    assert_eq!(set.expires_in, None);
}

#[test]
fn scope_as_commas_or_array() {
    let set = parse(
        "linear",
        200,
        json!({"access_token": AT, "scope": "read,write"}),
    )
    .unwrap();
    assert_eq!(
        set.scope,
        Some(vec!["read".to_string(), "write".to_string()])
    );
    let set = parse(
        "linear",
        200,
        json!({"access_token": AT, "scope": ["read", "write"]}),
    )
    .unwrap();
    assert_eq!(
        set.scope,
        Some(vec!["read".to_string(), "write".to_string()])
    );
}

#[test]
fn slack_user_token_is_nested() {
    let set = parse(
        "slack",
        200,
        json!({
            "ok": true,
            "app_id": "A0KRD7HC3",
            "authed_user": {
                "id": "U1234", "scope": "chat:write,channels:read",
                "access_token": "xoxp-USER-TOKEN-0123", "token_type": "user",
                "refresh_token": "xoxe-1-REFRESH-0123", "expires_in": 43200
            },
            "team": {"id": "T9TK3CUKW", "name": "Slack Softball Team"},
            "enterprise": null, "is_enterprise_install": false
        }),
    )
    .unwrap();
    assert_eq!(set.access_token.expose(), "xoxp-USER-TOKEN-0123");
    assert_eq!(
        set.refresh_token.as_ref().unwrap().expose(),
        "xoxe-1-REFRESH-0123"
    );
    assert_eq!(set.expires_in, Some(43200));
    assert_eq!(
        set.scope,
        Some(vec!["chat:write".to_string(), "channels:read".to_string()])
    );
    assert_eq!(set.connection_config["user_id"], "U1234");
    assert_eq!(set.connection_config["team_id"], "T9TK3CUKW");
    assert_eq!(set.connection_config["team_name"], "Slack Softball Team");
    assert_no_tokens(&set, "");
}

#[test]
fn slack_user_token_refresh_answers_at_the_top_level() {
    let set = parse(
        "slack",
        200,
        json!({
            "ok": true, "app_id": "A0KRD7HC3", "token_type": "user",
            "access_token": "xoxp-USER-TOKEN-0123", "refresh_token": "xoxe-1-REFRESH-0123",
            "expires_in": 43200, "scope": "chat:write",
            "team": {"id": "T9TK3CUKW", "name": "Team"}
        }),
    )
    .unwrap();
    assert_eq!(set.access_token.expose(), "xoxp-USER-TOKEN-0123");
    assert_eq!(set.refresh_token.unwrap().expose(), "xoxe-1-REFRESH-0123");
    assert_eq!(set.expires_in, Some(43200));
}

#[test]
fn slack_bot_token_is_top_level() {
    let set = parse(
        "slackbot",
        200,
        json!({
            "ok": true, "access_token": "xoxb-BOT-TOKEN-0123", "token_type": "bot",
            "scope": "commands,incoming-webhook", "bot_user_id": "U0KRQLJ9H",
            "team": {"id": "T9TK3CUKW", "name": "Team"},
            "authed_user": {"id": "U1234"}
        }),
    )
    .unwrap();
    assert_eq!(set.access_token.expose(), "xoxb-BOT-TOKEN-0123");
    assert_eq!(set.connection_config["bot_user_id"], "U0KRQLJ9H");
    assert_eq!(set.connection_config["team_id"], "T9TK3CUKW");
}

#[test]
fn slack_ok_false_fails_despite_http_200() {
    for (code, permanent) in [
        ("invalid_refresh_token", true),
        ("token_revoked", true),
        ("invalid_code", true),
        ("ratelimited", false),
        ("internal_error", false),
    ] {
        let body = json!({"ok": false, "error": code, "authed_user": {"access_token": "xoxp-USER-TOKEN-0123"}});
        let err = parse("slack", 200, body.clone()).unwrap_err();
        assert_eq!(err.is_permanent(), permanent, "{code}: {err:?}");
        if permanent {
            assert_eq!(
                err,
                TokenError::Permanent {
                    error: code.into(),
                    description: None
                }
            );
        }
        assert_no_tokens(&err, &err.to_string());
        assert!(parse("slackbot", 200, body).is_err());
    }
}

#[test]
fn salesforce_instance_url_goes_to_connection_config() {
    let set = parse(
        "salesforce",
        200,
        json!({
            "access_token": AT, "refresh_token": RT,
            "signature": "d/SxeYBxH0GSVko0HMgcUxuZy0PA2cDDz1u7g7JtDHw=",
            "scope": "refresh_token api", "id_token": "eyJ...",
            "instance_url": "https://acme.my.salesforce.com",
            "id": "https://login.salesforce.com/id/00Dx/005x",
            "token_type": "Bearer", "issued_at": "1278448101416"
        }),
    )
    .unwrap();
    assert_eq!(set.expires_in, None);
    assert_eq!(
        set.connection_config["instance_url"],
        "https://acme.my.salesforce.com"
    );
    assert_eq!(
        set.scope,
        Some(vec!["refresh_token".to_string(), "api".to_string()])
    );
}

#[test]
fn numbers_and_booleans_in_connection_config_are_stringified() {
    let set = parse(
        "instagram",
        200,
        json!({"access_token": AT, "user_id": 17841400000000000_u64}),
    )
    .unwrap();
    assert_eq!(set.connection_config["user_id"], "17841400000000000");
    let set = parse(
        "notion",
        200,
        json!({
            "access_token": AT, "token_type": "bearer", "bot_id": "b1",
            "workspace_name": "Acme", "workspace_id": "w1", "workspace_icon": null,
            "owner": {"type": "user"}, "duplicated_template_id": null
        }),
    )
    .unwrap();
    assert_eq!(set.connection_config["workspace_id"], "w1");
    assert_eq!(set.connection_config["workspace_name"], "Acme");
    assert_eq!(set.connection_config["bot_id"], "b1");
    assert!(set.refresh_token.is_none());
}

#[test]
fn square_lifetime_comes_from_expires_at() {
    // A fixed "now", so the lifetime is exact.
    let now = 1_750_000_000;
    let in_30_days = now + 30 * 86_400;
    let at = time::OffsetDateTime::from_unix_timestamp(in_30_days)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = json!({"access_token": AT, "token_type": "bearer", "expires_at": at, "merchant_id": "M1", "refresh_token": RT});
    let set =
        parse_token_response_at(&spec("square"), 200, body.to_string().as_bytes(), now).unwrap();
    assert_eq!(set.expires_in, Some(30 * 86_400));
    // Without a given time, the system clock's.
    let set = parse("square", 200, body).unwrap();
    assert!(set.expires_in.unwrap() < 0, "{:?}", set.expires_in);
    assert_eq!(set.connection_config["merchant_id"], "M1");
    // expires_in wins where both come; others ignore expires_at.
    let set = parse(
        "square",
        200,
        json!({"access_token": AT, "expires_in": 60, "expires_at": at}),
    )
    .unwrap();
    assert_eq!(set.expires_in, Some(60));
    let set = parse(
        "hubspot",
        200,
        json!({"access_token": AT, "expires_at": at}),
    )
    .unwrap();
    assert_eq!(set.expires_in, None);
}

#[test]
fn garbage_is_transient() {
    for body in [
        &b"<html>Bad Gateway</html>"[..],
        b"",
        b"access_token=gho_x&token_type=bearer",
        b"[1,2]",
        b"\xff\xfe",
    ] {
        let err = parse_token_response(&spec("github"), 200, body).unwrap_err();
        assert!(matches!(err, TokenError::Transient { .. }), "{err:?}");
    }
    // JSON without the access token is not the expected JSON either.
    let err = parse("github", 200, json!({"token_type": "bearer"})).unwrap_err();
    assert!(matches!(err, TokenError::Transient { .. }), "{err:?}");
    assert!(err.to_string().contains("access_token"), "{err}");
}

#[test]
fn server_errors_and_throttling_are_transient() {
    for status in [500, 502, 503, 504, 429, 408] {
        let err = parse_token_response(&spec("gitlab"), status, b"<html>oops</html>").unwrap_err();
        assert!(
            matches!(err, TokenError::Transient { .. }),
            "{status}: {err:?}"
        );
        assert!(err.to_string().contains(&status.to_string()), "{err}");
        // Even with an OAuth error code.
        let err = parse("gitlab", status, json!({"error": "invalid_grant"})).unwrap_err();
        assert!(
            matches!(err, TokenError::Transient { .. }),
            "{status}: {err:?}"
        );
    }
    let err = parse("gitlab", 400, json!({"error": "temporarily_unavailable"})).unwrap_err();
    assert!(matches!(err, TokenError::Transient { .. }), "{err:?}");
    // A 4xx without an OAuth error (a proxy page) is not the provider's refusal.
    let err = parse_token_response(&spec("gitlab"), 403, b"<html>Forbidden</html>").unwrap_err();
    assert!(matches!(err, TokenError::Transient { .. }), "{err:?}");
}

#[test]
fn refusals_are_permanent() {
    let err = parse(
        "googlecalendar",
        400,
        json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        TokenError::Permanent {
            error: "invalid_grant".into(),
            description: Some("Token has been expired or revoked.".into())
        }
    );
    assert_eq!(
        err.to_string(),
        "the provider refused the grant: `invalid_grant` (Token has been expired or revoked.)"
    );
    let err = parse("outlook", 401, json!({"error": "invalid_client"})).unwrap_err();
    assert_eq!(
        err,
        TokenError::Permanent {
            error: "invalid_client".into(),
            description: None
        }
    );
    for code in [
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ] {
        assert!(parse("box", 400, json!({"error": code}))
            .unwrap_err()
            .is_permanent());
    }
    // GitHub answers errors with HTTP 200.
    let err = parse(
        "github",
        200,
        json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}),
    )
    .unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    // Square's shape.
    let err = parse(
        "square",
        401,
        json!({"errors": [{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED", "detail": "Invalid refresh token"}]}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        TokenError::Permanent {
            error: "UNAUTHORIZED".into(),
            description: Some("Invalid refresh token".into())
        }
    );
}

#[test]
fn no_error_text_holds_a_token_from_the_body() {
    let bodies = [
        (
            400,
            json!({"error": "invalid_grant", "error_description": format!("refresh token {RT} is revoked"), "refresh_token": RT}),
        ),
        (
            400,
            json!({"error": "invalid_grant", "access_token": AT, "refresh_token": RT}),
        ),
        (
            200,
            json!({"ok": false, "error": "token_revoked", "access_token": AT}),
        ),
        (
            500,
            json!({"error": "server_error", "access_token": AT, "refresh_token": RT}),
        ),
        (
            401,
            json!({"error": {"code": "invalid_token", "message": format!("bad token {AT}")}, "access_token": AT}),
        ),
        (200, json!({"refresh_token": RT, "expires_in": 10})),
    ];
    for (status, body) in bodies {
        let err = parse("slackbot", status, body.clone()).unwrap_err();
        assert_no_tokens(&err, &err.to_string());
        // Without a success flag, a 200 with an access token is a success.
        if let Err(err) = parse("gitlab", status, body) {
            assert_no_tokens(&err, &err.to_string());
        }
    }
    let text = format!("{AT} {RT}");
    let err = parse_token_response(&spec("gitlab"), 502, text.as_bytes()).unwrap_err();
    assert_no_tokens(&err, &err.to_string());
}

#[test]
fn secret_bearing_values_redact_debug() {
    use connectors_oauth::{
        new_pkce, new_state, token_request, AuthorizationRequest, Grant, Secret,
    };
    let spec = spec("gitlab");
    let pkce = new_pkce();
    let state = new_state();
    let config = Default::default();
    let scopes = vec!["api".to_string()];
    let req = AuthorizationRequest {
        spec: &spec,
        client_id: "cid",
        redirect_uri: "https://me.example/cb",
        scopes: &scopes,
        state: state.expose(),
        pkce_challenge: Some(&pkce.challenge),
        connection_config: &config,
    };
    let debug = format!("{req:?} {pkce:?} {state:?}");
    let verifier = pkce.verifier.secret().expose().to_owned();
    assert!(!debug.contains(state.expose()), "{debug}");
    assert!(!debug.contains(&verifier), "{debug}");

    let refresh = Secret::new(RT);
    let grants = [
        Grant::AuthorizationCode {
            code: "AUTH-CODE-0123",
            redirect_uri: "https://me.example/cb",
            pkce_verifier: Some(pkce.verifier),
        },
        Grant::RefreshToken {
            refresh_token: &refresh,
            scopes: None,
        },
    ];
    let client = connectors_catalog::ClientCredentials {
        client_id: "cid".into(),
        client_secret: Some(Secret::new("CLIENT-SECRET-0123")),
    };
    for grant in &grants {
        let request = token_request(&spec, &client, grant, &config).unwrap();
        let debug = format!("{grant:?} {request:?} {client:?}");
        for secret in ["AUTH-CODE-0123", RT, &verifier, "CLIENT-SECRET-0123"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
    // Basic credentials sit in a header, which Debug does not show either.
    let request = token_request(&self::spec("notion"), &client, &grants[0], &config).unwrap();
    let debug = format!("{request:?}");
    assert!(debug.contains("Authorization"), "{debug}");
    assert!(!debug.contains("Basic"), "{debug}");
}
