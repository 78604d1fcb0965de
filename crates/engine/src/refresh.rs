//! Fresh tokens for functions: refresh exactly once per expiry.
//!
//! Three layers keep a rotating refresh token from being redeemed twice:
//! an in-process single flight per connector (waiters queue on one async
//! mutex and re-read the credentials when they get it), a lease in the
//! database with an owner and an expiry (so other processes wait instead of
//! refreshing), and a compare-and-swap on the credentials' version when the
//! new tokens are stored. Permanent refusals mark the connector `expired` at
//! once; transient failures are retried a few times with backoff and jitter.
//!
//! Just before the refresh token is sent, the lease holder marks the row "in
//! flight". A holder that dies before storing the answer leaves the mark; the
//! next holder (after the lease expires) still tries the stored refresh
//! token, and if the provider refuses it, says that the dead holder's call
//! may have rotated it, rather than a bare `invalid_grant`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connectors_oauth::{Grant, TokenError};
use connectors_store::{ConnectorKey, CredentialsRow, NewEvent, RefreshedCredentials};
use connectors_vault::Secret;
use connectors_wire::ConnectorStatus;
use rand::Rng;

use crate::events;
use crate::{Engine, EngineError, Result};
use connectors_wire::events as wire_events;

/// The last credentials this process refreshed or read fresh for a
/// connector, guarded by the connector's single-flight mutex: waiters that
/// queued behind a refresh take its result from here without another read.
type Slot = Arc<tokio::sync::Mutex<Option<CredentialsRow>>>;

/// Per-connector async mutexes of this process.
#[derive(Default)]
pub(crate) struct SingleFlight {
    locks: Mutex<HashMap<ConnectorKey, Slot>>,
}

impl SingleFlight {
    fn lock_for(&self, key: &ConnectorKey) -> Slot {
        let mut map = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.clone()).or_default().clone()
    }
}

/// Whether the credentials need a refresh at `now_ms`: expired, or within
/// `margin_secs` of expiry (at most a quarter of the token's lifetime, so
/// that very short-lived tokens are not refreshed continuously).
pub(crate) fn is_stale(credentials: &CredentialsRow, now_ms: i64, margin_secs: i64) -> bool {
    stale_at(
        credentials.expires_at_ms,
        credentials.updated_at,
        now_ms,
        margin_secs,
    )
}

/// When stored credentials need a refresh: within the refresh margin, or
/// still the version whose access token the provider's API just refused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Staleness {
    margin_secs: i64,
    refused_version: Option<i64>,
}

impl Staleness {
    fn of(&self, row: &CredentialsRow, now_ms: i64) -> bool {
        is_stale(row, now_ms, self.margin_secs) || Some(row.version) == self.refused_version
    }
}

/// [`is_stale`] of an expiry (ms) and the time the token was stored (s).
pub(crate) fn stale_at(
    expires_at_ms: Option<i64>,
    updated_at: i64,
    now_ms: i64,
    margin_secs: i64,
) -> bool {
    match expires_at_ms {
        None => false,
        Some(expires_at) => {
            let lifetime = (expires_at - updated_at * 1000).max(0);
            expires_at - now_ms <= (margin_secs * 1000).min(lifetime / 4)
        }
    }
}

/// The result of one refresh attempt under the lease.
enum Outcome {
    Refreshed,
    /// Why, and the OAuth error code (`invalid_grant`) for events.
    Permanent(String, String),
    /// What failed, and when to try again at the earliest (Unix seconds).
    Transient(String, i64),
    /// The provider answered, but the lease had passed to another holder,
    /// whose result stands; retried like a transient failure.
    LostRace(String, i64),
}

/// The longest `Retry-After` a refresh waits for before its next try; a
/// provider asking for more is not called again in this request.
const MAX_RETRY_AFTER_WAIT_SECS: u64 = 5;

/// The earliest a background refresh tries again after a transient failure.
const TRANSIENT_BACKOFF_SECS: i64 = 30;

