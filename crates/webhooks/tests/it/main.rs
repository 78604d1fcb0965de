//! The webhooks crate's integration tests, in one binary: one delivery
//! attempt against a local receiver (`send`) and our signatures against the
//! Standard Webhooks reference library under Node (`standard_webhooks`).

mod send;
mod standard_webhooks;
