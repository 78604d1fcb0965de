//! Clients that stall cannot hold the server: header-read, body-read and
//! keep-alive idle timeouts on a served in-process server (timeouts of a few
//! hundred milliseconds), and a SIGTERM that finishes within the drain time
//! while a client is stuck, on the real binary.
//!
//! Every wait is on a condition (the server closing the socket, an answer
//! arriving); the 10-second bounds only turn a hang into a failure.

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{start_server, TestServer, PROVIDERS_TOML};

/// Longer than any timeout a test configures: reaching it means a hang.
const HANG: Duration = Duration::from_secs(10);

const FAST: &str = "
[http]
header_read_timeout_secs = 0.3
body_read_timeout_secs = 0.3
";

async fn fast_server() -> TestServer {
    TestServer::builder()
        .config(|_| format!("{PROVIDERS_TOML}{FAST}"))
        .serve()
        .start()
        .await
}

async fn connect(t: &TestServer) -> TcpStream {
    TcpStream::connect(t.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Waits until the server closes the connection (EOF or reset), ignoring
/// what it sends first; panics after [`HANG`].
async fn closed_by_server(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    match tokio::time::timeout(HANG, stream.read_to_end(&mut seen)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(Err(e)) => panic!("reading failed: {e}"),
        Err(_) => panic!(
            "the server kept the connection open for {HANG:?}; got {:?}",
            String::from_utf8_lossy(&seen)
        ),
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Reads one response (head and a `content-length` body): (status, head, body).
async fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut raw = Vec::new();
    let read = async {
        loop {
            let text = String::from_utf8_lossy(&raw).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
                    return (status, head.to_string(), body[..length].to_string());
                }
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before a whole response: {text:?}");
            raw.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(HANG, read)
        .await
        .expect("no answer within the hang bound")
}

#[tokio::test]
async fn half_a_request_header_is_cut_off_after_the_header_timeout() {
    let t = fast_server().await;
    let mut stream = connect(&t).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    closed_by_server(&mut stream).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let t = fast_server().await;
    let mut stream = connect(&t).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, head, _) = read_response(&mut stream).await;
    assert_eq!(status, 200, "{head}");
    assert!(!head.to_ascii_lowercase().contains("connection: close"));
    // Kept alive, then idle: closed without another request.
    let rest = closed_by_server(&mut stream).await;
    assert!(rest.is_empty(), "{rest}");
}

#[tokio::test]
async fn a_stalled_body_gets_408_in_the_error_shape() {
    let t = fast_server().await;
    let mut stream = connect(&t).await;
    let request = format!(
        "PUT /api/apps/{}/external-auth/integrations/acme_crm HTTP/1.1\r\nHost: x\r\napi_key: {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"scopes\": [",
        t.app_id(),
        t.api_key()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (status, head, body) = read_response(&mut stream).await;
    assert_eq!(status, 408, "{head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["code"], "REQUEST_TIMEOUT", "{body}");
    assert!(json["detail"].as_str().unwrap().contains("retry"), "{body}");
}

#[tokio::test]
async fn a_stalled_consent_form_gets_the_408_page() {
    let t = fast_server().await;
    let mut stream = connect(&t).await;
    stream
        .write_all(
            b"POST /connect/some-attempt HTTP/1.1\r\nHost: x\r\n\
              content-type: application/x-www-form-urlencoded\r\ncontent-length: 50\r\n\r\nsubdomain=",
        )
        .await
        .unwrap();
    let (status, head, body) = read_response(&mut stream).await;
    assert_eq!(status, 408, "{head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{head}"
    );
    assert!(body.contains("send the form again"), "{body}");
}

#[tokio::test]
async fn a_stalled_sign_in_form_gets_the_sign_in_408_page() {
    let t = fast_server().await;
    let mut stream = connect(&t).await;
    stream
        .write_all(
            b"POST /signin HTTP/1.1\r\nHost: x\r\n\
              content-type: application/x-www-form-urlencoded\r\ncontent-length: 50\r\n\r\nemail=",
        )
        .await
        .unwrap();
    let (status, head, body) = read_response(&mut stream).await;
    assert_eq!(status, 408, "{head}\n{body}");
    assert!(body.contains("<title>Sign in</title>"), "{body}");
    assert!(
        body.contains("reload the page and send the form again"),
        "{body}"
    );
    assert!(!body.contains("Authorization failed"), "{body}");
}

/// The real binary, a client stuck in the middle of a request body (the
/// server is inside the handler: it asked for the body with `100 Continue`),
/// generous read timeouts and a short drain: SIGTERM ends the process after
/// the drain, and the stuck connection is closed.
#[test]
fn sigterm_with_a_stuck_client_exits_after_the_drain() {
    let mut server = start_server(
        &format!(
            "{PROVIDERS_TOML}\n[http]\nheader_read_timeout_secs = 120\nbody_read_timeout_secs = 120\n\
             request_timeout_secs = 120\nshutdown_drain_secs = 0.5\n"
        ),
        &[],
    );
    let host = server.url.trim_start_matches("http://").to_string();
    let mut stuck = std::net::TcpStream::connect(&host).unwrap();
    stuck.set_read_timeout(Some(HANG)).unwrap();
    let request = format!(
        "PUT /api/apps/{}/external-auth/integrations/acme_crm HTTP/1.1\r\nHost: x\r\napi_key: {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n",
        server.app_id(),
        server.api_key()
    );
    stuck.write_all(request.as_bytes()).unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("100 Continue") {
        let mut chunk = [0u8; 256];
        let n = stuck
            .read(&mut chunk)
            .expect("100 Continue within the hang bound");
        assert!(n > 0, "closed before 100 Continue: {}", server.logs());
        seen.extend_from_slice(&chunk[..n]);
    }

    let signalled = Instant::now();
    let kill = Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < HANG,
            "still running {HANG:?} after SIGTERM with a 0.5 s drain: {}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}: {}", server.logs());
    assert!(
        server.logs().contains("closing them"),
        "the drain's end is logged: {}",
        server.logs()
    );
    // The stuck client's connection went with the process.
    let mut rest = Vec::new();
    match stuck.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
}
