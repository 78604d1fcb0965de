//! A provider endpoint that fails on demand: a loopback HTTP/1.1 proxy in
//! front of a real OAuth server (`oidc-provider`) that forwards every
//! request unchanged until a [`Fault`] is armed, and then answers that fault
//! instead, one armed fault per request.
//!
//! Written on plain sockets and threads rather than axum: one fault is
//! "close the connection without an answer", which an HTTP framework does
//! not let a handler do, and the proxy must not share code with the server
//! under test. Every request is answered with `Connection: close`.
//!
//! The proxy also collects the secrets it sees pass (codes, verifiers,
//! refresh and access tokens, client secrets) so that a test can search
//! logs for every one of them.

use std::collections::{BTreeSet, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;

/// What the endpoint answers instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `500 Internal Server Error` with a plain-text body.
    Status500,
    /// `503 Service Unavailable` with `Retry-After: {0}` (seconds).
    Unavailable(u64),
    /// No answer at all: the connection stays open until the client gives up.
    Timeout,
    /// `200 OK` with an HTML page (a proxy's or a login page).
    Html,
    /// `200 OK` with a JSON OAuth error (`invalid_grant`), as some providers
    /// answer failures; it echoes a token-like value the client must not log.
    ErrorBody,
    /// `200 OK`, `application/json`, cut off in the middle.
    MalformedJson,
    /// The connection is closed after the request is read, without an answer.
    Close,
}

impl Fault {
    /// The seven faults of the provider-fault matrix.
    pub const ALL: [Fault; 7] = [
        Fault::Status500,
        Fault::Unavailable(120),
        Fault::Timeout,
        Fault::Html,
        Fault::ErrorBody,
        Fault::MalformedJson,
        Fault::Close,
    ];

    /// Whether a client should treat it as "try again later".
    pub fn is_transient(self) -> bool {
        self != Fault::ErrorBody
    }
}

/// A value [`Fault::ErrorBody`] and [`Fault::MalformedJson`] put in their
/// bodies: it looks like a token, so it must never reach a log either.
pub const ECHOED_CANARY: &str = "echoed-canary-token-5d1e9b";

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request path (without the query).
    pub path: String,
    /// The fault it got, or `None` when it was forwarded.
    pub fault: Option<Fault>,
}

#[derive(Default)]
struct State {
    armed: VecDeque<Fault>,
    seen: Vec<Seen>,
    secrets: BTreeSet<String>,
    expires_in: Option<i64>,
    latency: Duration,
}

/// The fault-injecting endpoint; stops accepting when dropped.
pub struct FaultyEndpoint {
    /// `http://127.0.0.1:<port>`: the upstream's paths are the same here.
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl FaultyEndpoint {
    /// Starts a proxy to `upstream` (`http://host:port`, an origin).
    pub fn start(upstream: &str) -> FaultyEndpoint {
        let upstream = upstream
            .trim_end_matches('/')
            .strip_prefix("http://")
            .expect("an http:// origin")
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("bound address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (st, upstream) = (st.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = handle(stream, &upstream, &st);
                });
            }
        });
        FaultyEndpoint {
            url: format!("http://127.0.0.1:{port}"),
            state,
            stop,
            port,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The next `times` requests get `fault` (after any already armed).
    pub fn arm(&self, fault: Fault, times: usize) {
        self.state().armed.extend(std::iter::repeat_n(fault, times));
    }

    /// Forgets armed faults: requests are forwarded again.
    pub fn disarm(&self) {
        self.state().armed.clear();
    }

    /// How many armed faults are still waiting for a request.
    pub fn armed(&self) -> usize {
        self.state().armed.len()
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state().seen.clone()
    }

    /// Every secret seen in forwarded requests and answers, and the echoed canary.
    pub fn secrets(&self) -> Vec<String> {
        let mut all: Vec<String> = self.state().secrets.iter().cloned().collect();
        all.push(ECHOED_CANARY.to_string());
        all
    }

    /// Rewrites `expires_in` of forwarded token answers (`None`: as sent),
    /// to make tokens due for refresh without waiting.
    pub fn rewrite_expires_in(&self, seconds: Option<i64>) {
        self.state().expires_in = seconds;
    }

    /// Holds every forwarded request this long first (widens the window in
    /// which a provider call is in flight).
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }
}

impl Drop for FaultyEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A parsed HTTP/1.1 message: the start line, headers, body.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one message from `stream`: headers, then a `Content-Length` or
/// chunked body, or (`to_eof`) everything until the peer closes.
fn read_message(stream: &mut TcpStream, to_eof: bool) -> std::io::Result<Message> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut message = Message {
        start,
        headers,
        body: raw[head_end + 4..].to_vec(),
    };
    let chunked = message
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if let Some(len) = message
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        while message.body.len() < len {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            message.body.extend_from_slice(&buf[..n]);
        }
        message.body.truncate(len);
    } else if chunked || to_eof {
        loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            message.body.extend_from_slice(&buf[..n]);
        }
        if chunked {
            message.body = dechunk(&message.body);
        }
    }
    Ok(message)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..i])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        data = &data[i + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}

