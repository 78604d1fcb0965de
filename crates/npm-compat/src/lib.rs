//! Behaviour of the npm packages the `base44` CLI must reproduce.
//!
//! The native CLI promises the npm CLI 0.1.18's files, `--json` output and
//! error texts, and those come from the packages that CLI bundles, not from
//! its own code. Each module here is a port of one package at the version the
//! npm CLI bundles, and nothing else: no HTTP, no files, no terminal.
//!
//! - [`json5`]: `json5` 2.2.3 `parse`, with the byte range of every value.
//! - [`yaml`]: `yaml` 2.8.2 `stringify`, the subset the CLI's YAML dump reaches.
//! - [`json`]: `JSON.stringify` as V8 writes it, and an order-keeping value.
//! - [`zod`]: `zod` 4.3.6 checks and their English messages.
//! - [`ky`]: `ky` 1.14.3's retry decision and delay.
//!
//! `tests/differential.rs` runs a generated corpus through each module and,
//! under Node, through the real package (installed in `tests/js` by
//! `scripts/install-test-deps`), and fails on any difference.
#![deny(missing_docs)]

pub mod json;
pub mod json5;
pub mod ky;
pub mod yaml;
pub mod zod;
