//! The OpenAPI document served at `/openapi.json`: it parses, names exactly
//! the routes of the server, every `$ref` resolves, and the schemas agree
//! with the wire types.

use std::collections::BTreeSet;

use connectors_server::routes::OPENAPI;
use connectors_wire::{
    AttemptStatus, ConnectorListItem, ConnectorStatus, ConnectorTokenResponse, CredentialInfo,
    ErrorBody, OAuthStatusResponse, RemoveConnectorResponse, RevokeResponse, SetConnectorResponse,
    StripeStatusResponse,
};
use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Every route of `routes::routes()`, as (method, OpenAPI path).
const ROUTES: [(&str, &str); 95] = [
    ("get", "/api/apps/{app_id}/events"),
    ("get", "/api/apps/{app_id}/webhooks"),
    ("post", "/api/apps/{app_id}/webhooks"),
    ("get", "/api/apps/{app_id}/webhooks/{endpoint_id}"),
    ("patch", "/api/apps/{app_id}/webhooks/{endpoint_id}"),
    ("delete", "/api/apps/{app_id}/webhooks/{endpoint_id}"),
    (
        "post",
        "/api/apps/{app_id}/webhooks/{endpoint_id}/rotate-secret",
    ),
    ("post", "/api/apps/{app_id}/webhooks/{endpoint_id}/test"),
    (
        "get",
        "/api/apps/{app_id}/webhooks/{endpoint_id}/deliveries",
    ),
    ("get", "/api/apps/{app_id}/audit"),
    ("get", "/api/workspace/{workspace_id}/audit"),
    ("get", "/apps/{app_id}/editor/workspace/audit"),
    ("get", "/apps/{app_id}/editor/workspace/webhooks"),
    ("post", "/apps/{app_id}/editor/workspace/webhooks"),
    (
        "get",
        "/apps/{app_id}/editor/workspace/webhooks/{endpoint_id}",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/webhooks/{endpoint_id}/test",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/webhooks/{endpoint_id}/enable",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/webhooks/{endpoint_id}/disable",
    ),
    (
        "get",
        "/apps/{app_id}/editor/workspace/webhooks/{endpoint_id}/rotate-secret",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/webhooks/{endpoint_id}/rotate-secret",
    ),
    (
        "get",
        "/apps/{app_id}/editor/workspace/webhooks/{endpoint_id}/delete",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/webhooks/{endpoint_id}/delete",
    ),
    ("get", "/workspace/audit"),
    (
        "post",
        "/api/apps/{app_id}/connectors/{integration_type}/call",
    ),
    (
        "delete",
        "/api/apps/{app_id}/app-user-connections/{user_id}/{connector_id}",
    ),
    ("get", "/api/apps/{app_id}/app-user-connections"),
    (
        "get",
        "/api/apps/{app_id}/app-users/{subject}/connectors/{connector_id}/token",
    ),
    (
        "post",
        "/api/apps/{app_id}/app-user-auth/connectors/{connector_id}/initiate",
    ),
    (
        "options",
        "/api/apps/{app_id}/app-user-auth/connectors/{connector_id}/initiate",
    ),
    (
        "delete",
        "/api/apps/{app_id}/app-user-auth/connectors/{connector_id}",
    ),
    (
        "options",
        "/api/apps/{app_id}/app-user-auth/connectors/{connector_id}",
    ),
    (
        "get",
        "/api/apps/{app_id}/app-user-auth/connectors/{connector_id}/token",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/app-connections/workspace/{connector_id}/connect",
    ),
    (
        "get",
        "/apps/{app_id}/editor/workspace/app-connections/workspace/{connector_id}/disconnect",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/app-connections/workspace/{connector_id}/disconnect",
    ),
    ("get", "/api/workspace/{workspace_id}/connectors"),
    ("post", "/api/workspace/{workspace_id}/connectors"),
    (
        "put",
        "/api/workspace/{workspace_id}/connectors/{connector_id}",
    ),
    (
        "delete",
        "/api/workspace/{workspace_id}/connectors/{connector_id}",
    ),
    ("get", "/api/apps/{app_id}/oauth-redirect-uris"),
    ("get", "/api/apps/{app_id}/external-auth/connectors"),
    (
        "put",
        "/api/apps/{app_id}/external-auth/connectors/{connector_id}",
    ),
    (
        "delete",
        "/api/apps/{app_id}/external-auth/connectors/{connector_id}",
    ),
    (
        "get",
        "/api/apps/{app_id}/external-auth/connectors/{connector_id}/status",
    ),
    (
        "get",
        "/api/apps/{app_id}/external-auth/tokens/connectors/{connector_id}",
    ),
    ("get", "/api/external-auth/callback"),
    ("get", "/.well-known/jwks.json"),
    ("post", "/api/apps/{app_id}/app-user-tokens"),
    ("get", "/api/apps/{app_id}/app-user-settings"),
    ("put", "/api/apps/{app_id}/app-user-settings"),
    ("get", "/api/apps/{app_id}/app-users"),
    ("get", "/healthz"),
    ("get", "/openapi.json"),
    ("get", "/api/external-auth/available-integrations"),
    (
        "get",
        "/api/apps/{app_id}/external-auth/available-integrations",
    ),
    ("get", "/api/apps/{app_id}/external-auth/list"),
    (
        "put",
        "/api/apps/{app_id}/external-auth/integrations/{integration_type}",
    ),
    (
        "delete",
        "/api/apps/{app_id}/external-auth/integrations/{integration_type}/remove",
    ),
    ("get", "/api/apps/{app_id}/external-auth/status"),
    (
        "get",
        "/api/apps/{app_id}/external-auth/tokens/{integration_type}",
    ),
    ("get", "/api/apps/{app_id}/payments/stripe/status"),
    ("post", "/api/apps/{app_id}/payments/stripe/install"),
    ("delete", "/api/apps/{app_id}/payments/stripe"),
    ("get", "/api/api-keys"),
    ("delete", "/api/api-keys/{key_id}"),
    ("get", "/api/apps/{app_id}/service-tokens"),
    ("delete", "/api/apps/{app_id}/service-tokens/{token_id}"),
    ("get", "/connect/{connection_id}"),
    ("post", "/connect/{connection_id}"),
    ("get", "/oauth/callback"),
    ("get", "/stripe/claim/{token}"),
    ("post", "/oauth/device/code"),
    ("post", "/oauth/token"),
    ("get", "/oauth/userinfo"),
    ("get", "/"),
    ("get", "/signin"),
    ("post", "/signin"),
    ("post", "/signin/oidc"),
    ("get", "/signin/oidc/callback"),
    ("get", "/invite/{token}"),
    ("post", "/invite/{token}"),
    ("post", "/signout"),
    ("get", "/device"),
    ("post", "/device"),
    ("get", "/apps/{app_id}/editor/workspace/overview"),
    ("get", "/apps/{app_id}/editor/workspace/app-connections"),
    (
        "post",
        "/apps/{app_id}/editor/workspace/app-connections/{integration_type}/reconnect",
    ),
    (
        "get",
        "/apps/{app_id}/editor/workspace/app-connections/{integration_type}/remove",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/app-connections/{integration_type}/remove",
    ),
    ("post", "/apps/{app_id}/editor/workspace/overview/api-keys"),
    (
        "get",
        "/apps/{app_id}/editor/workspace/overview/api-keys/{key_id}/revoke",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/overview/api-keys/{key_id}/revoke",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/overview/service-tokens",
    ),
    (
        "get",
        "/apps/{app_id}/editor/workspace/overview/service-tokens/{token_id}/revoke",
    ),
    (
        "post",
        "/apps/{app_id}/editor/workspace/overview/service-tokens/{token_id}/revoke",
    ),
];

fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is valid JSON")
}

/// Resolves a local `$ref` such as `#/components/schemas/ErrorBody`.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if !pointer.starts_with("/components/") {
        return None;
    }
    doc.pointer(pointer)
}

/// Follows `$ref` until a concrete value.
fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => deref(
            doc,
            resolve(doc, r).unwrap_or_else(|| panic!("dangling {r}")),
        ),
        None => value,
    }
}

fn collect_refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref" {
                    out.push((at.to_string(), child.as_str().unwrap_or("").to_string()));
                } else {
                    collect_refs(child, &format!("{at}/{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for (method, op) in item.as_object().expect("path item is an object") {
            if METHODS.contains(&method.as_str()) {
                ops.push((method.clone(), path.clone(), op));
            }
        }
    }
    ops
}

#[test]
fn is_openapi_3() {
    let doc = doc();
    let version = doc["openapi"].as_str().expect("openapi is a string");
    assert!(version.starts_with("3."), "openapi = {version}");
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());
}

#[test]
fn documents_exactly_the_routes() {
    let doc = doc();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        expected.len(),
        ROUTES.len(),
        "the route list has duplicates"
    );
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    assert_eq!(documented, expected);
}

#[test]
fn every_ref_resolves() {
    let doc = doc();
    let mut refs = Vec::new();
    collect_refs(&doc, "#", &mut refs);
    assert!(!refs.is_empty());
    for (at, reference) in refs {
        assert!(
            resolve(&doc, &reference).is_some(),
            "{at}: $ref {reference:?} names no component"
        );
    }
}