impl Engine {
    /// A usable access token for an active connector, refreshing if needed.
    pub(crate) async fn fresh_credentials(&self, key: &ConnectorKey) -> Result<CredentialsRow> {
        let need = Staleness {
            margin_secs: self.config().refresh_margin_secs,
            refused_version: None,
        };
        self.fresh_credentials_by(key, need).await
    }

    /// After the provider's API refused the access token of credentials
    /// `version` (a 401 to the proxy): a refresh, through the same single
    /// flight and lease, unless another caller already replaced that
    /// version (then its result). Many callers refused at once cause one
    /// refresh.
    pub(crate) async fn refresh_refused(
        &self,
        key: &ConnectorKey,
        version: i64,
    ) -> Result<CredentialsRow> {
        let need = Staleness {
            margin_secs: self.config().refresh_margin_secs,
            refused_version: Some(version),
        };
        self.fresh_credentials_by(key, need).await
    }

    async fn fresh_credentials_by(
        &self,
        key: &ConnectorKey,
        need: Staleness,
    ) -> Result<CredentialsRow> {
        let not_found = || EngineError::ConnectorNotFound(key.integration_type.to_string());
        let current = self
            .store()
            .get_credentials(key)
            .await?
            .ok_or_else(not_found)?;
        if !need.of(&current, self.now_ms()) {
            return Ok(current);
        }
        let slot = self.inner.single_flight.lock_for(key);
        let mut last = slot.lock().await;
        // Someone in this process may have refreshed while we waited.
        if let Some(row) = last.as_ref() {
            let same_grant = row.version >= current.version && row.updated_at >= current.updated_at;
            if same_grant && !need.of(row, self.now_ms()) {
                return Ok(row.clone());
            }
        }
        let current = self
            .store()
            .get_credentials(key)
            .await?
            .ok_or_else(not_found)?;
        let row = if need.of(&current, self.now_ms()) {
            self.refresh_under_lease(key, need).await?
        } else {
            current
        };
        *last = Some(row.clone());
        Ok(row)
    }

    /// Takes the database lease (waiting for another holder), re-reads, and
    /// refreshes if the credentials are still stale.
    async fn refresh_under_lease(
        &self,
        key: &ConnectorKey,
        need: Staleness,
    ) -> Result<CredentialsRow> {
        let not_found = || EngineError::ConnectorNotFound(key.integration_type.to_string());
        let owner = &self.inner.owner_id;
        let lease_secs = self.config().lease_secs;
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs((lease_secs * 2 + 5) as u64);
        loop {
            let t = self.now();
            if self
                .store()
                .acquire_refresh_lease(key, owner, t, lease_secs)
                .await?
            {
                break;
            }
            // Another process holds the lease: serve its result when it lands.
            let pause = Duration::from_millis(50 + rand::thread_rng().gen_range(0..50));
            tokio::time::sleep(pause).await;
            let current = self
                .store()
                .get_credentials(key)
                .await?
                .ok_or_else(not_found)?;
            if !need.of(&current, self.now_ms()) {
                return Ok(current);
            }
            self.ensure_active(key).await?;
            if tokio::time::Instant::now() > deadline {
                return Err(EngineError::ProviderUnavailable {
                    integration_type: key.integration_type.to_string(),
                    reason: "another server is refreshing this token and has not finished".into(),
                });
            }
        }
        let result = self.refresh_holding_lease(key, need).await;
        // Released by store_refreshed / record_refresh_failure on the normal
        // paths; this covers the early returns.
        let _ = self.store().release_refresh_lease(key, owner).await;
        result
    }

    async fn ensure_active(&self, key: &ConnectorKey) -> Result<()> {
        let connector = self
            .store()
            .get_connector(key)
            .await?
            .ok_or_else(|| EngineError::ConnectorNotFound(key.integration_type.to_string()))?;
        match connector.status {
            ConnectorStatus::Active => Ok(()),
            ConnectorStatus::Expired => Err(EngineError::NeedsReauthorization {
                integration_type: key.integration_type.to_string(),
                reason: connector
                    .status_reason
                    .unwrap_or_else(|| "the provider refused the stored grant".into()),
            }),
            ConnectorStatus::Disconnected => Err(EngineError::ConnectorNotFound(
                key.integration_type.to_string(),
            )),
        }
    }

