//! `base44 login`, `logout`, `whoami` (protocol.md §2.2, §2.4).

use super::{Env, Outcome};
use secrecy::ExposeSecret;

use crate::api::client::Auth;
use crate::auth::{self, AuthFile};
use crate::error::CliError;

/// `login`: the device-code flow, even when already logged in.
pub async fn login(env: &Env) -> Result<Outcome, CliError> {
    let data = auth::login(
        &env.ui,
        &env.http,
        &AuthFile::in_home(&env.config.home),
        env.config.browser.as_deref(),
    )
    .await?;
    Ok(Outcome::outro(format!(
        "Successfully logged in as {}",
        data.email
    )))
}

/// `logout`: deletes auth.json; no request.
pub fn logout(env: &Env) -> Result<Outcome, CliError> {
    AuthFile::in_home(&env.config.home).delete()?;
    Ok(Outcome::outro("Logged out successfully"))
}

/// `whoami`: who the credentials belong to; no request.
pub fn whoami(env: &Env, credentials: &Auth) -> Result<Outcome, CliError> {
    if let Auth::ApiKey(key) = credentials {
        let shown: String = key.expose_secret().chars().take(10).collect();
        return Ok(Outcome::outro(format!("Using workspace API key: {shown}")));
    }
    let data = AuthFile::in_home(&env.config.home).read()?;
    Ok(Outcome::outro(format!("Logged in as: {}", data.email)))
}
