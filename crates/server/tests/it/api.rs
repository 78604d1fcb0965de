//! The HTTP API in process: shapes, the authorization matrix and bad input.

use crate::support::{call, in_process, TestServer};
use axum::body::Body;
use axum::http::Request;
use connectors_engine::ImportCredentials;
use connectors_vault::Secret;

fn req(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    match body {
        Some(b) => builder
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

async fn seed_credentials(t: &TestServer, ty: &str) {
    t.engine
        .import_credentials(ImportCredentials {
            app_id: t.boot.app_id.clone(),
            integration_type: ty.into(),
            builder_email: Some("owner@example.com".into()),
            access_token: Secret::new("canary-access"),
            refresh_token: None,
            expires_in: None,
            scopes: vec!["read".into()],
            connection_config: None,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn shapes_match_what_the_clients_validate() {
    let t = in_process().await;
    let key = t.boot.api_key.expose().to_string();
    let app = &t.boot.app_id;
    let h = [("api_key", key.as_str())];

    let catalog = call(
        &t.router,
        req(
            "GET",
            &format!("/api/apps/{app}/external-auth/available-integrations"),
            &h,
            None,
        ),
    )
    .await;
    assert_eq!(catalog.status, 200);
    let items = catalog.json()["integrations"].as_array().unwrap().clone();
    assert!(items.iter().any(|i| i["integration_type"] == "acme_crm"));
    assert!(items
        .iter()
        .all(|i| i["connection_config_fields"].is_array()));
    assert!(!items.iter().any(|i| i["integration_type"] == "stripe"));
    let public = call(
        &t.router,
        req(
            "GET",
            "/api/external-auth/available-integrations",
            &[],
            None,
        ),
    )
    .await;
    assert_eq!(public.json(), catalog.json());

    let put = call(
        &t.router,
        req(
            "PUT",
            &format!("/api/apps/{app}/external-auth/integrations/acme_crm"),
            &h,
            Some(r#"{"scopes":["read"]}"#),
        ),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let body = put.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    let connection_id = body["connection_id"].as_str().unwrap().to_string();
    assert_eq!(
        body["redirect_url"].as_str().unwrap(),
        format!("http://connectors.test/connect/{connection_id}")
    );

    let status = call(
        &t.router,
        req(
            "GET",
            &format!("/api/apps/{app}/external-auth/status?integration_type=acme_crm&connection_id={connection_id}"),
            &h,
            None,
        ),
    )
    .await;
    assert_eq!(status.json(), serde_json::json!({"status": "PENDING"}));

    let list = call(
        &t.router,
        req(
            "GET",
            &format!("/api/apps/{app}/external-auth/list"),
            &h,
            None,
        ),
    )
    .await;
    assert_eq!(
        list.json(),
        serde_json::json!({"integrations": [{"integration_type": "acme_crm", "status": "disconnected", "scopes": ["read"]}]})
    );

    seed_credentials(&t, "acme_crm").await;
    let list = call(
        &t.router,
        req(
            "GET",
            &format!("/api/apps/{app}/external-auth/list"),
            &h,
            None,
        ),
    )
    .await;
    assert_eq!(list.json()["integrations"][0]["status"], "active");
    assert_eq!(
        list.json()["integrations"][0]["user_email"],
        "owner@example.com"
    );
    let again = call(
        &t.router,
        req(
            "PUT",
            &format!("/api/apps/{app}/external-auth/integrations/acme_crm"),
            &h,
            Some(r#"{"scopes":["read"]}"#),
        ),
    )
    .await;
    assert_eq!(again.json()["already_authorized"], true);
    assert_eq!(again.json()["redirect_url"], serde_json::Value::Null);

    let bearer = format!("Bearer {}", t.boot.service_token.expose());
    let token = call(
        &t.router,
        req(
            "GET",
            &format!("/api/apps/{app}/external-auth/tokens/acme_crm"),
            &[("authorization", &bearer)],
            None,
        ),
    )
    .await;
    assert_eq!(token.status, 200);
    assert_eq!(
        token.json(),
        serde_json::json!({"access_token": "canary-access", "integration_type": "acme_crm", "connection_config": null})
    );
    assert_eq!(token.headers["cache-control"], "no-store");

    let stripe = call(
        &t.router,
        req(
            "GET",
            &format!("/api/apps/{app}/payments/stripe/status"),
            &h,
            None,
        ),
    )
    .await;
    assert_eq!(stripe.json()["stripe_mode"], serde_json::Value::Null);

    let removed = call(
        &t.router,
        req(
            "DELETE",
            &format!("/api/apps/{app}/external-auth/integrations/acme_crm/remove"),
            &h,
            None,
        ),
    )
    .await;
    assert_eq!(
        removed.json(),
        serde_json::json!({"status": "removed", "integration_type": "acme_crm"})
    );
    let gone = call(
        &t.router,
        req(
            "GET",
            &format!("/api/apps/{app}/external-auth/tokens/acme_crm"),
            &[("authorization", &bearer)],
            None,
        ),
    )
    .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["code"], "NOT_FOUND");
    assert!(gone.json()["detail"]
        .as_str()
        .unwrap()
        .starts_with("Connector connection not found"));
}

#[tokio::test]
async fn unconfigured_builtin_is_a_clear_4xx_but_still_listed() {
    let t = in_process().await;
    let key = t.boot.api_key.expose().to_string();
    let app = &t.boot.app_id;
    let answer = call(
        &t.router,
        req(
            "PUT",
            &format!("/api/apps/{app}/external-auth/integrations/notion"),
            &[("api_key", &key)],
            Some(r#"{"scopes":[]}"#),
        ),
    )
    .await;
    assert_eq!(answer.status, 422);
    let detail = answer.json()["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("[providers.notion]") && detail.contains("client_id"),
        "{detail}"
    );
    let catalog = call(
        &t.router,
        req(
            "GET",
            "/api/external-auth/available-integrations",
            &[],
            None,
        ),
    )
    .await;
    assert!(catalog.text.contains("\"notion\""));
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let t = in_process().await;
    let answer = call(
        &t.router,
        req("GET", "/healthz", &[("x-request-id", "abc-123")], None),
    )
    .await;
    assert_eq!(answer.headers["x-request-id"], "abc-123");
    let answer = call(&t.router, req("GET", "/nope", &[], None)).await;
    assert_eq!(answer.headers["x-request-id"].len(), 36);
}

/// Every endpoint × every wrong credential → the documented status, never data.
#[tokio::test]
async fn authorization_matrix() {
    let t = in_process().await;
    seed_credentials(&t, "acme_crm").await;
    let app = t.boot.app_id.clone();
    // Another workspace with its own builder and app.
    let ws = t.engine.create_workspace("other").await.unwrap();
    let stranger = t
        .engine
        .create_builder(&ws.id, "stranger@example.com")
        .await
        .unwrap();
    let stranger_key = t.engine.create_api_key(&stranger.id).await.unwrap().secret;
    let other_app = t.engine.create_app(&ws.id, "other").await.unwrap();
    let other_service = t
        .engine
        .create_service_token(&other_app.id)
        .await
        .unwrap()
        .secret;
    let own_key = t.boot.api_key.expose().to_string();

    let builder_endpoints: Vec<(&str, String, Option<&str>)> = vec![
        (
            "GET",
            format!("/api/apps/{app}/external-auth/available-integrations"),
            None,
        ),
        ("GET", format!("/api/apps/{app}/external-auth/list"), None),
        (
            "PUT",
            format!("/api/apps/{app}/external-auth/integrations/acme_crm"),
            Some(r#"{"scopes":["x"]}"#),
        ),
        (
            "GET",
            format!(
                "/api/apps/{app}/external-auth/status?integration_type=acme_crm&connection_id=x"
            ),
            None,
        ),
        (
            "DELETE",
            format!("/api/apps/{app}/external-auth/integrations/acme_crm/remove"),
            None,
        ),
        (
            "GET",
            format!("/api/apps/{app}/payments/stripe/status"),
            None,
        ),
        (
            "POST",
            format!("/api/apps/{app}/payments/stripe/install"),
            None,
        ),
        ("DELETE", format!("/api/apps/{app}/payments/stripe"), None),
    ];
    let tokens = format!("/api/apps/{app}/external-auth/tokens/acme_crm");

    let other_service_bearer = format!("Bearer {}", other_service.expose());
    let stranger_bearer = format!("Bearer {}", stranger_key.expose());
    let own_bearer = format!("Bearer {own_key}");
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, u16);
    // (name, headers, status on builder endpoints, status on the tokens endpoint)
    let cases: Vec<Case> = vec![
        ("no credentials", vec![], 401, 401),
        (
            "malformed authorization",
            vec![("authorization", "Basic Zm9vOmJhcg==")],
            401,
            401,
        ),
        ("empty bearer", vec![("authorization", "Bearer ")], 401, 401),
        (
            "bearer with extra words",
            vec![("authorization", "Bearer a b")],
            401,
            401,
        ),
        (
            "unknown api key",
            vec![("api_key", "b44k_unknown")],
            401,
            401,
        ),
        (
            "non-key api_key header",
            vec![("api_key", "hello")],
            401,
            401,
        ),
        (
            "another workspace's key",
            vec![("api_key", stranger_key.expose())],
            404,
            403,
        ),
        (
            "another workspace's key as bearer",
            vec![("authorization", &stranger_bearer)],
            404,
            403,
        ),
        (
            "another app's service token",
            vec![("authorization", &other_service_bearer)],
            403,
            401,
        ),
        ("own builder key", vec![("api_key", &own_key)], 0, 403),
        (
            "own builder key as bearer",
            vec![("authorization", &own_bearer)],
            0,
            403,
        ),
    ];
    for (name, headers, builder_status, tokens_status) in &cases {
        if *builder_status != 0 {
            for (method, path, body) in &builder_endpoints {
                let answer = call(&t.router, req(method, path, headers, *body)).await;
                assert_eq!(
                    answer.status, *builder_status,
                    "{name}: {method} {path}: {}",
                    answer.text
                );
                let json = answer.json();
                assert!(
                    json["detail"].is_string(),
                    "{name}: {method} {path}: {}",
                    answer.text
                );
                assert!(json.get("integrations").is_none() && !answer.text.contains("canary"));
                if *builder_status == 401 {
                    assert_eq!(json, serde_json::json!({"detail": "Unauthorized"}));
                }
            }
        }
        let answer = call(&t.router, req("GET", &tokens, headers, None)).await;
        assert_eq!(
            answer.status, *tokens_status,
            "{name}: tokens: {}",
            answer.text
        );
        assert!(!answer.text.contains("canary"), "{name}: leaked a token");
        let expected = match tokens_status {
            401 => serde_json::json!({"detail": "Unauthorized"}),
            403 => {
                serde_json::json!({"detail": "This endpoint is only accessible to service tokens"})
            }
            _ => unreachable!(),
        };
        assert_eq!(answer.json(), expected, "{name}");
    }
    // The connector survived all of that.
    let bearer = format!("Bearer {}", t.boot.service_token.expose());
    let ok = call(
        &t.router,
        req("GET", &tokens, &[("authorization", &bearer)], None),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["access_token"], "canary-access");
    // The other app's own token reaches the other app only, where nothing is connected.
    let other_tokens = format!("/api/apps/{}/external-auth/tokens/acme_crm", other_app.id);
    let answer = call(
        &t.router,
        req(
            "GET",
            &other_tokens,
            &[("authorization", &other_service_bearer)],
            None,
        ),
    )
    .await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn bad_input_gets_clear_json_errors() {
    let t = in_process().await;
    let key = t.boot.api_key.expose().to_string();
    let app = t.boot.app_id.clone();
    let h = [("api_key", key.as_str())];
    let put = |ty: &str| format!("/api/apps/{app}/external-auth/integrations/{ty}");
    let cases: Vec<(&str, Request<Body>, u16, &str)> = vec![
        ("unknown app", req("GET", "/api/apps/000000000000000000000000/external-auth/list", &h, None), 404, "not found"),
        ("malformed JSON", req("PUT", &put("acme_crm"), &h, Some("{\"scopes\": [")), 400, "EOF"),
        ("scopes not a list", req("PUT", &put("acme_crm"), &h, Some(r#"{"scopes":"a"}"#)), 400, "scopes"),
        ("scopes not strings", req("PUT", &put("acme_crm"), &h, Some(r#"{"scopes":[1]}"#)), 400, "scopes"),
        ("unknown field", req("PUT", &put("acme_crm"), &h, Some(r#"{"scope":["a"]}"#)), 400, "scope"),
        ("type failing the pattern", req("PUT", &put("bad%20type"), &h, Some(r#"{"scopes":[]}"#)), 400, "^[a-z0-9_-]+$"),
        ("encoded slash in type", req("PUT", &put("..%2Fevil"), &h, Some(r#"{"scopes":[]}"#)), 400, "^[a-z0-9_-]+$"),
        ("unknown type", req("PUT", &put("googlecalender"), &h, Some(r#"{"scopes":[]}"#)), 400, "did you mean `googlecalendar`"),
        ("stripe over OAuth", req("PUT", &put("stripe"), &h, Some(r#"{"scopes":[]}"#)), 400, "payments/stripe/install"),
        ("scope with a space", req("PUT", &put("acme_crm"), &h, Some(r#"{"scopes":["a b"]}"#)), 400, "own string"),
        (
            "oversized body",
            req("PUT", &put("acme_crm"), &h, Some(&format!(r#"{{"scopes":["{}"]}}"#, "a".repeat(100_000)))),
            413,
            "smaller",
        ),
        ("wrong content type", {
            Request::builder()
                .method("PUT")
                .uri(put("acme_crm"))
                .header("api_key", key.as_str())
                .header("content-type", "text/plain")
                .body(Body::from("{}"))
                .unwrap()
        }, 415, "application/json"),
        ("unknown route", req("GET", "/api/nothing/here", &h, None), 404, "/openapi.json"),
        ("wrong method", req("POST", &format!("/api/apps/{app}/external-auth/list"), &h, None), 405, "not allowed"),
        ("status without query", req("GET", &format!("/api/apps/{app}/external-auth/status"), &h, None), 400, "connection_id"),
        (
            "status of unknown attempt",
            req("GET", &format!("/api/apps/{app}/external-auth/status?integration_type=acme_crm&connection_id=nope"), &h, None),
            404,
            "base44 connectors push",
        ),
        ("remove of unknown connector", req("DELETE", &format!("{}/remove", put("slack")), &h, None), 404, "slack"),
    ];
    for (name, request, status, needle) in cases {
        let answer = call(&t.router, request).await;
        assert_eq!(answer.status, status, "{name}: {}", answer.text);
        let json = answer.json();
        let detail = json["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no detail: {}", answer.text));
        assert!(
            detail.contains(needle),
            "{name}: {detail:?} lacks {needle:?}"
        );
    }
    // Nothing was created by any of it.
    let list = call(
        &t.router,
        req(
            "GET",
            &format!("/api/apps/{app}/external-auth/list"),
            &h,
            None,
        ),
    )
    .await;
    assert_eq!(list.json()["integrations"], serde_json::json!([]));
}

#[tokio::test]
async fn an_unreadable_callback_query_gets_a_page_that_says_what_to_do() {
    let t = in_process().await;
    let answer = call(
        &t.router,
        req("GET", "/oauth/callback?state=a&state=b&code=c", &[], None),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.text.contains("Authorization failed")
            && answer.text.contains("base44 connectors push"),
        "{}",
        answer.text
    );
}
