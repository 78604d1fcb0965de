//! The `base44 login` endpoints, `POST /oauth/device/code` and
//! `POST /oauth/token`, through the whole router of an in-process server on
//! SQLite: body parsing (form or JSON, `routes::device::parse_params`), then
//! the engine's checks of client, scope, grant type, device code and
//! refresh token. Byte 0 picks the endpoint (bit 0) and the content type
//! (bits 1–2: form, JSON, none, other); the rest is the body.
//!
//! Every answer must be JSON: 200 with tokens or a device code, or 400
//! `{error, error_description}`; never a 5xx.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::Request;
use connectors_server::testing::TestServer;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let server = runtime.block_on(TestServer::builder().start());
        Fixture { runtime, server }
    })
}

fuzz_target!(|data: &[u8]| {
    let [pick, body @ ..] = data else {
        return;
    };
    let path = if pick & 1 == 0 {
        "/oauth/device/code"
    } else {
        "/oauth/token"
    };
    let mut request = Request::post(path);
    match (pick >> 1) & 3 {
        0 => request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded"),
        1 => request = request.header(CONTENT_TYPE, "application/json"),
        2 => {}
        _ => request = request.header(CONTENT_TYPE, "text/plain; charset=utf-8"),
    }
    let request = request.body(Body::from(body.to_vec())).expect("a request");
    let f = fixture();
    let (status, content_type, bytes) = f.runtime.block_on(async {
        let response = f
            .server
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        (status, content_type, bytes)
    });
    assert!(
        status == 200 || status == 400,
        "HTTP {status} for {path} {body:?}"
    );
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let value: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON body");
    if status == 400 {
        assert!(value["error"].is_string(), "{value}");
        assert!(value["error_description"].is_string(), "{value}");
    }
});
