//! Browser pages answer every failure with the HTML failure page (never
//! JSON or `text/plain`), and a Stripe claim link we never handed out is a
//! quiet 404, even when Stripe is not configured.

use connectors_testkit::CapturedLogs;

use axum::body::Body;
use axum::http::Request;

use crate::support::{call, in_process};

fn request(method: &str, path: &str, content_type: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn page_routes_fail_with_the_html_page() {
    let t = in_process().await;
    let form = Some("application/x-www-form-urlencoded");
    let big_form = format!("subdomain={}", "a".repeat(100_000));
    let cases: Vec<(&str, Request<Body>, u16)> = vec![
        (
            "PUT on the consent page",
            request("PUT", "/connect/abc", None, ""),
            405,
        ),
        (
            "DELETE on the callback",
            request("DELETE", "/oauth/callback", None, ""),
            405,
        ),
        (
            "POST on a claim link",
            request("POST", "/stripe/claim/abc", None, ""),
            405,
        ),
        (
            "undecodable connection id",
            request("GET", "/connect/%FF", None, ""),
            400,
        ),
        (
            "undecodable claim token",
            request("GET", "/stripe/claim/%FF%FE", None, ""),
            400,
        ),
        (
            "form sent as JSON",
            request("POST", "/connect/abc", Some("application/json"), "{}"),
            415,
        ),
        (
            "oversized form",
            request("POST", "/connect/abc", form, &big_form),
            413,
        ),
        (
            "no connection id",
            request("GET", "/connect/", None, ""),
            404,
        ),
        (
            "extra segments",
            request("GET", "/connect/a/b", None, ""),
            404,
        ),
        (
            "repeated callback parameter",
            request("GET", "/oauth/callback?state=a&state=b", None, ""),
            400,
        ),
        (
            "unknown consent link",
            request("GET", "/connect/nope", None, ""),
            404,
        ),
    ];
    for (name, request, status) in cases {
        let answer = call(&t.router, request).await;
        assert_eq!(answer.status, status, "{name}: {}", answer.text);
        let content_type = answer
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("text/html"),
            "{name}: {content_type:?}: {}",
            answer.text
        );
        assert!(
            answer.text.starts_with("<!doctype html>") && answer.text.contains("<h1>"),
            "{name}: {}",
            answer.text
        );
    }
}

#[tokio::test]
async fn an_unknown_claim_token_is_a_quiet_404_without_stripe() {
    // PROVIDERS_TOML configures no [stripe].
    let t = in_process().await;
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::DEBUG));
    for token in ["random-token", "x", "0123456789abcdef0123456789abcdef"] {
        let answer = call(
            &t.router,
            request("GET", &format!("/stripe/claim/{token}"), None, ""),
        )
        .await;
        assert_eq!(answer.status, 404, "{token}: {}", answer.text);
        assert!(
            answer.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{token}"
        );
        assert!(
            answer.text.contains("base44 connectors push"),
            "{}",
            answer.text
        );
    }
    let text = logs.text();
    assert!(
        !text.contains("ERROR") && !text.contains("WARN"),
        "nothing to report: {text}"
    );
}
