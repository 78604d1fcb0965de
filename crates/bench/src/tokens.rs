//! The token benchmark: drives `GET external-auth/tokens/{type}` on
//! loopback with N concurrent keep-alive connections, once per storage
//! backend (embedded SQLite and PostgreSQL, side by side), and prints
//! requests/s and p50/p99 latency beside a bare hyper "hello" server
//! measured in the same run with the same load, as ratios. The load comes
//! from this process, from `wrk` in a separate process, or both (`--load`).
//!
//! `--stored N` instead measures our server as a separate process over a
//! database seeded in bulk (`seed.rs`) with 1,000 stored connections, then
//! with N: token p50/p99 and the server's own RSS at both. The reads go to
//! a hot set of connectors chosen at random among all stored ones (1,000
//! by default, `--hot`): a token service's working set is its active apps,
//! not every stored row.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rand::seq::SliceRandom;

use crate::load::{self, Load, LoadArg, Stats, Target};
use crate::process::{ServerDir, ServerProcess};
use crate::seed::{self, Seeder};

/// Options of the token benchmark (the default mode). Both backends by
/// default: PostgreSQL gets a throwaway database on the server of
/// `--postgres-url` (dropped afterwards); if that server is unreachable its
/// row says why.
#[derive(clap::Args)]
pub struct TokensArgs {
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of measurement per target (after a 1 s warm-up); wrk rounds up to whole seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Which storage backends to measure.
    #[arg(long, value_enum, default_value_t = Backends::Both)]
    backend: Backends,
    /// Load generator [default: both when wrk is on PATH, else in-process].
    #[arg(long, value_enum)]
    load: Option<LoadArg>,
    /// Rounds per load: each round measures every target once, one after
    /// the other, and the table gives each target's median round. Two
    /// cores shared by the load and the servers make single runs swing
    /// (the threads' placement changes from one run to the next); the
    /// medians of interleaved rounds keep the ratios side by side.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=99))]
    rounds: u32,
    /// wrk's threads.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    wrk_threads: u32,
    /// An existing PostgreSQL database on the server to use (only for
    /// creating and dropping the benchmark's own database).
    #[arg(long, env = "CONNECTORS_BENCH_POSTGRES_URL", default_value = connectors_testdb::DEFAULT_ADMIN_URL)]
    postgres_url: String,
    /// Instead of the comparison with bare hyper: token p50/p99 and the
    /// server's RSS with 1,000 stored connections, then with this many
    /// (seeded in bulk, apps of 10 connectors), the server running as a
    /// separate process.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    stored: Option<u64>,
    /// With --stored: connectors read, chosen at random among all stored.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    hot: u64,
    /// With --stored: the connectors-server binary; default: built now with
    /// `cargo build --release -p connectors-server`.
    #[arg(long)]
    server: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backends {
    Sqlite,
    Postgres,
    Both,
}

/// The acceptance of issue #11 the figures are printed beside.
const MIN_RATIO_SQLITE: f64 = 0.6;
const MIN_RATIO_POSTGRES: f64 = 0.5;
const MAX_P99_RATIO: f64 = 3.0;
const MAX_STORED_P99_RATIO: f64 = 1.5;
const MAX_RSS_MB: f64 = 200.0;

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

/// One backend's database for this run.
struct Database {
    label: &'static str,
    url: String,
    min_ratio: f64,
    _pg: Option<PgDatabase>,
}

/// The databases `--backend` asks for: a file in `dir`, a throwaway
/// PostgreSQL database. With both, an unreachable PostgreSQL is a note.
fn databases(args: &TokensArgs, dir: &std::path::Path) -> anyhow::Result<Vec<Database>> {
    let mut all = Vec::new();
    if args.backend != Backends::Postgres {
        all.push(Database {
            label: "SQLite",
            url: format!("sqlite://{}", dir.join("bench.db").display()),
            min_ratio: MIN_RATIO_SQLITE,
            _pg: None,
        });
    }
    if args.backend != Backends::Sqlite {
        match connectors_testdb::create_postgres_database_on(&args.postgres_url, "connectors_bench")
        {
            Ok((name, url)) => all.push(Database {
                label: "PostgreSQL",
                url,
                min_ratio: MIN_RATIO_POSTGRES,
                _pg: Some(PgDatabase {
                    admin: args.postgres_url.clone(),
                    name,
                }),
            }),
            Err(e) if args.backend == Backends::Both => {
                println!("PostgreSQL skipped: {e}");
            }
            Err(e) => anyhow::bail!(e),
        }
    }
    Ok(all)
}

/// The bare hyper "hello" baseline on loopback.
pub(crate) async fn hello_server() -> anyhow::Result<SocketAddr> {
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

/// Our server in this process with one connector holding a token, and the
/// request for it, checked to answer 200. The server stops when the first
/// value is dropped.
async fn token_server(database_url: &str) -> anyhow::Result<(crate::server::Running, Target)> {
    let server = crate::server::start(database_url, &["bench".to_string()], &[]).await?;
    let request = (
        format!(
            "/api/apps/{}/external-auth/tokens/bench",
            server.boot().app_id
        ),
        Some(format!("Bearer {}", server.boot().service_token.expose())),
    );
    load::check_token(server.addr, &request, Some("bench-access-token")).await?;
    let target = Target {
        addr: server.addr,
        requests: vec![request],
    };
    Ok((server, target))
}

/// Runs the token benchmark and prints its table.
pub fn run(args: TokensArgs) -> anyhow::Result<()> {
    let loads = load::choose(args.load, args.wrk_threads)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match args.stored {
            Some(n) => stored(&args, &loads, n as usize).await,
            None => compare(&args, &loads).await,
        }
    })
}

