//! `connectors-bench proxy`: what `callApi` adds to a provider call. One
//! local upstream (a bare hyper server answering a small JSON body) is
//! called directly and through our proxy route, alternately, each over its
//! own keep-alive connection, one request at a time; the table shows each
//! side's p50 and p99 and the proxy's overhead (the difference of the
//! medians). Both sides share the process and the loopback, so the
//! difference is our work: the route, the cached token, the checks, the
//! upstream client, the envelope.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use bytes::Bytes;
use connectors_engine::{BootstrapRequest, ImportCredentials};
use connectors_server::testing::TestServer;
use connectors_vault::Secret;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// Options of `connectors-bench proxy`.
#[derive(clap::Args)]
pub struct ProxyArgs {
    /// Timed requests per side (after 200 warm-up requests each).
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(100..=1_000_000))]
    requests: u32,
}

const BODY: &str = r#"{"items":[{"id":1,"name":"one"},{"id":2,"name":"two"}],"next":null}"#;

/// The upstream: every request gets [`BODY`] with a rate-limit header.
async fn upstream() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "application/json")
                            .header("x-ratelimit-remaining", "42")
                            .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                            .expect("a valid response"),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// One request on `sender`: its status, body and time.
async fn timed(
    sender: &mut Sender,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<(hyper::StatusCode, Bytes, Duration)> {
    let started = Instant::now();
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body, started.elapsed()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len().max(1) - 1) as f64 * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

pub fn run(args: ProxyArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(measure(args))
}

async fn measure(args: ProxyArgs) -> anyhow::Result<()> {
    let upstream = upstream().await?;
    let base = format!("http://{upstream}");
    let database = connectors_testdb::TestDatabase::new();
    let server = TestServer::builder()
        .database_url(database.url())
        .config(|public_url| {
            format!(
                "public_url = \"{public_url}\"\n\n\
                 [providers.bench_api]\ndisplay_name = \"Bench API\"\nclient_id = \"bench\"\n\
                 authorization_url = \"https://bench.invalid/authorize\"\n\
                 token_url = \"https://bench.invalid/token\"\n\n\
                 [providers.bench_api.api]\nhosts = [{{ name = \"default\", base_url = \"{base}\" }}]\n\n\
                 [proxy]\nallow_private_networks = true\n"
            )
        })
        .bootstrap(BootstrapRequest {
            workspace_name: "bench".into(),
            builder_email: "bench@example.com".into(),
            app_name: "bench".into(),
        })
        .serve()
        .start()
        .await;
    server
        .engine
        .import_credentials(ImportCredentials {
            app_id: server.boot.app_id.clone(),
            integration_type: "bench_api".into(),
            builder_email: None,
            access_token: Secret::new("bench-access-token"),
            refresh_token: None,
            expires_in: None,
            scopes: vec![],
            connection_config: None,
        })
        .await
        .context("importing the bench connection's token")?;
    let ours: SocketAddr = server.url.trim_start_matches("http://").parse()?;
    let route = format!("/api/apps/{}/connectors/bench_api/call", server.boot.app_id);
    let bearer = format!("Bearer {}", server.boot.service_token.expose());
    let call =
        r#"{"method":"GET","path":"/v1/items","query":{"limit":2},"headers":{},"body":null}"#;
    let direct_request = || {
        Request::get("/v1/items?limit=2")
            .header("host", "127.0.0.1")
            .header("authorization", "Bearer bench-access-token")
            .body(Full::new(Bytes::new()))
            .expect("a valid request")
    };
    let proxy_request = || {
        Request::post(route.as_str())
            .header("host", "127.0.0.1")
            .header("authorization", bearer.as_str())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(call.as_bytes())))
            .expect("a valid request")
    };

    let mut direct = connect(upstream).await?;
    let mut proxied = connect(ours).await?;
    let (status, body, _) = timed(&mut proxied, proxy_request()).await?;
    let envelope: serde_json::Value = serde_json::from_slice(&body)?;
    ensure!(
        status == hyper::StatusCode::OK && envelope["success"] == true,
        "the proxy did not reach the upstream before timing: {status} {envelope}"
    );
    ensure!(
        envelope["data"] == serde_json::from_str::<serde_json::Value>(BODY)?,
        "the proxy answered another body than the upstream's: {envelope}"
    );
    for _ in 0..200 {
        timed(&mut direct, direct_request()).await?;
        timed(&mut proxied, proxy_request()).await?;
    }
    let n = args.requests as usize;
    let (mut d, mut p) = (Vec::with_capacity(n), Vec::with_capacity(n));
    // Alternating, so a change of machine load affects both sides alike.
    for _ in 0..n {
        let (s, _, t) = timed(&mut direct, direct_request()).await?;
        ensure!(s.is_success(), "the upstream answered {s}");
        d.push(t);
        let (s, _, t) = timed(&mut proxied, proxy_request()).await?;
        ensure!(s.is_success(), "the proxy answered {s}");
        p.push(t);
    }
    d.sort();
    p.sort();
    let ms = |t: Duration| t.as_secs_f64() * 1e3;
    println!("callApi proxy overhead: {n} sequential GETs per side, one keep-alive connection each, loopback");
    println!("{:<28} {:>10} {:>10}", "target", "p50 ms", "p99 ms");
    for (name, sorted) in [("upstream, direct", &d), ("upstream, through callApi", &p)] {
        println!(
            "{name:<28} {:>10.3} {:>10.3}",
            ms(percentile(sorted, 0.5)),
            ms(percentile(sorted, 0.99))
        );
    }
    let overhead = percentile(&p, 0.5).saturating_sub(percentile(&d, 0.5));
    println!(
        "proxy overhead at p50: {:.3} ms (ratio {:.2}x the direct call)",
        ms(overhead),
        ms(percentile(&p, 0.5)) / ms(percentile(&d, 0.5)).max(1e-9)
    );
    Ok(())
}
