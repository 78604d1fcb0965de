//! `base44`: the native CLI for Base44 connectors, a drop-in for the npm
//! `base44` CLI's `connectors` commands (and `login`/`logout`/`whoami`).
//!
//! Layout: `args` (command line) → `run` (environment, mode, runtime) →
//! `commands/*` (one file per command) over `context` (env files, app id,
//! project), `auth` (credentials), `api` (HTTP, validation, error texts),
//! `oauth_prompt` (browser and status polling) and `output` (the only place
//! that prints, including the one error renderer).

mod api;
mod args;
mod auth;
mod commands;
mod context;
mod error;
mod oauth_prompt;
mod output;
mod run;

// The npm packages' behaviour the CLI reproduces (JSON.stringify, yaml).
use connectors_npm_compat::{json, yaml};

fn main() -> std::process::ExitCode {
    let parsed = args::parse(std::env::args_os());
    std::process::ExitCode::from(run::run(parsed))
}
