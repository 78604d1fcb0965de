//! A login kept fresh for the HTTP client: the client asks it for a token
//! ([`TokenSource`]) and it renews through `POST /oauth/token` before a
//! request when the token expires within 60 s, and after a 401. The
//! refresh runs under one lock, so concurrent requests (push sends PUTs in
//! parallel) share a single refresh. A renewed login is written to
//! auth.json; a failed renewal deletes it, as the npm CLI does.

use secrecy::{ExposeSecret, SecretString};

use super::file::{AuthData, AuthFile};
use super::token::renew;
use crate::api::client::{now_ms, Http, TokenSource};

/// Refresh this long before the token expires.
const REFRESH_BUFFER_MS: f64 = 60_000.0;

/// A stored login, refreshed as needed.
pub struct Session {
    /// Renewals go through it (without credentials, so never back here).
    http: Http,
    /// Where a renewed login is written (and a failed one deleted).
    file: AuthFile,
    // A tokio mutex: the refresh request is awaited while holding it, which
    // is what makes concurrent refreshes share one.
    state: tokio::sync::Mutex<Option<AuthData>>,
}

impl Session {
    /// Wraps a login read from `file`; `http` renews it.
    pub fn new(http: Http, file: AuthFile, data: AuthData) -> Self {
        Self {
            http,
            file,
            state: tokio::sync::Mutex::new(Some(data)),
        }
    }
}

#[async_trait::async_trait]
impl TokenSource for Session {
    /// The bearer token for the next attempt, refreshed first when it
    /// expires within 60 s. `None` once the login is gone (a failed refresh
    /// deleted it), in which case no Authorization header is sent.
    async fn token(&self) -> Option<SecretString> {
        let mut state = self.state.lock().await;
        let current = state.clone()?;
        if now_ms() < current.expires_at as f64 - REFRESH_BUFFER_MS {
            return Some(current.access_token);
        }
        // As the npm CLI: when the refresh fails, this request still
        // carries the old token.
        self.renew(&mut state, &current)
            .await
            .or(Some(current.access_token))
    }

    /// After a 401 on `used`: a new token, or `None` when the refresh failed
    /// (auth.json is then deleted and the 401 stands).
    async fn after_unauthorized(&self, used: &SecretString) -> Option<SecretString> {
        let mut state = self.state.lock().await;
        let current = state.clone()?;
        if current.access_token.expose_secret() != used.expose_secret() {
            // Another request refreshed while this one was in flight.
            return Some(current.access_token);
        }
        self.renew(&mut state, &current).await
    }
}

impl Session {
    /// Refreshes `current` (held under the lock as `state`), keeps the
    /// result in `state` and returns its token; a failed refresh forgets
    /// the login (`state` becomes `None`) and returns `None`.
    async fn renew(
        &self,
        state: &mut Option<AuthData>,
        current: &AuthData,
    ) -> Option<SecretString> {
        let new = refresh_and_save(&self.http, &self.file, current).await;
        let token = new.as_ref().map(|n| n.access_token.clone());
        *state = new;
        token
    }
}

/// `refreshAndSaveTokens`: any failure deletes auth.json.
async fn refresh_and_save(http: &Http, file: &AuthFile, current: &AuthData) -> Option<AuthData> {
    match renew(http, &current.refresh_token).await {
        Ok(token) => {
            let new = AuthData {
                access_token: token.access_token,
                refresh_token: token.refresh_token,
                expires_at: now_ms() as i64 + token.expires_in * 1000,
                ..current.clone()
            };
            match file.write(&new) {
                Ok(()) => Some(new),
                Err(_) => {
                    let _ = file.delete();
                    None
                }
            }
        }
        Err(_) => {
            let _ = file.delete();
            None
        }
    }
}
