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
        assert_security_headers(&answer, name);
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

/// The strict policy, and that it admits the page's one inline stylesheet
/// by hash: a page whose style changed without its hash would render bare.
fn assert_security_headers(answer: &crate::support::Answer, name: &str) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let header = |h: &str| {
        answer
            .headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = header("content-security-policy");
    assert!(csp.starts_with("default-src 'none';"), "{name}: {csp:?}");
    assert!(!csp.contains("unsafe"), "{name}: {csp:?}");
    assert!(csp.contains("frame-ancestors 'none'"), "{name}: {csp:?}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{name}");
    assert_eq!(header("x-frame-options"), "DENY", "{name}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{name}");
    if let Some(style) = answer
        .text
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(style, _)| style)
    {
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{name}: {csp:?}");
    }
    assert!(
        !answer.text.contains("<script"),
        "{name}: pages carry no script"
    );
}

#[tokio::test]
async fn api_answers_carry_the_same_headers() {
    let t = in_process().await;
    let answer = call(&t.router, request("GET", "/healthz", None, "")).await;
    assert_security_headers(&answer, "healthz");
    let answer = call(&t.router, request("GET", "/api/nope", None, "")).await;
    assert_security_headers(&answer, "unknown API path");
}
