//! The provider's callback, `GET /oauth/callback?<query>`, through the whole
//! router of an in-process server on SQLite: query extraction
//! (`CallbackQuery`), then the engine's checks of `state`, browser binding,
//! `error` and `code`. The input is the raw query; after a first newline,
//! the rest is sent as the `Cookie` header (the browser binding).
//!
//! A callback the server did not start must be refused with a 4xx HTML page,
//! never a 5xx or a JSON body.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::{HeaderValue, Request, Uri};
use connectors_server::testing::TestServer;
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
    let (query, cookie) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    // What a browser could send: a query that is part of a valid URI.
    let Ok(uri) = format!("/oauth/callback?{query}").parse::<Uri>() else {
        return;
    };
    let mut request = Request::get(uri);
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_bytes(c).ok()) {
        request = request.header(COOKIE, value);
    }
    let request = request.body(Body::empty()).expect("a request");
    let f = fixture();
    let response = f
        .runtime
        .block_on(f.server.router.clone().oneshot(request))
        .expect("the router is infallible");
    let status = response.status();
    assert!(status.is_client_error(), "HTTP {status} for ?{query}");
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("text/html"),
        "{content_type} for ?{query}"
    );
});
