//! The server's integration tests, in one binary (one link step; the
//! shared `support` module compiled once).
//!
//! The database is SQLite unless `CONNECTORS_TEST_BACKEND=postgres`
//! (`scripts/test` runs this crate's tests once per backend); the
//! `replicas_*` tests always need PostgreSQL.

mod api;
mod app_user_connections;
mod app_users;
mod audit;
mod crash;
mod dashboard;
mod dashboard_webhooks;
mod device_login;
mod fast_path;
mod http_limits;
mod metrics;
mod npm_clients;
mod oauth_e2e;
mod openapi;
mod pages;
mod provider_faults;
mod proxy;
mod quirks;
mod races;
mod replicas;
mod revoke;
mod scope_rule;
mod secrets;
mod signin;
mod sso;
mod support;
mod webhooks;
mod workspace;
