//! The sign-in pages' parsers through the whole router of an in-process
//! server on SQLite: the `Cookie` header (session and CSRF cookies), the
//! sign-in form (`SignInForm`, its `next`), the origin check and the CSRF
//! comparison. The input is the cookie header; after a first newline, the
//! form body (posted from the server's own origin).
//!
//! Nothing a browser can send may get a 5xx, a page other than HTML, or a
//! redirect off this server.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN};
use axum::http::{HeaderValue, Request, Response};
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

fn check(response: Response<Body>, what: &str) {
    let status = response.status();
    assert!(!status.is_server_error(), "HTTP {status} for {what}");
    if status.is_redirection() {
        let location = response.headers().get(LOCATION).expect("a Location");
        let location = location.to_str().expect("an ASCII Location");
        assert!(
            location.starts_with('/') && !location.starts_with("//") && !location.contains('\\'),
            "redirect to {location} for {what}"
        );
    } else {
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            content_type.starts_with("text/html"),
            "{content_type} for {what}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let (cookie, form) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let cookie = HeaderValue::from_bytes(cookie).ok();
    let f = fixture();
    let mut post = Request::post("/signin")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ORIGIN, f.server.url.as_str());
    let mut home = Request::get("/");
    let mut signout = Request::post("/signout")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ORIGIN, f.server.url.as_str());
    if let Some(cookie) = cookie {
        post = post.header(COOKIE, cookie.clone());
        home = home.header(COOKIE, cookie.clone());
        signout = signout.header(COOKIE, cookie);
    }
    for (request, what) in [
        (post.body(Body::from(form.to_vec())), "POST /signin"),
        (home.body(Body::empty()), "GET /"),
        (signout.body(Body::from(form.to_vec())), "POST /signout"),
    ] {
        let response = f
            .runtime
            .block_on(f.server.router.clone().oneshot(request.expect("a request")))
            .expect("the router is infallible");
        check(response, what);
    }
});