/// Bare hyper, then tokens on each backend, under each load.
async fn compare(args: &TokensArgs, loads: &[Load]) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let hello = Target {
        addr: hello_server().await?,
        requests: vec![("/".into(), None)],
    };
    let databases = databases(args, dir.path())?;
    let mut servers = Vec::new();
    for db in &databases {
        servers.push(token_server(&db.url).await?);
    }
    for load in loads {
        println!("\n{}", load.describe(args.connections, args.seconds));
        println!("{}", load::header());
        let targets: Vec<(String, &Target)> =
            std::iter::once(("bare hyper hello (baseline)".to_string(), &hello))
                .chain(
                    databases.iter().zip(&servers).map(|(db, (_, target))| {
                        (format!("tokens/{{type}}, {}", db.label), target)
                    }),
                )
                .collect();
        let mut rounds: Vec<Vec<load::Stats>> = targets.iter().map(|_| Vec::new()).collect();
        for round in 1..=args.rounds {
            for ((name, target), seen) in targets.iter().zip(&mut rounds) {
                let s = load::measure(load, target, args.connections, args.seconds).await?;
                if args.rounds > 1 {
                    println!("{}", s.row(&format!("{name}, round {round}")));
                }
                seen.push(s);
            }
        }
        let mut medians = rounds.into_iter().map(load::Stats::median);
        let base = medians.next().expect("the baseline was measured");
        if args.rounds > 1 {
            println!("medians of {} rounds:", args.rounds);
        }
        println!("{}", base.row("bare hyper hello (baseline)"));
        let mut results = Vec::new();
        for (db, s) in databases.iter().zip(medians) {
            println!("{}", s.row(&format!("tokens/{{type}}, {}", db.label)));
            results.push((db, s));
        }
        for (db, s) in &results {
            println!(
                "ratio {} / baseline: throughput {:.3} (acceptance >= {}), p50 {:.2}x, p99 {:.2}x (acceptance <= {MAX_P99_RATIO})",
                db.label,
                s.rps / base.rps,
                db.min_ratio,
                s.p50.as_secs_f64() / base.p50.as_secs_f64(),
                s.p99.as_secs_f64() / base.p99.as_secs_f64(),
            );
        }
    }
    Ok(())
}

/// `--stored N` on each backend.
async fn stored(args: &TokensArgs, loads: &[Load], n: usize) -> anyhow::Result<()> {
    let bin = match &args.server {
        Some(p) => p.clone(),
        None => crate::cargo::release_binary("connectors-server", "connectors-server")?,
    };
    let dir = tempfile::tempdir()?;
    for db in databases(args, dir.path())? {
        stored_on(args, loads, &bin, &db, n)
            .await
            .with_context(|| format!("--stored on {}", db.label))?;
    }
    Ok(())
}

/// One measurement point of `--stored`.
struct Point {
    stored: usize,
    stats: Vec<Stats>,
    rss: (f64, f64),
}

