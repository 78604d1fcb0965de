//! Credentials, as the npm CLI finds and keeps them (protocol.md §2.1–2.4):
//! a `b44k_` workspace API key from `BASE44_API_KEY`, else the login stored
//! in `~/.base44/auth/auth.json` (seeded from `BASE44_ACCESS_TOKEN` +
//! `BASE44_REFRESH_TOKEN` when both are set), else the device-code login.
//!
//! One job per module: [`file`] keeps auth.json, [`token`] talks to
//! `POST /oauth/token`, [`session`] keeps a login fresh for the HTTP client
//! (as its [`TokenSource`](crate::api::client::TokenSource)), and [`login`]
//! runs the device-code flow with its progress lines.

pub mod file;
pub mod login;
pub mod session;
pub mod token;

use std::sync::Arc;

use crate::api::client::{Auth, Http};
use crate::error::CliError;
use crate::output::Ui;

pub use file::{delete_auth, read_auth, AuthData};
pub use login::login;
pub use session::Session;

/// `ensureAuth`: the credentials for this run, logging in if there are none.
pub async fn ensure_auth(ui: &Ui, http: &Http) -> Result<Auth, CliError> {
    if let Some(key) = file::workspace_api_key() {
        return Ok(Auth::ApiKey(key));
    }
    file::seed_from_env()?;
    let data = match read_auth() {
        Ok(data) => data,
        Err(_) => {
            ui.info("You need to login first to continue.");
            login(ui, http).await?
        }
    };
    Ok(Auth::Session(Arc::new(Session::new(http.clone(), data))))
}
