//! Issue 10: one scope rule (`connectors_wire::scope`) for the server's check
//! and `openapi.json`: lengths in characters, whitespace and control
//! characters refused by both.

use axum::body::Body;
use axum::http::Request;
use connectors_server::routes::OPENAPI;
use connectors_wire::scope::{self, MAX_SCOPES, MAX_SCOPE_CHARS, PATTERN};
use serde_json::{json, Value};

use crate::support::{call, in_process};

#[test]
fn openapi_states_the_scope_rule() {
    let doc: Value = serde_json::from_str(OPENAPI).unwrap();
    let scopes = &doc["components"]["schemas"]["SetConnectorRequest"]["properties"]["scopes"];
    assert_eq!(scopes["maxItems"], json!(MAX_SCOPES));
    let item = &scopes["items"];
    assert_eq!(item["type"], "string");
    assert_eq!(item["minLength"], 1);
    assert_eq!(item["maxLength"], json!(MAX_SCOPE_CHARS));
    assert_eq!(item["pattern"], PATTERN);
}

#[tokio::test]
async fn scope_edges_over_http() {
    let t = in_process().await;
    let key = t.boot.api_key.expose().to_string();
    let path = format!(
        "/api/apps/{}/external-auth/integrations/acme_crm",
        t.boot.app_id
    );
    let put = |scopes: Value| {
        Request::builder()
            .method("PUT")
            .uri(&path)
            .header("api_key", key.as_str())
            .header("content-type", "application/json")
            .body(Body::from(json!({ "scopes": scopes }).to_string()))
            .unwrap()
    };

    // 512 two-byte characters (1,024 bytes) are accepted; 513 are not.
    let ok = call(&t.router, put(json!(["é".repeat(MAX_SCOPE_CHARS)]))).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    for bad in [
        "é".repeat(MAX_SCOPE_CHARS + 1),
        "chat:\u{1}write".to_string(),
        "a\u{feff}b".to_string(),
        String::new(),
    ] {
        let answer = call(&t.router, put(json!([bad]))).await;
        assert_eq!(answer.status, 400, "{bad:?}: {}", answer.text);
        let expected = format!("invalid scopes: {}", scope::check(&bad).unwrap_err());
        assert_eq!(
            answer.json(),
            json!({"detail": expected, "code": "INVALID_INPUT"}),
            "{bad:?}"
        );
    }
    let many = vec!["a"; MAX_SCOPES + 1];
    let answer = call(&t.router, put(json!(many))).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.text.contains("201 scopes given"), "{}", answer.text);
}
