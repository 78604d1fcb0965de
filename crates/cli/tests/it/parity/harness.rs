//! The scripted server itself: it records requests and answers as told.

use super::*;

#[test]
fn scripted_server_records_and_answers() {
    let server = support::ScriptedServer::start(&[
        available(Reply::json(500, json!({"detail": "x"})))
            .then(Reply::ok(json!({"integrations": []})).header("X-Request-ID", "req-1")),
        on(
            "PUT",
            "external-auth/integrations/*",
            Reply::ok(set_body(None, None, true)),
        ),
        on(
            "GET",
            "external-auth/status?integration_type=slack&connection_id=c1",
            Reply::ok(json!({"status": "ACTIVE"})),
        ),
    ]);
    let url = |p: &str| format!("{}/api/apps/app-parity/{p}", server.origin);
    let key = [("api_key", API_KEY), ("user-agent", "test-agent")];
    let (status, _, _) = http(
        "GET",
        &url("external-auth/available-integrations"),
        &key,
        None,
    )
    .unwrap();
    assert_eq!(status, 500);
    let (status, head, body) = http(
        "GET",
        &url("external-auth/available-integrations"),
        &key,
        None,
    )
    .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"integrations":[]}"#));
    assert!(
        head.to_ascii_lowercase().contains("x-request-id: req-1"),
        "{head}"
    );
    let (status, _, _) = http(
        "GET",
        &url("external-auth/available-integrations"),
        &key,
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "the last reply repeats");
    let (status, _, _) = http(
        "PUT",
        &url("external-auth/integrations/slack"),
        &key,
        Some(r#"{"scopes":["a"]}"#),
    )
    .unwrap();
    assert_eq!(status, 200);
    let (status, _, _) = http(
        "GET",
        &url("external-auth/status?integration_type=slack&connection_id=c1"),
        &key,
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    let (status, _, body) = http("DELETE", &url("payments/stripe"), &[], None).unwrap();
    assert_eq!(status, 404, "unscripted: {body}");
    assert!(body.contains("unscripted request: DELETE /api/apps/app-parity/payments/stripe"));

    let log = server.requests();
    let keys: Vec<String> = log.iter().map(|r| r.key()).collect();
    assert_eq!(
        keys,
        [
            "GET external-auth/available-integrations",
            "GET external-auth/available-integrations",
            "GET external-auth/available-integrations",
            r#"PUT external-auth/integrations/slack {"scopes":["a"]}"#,
            "GET external-auth/status?integration_type=slack&connection_id=c1",
            "DELETE payments/stripe",
        ]
    );
    assert_eq!(log[0].api_key.as_deref(), Some(API_KEY));
    assert_eq!(log[0].user_agent.as_deref(), Some("test-agent"));
    assert_eq!(log[3].content_type.as_deref(), Some("application/json"));
    assert_eq!(log[5].api_key, None);

    // Runs of PUTs compare as multisets, everything else in order.
    let rec = |m: &str, p: &str| support::Recorded {
        method: m.into(),
        path: format!("{}{p}", support::APP_PREFIX),
        body: None,
        api_key: None,
        authorization: None,
        user_agent: None,
        content_type: None,
        request_id: None,
    };
    let a = [
        rec("GET", "l"),
        rec("PUT", "x"),
        rec("PUT", "y"),
        rec("DELETE", "z"),
    ];
    let b = [
        rec("GET", "l"),
        rec("PUT", "y"),
        rec("PUT", "x"),
        rec("DELETE", "z"),
    ];
    let c = [
        rec("GET", "l"),
        rec("PUT", "y"),
        rec("DELETE", "z"),
        rec("PUT", "x"),
    ];
    assert_eq!(
        canonical(&a, Order::PutsUnordered),
        canonical(&b, Order::PutsUnordered)
    );
    assert_ne!(
        canonical(&a, Order::PutsUnordered),
        canonical(&c, Order::PutsUnordered)
    );
    assert_eq!(
        canonical(&a, Order::Unordered),
        canonical(&c, Order::Unordered)
    );
}
