//! Load generators for the token benchmarks: keep-alive hyper connections
//! in this process, or `wrk` in a separate process (in-process load shares
//! the machine's cores with an in-process server, so both are worth having).
//! Both report requests/s and p50/p99 latency of the same requests.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// How to install wrk, said whenever it is needed and missing.
const INSTALL_WRK: &str =
    "install it with `apt-get install -y wrk` (Debian/Ubuntu) or put it on PATH";

/// `--load`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum LoadArg {
    /// Keep-alive hyper connections in the bench's own process.
    InProcess,
    /// `wrk` in a separate process.
    Wrk,
    /// Both, one after the other.
    Both,
}

/// One load generator.
#[derive(Clone, Debug)]
pub enum Load {
    InProcess,
    Wrk { program: PathBuf, threads: u32 },
}

impl Load {
    /// The table's heading for this load.
    pub fn describe(&self, connections: usize, seconds: f64) -> String {
        match self {
            Load::InProcess => format!(
                "load: in-process hyper client, {connections} connections, {seconds:.1} s after 1 s warm-up (shares the cores with any in-process server)"
            ),
            Load::Wrk { threads, .. } => format!(
                "load: wrk -t{threads} -c{connections} -d{}s --latency in a separate process, after a 1 s warm-up run",
                wrk_seconds(seconds)
            ),
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The loads `--load` asks for; without it, both when wrk is installed,
/// else in-process only with a note saying how to get the other.
pub fn choose(arg: Option<LoadArg>, wrk_threads: u32) -> anyhow::Result<Vec<Load>> {
    let wrk = find_on_path("wrk").map(|program| Load::Wrk {
        program,
        threads: wrk_threads,
    });
    Ok(match (arg, wrk) {
        (Some(LoadArg::InProcess), _) => vec![Load::InProcess],
        (Some(LoadArg::Wrk), Some(w)) => vec![w],
        (Some(LoadArg::Both) | None, Some(w)) => vec![Load::InProcess, w],
        (Some(LoadArg::Wrk | LoadArg::Both), None) => {
            bail!("--load needs wrk, which is not on PATH: {INSTALL_WRK}")
        }
        (None, None) => {
            println!("note: wrk is not on PATH, so only in-process load is measured; for the separate-process figures {INSTALL_WRK}");
            vec![Load::InProcess]
        }
    })
}

/// What one measurement sends: each connection cycles through `requests`
/// (path, `Authorization` value), starting at a different one.
pub struct Target {
    pub addr: SocketAddr,
    pub requests: Vec<(String, Option<String>)>,
}

/// Throughput and latency of one measurement.
#[derive(Debug)]
pub struct Stats {
    pub rps: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Stats {
    /// The median round of each figure (the upper median of an even
    /// count), each taken on its own.
    pub fn median(mut rounds: Vec<Stats>) -> Stats {
        let middle = rounds.len() / 2;
        rounds.sort_by(|a, b| a.rps.total_cmp(&b.rps));
        let rps = rounds[middle].rps;
        rounds.sort_by_key(|s| s.p50);
        let p50 = rounds[middle].p50;
        rounds.sort_by_key(|s| s.p99);
        let p99 = rounds[middle].p99;
        Stats { rps, p50, p99 }
    }

    /// A table row.
    pub fn row(&self, name: &str) -> String {
        format!(
            "{name:<40} {:>12.0} {:>10.3} {:>10.3}",
            self.rps,
            ms(self.p50),
            ms(self.p99)
        )
    }
}

/// The table's header line, matching [`Stats::row`].
pub fn header() -> String {
    format!(
        "{:<40} {:>12} {:>10} {:>10}",
        "target", "req/s", "p50 ms", "p99 ms"
    )
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Drives `target` with `load` for `seconds` (after a 1 s warm-up).
/// Fails on any answer that is not a success: a load of errors measures
/// nothing.
pub async fn measure(
    load: &Load,
    target: &Target,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<Stats> {
    match load {
        Load::InProcess => in_process(target, connections, seconds).await,
        Load::Wrk { program, threads } => {
            let scratch = tempfile::tempdir()?;
            let (program, threads) = (program.clone(), *threads);
            let script = (target.requests.len() > 1)
                .then(|| write_script(scratch.path(), &target.requests))
                .transpose()?;
            let args = |secs: u64| {
                let mut args: Vec<String> = vec![
                    format!("-t{threads}"),
                    format!("-c{connections}"),
                    format!("-d{secs}s"),
                    "--latency".into(),
                ];
                match &script {
                    Some(path) => args.extend(["-s".into(), path.display().to_string()]),
                    None => {
                        if let Some(auth) = &target.requests[0].1 {
                            args.extend(["-H".into(), format!("Authorization: {auth}")]);
                        }
                    }
                }
                let path = if script.is_some() {
                    "/"
                } else {
                    &target.requests[0].0
                };
                args.push(format!("http://{}{path}", target.addr));
                args
            };
            let warmup = args(1);
            let timed = args(wrk_seconds(seconds));
            tokio::task::spawn_blocking(move || {
                run_wrk(&program, &warmup)?;
                run_wrk(&program, &timed)
            })
            .await?
        }
    }
}

/// wrk takes whole seconds.
fn wrk_seconds(seconds: f64) -> u64 {
    (seconds.ceil() as u64).max(1)
}

/// A wrk script cycling through the requests, each thread from its own
/// offset. The requests are formatted once, in `init`, so the script costs
/// about what wrk's static request does.
fn write_script(dir: &Path, requests: &[(String, Option<String>)]) -> anyhow::Result<PathBuf> {
    let mut lua = String::from("local targets = {\n");
    for (path, auth) in requests {
        let _ = writeln!(
            lua,
            "  {{ {:?}, {:?} }},",
            path,
            auth.as_deref().unwrap_or("")
        );
    }
    lua.push_str(
        r#"}
local counter = 0
function setup(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end
local formatted = {}
local i = 0
function init(args)
  for n, t in ipairs(targets) do
    local headers = {}
    if t[2] ~= "" then headers["Authorization"] = t[2] end
    formatted[n] = wrk.format("GET", t[1], headers)
  end
  i = (offset or 0) % #formatted
end
function request()
  i = i % #formatted + 1
  return formatted[i]
end
"#,
    );
    let path = dir.join("targets.lua");
    // Holds bearer tokens: readable by us only.
    connectors_vault::write_private(&path, &lua)?;
    Ok(path)
}

fn run_wrk(program: &Path, args: &[String]) -> anyhow::Result<Stats> {
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running {} ({INSTALL_WRK})", program.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "wrk failed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    parse_wrk(&stdout)
}

/// Reads requests/s, p50 and p99 from wrk's `--latency` report; refuses a
/// run with non-2xx answers or socket errors.
fn parse_wrk(out: &str) -> anyhow::Result<Stats> {
    let mut rps = None;
    let (mut p50, mut p99) = (None, None);
    for line in out.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            rps = v.trim().parse::<f64>().ok();
        } else if let Some(v) = line.strip_prefix("50%") {
            p50 = parse_wrk_time(v.trim());
        } else if let Some(v) = line.strip_prefix("99%") {
            p99 = parse_wrk_time(v.trim());
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            bail!(
                "wrk got {} non-2xx/3xx answers; the target is not answering what the bench measures:\n{out}",
                v.trim()
            );
        } else if line.starts_with("Socket errors:") {
            bail!("wrk reports socket errors ({line}):\n{out}");
        }
    }
    match (rps, p50, p99) {
        (Some(rps), Some(p50), Some(p99)) => Ok(Stats { rps, p50, p99 }),
        _ => bail!("cannot read requests/s, p50 and p99 from wrk's output:\n{out}"),
    }
}

/// wrk's times: `379.00us`, `1.13ms`, `2.00s`, `1.00m`.
fn parse_wrk_time(v: &str) -> Option<Duration> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = v.split_at(split);
    let number: f64 = number.parse().ok()?;
    let secs = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

async fn in_process(target: &Target, connections: usize, seconds: f64) -> anyhow::Result<Stats> {
    let mut tasks = Vec::new();
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + Duration::from_secs_f64(seconds);
    let requests = std::sync::Arc::new(target.requests.clone());
    for c in 0..connections {
        let requests = requests.clone();
        let addr = target.addr;
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await?;
            let mut latencies = Vec::new();
            let mut next = c * 7919;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let (path, auth) = &requests[next % requests.len()];
                next += 1;
                let (status, _) = send(&mut sender, path, auth.as_deref()).await?;
                ensure!(status.is_success(), "GET {path}: status {status}");
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
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Ok(Stats {
        rps: latencies.len() as f64 / seconds,
        p50: percentile(0.50),
        p99: percentile(0.99),
    })
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn send(
    sender: &mut Sender,
    path: &str,
    auth: Option<&str>,
) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
    let mut request = Request::get(path).header("host", "127.0.0.1");
    if let Some(a) = auth {
        request = request.header("authorization", a);
    }
    sender.ready().await?;
    let response = sender.send_request(request.body(Empty::new())?).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// One GET on a fresh connection: status and body.
pub async fn get(
    addr: SocketAddr,
    path: &str,
    auth: Option<&str>,
) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
    send(&mut connect(addr).await?, path, auth).await
}

/// Checks that a token request answers 200 with `expected` as its access
/// token (when given) before anything is timed.
pub async fn check_token(
    addr: SocketAddr,
    (path, auth): &(String, Option<String>),
    expected: Option<&str>,
) -> anyhow::Result<()> {
    let (status, body) = get(addr, path, auth.as_deref()).await?;
    ensure!(
        status == hyper::StatusCode::OK,
        "GET {path} answered {status} before timing: {}",
        String::from_utf8_lossy(&body)
    );
    if let Some(expected) = expected {
        let json: serde_json::Value = serde_json::from_slice(&body)
            .with_context(|| format!("GET {path}: the answer is not JSON"))?;
        ensure!(
            json["access_token"].as_str() == Some(expected),
            "GET {path} answered another access token than the one seeded"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 2s test @ http://127.0.0.1:8080/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   622.46us    1.05ms  27.47ms   94.12%
    Req/Sec    61.55k     6.91k   75.63k    72.50%
  Latency Distribution
     50%  379.00us
     75%  632.00us
     90%    1.13ms
     99%    5.30ms
  244938 requests in 2.00s, 20.32MB read
Requests/sec: 122389.41
Transfer/sec:     10.15MB
";

    #[test]
    fn reads_wrk_report() {
        let s = parse_wrk(REPORT).unwrap();
        assert_eq!(s.rps, 122389.41);
        assert_eq!(s.p50, Duration::from_micros(379));
        assert_eq!(s.p99, Duration::from_micros(5300));
    }

    #[test]
    fn refuses_errors() {
        let non_2xx = REPORT.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 12\nRequests/sec",
        );
        let e = parse_wrk(&non_2xx).unwrap_err().to_string();
        assert!(e.contains("12 non-2xx"), "{e}");
        let socket = REPORT.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec",
        );
        assert!(parse_wrk(&socket).is_err());
        assert!(parse_wrk("nonsense").is_err());
    }
}
