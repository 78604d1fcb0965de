//! `connectors-bench requests`: a fixed number of sequential requests over
//! one keep-alive connection, in one thread, for an instruction count under
//! callgrind (deterministic, unlike wall-clock figures on shared cores):
//!
//! ```sh
//! valgrind --tool=callgrind target/release/connectors-bench requests --count 1000
//! valgrind --tool=callgrind target/release/connectors-bench requests --count 11000
//! ```
//!
//! The difference of the two totals over 10,000 is the cost of one request
//! (client included: a few hundred instructions of raw bytes). The client
//! writes and reads raw HTTP/1.1, so nearly all of it is the server's.

use std::net::SocketAddr;

use anyhow::ensure;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Options of `requests`.
#[derive(clap::Args)]
pub struct RequestsArgs {
    /// Requests to send.
    #[arg(long, default_value_t = 1000)]
    count: u64,
    /// What to request.
    #[arg(long, value_enum, default_value_t = Kind::Tokens)]
    target: Kind,
    /// The database (default: a SQLite file in a temporary directory).
    #[arg(long)]
    database_url: Option<String>,
    /// Log as `connectors-server serve` does at `info` (its text format,
    /// into nothing), to count what the request span costs in production.
    #[arg(long)]
    log: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Kind {
    /// `GET …/external-auth/tokens/{type}` with the app's service token.
    Tokens,
    /// The bare hyper "hello" server of the token benchmark.
    Hello,
}

/// Runs `requests` and prints how many were answered.
pub fn run(args: RequestsArgs) -> anyhow::Result<()> {
    if args.log {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(std::io::sink)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        let url = args
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
        let (_server, addr, request) = match args.target {
            Kind::Tokens => {
                let server = crate::server::start(&url, &["bench".to_string()], &[]).await?;
                let request = format!(
                    "GET /api/apps/{}/external-auth/tokens/bench HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {}\r\n\r\n",
                    server.boot().app_id,
                    server.boot().service_token.expose()
                );
                let addr = server.addr;
                (Some(server), addr, request)
            }
            Kind::Hello => {
                let addr = crate::tokens::hello_server().await?;
                (
                    None,
                    addr,
                    "GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".to_string(),
                )
            }
        };
        let answered = drive(addr, request.as_bytes(), args.count).await?;
        println!("{answered} requests answered 200");
        anyhow::Ok(())
    })
}

/// Sends `request` `count` times, one after the other, on one connection.
/// Every answer has the length of the first (same token, same-length
/// request id and date), so only the first is parsed.
async fn drive(addr: SocketAddr, request: &[u8], count: u64) -> anyhow::Result<u64> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut expected = None;
    for _ in 0..count {
        stream.write_all(request).await?;
        let mut filled = 0;
        loop {
            let n = stream.read(&mut buffer[filled..]).await?;
            ensure!(n > 0, "the server closed the connection");
            filled += n;
            let end = match expected {
                Some(length) => (filled >= length).then_some(length),
                None => complete(&buffer[..filled]),
            };
            if let Some(end) = end {
                ensure!(
                    buffer.starts_with(b"HTTP/1.1 200"),
                    "not a 200: {}",
                    String::from_utf8_lossy(&buffer[..filled])
                );
                ensure!(
                    end == filled,
                    "not one whole response of the first one's length"
                );
                expected = Some(end);
                break;
            }
        }
    }
    Ok(count)
}

/// The length of the whole response at the start of `bytes`, once it has
/// arrived (a head and a `content-length` body). Byte loops rather than
/// `str` searches, so the client's share of the count stays small.
fn complete(bytes: &[u8]) -> Option<usize> {
    let head_end = (3..bytes.len()).find(|&i| &bytes[i - 3..=i] == b"\r\n\r\n")? + 1;
    let head = &bytes[..head_end];
    const NAME: &[u8] = b"\r\ncontent-length:";
    let at = (0..head.len().saturating_sub(NAME.len()))
        .find(|&i| head[i..i + NAME.len()].eq_ignore_ascii_case(NAME))?;
    let length = head[at + NAME.len()..]
        .iter()
        .skip_while(|b| **b == b' ')
        .take_while(|b| b.is_ascii_digit())
        .fold(0usize, |n, b| n * 10 + usize::from(b - b'0'));
    (bytes.len() >= head_end + length).then_some(head_end + length)
}