#[test]
fn operations_are_complete() {
    let doc = doc();
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let what = format!("{method} {path}");
        let id = op["operationId"].as_str().expect("operationId");
        assert!(
            ids.insert(id.to_string()),
            "{what}: duplicate operationId {id}"
        );
        assert!(op["description"].is_string(), "{what}: no description");

        // Security is explicit per operation and names declared schemes.
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no security"));
        for requirement in security {
            for name in requirement.as_object().expect("requirement").keys() {
                assert!(schemes.contains_key(name), "{what}: unknown scheme {name}");
            }
        }
        // A CORS preflight carries no credential.
        let public = method == "options"
            || !path.starts_with("/api/apps/")
                && !path.starts_with("/api/api-keys")
                && !path.starts_with("/api/workspace/")
                && path != "/oauth/userinfo";
        assert_eq!(security.is_empty(), public, "{what}: security");

        // Every `{param}` of the path is declared as a required path parameter.
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| deref(&doc, p))
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{what}: optional path param"))
            .map(|p| p["name"].as_str().expect("name").to_string())
            .collect();
        let in_path: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_string)
            .collect();
        assert_eq!(declared, in_path, "{what}: path parameters");

        // Every response carries X-Request-ID; JSON errors use ErrorBody,
        // except the OAuth endpoints' (RFC 6749 §5.2's shape, what clients
        // of /oauth/* parse).
        let responses = op["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{what}: no responses");
        for (status, response) in responses {
            let response = deref(&doc, response);
            assert!(
                response["headers"]["X-Request-ID"].is_object(),
                "{what} {status}: no X-Request-ID header"
            );
            let error = status.starts_with('4') || status.starts_with('5');
            if let Some(json) = response["content"].get("application/json") {
                let oauth = path.starts_with("/oauth/") && path != "/oauth/callback";
                if error && path != "/healthz" {
                    let expected =
                        if oauth && json["schema"]["$ref"] != "#/components/schemas/ErrorBody" {
                            "#/components/schemas/OAuthError"
                        } else {
                            "#/components/schemas/ErrorBody"
                        };
                    assert_eq!(json["schema"]["$ref"], expected, "{what} {status}");
                }
            }
        }
    }
}

/// The browser pages answer HTML: every documented answer is a redirect or
/// has a `text/html` body, and the redirects set the binding cookie.
/// The account pages answer HTML too: every documented answer is a
/// redirect to a local path or a `text/html` page, and every form post
/// documents the refusal of a cross-site post (403) and its form errors.
#[test]
fn account_pages_answer_html_and_document_their_refusals() {
    let doc = doc();
    let pages = [
        "/",
        "/signin",
        "/signin/oidc",
        "/signin/oidc/callback",
        "/invite/{token}",
        "/signout",
    ];
    for (method, path, op) in operations(&doc) {
        if !pages.contains(&path.as_str()) {
            continue;
        }
        assert_eq!(op["tags"][0], "accounts", "{method} {path}");
        assert!(op["security"].as_array().is_some_and(Vec::is_empty));
        for (status, response) in op["responses"].as_object().expect("responses") {
            let response = deref(&doc, response);
            let what = format!("{method} {path} {status}");
            if status.starts_with('3') {
                assert!(response["headers"]["Location"].is_object(), "{what}");
            } else {
                assert!(response["content"]["text/html"].is_object(), "{what}");
            }
        }
        if method == "post" {
            for status in ["303", "400", "403", "408", "413", "415", "500"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} {status}"
                );
            }
            assert!(op["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
        }
    }
    assert!(doc["paths"]["/signin"]["post"]["responses"]["429"].is_object());
    assert!(doc["paths"]["/signin"]["post"]["responses"]["401"].is_object());
}

