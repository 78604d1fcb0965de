//! The OAuth crate's integration tests, in one binary: the catalog's
//! documented requests (`catalog`), the client against local token
//! endpoints (`client`) and token-response parsing (`responses`).

mod catalog;
mod client;
mod responses;