async fn stored_on(
    args: &TokensArgs,
    loads: &[Load],
    bin: &std::path::Path,
    db: &Database,
    n: usize,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let key_spec = connectors_vault::KeyRing::generate_spec("bench");
    let keys = connectors_vault::KeyRing::from_specs(&[key_spec.expose()])?;
    let server_dir = ServerDir::create(dir.path(), &db.url, &seed::types(), key_spec.expose())?;

    // The server migrates and bootstraps the empty database (the
    // workspace the seeded apps belong to), then stops while we seed.
    let boot_file = dir.path().join("bootstrap.json");
    ServerProcess::start(bin, &server_dir, Some(&boot_file))
        .await?
        .stop()?;
    let boot: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&boot_file)?)?;
    let workspace = boot["workspace_id"]
        .as_str()
        .context("no workspace_id in the bootstrap file")?;
    let mut seeder = Seeder::connect(&db.url, keys, workspace.to_string()).await?;

    println!(
        "\n{}: our server as a separate process ({}), reads spread over a hot set of {} connectors chosen at random among all stored",
        db.label,
        bin.display(),
        args.hot
    );
    let mut points = Vec::new();
    for stored in [1_000, n] {
        let took = seeder.grow_to(stored).await?;
        println!(
            "seeded to {} stored connections ({} apps) in {:.1} s",
            seeder.connections(),
            seeder.apps.len(),
            took.as_secs_f64()
        );
        let server = ServerProcess::start(bin, &server_dir, None).await?;
        let hot = hot_set(&seeder, args.hot as usize);
        // Every load must read what was seeded: a few random ones, checked.
        for (request, expected) in hot.choose_multiple(&mut rand::thread_rng(), 5) {
            load::check_token(server.addr, request, Some(expected)).await?;
        }
        let target = Target {
            addr: server.addr,
            requests: hot.into_iter().map(|(r, _)| r).collect(),
        };
        let mut stats = Vec::new();
        for load in loads {
            println!("{}", load.describe(args.connections, args.seconds));
            println!("{}", load::header());
            let s = load::measure(load, &target, args.connections, args.seconds).await?;
            println!(
                "{}",
                s.row(&format!("tokens, {} stored", seeder.connections()))
            );
            stats.push(s);
        }
        let rss = server.rss_mb()?;
        println!(
            "server RSS after the load: {:.0} MB (peak {:.0} MB)",
            rss.0, rss.1
        );
        server.stop()?;
        points.push(Point {
            stored: seeder.connections(),
            stats,
            rss,
        });
    }
    let (small, large) = (&points[0], &points[1]);
    for (i, load) in loads.iter().enumerate() {
        let (a, b) = (&small.stats[i], &large.stats[i]);
        println!(
            "{} {}, {} vs {} stored: p50 {:.2}x, p99 {:.2}x (acceptance <= {MAX_STORED_P99_RATIO}), req/s {:.2}x",
            db.label,
            match load {
                Load::InProcess => "in-process load",
                Load::Wrk { .. } => "wrk",
            },
            large.stored,
            small.stored,
            b.p50.as_secs_f64() / a.p50.as_secs_f64(),
            b.p99.as_secs_f64() / a.p99.as_secs_f64(),
            b.rps / a.rps,
        );
    }
    println!(
        "{} server RSS: {:.0} MB at {} stored, {:.0} MB at {} (acceptance <= {MAX_RSS_MB} MB; peaks {:.0} / {:.0} MB)",
        db.label, small.rss.0, small.stored, large.rss.0, large.stored, small.rss.1, large.rss.1
    );
    Ok(())
}

/// `size` connectors chosen at random among all stored: their requests
/// and the access token each must answer.
fn hot_set(seeder: &Seeder, size: usize) -> Vec<((String, Option<String>), String)> {
    let types = seed::types();
    let all = seeder.connections();
    rand::seq::index::sample(&mut rand::thread_rng(), all, size.min(all))
        .into_iter()
        .map(|c| {
            let (app, ty) = (c / types.len(), &types[c % types.len()]);
            let seeded = &seeder.apps[app];
            (
                (
                    format!("/api/apps/{}/external-auth/tokens/{ty}", seeded.id),
                    Some(format!("Bearer {}", seeded.token.expose())),
                ),
                seed::access_token(app, ty),
            )
        })
        .collect()
}
