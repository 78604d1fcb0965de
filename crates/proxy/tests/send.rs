//! The phases against real sockets the test controls: each upstream
//! misbehaves in one way, and the outcome must say exactly how far the
//! call got.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use connectors_proxy::{AddressPolicy, Outbound, OutboundConfig, Phase, UpstreamCall};
use reqwest::header::HeaderMap;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn outbound(allow_private: bool, timeout_ms: u64) -> Outbound {
    Outbound::new(OutboundConfig {
        policy: AddressPolicy {
            allow_private_networks: allow_private,
            setting: "[proxy] allow_private_networks",
        },
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_millis(timeout_ms),
        max_response_bytes: 1024,
    })
}

fn get(url: &str) -> UpstreamCall {
    UpstreamCall {
        method: Method::GET,
        url: url.parse().unwrap(),
        headers: HeaderMap::new(),
        body: None,
        follow_redirects: false,
    }
}

/// A server that reads each request's head, then does `answer` with the
/// socket; counts the connections it accepted.
async fn upstream<F, Fut>(answer: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                answer(socket).await;
            });
        }
    });
    (url, seen)
}

async fn respond(mut socket: tokio::net::TcpStream, response: &'static [u8]) {
    let _ = socket.write_all(response).await;
    let _ = socket.shutdown().await;
}

#[tokio::test]
async fn a_refused_port_is_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    drop(listener);
    let out = outbound(true, 5_000).send(get(&url)).await;
    assert_eq!(out.phase, Phase::NotSent, "{out:?}");
    assert!(out.error.unwrap().contains("could not connect"));
}

#[tokio::test]
async fn private_addresses_are_not_called_unless_allowed() {
    let (url, seen) = upstream(|s| respond(s, b"HTTP/1.1 204 No Content\r\n\r\n")).await;
    let strict = outbound(false, 5_000);
    let literal = strict.send(get(&format!("{url}/x"))).await;
    assert_eq!(literal.phase, Phase::NotSent, "{literal:?}");
    assert!(literal.error.unwrap().contains("allow_private_networks"));
    let port = url.rsplit(':').next().unwrap();
    let named = strict
        .send(get(&format!("http://localhost:{port}/x")))
        .await;
    assert_eq!(named.phase, Phase::NotSent, "{named:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 0, "the upstream saw nothing");
    let allowed = outbound(true, 5_000).send(get(&format!("{url}/x"))).await;
    assert_eq!(
        (allowed.phase, allowed.status),
        (Phase::Responded, Some(204))
    );
    assert!(allowed.success());
}

#[tokio::test]
async fn silence_is_timed_out_and_a_reset_is_sent_unconfirmed() {
    let (silent, _) = upstream(|socket| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    })
    .await;
    let out = outbound(true, 300).send(get(&format!("{silent}/x"))).await;
    assert_eq!((out.phase, out.status), (Phase::TimedOut, None), "{out:?}");

    let (reset, _) = upstream(|socket| async move {
        // Linger 0: the close is a reset, as a crashed upstream's would be.
        #[allow(deprecated)]
        let _ = socket.set_linger(Some(Duration::ZERO));
        drop(socket);
    })
    .await;
    let out = outbound(true, 5_000).send(get(&format!("{reset}/x"))).await;
    assert_eq!(
        (out.phase, out.status),
        (Phase::SentUnconfirmed, None),
        "{out:?}"
    );
}

#[tokio::test]
async fn bodies_are_capped_and_decoded_and_headers_filtered() {
    let (big, _) = upstream(|s| {
        respond(
            s,
            Box::leak(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2000\r\n\r\n{}",
                    "x".repeat(2000)
                )
                .into_bytes()
                .into_boxed_slice(),
            ),
        )
    })
    .await;
    let out = outbound(true, 5_000).send(get(&format!("{big}/x"))).await;
    assert_eq!((out.phase, out.status), (Phase::Responded, Some(200)));
    assert!(!out.success());
    assert!(out.error.unwrap().contains("too large"));

    // "hello" gzipped.
    const GZ: [u8; 25] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9,
        0x07, 0x00, 0x86, 0xa6, 0x10, 0x36, 0x05, 0x00, 0x00, 0x00,
    ];
    let (gz, _) = upstream(|s| {
        let mut r = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-encoding: gzip\r\nset-cookie: s=1\r\nx-ratelimit-remaining: 42\r\naccess-control-allow-origin: *\r\ncontent-length: 25\r\n\r\n".to_vec();
        r.extend_from_slice(&GZ);
        respond(s, Box::leak(r.into_boxed_slice()))
    })
    .await;
    let out = outbound(true, 5_000).send(get(&format!("{gz}/x"))).await;
    assert_eq!(out.body, b"hello", "{out:?}");
    let names: Vec<&str> = out.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"x-ratelimit-remaining"), "{names:?}");
    for hidden in [
        "set-cookie",
        "access-control-allow-origin",
        "content-encoding",
        "content-length",
    ] {
        assert!(!names.contains(&hidden), "{hidden} in {names:?}");
    }
}

#[tokio::test]
async fn redirects_to_another_host_are_never_followed() {
    let (other, other_seen) =
        upstream(|s| respond(s, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")).await;
    let location: &'static str = Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: {}/stolen\r\ncontent-length: 0\r\n\r\n",
            other.replace("127.0.0.1", "localhost")
        )
        .into_boxed_str(),
    );
    let (first, _) = upstream(move |s| respond(s, location.as_bytes())).await;
    let mut call = get(&format!("{first}/x"));
    call.follow_redirects = true;
    let out = outbound(true, 5_000).send(call).await;
    assert_eq!(
        (out.phase, out.status),
        (Phase::Responded, Some(302)),
        "{out:?}"
    );
    assert_eq!(other_seen.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn same_origin_redirects_are_followed_only_when_the_type_opts_in() {
    let (url, seen) = upstream(|mut socket| async move {
        // The first request is redirected to /final on the same origin.
        let _ = socket
            .write_all(b"HTTP/1.1 302 Found\r\nlocation: /final\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        let _ = socket.shutdown().await;
    })
    .await;
    let out = outbound(true, 5_000)
        .send(get(&format!("{url}/start")))
        .await;
    assert_eq!(
        (out.phase, out.status),
        (Phase::Responded, Some(302)),
        "{out:?}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1, "not followed by default");
    let mut call = get(&format!("{url}/start"));
    call.follow_redirects = true;
    let out = outbound(true, 5_000).send(call).await;
    // Every answer of this upstream redirects: followed up to the limit.
    assert_eq!(out.status, Some(302), "{out:?}");
    assert!(
        seen.load(Ordering::SeqCst) > 2,
        "followed on the same origin"
    );
}