    async fn refresh_holding_lease(
        &self,
        key: &ConnectorKey,
        need: Staleness,
    ) -> Result<CredentialsRow> {
        let not_found = || EngineError::ConnectorNotFound(key.integration_type.to_string());
        // Re-read after taking the lease: the previous holder may have refreshed.
        let current = self
            .store()
            .get_credentials(key)
            .await?
            .ok_or_else(not_found)?;
        if !need.of(&current, self.now_ms()) {
            return Ok(current);
        }
        self.ensure_active(key).await?;
        let Some(sealed_refresh) = current.refresh_token.clone() else {
            if current.expires_at_ms.is_some_and(|e| e <= self.now_ms()) {
                let reason = "the access token expired and the provider gave no refresh token";
                self.expire(key, reason, "no_refresh_token").await?;
                return Err(EngineError::NeedsReauthorization {
                    integration_type: key.integration_type.to_string(),
                    reason: reason.into(),
                });
            }
            return Ok(current);
        };
        let refresh_token = self
            .keys()
            .open_secret(&sealed_refresh, &key.credentials_context("refresh_token"))?;
        let outcome = self.call_refresh(key, &current, &refresh_token).await?;
        // Another holder's refresh won: nothing failed, nothing to report.
        let lost_race = matches!(outcome, Outcome::LostRace(..));
        match outcome {
            Outcome::Refreshed => self
                .store()
                .get_credentials(key)
                .await?
                .ok_or_else(not_found),
            Outcome::Permanent(reason, code) => {
                self.expire(key, &reason, &code).await?;
                Err(EngineError::NeedsReauthorization {
                    integration_type: key.integration_type.to_string(),
                    reason,
                })
            }
            Outcome::Transient(reason, retry_at) | Outcome::LostRace(reason, retry_at) => {
                let t = self.now();
                let events = match lost_race {
                    true => Vec::new(),
                    false => self.refresh_failed_events(key, &reason).await?,
                };
                self.store()
                    .record_refresh_failure(
                        key,
                        &self.inner.owner_id,
                        &reason,
                        retry_at,
                        t,
                        &events,
                    )
                    .await?;
                // A token that has not expired yet is still worth handing out.
                if current.expires_at_ms.is_some_and(|e| e > self.now_ms()) {
                    return Ok(current);
                }
                Err(EngineError::ProviderUnavailable {
                    integration_type: key.integration_type.to_string(),
                    reason,
                })
            }
        }
    }

    /// `connector.refresh_failed.v1` for a failure retrying may mend.
    async fn refresh_failed_events(
        &self,
        key: &ConnectorKey,
        reason: &str,
    ) -> Result<Vec<NewEvent>> {
        let Some(row) = self.store().get_connector(key).await? else {
            return Ok(Vec::new());
        };
        let mut data = events::connector_data(key, events::scopes_of(&row));
        data.permanent = Some(false);
        data.reason = Some("provider_unavailable".into());
        data.detail = events::detail(reason);
        Ok(vec![
            self.connector_event(wire_events::REFRESH_FAILED, &data)
        ])
    }

    /// Marks the connector expired, reporting `connector.refresh_failed.v1`
    /// (permanent, for `code`) and `connector.expired.v1`; a connector
    /// removed meanwhile (whose removal revoked the grant, hence the
    /// refusal) is not found instead.
    async fn expire(&self, key: &ConnectorKey, reason: &str, code: &str) -> Result<()> {
        let t = self.now();
        let Some(row) = self.store().get_connector(key).await? else {
            return Err(EngineError::ConnectorNotFound(
                key.integration_type.to_string(),
            ));
        };
        let mut data = events::connector_data(key, events::scopes_of(&row));
        data.reason = Some(code.to_string());
        data.detail = events::detail(reason);
        let expired_event = self.connector_event(wire_events::EXPIRED, &data);
        data.permanent = Some(true);
        let failed_event = self.connector_event(wire_events::REFRESH_FAILED, &data);
        tracing::warn!(app_id = %key.app_id, integration_type = %key.integration_type,
            reason,
            "connector expired: the provider refused the refresh"
        );
        self.store()
            .record_refresh_failure(key, &self.inner.owner_id, reason, i64::MAX, t, &[])
            .await?;
        let expired = self
            .store()
            .set_connector_status(
                key,
                ConnectorStatus::Expired,
                Some(reason),
                t,
                &[failed_event, expired_event],
            )
            .await;
        self.inner.cache.forget_connector(key);
        expired?;
        Ok(())
    }