/// Query parameters without which the server always refuses are required
/// (issue #10.5: the callback's `state` was documented as optional).
#[test]
fn parameters_the_server_needs_are_required() {
    let doc = doc();
    for (path, method, name) in [
        ("/oauth/callback", "get", "state"),
        (
            "/api/apps/{app_id}/external-auth/status",
            "get",
            "integration_type",
        ),
        (
            "/api/apps/{app_id}/external-auth/status",
            "get",
            "connection_id",
        ),
    ] {
        let parameter = doc["paths"][path][method]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .map(|p| deref(&doc, p))
            .find(|p| p["in"] == "query" && p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path}: no query parameter {name}"));
        assert_eq!(parameter["required"], true, "{method} {path}: {name}");
    }
}

#[test]
fn pages_answer_html() {
    let doc = doc();
    let pages = ["/connect/{connection_id}", connectors_engine::CALLBACK_PATH];
    for (method, path, op) in operations(&doc) {
        if !pages.contains(&path.as_str()) {
            continue;
        }
        let responses = op["responses"].as_object().expect("responses");
        for (status, response) in responses {
            let response = deref(&doc, response);
            let what = format!("{method} {path} {status}");
            if status.starts_with('3') {
                let headers = &response["headers"];
                assert!(headers["Location"].is_object(), "{what}: no Location");
                assert!(headers["Set-Cookie"].is_object(), "{what}: no Set-Cookie");
            } else {
                assert!(
                    response["content"]["text/html"].is_object(),
                    "{what}: not text/html"
                );
            }
        }
    }
    let connect = &doc["paths"]["/connect/{connection_id}"];
    for status in ["200", "302", "400", "404", "503"] {
        assert!(
            connect["get"]["responses"][status].is_object(),
            "GET /connect {status}"
        );
    }
    assert!(
        connect["get"]["responses"]["501"].is_null(),
        "GET /connect 501"
    );
    for status in ["302", "400", "404", "408", "413", "415", "503"] {
        assert!(
            connect["post"]["responses"][status].is_object(),
            "POST /connect {status}"
        );
    }
    assert!(
        connect["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object()
    );
    let callback = &doc["paths"][connectors_engine::CALLBACK_PATH]["get"];
    for status in ["200", "400", "500", "502", "503"] {
        assert!(
            callback["responses"][status].is_object(),
            "callback {status}"
        );
    }
    let query: BTreeSet<&str> = callback["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| deref(&doc, p))
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        query,
        BTreeSet::from(["state", "code", "error", "error_description", "iss"])
    );
}

/// The token endpoint documents the refresh failures with their codes, and
/// every such code is listed in `ErrorBody`.
#[test]
fn token_refresh_errors_are_documented() {
    let doc = doc();
    let codes = doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["description"]
        .as_str()
        .expect("code description");
    let responses = &doc["paths"]["/api/apps/{app_id}/external-auth/tokens/{integration_type}"]
        ["get"]["responses"];
    for (status, code) in [
        ("409", "REAUTHORIZATION_REQUIRED"),
        ("503", "PROVIDER_UNAVAILABLE"),
    ] {
        let examples = responses[status]["content"]["application/json"]["examples"]
            .as_object()
            .unwrap_or_else(|| panic!("tokens {status}: no examples"));
        assert!(
            examples.values().all(|e| e["value"]["code"] == code),
            "tokens {status}: code {code}"
        );
        assert!(codes.contains(code), "ErrorBody does not list {code}");
    }
}

/// Every `code` an example shows is one `ErrorBody` lists.
#[test]
fn example_codes_are_listed() {
    fn codes<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let (Some(Value::String(code)), Some(Value::String(_))) =
                    (map.get("code"), map.get("detail"))
                {
                    out.push(code);
                }
                map.values().for_each(|v| codes(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| codes(v, out)),
            _ => {}
        }
    }
    let doc = doc();
    let listed = doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["description"]
        .as_str()
        .expect("code description");
    let mut found = Vec::new();
    codes(&doc, &mut found);
    assert!(found.len() > 10, "examples with codes: {found:?}");
    for code in found {
        assert!(listed.contains(code), "ErrorBody does not list {code}");
    }
}

