//! The CLI's integration tests, in one binary (one link step; the shared
//! `support` module compiled once): the parity suite against the npm CLI
//! (`parity`, with the bad-files and end-to-end suites), the interactive
//! path on a pseudo-terminal (`interactive`), the stored login's refresh
//! (`session`), Stripe (`stripe`) and workspace connections
//! (`workspace`).

mod interactive;
mod login;
mod parity;
mod session;
mod stripe;
mod support;
mod workspace;