    /// Calls the provider with bounded retries; stores a success. Counts
    /// the outcome for `/metrics`.
    async fn call_refresh(
        &self,
        key: &ConnectorKey,
        current: &CredentialsRow,
        refresh_token: &Secret,
    ) -> Result<Outcome> {
        use crate::metrics::Counted;
        let outcome = self
            .call_refresh_uncounted(key, current, refresh_token)
            .await?;
        self.count_refresh(match outcome {
            Outcome::Refreshed => Counted::Ok,
            Outcome::Permanent(..) => Counted::Permanent,
            Outcome::Transient(..) => Counted::Transient,
            Outcome::LostRace(..) => Counted::LostRace,
        });
        Ok(outcome)
    }

    async fn call_refresh_uncounted(
        &self,
        key: &ConnectorKey,
        current: &CredentialsRow,
        refresh_token: &Secret,
    ) -> Result<Outcome> {
        let connector = self
            .store()
            .get_connector(key)
            .await?
            .ok_or_else(|| EngineError::ConnectorNotFound(key.integration_type.to_string()))?;
        let later =
            |reason: String| Outcome::Transient(reason, self.now() + TRANSIENT_BACKOFF_SECS);
        let party = match self.provider_client(key).await {
            Ok(p) => p,
            Err(e) => return Ok(later(e.to_string())),
        };
        let (spec, client) = (&party.spec, &party.client);
        let provider = &party.integration.display_name;
        let config = connector.connection_config.clone().unwrap_or_default();
        // A refresh token is sent again on a transient failure: one grant per call.
        let grant = || Grant::RefreshToken {
            refresh_token,
            scopes: spec.refresh_scopes.then_some(&connector.scopes[..]),
        };
        // A mark we did not set: the previous holder died mid-call.
        let interrupted = current.refresh_in_flight_since.is_some();
        if !self
            .store()
            .mark_refresh_in_flight(key, &self.inner.owner_id, self.now())
            .await?
        {
            return Ok(later(
                "the refresh lease expired before the provider was called".into(),
            ));
        }
        test_pause("before_provider").await;
        let attempts = self.config().refresh_attempts.max(1);
        let mut last = String::new();
        // The provider's `Retry-After` of the last failure, if it gave one.
        let mut asked_wait: Option<u64> = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                let pause = match asked_wait {
                    Some(secs) => Duration::from_secs(secs),
                    None => {
                        let base = 200u64 << (attempt - 1).min(5);
                        let jitter = rand::thread_rng().gen_range(0..=base / 2);
                        Duration::from_millis(base + jitter)
                    }
                };
                tokio::time::sleep(pause).await;
            }
            match self.oauth().exchange(spec, client, grant(), &config).await {
                Ok(tokens) => {
                    test_pause("after_provider").await;
                    let t = self.now();
                    let keys = self.keys();
                    let ctx = |c| key.credentials_context(c);
                    let refreshed = RefreshedCredentials {
                        app_id: key.app_id.clone(),
                        integration_type: key.integration_type.clone(),
                        holder: key.holder.clone(),
                        owner: self.inner.owner_id.clone(),
                        expected_version: current.version,
                        access_token: keys.seal_secret(&tokens.access_token, &ctx("access_token")),
                        refresh_token: tokens
                            .refresh_token
                            .as_ref()
                            .map(|r| keys.seal_secret(r, &ctx("refresh_token"))),
                        token_response: Some(keys.seal_secret(&tokens.raw, &ctx("token_response"))),
                        expires_at_ms: tokens.expires_in.map(|s| self.now_ms() + s * 1000),
                        now: t,
                    };
                    let stored = self.store().store_refreshed(&refreshed).await;
                    self.inner.cache.forget_connector(key);
                    if !stored? {
                        if self.store().get_credentials(key).await?.is_none() {
                            // Removed during the provider call: the new grant
                            // is nobody's, so it is revoked like the old one.
                            tracing::info!(app_id = %key.app_id, integration_type = %key.integration_type,
                                "connector removed during its refresh; revoking the new tokens");
                            self.revoke_in_background(
                                CredentialsRow {
                                    app_id: refreshed.app_id,
                                    integration_type: refreshed.integration_type,
                                    holder: refreshed.holder,
                                    access_token: refreshed.access_token,
                                    refresh_token: refreshed.refresh_token,
                                    token_response: None,
                                    expires_at_ms: refreshed.expires_at_ms,
                                    version: 0,
                                    updated_at: t,
                                    refresh_in_flight_since: None,
                                },
                                config.clone(),
                            )
                            .await;
                            return Err(EngineError::ConnectorNotFound(
                                key.integration_type.to_string(),
                            ));
                        }
                        // Our lease expired and another holder moved on; its
                        // result wins and ours (possibly rotated) is lost.
                        tracing::error!(app_id = %key.app_id, integration_type = %key.integration_type,
                            "refresh result discarded: the lease was lost during the provider call"
                        );
                        return Ok(Outcome::LostRace(
                            "the refresh took longer than its lease".into(),
                            self.now() + TRANSIENT_BACKOFF_SECS,
                        ));
                    }
                    tracing::info!(app_id = %key.app_id, integration_type = %key.integration_type, "refreshed access token");
                    return Ok(Outcome::Refreshed);
                }
                Err(TokenError::Permanent { error, description }) => {
                    let code = oauth_error_code(&error);
                    let said = match description {
                        Some(d) => format!("{error}: {d}"),
                        None => error,
                    };
                    let said: String = said.chars().take(300).collect();
                    if interrupted {
                        tracing::error!(app_id = %key.app_id, integration_type = %key.integration_type,
                            "a server stopped mid-refresh and the provider now refuses the stored refresh token"
                        );
                        return Ok(Outcome::Permanent(
                            format!(
                                "a server stopped in the middle of refreshing this token, after the provider \
                                 may have rotated the refresh token, and the provider now refuses the stored \
                                 one ({provider}: {said}); the builder must authorize the connector again"
                            ),
                            code,
                        ));
                    }
                    return Ok(Outcome::Permanent(
                        format!("{provider} refused the refresh: {said}"),
                        code,
                    ));
                }
                Err(TokenError::Transient {
                    reason,
                    retry_after_secs,
                }) => {
                    tracing::warn!(app_id = %key.app_id, integration_type = %key.integration_type,
                        provider = %provider,
                        attempt,
                        reason,
                        retry_after_secs,
                        "refresh failed"
                    );
                    last = format!("{provider}: {reason}");
                    asked_wait = retry_after_secs;
                    if let Some(secs) = retry_after_secs.filter(|s| *s > MAX_RETRY_AFTER_WAIT_SECS)
                    {
                        // Not worth holding the caller; nor calling again sooner.
                        let reason = format!("{last}; it asks to retry after {secs} s");
                        let retry_at = self.now() + secs.min(i64::MAX as u64 / 2) as i64;
                        return Ok(Outcome::Transient(
                            reason.chars().take(300).collect(),
                            retry_at.max(self.now() + TRANSIENT_BACKOFF_SECS),
                        ));
                    }
                }
            }
        }
        Ok(later(last.chars().take(300).collect()))
    }

    /// Refreshes credentials that expire within `window_secs`; returns how
    /// many were attempted. Meant for a periodic background task.
    pub async fn refresh_due(&self, window_secs: i64, limit: i64) -> Result<usize> {
        let t = self.now();
        let due = self
            .store()
            .credentials_due(self.now_ms() + window_secs * 1000, t, limit)
            .await?;
        for key in &due {
            let slot = self.inner.single_flight.lock_for(key);
            let _guard = slot.lock().await;
            if let Err(e) = self.refresh_under_lease_if_due(key, window_secs).await {
                tracing::warn!(app_id = %key.app_id, integration_type = %key.integration_type, error = %e, "background refresh failed");
            }
        }
        Ok(due.len())
    }

    async fn refresh_under_lease_if_due(&self, key: &ConnectorKey, window_secs: i64) -> Result<()> {
        let owner = &self.inner.owner_id;
        if !self
            .store()
            .acquire_refresh_lease(key, owner, self.now(), self.config().lease_secs)
            .await?
        {
            return Ok(()); // another process has it
        }
        let result = async {
            let current =
                self.store().get_credentials(key).await?.ok_or_else(|| {
                    EngineError::ConnectorNotFound(key.integration_type.to_string())
                })?;
            if current
                .expires_at_ms
                .is_none_or(|e| e > self.now_ms() + window_secs * 1000)
            {
                return Ok(());
            }
            self.ensure_active(key).await?;
            let Some(sealed) = current.refresh_token.clone() else {
                return Ok(());
            };
            let token = self
                .keys()
                .open_secret(&sealed, &key.credentials_context("refresh_token"))?;
            let outcome = self.call_refresh(key, &current, &token).await?;
            let lost_race = matches!(outcome, Outcome::LostRace(..));
            match outcome {
                Outcome::Refreshed => Ok(()),
                Outcome::Permanent(reason, code) => self.expire(key, &reason, &code).await,
                Outcome::Transient(reason, retry_at) | Outcome::LostRace(reason, retry_at) => {
                    let t = self.now();
                    let events = match lost_race {
                        true => Vec::new(),
                        false => self.refresh_failed_events(key, &reason).await?,
                    };
                    self.store()
                        .record_refresh_failure(
                            key,
                            owner,
                            &reason,
                            retry_at.max(t + 60),
                            t,
                            &events,
                        )
                        .await?;
                    Ok(())
                }
            }
        }
        .await;
        let _ = self.store().release_refresh_lease(key, owner).await;
        result
    }
}

