//! `base44`: the native CLI for Base44 connectors, a drop-in for the npm
//! `base44` CLI's `connectors` commands (and `login`/`logout`/`whoami`).
//! The binary (`main.rs`) only parses argv and calls [`run::run`]; this
//! library is the whole CLI, so tests and the bench can reach its parts.
//!
//! Modules stand on floors, and a module only uses modules on lower floors
//! (the `module_graph` test checks it):
//!
//! 1. `run`: from parsed arguments to an exit code (environment, mode,
//!    runtime, the one error rendering);
//! 2. `commands/*`: one file per command, over the middleware in
//!    `commands/mod.rs`;
//! 3. `auth` (auth.json, the token endpoint, the refreshing session, the
//!    device-code login) and `oauth_prompt` (the consent loop);
//! 4. `api` (the HTTP client, which knows credentials only as a
//!    [`api::client::TokenSource`]; endpoints; response validation) and
//!    `context` (env files, app id, project);
//! 5. `output` (the only place that prints);
//! 6. `terminal` (streams, raw-mode keys, the browser), `error` (the one
//!    error type) and `args` (the command line).
//!
//! `json` and `yaml` are re-exported from `connectors-npm-compat`, below all
//! floors.

#![deny(missing_docs)]

pub mod api;
pub mod args;
pub mod auth;
pub mod commands;
pub mod context;
pub mod error;
pub mod oauth_prompt;
pub mod output;
pub mod run;
pub mod terminal;

/// The npm packages' behaviour the CLI reproduces (`JSON.stringify`, `yaml`).
pub use connectors_npm_compat::{json, yaml};

#[cfg(test)]
mod module_graph;