fn write_answer(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn handle(mut client: TcpStream, upstream: &str, state: &Mutex<State>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let request = read_message(&mut client, false)?;
    let path = request
        .start
        .split(' ')
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string();
    let (fault, latency) = {
        let mut s = lock(state);
        collect_request_secrets(&request, &mut s.secrets);
        let fault = s.armed.pop_front();
        s.seen.push(Seen {
            path: path.clone(),
            fault,
        });
        (fault, s.latency)
    };
    let json = || ("content-type", "application/json".to_string());
    match fault {
        Some(Fault::Status500) => write_answer(
            &mut client,
            "500 Internal Server Error",
            &[("content-type", "text/plain".into())],
            b"Internal Server Error",
        ),
        Some(Fault::Unavailable(secs)) => write_answer(
            &mut client,
            "503 Service Unavailable",
            &[json(), ("retry-after", secs.to_string())],
            br#"{"error":"temporarily_unavailable","error_description":"down for maintenance"}"#,
        ),
        Some(Fault::Timeout) => {
            // Read until the client hangs up (its timeout) or 60 s pass.
            let mut sink = [0u8; 256];
            while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
        }
        Some(Fault::Html) => write_answer(
            &mut client,
            "200 OK",
            &[("content-type", "text/html; charset=utf-8".into())],
            b"<!doctype html><html><body><h1>Sign in</h1><form></form></body></html>",
        ),
        Some(Fault::ErrorBody) => write_answer(
            &mut client,
            "200 OK",
            &[json()],
            format!(
                r#"{{"error":"invalid_grant","error_description":"grant revoked for {ECHOED_CANARY}","refresh_token":"{ECHOED_CANARY}"}}"#
            )
            .as_bytes(),
        ),
        Some(Fault::MalformedJson) => write_answer(
            &mut client,
            "200 OK",
            &[json()],
            format!(r#"{{"access_token":"{ECHOED_CANARY}","token_type":"Bea"#).as_bytes(),
        ),
        Some(Fault::Close) => {
            let _ = client.shutdown(Shutdown::Both);
        }
        None => {
            if !latency.is_zero() {
                std::thread::sleep(latency);
            }
            let answer = forward(&request, upstream)?;
            let mut body = answer.body;
            {
                let mut s = lock(state);
                if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) {
                    collect_json_secrets(&value, &mut s.secrets);
                    if let (Some(secs), Some(obj)) = (s.expires_in, value.as_object_mut()) {
                        if obj.contains_key("expires_in") {
                            obj.insert("expires_in".into(), secs.into());
                            body = value.to_string().into_bytes();
                        }
                    }
                }
            }
            let status = answer
                .start
                .split_once(' ')
                .map_or("502 Bad Gateway", |(_, s)| s);
            let headers: Vec<(&str, String)> = answer
                .headers
                .iter()
                .filter(|(n, _)| {
                    !["content-length", "transfer-encoding", "connection", "keep-alive"]
                        .iter()
                        .any(|h| n.eq_ignore_ascii_case(h))
                })
                .map(|(n, v)| (n.as_str(), v.clone()))
                .collect();
            write_answer(&mut client, status, &headers, &body);
        }
    }
    Ok(())
}

/// Sends `request` to `upstream` on a new connection and reads the answer.
fn forward(request: &Message, upstream: &str) -> std::io::Result<Message> {
    let mut server = TcpStream::connect(upstream)?;
    server.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{}\r\nhost: {upstream}\r\nconnection: close\r\n",
        request.start
    );
    for (name, value) in &request.headers {
        if ["host", "connection", "content-length", "transfer-encoding"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", request.body.len()));
    server.write_all(head.as_bytes())?;
    server.write_all(&request.body)?;
    read_message(&mut server, true)
}

/// The secret values of a token or revocation request: form fields and
/// the HTTP Basic client secret.
fn collect_request_secrets(request: &Message, out: &mut BTreeSet<String>) {
    let body = String::from_utf8_lossy(&request.body);
    for pair in body.split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            if [
                "code",
                "code_verifier",
                "refresh_token",
                "client_secret",
                "token",
            ]
            .contains(&name)
            {
                out.insert(form_decode(value));
            }
        }
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&request.body) {
        collect_json_secrets(&json, out);
    }
    if let Some(basic) = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Basic "))
    {
        // The header as sent is a secret too.
        out.insert(basic.trim().to_string());
        if let Ok(pair) = base64::engine::general_purpose::STANDARD.decode(basic.trim()) {
            let pair = String::from_utf8_lossy(&pair).into_owned();
            if let Some((_, secret)) = pair.split_once(':') {
                out.insert(form_decode(secret));
            }
        }
    }
    out.retain(|s| s.len() >= 6);
}

fn collect_json_secrets(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    if let Some(obj) = value.as_object() {
        for (key, v) in obj {
            let secret = key.contains("token") || key.contains("secret") || key == "code";
            match v {
                serde_json::Value::String(s) if secret && s.len() >= 6 => {
                    out.insert(s.clone());
                }
                serde_json::Value::Object(_) => collect_json_secrets(v, out),
                _ => {}
            }
        }
    }
}

fn form_decode(value: &str) -> String {
    let value = value.replace('+', " ");
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&value[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
