//! `connectors-bench`: benchmarks, not tests (they assert nothing about speed).
//!
//! - default mode (`tokens.rs`): the token endpoint under load (in-process,
//!   `wrk`, or both: `load.rs`) beside a bare hyper server,
//!   `cargo run --release -p connectors-bench`; with `--stored N`, our
//!   server as a process (`process.rs`) over a database seeded in bulk
//!   (`seed.rs`), at 1,000 and N stored connections;
//! - `cli` (`cli.rs`): `connectors pull` / `push` with our CLI and with the
//!   npm CLI against the same server,
//!   `cargo run --release -p connectors-bench -- cli`;
//! - `proxy` (`proxy.rs`): what `callApi` adds to a call of a local
//!   upstream, `cargo run --release -p connectors-bench -- proxy`;
//! - `requests` (`requests.rs`): N sequential requests in one thread, for
//!   instruction counts under callgrind.
//!
//! See README.md, "Benchmarks".

mod cargo;
mod cli;
mod load;
mod process;
mod proxy;
mod requests;
mod seed;
mod server;
mod tokens;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    about = "Benchmarks: the token endpoint (default), the CLIs (`cli`) or the callApi proxy (`proxy`)",
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    tokens: tokens::TokensArgs,
}

#[derive(Subcommand)]
enum Mode {
    /// Time `connectors pull` and `connectors push` with our CLI and the npm CLI.
    Cli(cli::CliArgs),
    /// The `callApi` proxy's overhead over a direct call of the same upstream.
    Proxy(proxy::ProxyArgs),
    /// A fixed number of sequential requests on one connection, one thread:
    /// for counting instructions per request under callgrind.
    Requests(requests::RequestsArgs),
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.mode {
        Some(Mode::Cli(cli)) => cli::run(cli),
        Some(Mode::Proxy(proxy)) => proxy::run(proxy),
        Some(Mode::Requests(r)) => requests::run(r),
        None => tokens::run(args.tokens),
    }
}
