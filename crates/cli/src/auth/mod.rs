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
use crate::context::Config;
use crate::error::CliError;
use crate::output::Ui;

pub use file::{AuthData, AuthFile};
pub use login::login;
pub use session::Session;

/// `ensureAuth`: the credentials for this run, logging in if there are none.
pub async fn ensure_auth(ui: &Ui, http: &Http, config: &Config) -> Result<Auth, CliError> {
    if let Some(key) = &config.api_key {
        return Ok(Auth::ApiKey(key.clone()));
    }
    let file = AuthFile::in_home(&config.home);
    file.seed(
        config.seed_access_token.as_ref(),
        config.seed_refresh_token.as_ref(),
    )?;
    let data = match file.read() {
        Ok(data) => data,
        Err(_) => {
            ui.info("You need to login first to continue.");
            login(ui, http, &file, config.browser.as_deref()).await?
        }
    };
    Ok(Auth::Session(Arc::new(Session::new(
        http.clone(),
        file,
        data,
    ))))
}