/// The keys a wire value serializes to agree with its schema: none unknown,
/// none required missing.
fn assert_matches(doc: &Value, schema: &str, value: impl serde::Serialize) {
    let schema_value = &doc["components"]["schemas"][schema];
    let properties = schema_value["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema}: no properties"));
    let value = serde_json::to_value(value).expect("serializes");
    let keys = value.as_object().expect("an object");
    for key in keys.keys() {
        assert!(
            properties.contains_key(key),
            "{schema}: `{key}` is not documented"
        );
    }
    for required in schema_value["required"].as_array().into_iter().flatten() {
        let required = required.as_str().expect("required names are strings");
        assert!(
            keys.contains_key(required),
            "{schema}: `{required}` is required but not sent"
        );
    }
    for (key, property) in properties {
        if keys.get(key).is_some_and(Value::is_null) {
            assert_eq!(
                property["nullable"], true,
                "{schema}: `{key}` is sent as null"
            );
        }
    }
}

#[test]
fn schemas_agree_with_wire_types() {
    let doc = doc();
    assert_matches(
        &doc,
        "AppUserSettings",
        connectors_wire::AppUserSettings::default(),
    );
    assert_matches(
        &doc,
        "AppUserTokenResponse",
        connectors_wire::AppUserTokenResponse {
            access_token: "t".into(),
            token_type: "Bearer".into(),
            expires_in: 1,
        },
    );
    assert_matches(
        &doc,
        "AppUserInfo",
        connectors_wire::AppUserInfo {
            id: "i".into(),
            issuer: "https://c.example".into(),
            subject: "s".into(),
            email: None,
            name: None,
            created_at: 1,
            last_seen_at: 1,
        },
    );
    assert_matches(
        &doc,
        "SetConnectorResponse",
        SetConnectorResponse::default(),
    );
    assert_matches(
        &doc,
        "ConnectorListItem",
        ConnectorListItem {
            integration_type: "slack".into(),
            status: ConnectorStatus::Active,
            scopes: vec![],
            user_email: None,
        },
    );
    assert_matches(
        &doc,
        "StripeStatusResponse",
        StripeStatusResponse {
            stripe_mode: None,
            sandbox_claim_url: None,
        },
    );
    assert_matches(
        &doc,
        "ConnectorTokenResponse",
        ConnectorTokenResponse {
            access_token: "t".into(),
            integration_type: "slack".into(),
            connection_config: None,
        },
    );
    assert_matches(
        &doc,
        "RemoveConnectorResponse",
        RemoveConnectorResponse {
            status: "removed".into(),
            integration_type: "slack".into(),
        },
    );
    assert_matches(
        &doc,
        "OAuthStatusResponse",
        OAuthStatusResponse {
            status: AttemptStatus::Pending,
        },
    );
    assert_matches(
        &doc,
        "CredentialInfo",
        CredentialInfo {
            id: "k".into(),
            prefix: "b44k_abcde".into(),
            created_at: 1,
            revoked_at: None,
            last_used_at: Some(2),
        },
    );
    assert_matches(
        &doc,
        "RevokeResponse",
        RevokeResponse {
            id: "k".into(),
            revoked_at: 1,
            already_revoked: false,
        },
    );
    assert_matches(
        &doc,
        "ErrorBody",
        ErrorBody {
            detail: "Unauthorized".into(),
            code: None,
        },
    );
    let entry = connectors_wire::AuditEntry {
        id: 1,
        at: "2026-01-01T00:00:00Z".into(),
        actor: connectors_wire::AuditActor {
            kind: "operator".into(),
            id: None,
            label: None,
        },
        action: "api_key.created".into(),
        target: None,
        detail: None,
        app_id: None,
        client_address: None,
        request_id: None,
    };
    assert_matches(&doc, "AuditActor", &entry.actor);
    assert_matches(&doc, "AuditEntry", &entry);
    assert_matches(
        &doc,
        "AuditLog",
        connectors_wire::AuditLog {
            entries: vec![],
            next_cursor: 0,
            has_more: false,
        },
    );
}
