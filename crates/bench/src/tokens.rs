//! The token benchmark: drives `GET external-auth/tokens/{type}` on
//! loopback with N concurrent keep-alive connections, once per storage
//! backend (embedded SQLite and PostgreSQL, side by side), and prints
//! requests/s and p50/p99 latency beside a bare hyper "hello" server
//! measured in the same run, as ratios.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// Options of the token benchmark (the default mode). Both backends by
/// default: PostgreSQL gets a throwaway database on the server of
/// `--postgres-url` (dropped afterwards); if that server is unreachable its
/// row says why.
#[derive(clap::Args)]
pub struct TokensArgs {
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of measurement per target (after a 1 s warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Which storage backends to measure.
    #[arg(long, value_enum, default_value_t = Backends::Both)]
    backend: Backends,
    /// An existing PostgreSQL database on the server to use (only for
    /// creating and dropping the benchmark's own database).
    #[arg(long, env = "CONNECTORS_BENCH_POSTGRES_URL", default_value = connectors_testdb::DEFAULT_ADMIN_URL)]
    postgres_url: String,
    /// Instead of the comparison with bare hyper: measure the token endpoint
    /// with 1,000 stored connections, then again after seeding this many
    /// (apps of 10 connectors each), with this process's RSS each time.
    #[arg(long)]
    stored: Option<usize>,
}

/// Connectors per seeded app.
const TYPES_PER_APP: usize = 10;

/// This process's resident set size in MB (server and load generator).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `--stored N`: token p50/p99 and RSS at 1,000 stored connections and at N.
async fn stored(args: &TokensArgs, url: &str, backend: &str, n: usize) -> anyhow::Result<()> {
    let types: Vec<String> = std::iter::once("bench".to_string())
        .chain((1..TYPES_PER_APP).map(|i| format!("seed{i}")))
        .collect();
    let server = crate::server::start(url, &types, &[]).await?;
    let path = format!(
        "/api/apps/{}/external-auth/tokens/bench",
        server.boot().app_id
    );
    let auth = format!("Bearer {}", server.boot().service_token.expose());
    let mut apps = 1;
    for target in [1_000, n.max(1_000)] {
        let want = target.div_ceil(TYPES_PER_APP);
        let took = server.seed(&types, apps, want).await?;
        println!(
            "{backend}: seeded {} connections in {:.1} s",
            (want - apps) * TYPES_PER_APP,
            took.as_secs_f64()
        );
        apps = want;
        let s = drive(
            server.addr,
            &path,
            Some(&auth),
            args.connections,
            args.seconds,
        )
        .await?;
        row(
            &format!("tokens, {backend}, {} stored", apps * TYPES_PER_APP),
            &s,
        );
        println!("  RSS of this process: {:.0} MB", rss_mb());
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backends {
    Sqlite,
    Postgres,
    Both,
}

/// The benchmark's PostgreSQL database, dropped on drop.
struct PgDatabase {
    admin: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = connectors_testdb::drop_postgres_database_on(&self.admin, &self.name);
    }
}

struct Stats {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
}

async fn hello_server() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// Our server with one connector holding a token: (server, token path,
/// bearer). The server stops when the first value is dropped.
async fn connectors_server(
    database_url: &str,
) -> anyhow::Result<(crate::server::Running, String, String)> {
    let server = crate::server::start(database_url, &["bench".to_string()], &[]).await?;
    let path = format!(
        "/api/apps/{}/external-auth/tokens/bench",
        server.boot().app_id
    );
    let auth = format!("Bearer {}", server.boot().service_token.expose());
    Ok((server, path, auth))
}

async fn drive(
    addr: SocketAddr,
    path: &str,
    auth: Option<&str>,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<Stats> {
    let mut tasks = Vec::new();
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + Duration::from_secs_f64(seconds);
    for _ in 0..connections {
        let path = path.to_string();
        let auth = auth.map(str::to_string);
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let mut request = Request::get(&path).header("host", "127.0.0.1");
                if let Some(a) = &auth {
                    request = request.header("authorization", a);
                }
                let request = request.body(Empty::<Bytes>::new())?;
                sender.ready().await?;
                let response = sender.send_request(request).await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "status {}",
                    response.status()
                );
                response.into_body().collect().await?;
                if now >= measure_from {
                    latencies.push(now.elapsed());
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    latencies.sort();
    Ok(Stats {
        requests: latencies.len(),
        elapsed: Duration::from_secs_f64(seconds),
        latencies,
    })
}

fn row(name: &str, s: &Stats) {
    println!(
        "{name:<34} {:>12.0} {:>10.3} {:>10.3}",
        s.rps(),
        s.percentile(0.50).as_secs_f64() * 1e3,
        s.percentile(0.99).as_secs_f64() * 1e3
    );
}

/// Runs the token benchmark and prints its table.
pub fn run(args: TokensArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        if let Some(n) = args.stored {
            println!(
                "{:<34} {:>12} {:>10} {:>10}",
                "target", "req/s", "p50 ms", "p99 ms"
            );
            if args.backend != Backends::Postgres {
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                stored(&args, &url, "SQLite", n).await?;
            }
            if args.backend != Backends::Sqlite {
                let (name, url) = connectors_testdb::create_postgres_database_on(
                    &args.postgres_url,
                    "connectors_bench",
                )
                .map_err(|e| anyhow::anyhow!(e))?;
                let _db = PgDatabase {
                    admin: args.postgres_url.clone(),
                    name,
                };
                stored(&args, &url, "PostgreSQL", n).await?;
            }
            return anyhow::Ok(());
        }
        let hello = hello_server().await?;
        println!(
            "{} connections, {:.1} s per target after 1 s warm-up, loopback, same process",
            args.connections, args.seconds
        );
        println!(
            "{:<34} {:>12} {:>10} {:>10}",
            "target", "req/s", "p50 ms", "p99 ms"
        );
        let base = drive(hello, "/", None, args.connections, args.seconds).await?;
        row("bare hyper hello (baseline)", &base);
        let mut ratios = Vec::new();
        if args.backend != Backends::Postgres {
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            let (ours, path, auth) = connectors_server(&url).await?;
            let tokens = drive(
                ours.addr,
                &path,
                Some(&auth),
                args.connections,
                args.seconds,
            )
            .await?;
            row("tokens/{type}, SQLite", &tokens);
            ratios.push(("SQLite", tokens));
        }
        if args.backend != Backends::Sqlite {
            let created = connectors_testdb::create_postgres_database_on(
                &args.postgres_url,
                "connectors_bench",
            );
            match created {
                Ok((name, url)) => {
                    let _db = PgDatabase {
                        admin: args.postgres_url.clone(),
                        name,
                    };
                    let (ours, path, auth) = connectors_server(&url).await?;
                    let tokens = drive(
                        ours.addr,
                        &path,
                        Some(&auth),
                        args.connections,
                        args.seconds,
                    )
                    .await?;
                    row("tokens/{type}, PostgreSQL", &tokens);
                    ratios.push(("PostgreSQL", tokens));
                }
                Err(e) if args.backend == Backends::Both => {
                    println!("{:<34} skipped: {e}", "tokens/{type}, PostgreSQL");
                }
                Err(e) => anyhow::bail!(e),
            }
        }
        for (name, tokens) in &ratios {
            println!(
                "ratio {name} / baseline: throughput {:.3}, p50 latency {:.2}x, p99 latency {:.2}x",
                tokens.rps() / base.rps(),
                tokens.percentile(0.5).as_secs_f64() / base.percentile(0.5).as_secs_f64(),
                tokens.percentile(0.99).as_secs_f64() / base.percentile(0.99).as_secs_f64()
            );
        }
        anyhow::Ok(())
    })
}