/// Test hook, compiled into debug builds only: with
/// `CONNECTORS_TEST_PAUSE_REFRESH=before_provider` (or `after_provider`) a
/// refresh stops for good at that point while holding the lease, so that a
/// test can kill the process there (`crates/server/tests/it/replicas.rs`).
#[cfg(debug_assertions)]
async fn test_pause(point: &str) {
    if std::env::var("CONNECTORS_TEST_PAUSE_REFRESH").as_deref() == Ok(point) {
        tracing::warn!(
            point,
            "CONNECTORS_TEST_PAUSE_REFRESH: refresh paused for good"
        );
        std::future::pending::<()>().await;
    }
}

#[cfg(not(debug_assertions))]
async fn test_pause(_point: &str) {}

/// A provider's OAuth error code as events name it: the code when it looks
/// like one (`invalid_grant`), else `provider_error`.
fn oauth_error_code(error: &str) -> String {
    let plausible = !error.is_empty()
        && error.len() <= 64
        && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plausible {
        error.to_string()
    } else {
        "provider_error".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(expires_at: Option<i64>, updated_at: i64) -> CredentialsRow {
        CredentialsRow {
            app_id: "a".into(),
            integration_type: "t".parse().unwrap(),
            holder: Default::default(),
            access_token: String::new(),
            refresh_token: None,
            token_response: None,
            expires_at_ms: expires_at,
            version: 1,
            updated_at,
            refresh_in_flight_since: None,
        }
    }

    #[test]
    fn staleness_uses_a_margin_bounded_by_the_lifetime() {
        // An hour-long token is refreshed a minute early.
        assert!(!is_stale(&creds(Some(3_600_000), 0), 3_500_000, 60));
        assert!(is_stale(&creds(Some(3_600_000), 0), 3_541_000, 60));
        // A two-second token is refreshed half a second early.
        assert!(!is_stale(&creds(Some(102_000), 100), 101_400, 60));
        assert!(is_stale(&creds(Some(102_000), 100), 101_500, 60));
        // No expiry: never stale.
        assert!(!is_stale(&creds(None, 0), i64::MAX / 2, 60));
    }
}
