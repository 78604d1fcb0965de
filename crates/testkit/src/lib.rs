//! Test parts shared by the suites of several crates: a bare HTTP/1.1
//! client (no dependency on the code under test), the Node tools of
//! `tests/js` — a real OAuth server and the headless-Chromium consent driver —
//! [`serve`], the one port-0 server guard, and [`faults::FaultyEndpoint`], a
//! provider endpoint that forwards to the real OAuth server or fails on demand;
//! [`CapturedLogs`], a log buffer to search; [`fake_oidc::FakeIdp`], a
//! scriptable OpenID Connect provider for the single sign-on tests.

pub mod fake_oidc;
pub mod faults;
mod logs;
pub mod oidc;
mod serve;

pub use logs::CapturedLogs;
pub use serve::{runtime, serve, serve_on, Served};

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The Node test tools, installed by `scripts/install-test-deps`.
pub fn js_dir() -> PathBuf {
    let dir = repo_root().join("tests/js");
    assert!(
        [
            "node_modules/.bin/base44",
            "node_modules/playwright-core",
            "node_modules/oidc-provider"
        ]
        .iter()
        .all(|part| dir.join(part).exists()),
        "the Node test clients are missing: run scripts/install-test-deps (scripts/test does it)"
    );
    dir
}

/// Sends `request` as is to `host` and reads the whole answer.
pub fn raw_http(host: &str, request: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

/// A minimal HTTP/1.1 request (a JSON body when given): (status, head, body).
pub fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, String, String)> {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let text = raw_http(host, &request)?;
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Ok((status, head.to_string(), body.to_string()))
}

/// [`http`] without the head: (status, body).
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    http(method, url, headers, body).map(|(status, _, body)| (status, body))
}
