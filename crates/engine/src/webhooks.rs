//! An app's webhook endpoints and the delivery of its events to them
//! (#15): at least once, signed per Standard Webhooks, retried on the
//! schedule, by workers on every replica that claim deliveries so no two
//! send the same one at once (`Store::claim_deliveries`).

use std::time::Duration;

/// An endpoint's `disabled_reason` when its failures disabled it, not a
/// builder: the dashboard tells the two apart by it.
pub use connectors_store::AUTO_DISABLED_REASON;
use connectors_store::{
    webhook_secret_context, ClaimedDelivery, DeliveryAttempt, EventScope, WebhookEndpointRow,
};
use connectors_vault::Secret;
use connectors_webhooks::{RetrySchedule, Sender, SenderConfig};
use connectors_wire::events::{
    self as wire, CreateWebhookEndpoint, RotateWebhookSecret, UpdateWebhookEndpoint,
    WebhookAttempt, WebhookDeliveryLog, WebhookEndpoint, WebhookEndpointList,
    WebhookEndpointWithSecret, WebhookTestQueued,
};

use crate::audit::{Actor, Audit};
use crate::events::{envelope, page_size, rfc3339_ms};
use crate::{AuthorizedApp, Engine, EngineError, Result};

/// An app whose webhooks someone may manage: a builder of it (the API,
/// the dashboard) or the operator (`connectors-server` commands).
#[derive(Debug, Clone)]
pub struct WebhookOwner {
    workspace_id: String,
    app_id: String,
    actor: Actor,
}

impl From<&AuthorizedApp> for WebhookOwner {
    fn from(app: &AuthorizedApp) -> Self {
        Self {
            workspace_id: app.app().workspace_id.clone(),
            app_id: app.app_id().to_string(),
            actor: Actor::builder(app.builder()),
        }
    }
}

impl WebhookOwner {
    fn app_id(&self) -> &str {
        &self.app_id
    }

    fn audit(&self, action: &'static str) -> Audit {
        Audit::app(&self.workspace_id, &self.app_id, action)
    }
}

/// The most endpoints one app may have.
pub const MAX_ENDPOINTS_PER_APP: usize = 10;
/// The longest an old secret may keep signing after a rotation.
pub const MAX_SECRET_OVERLAP_SECS: u64 = 7 * 24 * 3600;
/// How long an old secret keeps signing when the rotation names no overlap.
pub const DEFAULT_SECRET_OVERLAP_SECS: u64 = 24 * 3600;
/// The longest `Retry-After` a receiver can add to a wait.
const MAX_RETRY_AFTER_SECS: u64 = 24 * 3600;
/// Why an endpoint that answered 410 Gone was disabled.
pub const GONE_REASON: &str = "the receiver answered 410 Gone, asking for no more deliveries; fix or replace its URL, then enable the endpoint again";

/// The most attempts one delivery log page shows.
pub const MAX_LOG_ENTRIES: i64 = 200;

/// The operator's `[webhooks]` settings.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Deliver to loopback and private addresses, and over plain http
    /// (development and tests only).
    pub allow_private_networks: bool,
    /// Until a receiver's connection is up.
    pub connect_timeout: Duration,
    /// Until a receiver's whole answer is read.
    pub timeout: Duration,
    /// The waits between attempts.
    pub schedule: RetrySchedule,
    /// An endpoint whose every attempt failed for this long is disabled.
    pub disable_after: Duration,
    /// How often each replica looks for due deliveries.
    pub poll_interval: Duration,
    /// Deliveries one replica sends at once.
    pub batch: usize,
    /// How long events and finished deliveries are kept.
    pub retention: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            schedule: RetrySchedule::default(),
            disable_after: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_secs(1),
            batch: 16,
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl WebhookSettings {
    pub(crate) fn sender(&self) -> Sender {
        Sender::new(SenderConfig {
            allow_private_networks: self.allow_private_networks,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            ..SenderConfig::default()
        })
    }

    /// A claim outlives any attempt it covers, so a live worker never
    /// loses its claim mid-send (and a dead one's is taken over after it).
    fn claim_ms(&self) -> i64 {
        let covers = self.connect_timeout + self.timeout + Duration::from_secs(5);
        covers.as_millis().min(i64::MAX as u128) as i64
    }
}

/// A new endpoint id: `we_` and 24 hex digits.
fn new_endpoint_id() -> String {
    format!("we_{}", &uuid::Uuid::new_v4().simple().to_string()[..24])
}

/// An endpoint's URL as the audit trail keeps it: scheme, host, port and
/// path, never the query (receivers put tokens there).
fn url_for_audit(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!("{}{}", u.origin().ascii_serialization(), u.path()),
        Err(_) => "(an unreadable URL)".into(),
    }
}

fn not_found(id: &str) -> EngineError {
    EngineError::WebhookEndpointNotFound(id.chars().take(64).collect())
}

/// The event types a filter names, checked; empty: all.
fn check_event_types(types: &[String]) -> Result<Option<Vec<String>>> {
    if types.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(types.len());
    for ty in types {
        if !wire::EVENT_TYPES.contains(&ty.as_str()) {
            return Err(EngineError::BadRequest(format!(
                "`{}` is not an event type; use some of: {}",
                ty.chars().take(80).collect::<String>(),
                wire::EVENT_TYPES.join(", ")
            )));
        }
        if !out.contains(ty) {
            out.push(ty.clone());
        }
    }
    out.sort();
    Ok(Some(out))
}

fn check_description(text: Option<String>) -> Result<Option<String>> {
    let Some(text) = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > 200 || text.chars().any(char::is_control) {
        return Err(EngineError::BadRequest(
            "a webhook description is at most 200 characters on one line; shorten it".into(),
        ));
    }
    Ok(Some(text))
}

fn view(row: &WebhookEndpointRow, now_ms: i64) -> WebhookEndpoint {
    WebhookEndpoint {
        id: row.id.clone(),
        url: row.url.clone(),
        description: row.description.clone(),
        event_types: row.event_types.clone().unwrap_or_default(),
        enabled: row.disabled_at.is_none(),
        disabled_reason: row
            .disabled_at
            .and(row.disabled_reason.clone())
            .or_else(|| row.disabled_at.map(|_| "disabled by a builder".to_string())),
        failing_since: row.failing_since.map(rfc3339_ms),
        previous_secret_expires_at: row
            .previous_secret_expires_at
            .filter(|t| *t > now_ms && row.previous_secret.is_some())
            .map(rfc3339_ms),
        created_at: rfc3339_ms(row.created_at),
        updated_at: rfc3339_ms(row.updated_at),
    }
}

impl Engine {
    fn check_url(&self, url: &str) -> Result<String> {
        connectors_webhooks::check_target_url(url, self.config().webhooks.allow_private_networks)
            .map(|u| u.to_string())
            .map_err(|e| EngineError::BadRequest(e.to_string()))
    }

    fn new_secret(&self, endpoint_id: &str) -> (Secret, String) {
        let secret = connectors_webhooks::secret::generate();
        let sealed = self
            .keys()
            .seal_secret(&secret, &webhook_secret_context(endpoint_id, "secret"));
        (secret, sealed)
    }

    /// Writes a builder's change of an endpoint read at `before`: 404 when
    /// it went meanwhile, 409 when another change came first (so two
    /// rotations never leave a caller holding a secret that signs nothing).
    async fn save_endpoint(
        &self,
        row: &WebhookEndpointRow,
        before: i64,
        set_state: bool,
    ) -> Result<()> {
        if self
            .store()
            .update_webhook_endpoint(row, before, set_state)
            .await?
        {
            return Ok(());
        }
        match self.store().get_webhook_endpoint(&row.id).await? {
            None => Err(not_found(&row.id)),
            Some(_) => Err(EngineError::Conflict(
                "this webhook endpoint was changed by someone else meanwhile; read it again and retry".into(),
            )),
        }
    }

    async fn own_endpoint(&self, app: &WebhookOwner, id: &str) -> Result<WebhookEndpointRow> {
        match self.store().get_webhook_endpoint(id).await? {
            Some(row) if row.app_id == app.app_id() => Ok(row),
            _ => Err(not_found(id)),
        }
    }

    /// The operator managing `app_id`'s webhooks (admin commands).
    pub async fn operator_webhook_owner(&self, app_id: &str) -> Result<WebhookOwner> {
        let app = self
            .store()
            .get_app(app_id)
            .await?
            .ok_or_else(|| EngineError::AppNotFound(app_id.chars().take(64).collect()))?;
        Ok(WebhookOwner {
            workspace_id: app.workspace_id,
            app_id: app.id,
            actor: Actor::Operator,
        })
    }

    /// `POST /api/apps/{app_id}/webhooks`: the secret is answered this once.
    pub async fn create_webhook_endpoint(
        &self,
        app: impl Into<WebhookOwner>,
        request: CreateWebhookEndpoint,
    ) -> Result<WebhookEndpointWithSecret> {
        let app = &app.into();
        let url = self.check_url(&request.url)?;
        let event_types = check_event_types(&request.event_types)?;
        let description = check_description(request.description)?;
        let existing = self.store().list_webhook_endpoints(app.app_id()).await?;
        if existing.len() >= MAX_ENDPOINTS_PER_APP {
            return Err(EngineError::BadRequest(format!(
                "an app has at most {MAX_ENDPOINTS_PER_APP} webhook endpoints; delete one first, or subscribe one endpoint to more event types"
            )));
        }
        let id = new_endpoint_id();
        let (secret, sealed) = self.new_secret(&id);
        let now = self.now_ms();
        let row = WebhookEndpointRow {
            id,
            app_id: app.app_id().to_string(),
            url,
            description,
            event_types,
            secret: sealed,
            previous_secret: None,
            previous_secret_expires_at: None,
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        self.store().create_webhook_endpoint(&row).await?;
        self.audit(
            &app.actor,
            app.audit("webhook_endpoint.created")
                .target(&row.id)
                .detail(url_for_audit(&row.url)),
        )
        .await;
        Ok(WebhookEndpointWithSecret {
            endpoint: view(&row, now),
            secret: secret.expose().to_string(),
        })
    }

    /// `GET /api/apps/{app_id}/webhooks`.
    pub async fn list_webhook_endpoints(
        &self,
        app: impl Into<WebhookOwner>,
    ) -> Result<WebhookEndpointList> {
        let app = &app.into();
        let now = self.now_ms();
        let rows = self.store().list_webhook_endpoints(app.app_id()).await?;
        Ok(WebhookEndpointList {
            endpoints: rows.iter().map(|r| view(r, now)).collect(),
        })
    }

    /// `GET /api/apps/{app_id}/webhooks/{endpoint_id}`.
    pub async fn webhook_endpoint(
        &self,
        app: impl Into<WebhookOwner>,
        id: &str,
    ) -> Result<WebhookEndpoint> {
        let app = &app.into();
        Ok(view(&self.own_endpoint(app, id).await?, self.now_ms()))
    }

    /// `PATCH /api/apps/{app_id}/webhooks/{endpoint_id}`: enabling clears
    /// the failure streak, so a mended endpoint gets its day again.
    pub async fn update_webhook_endpoint(
        &self,
        app: impl Into<WebhookOwner>,
        id: &str,
        patch: UpdateWebhookEndpoint,
    ) -> Result<WebhookEndpoint> {
        let app = &app.into();
        let mut row = self.own_endpoint(app, id).await?;
        let before = row.updated_at;
        let now = self.now_ms();
        if let Some(url) = &patch.url {
            row.url = self.check_url(url)?;
        }
        if let Some(types) = &patch.event_types {
            row.event_types = check_event_types(types)?;
        }
        if patch.description.is_some() {
            row.description = check_description(patch.description)?;
        }
        match patch.enabled {
            Some(true) => {
                row.disabled_at = None;
                row.disabled_reason = None;
                row.failing_since = None;
            }
            Some(false) if row.disabled_at.is_none() => {
                row.disabled_at = Some(now);
                row.disabled_reason = Some("disabled by a builder".into());
            }
            _ => {}
        }
        row.updated_at = now.max(before + 1);
        self.save_endpoint(&row, before, patch.enabled.is_some())
            .await?;
        self.audit(
            &app.actor,
            app.audit("webhook_endpoint.updated")
                .target(id)
                .detail(format!(
                    "{} ({})",
                    url_for_audit(&row.url),
                    if row.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "enabled"
                    }
                )),
        )
        .await;
        Ok(view(&row, now))
    }

    /// `DELETE /api/apps/{app_id}/webhooks/{endpoint_id}`: with its
    /// pending deliveries and its log.
    pub async fn delete_webhook_endpoint(
        &self,
        app: impl Into<WebhookOwner>,
        id: &str,
    ) -> Result<()> {
        let app = &app.into();
        let row = self.own_endpoint(app, id).await?;
        if !self.store().delete_webhook_endpoint(id).await? {
            return Err(not_found(id));
        }
        self.audit(
            &app.actor,
            app.audit("webhook_endpoint.deleted")
                .target(id)
                .detail(url_for_audit(&row.url)),
        )
        .await;
        Ok(())
    }

    /// `POST …/webhooks/{endpoint_id}/rotate-secret`: a new secret signs
    /// from now on, and the current one signs too until the overlap ends,
    /// so a receiver can switch without missing a delivery.
    pub async fn rotate_webhook_secret(
        &self,
        app: impl Into<WebhookOwner>,
        id: &str,
        request: RotateWebhookSecret,
    ) -> Result<WebhookEndpointWithSecret> {
        let app = &app.into();
        let overlap = request.overlap_secs.unwrap_or(DEFAULT_SECRET_OVERLAP_SECS);
        if overlap > MAX_SECRET_OVERLAP_SECS {
            return Err(EngineError::BadRequest(format!(
                "`overlap_secs` is at most {MAX_SECRET_OVERLAP_SECS} (a week), not {overlap}"
            )));
        }
        let mut row = self.own_endpoint(app, id).await?;
        let before = row.updated_at;
        let now = self.now_ms();
        let current = self
            .keys()
            .open_secret(&row.secret, &webhook_secret_context(id, "secret"))?;
        row.previous_secret = (overlap > 0).then(|| {
            self.keys()
                .seal_secret(&current, &webhook_secret_context(id, "previous_secret"))
        });
        row.previous_secret_expires_at = (overlap > 0).then(|| now + overlap as i64 * 1000);
        let (secret, sealed) = self.new_secret(id);
        row.secret = sealed;
        row.updated_at = now.max(before + 1);
        self.save_endpoint(&row, before, false).await?;
        self.audit(
            &app.actor,
            app.audit("webhook_endpoint.secret_rotated")
                .target(id)
                .detail(format!("the old secret signs for {overlap} s more")),
        )
        .await;
        Ok(WebhookEndpointWithSecret {
            endpoint: view(&row, now),
            secret: secret.expose().to_string(),
        })
    }

    /// `POST …/webhooks/{endpoint_id}/test`: a `webhook.test.v1` to this
    /// enabled endpoint only, in no app's log.
    pub async fn send_test_event(
        &self,
        app: impl Into<WebhookOwner>,
        id: &str,
    ) -> Result<WebhookTestQueued> {
        let app = &app.into();
        let row = self.own_endpoint(app, id).await?;
        if row.disabled_at.is_some() {
            return Err(EngineError::BadRequest(
                "this endpoint is disabled; enable it first, then send the test event".into(),
            ));
        }
        let event = self.new_event(
            EventScope::App(app.app_id().to_string()),
            wire::WEBHOOK_TEST,
            serde_json::json!({ "app_id": app.app_id(), "endpoint_id": id }).to_string(),
        );
        if !self.store().enqueue_delivery(id, &event).await? {
            return Err(not_found(id));
        }
        self.inner.deliveries_wake.notify_one();
        Ok(WebhookTestQueued { event_id: event.id })
    }

    /// `GET …/webhooks/{endpoint_id}/deliveries?limit=`: the latest
    /// attempts, newest first.
    pub async fn webhook_deliveries(
        &self,
        app: impl Into<WebhookOwner>,
        id: &str,
        limit: Option<i64>,
    ) -> Result<WebhookDeliveryLog> {
        let app = &app.into();
        let limit = page_size(limit, 50, MAX_LOG_ENTRIES)?;
        self.own_endpoint(app, id).await?;
        let rows = self.store().delivery_log(id, limit).await?;
        Ok(WebhookDeliveryLog {
            attempts: rows
                .into_iter()
                .map(|r| WebhookAttempt {
                    event_id: r.event_id,
                    event_type: r.event_type,
                    attempt: r.attempt,
                    at: rfc3339_ms(r.at),
                    status_code: r.status_code,
                    error: r.error,
                    response_excerpt: r.response_excerpt,
                    duration_ms: r.duration_ms,
                    delivery_status: r.delivery_status,
                })
                .collect(),
        })
    }

    /// One pass of this replica's delivery worker: claims what is due and
    /// sends it, all at once; how many it sent.
    pub async fn deliver_due(&self) -> Result<usize> {
        let settings = &self.config().webhooks;
        let owner = format!("{}:{}", self.inner.owner_id, uuid::Uuid::new_v4().simple());
        let claimed = self
            .store()
            .claim_deliveries(
                &owner,
                self.now_ms(),
                settings.claim_ms(),
                settings.batch.max(1) as i64,
            )
            .await?;
        let count = claimed.len();
        let mut sends = tokio::task::JoinSet::new();
        for delivery in claimed {
            let (engine, owner) = (self.clone(), owner.clone());
            sends.spawn(async move { engine.deliver_one(delivery, &owner).await });
        }
        while let Some(done) = sends.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "recording a webhook delivery failed"),
                Err(e) => tracing::error!(error = %e, "a webhook delivery task failed"),
            }
        }
        Ok(count)
    }

    async fn deliver_one(&self, d: ClaimedDelivery, owner: &str) -> Result<()> {
        let settings = &self.config().webhooks;
        let body = serde_json::to_vec(&envelope(
            &d.event_id,
            &d.event_type,
            d.event_created_at,
            &d.app_id,
            &d.data,
            None,
        ))
        .expect("plain data serializes");
        let started_ms = self.now_ms();
        // What cannot be sent (a secret the key ring no longer opens) is a
        // failed attempt too: it is retried, logged for the builder, and
        // counts towards disabling the endpoint, instead of looping unseen.
        let outcome = match self.prepare_message(&d, body, started_ms) {
            Ok((url, message, keys)) => self.inner.webhook_sender.send(&url, &message, &keys).await,
            Err(e) => {
                tracing::warn!(endpoint_id = %d.endpoint_id, error = %e, "a webhook delivery could not be signed");
                connectors_webhooks::Attempt {
                    delivered: false,
                    phase: connectors_webhooks::Phase::NotSent,
                    status: None,
                    error: Some(e.to_string()),
                    elapsed: Duration::ZERO,
                    response_excerpt: String::new(),
                    retry_after: None,
                }
            }
        };
        let attempt = d.attempts + 1;
        // 410 Gone: the receiver asks for no more (Standard Webhooks).
        let gone = outcome.status == Some(410);
        let next_attempt_at = (!outcome.delivered && !gone)
            .then(|| {
                settings
                    .schedule
                    .delay_after(attempt as usize, &mut rand::thread_rng())
            })
            .flatten()
            .map(|delay| {
                // A receiver's `Retry-After` may lengthen the wait, by a day at most.
                let asked = outcome
                    .retry_after
                    .unwrap_or_default()
                    .min(Duration::from_secs(MAX_RETRY_AFTER_SECS));
                let wait = delay.max(asked);
                self.now_ms() + wait.as_millis().min(i64::MAX as u128 / 2) as i64
            });
        self.inner
            .delivery_counters
            .count(outcome.delivered, next_attempt_at.is_some());
        if !outcome.delivered {
            tracing::info!(app_id = %d.app_id, endpoint_id = %d.endpoint_id, event_id = %d.event_id,
                attempt, status = ?outcome.status, error = ?outcome.error,
                retry = next_attempt_at.is_some(), "webhook delivery failed");
        }
        let recorded = self
            .store()
            .finish_delivery(&DeliveryAttempt {
                delivery_id: d.id.clone(),
                endpoint_id: d.endpoint_id.clone(),
                owner: owner.to_string(),
                attempt,
                at: started_ms,
                status_code: outcome.status.map(i64::from),
                error: outcome.error.clone(),
                response_excerpt: Some(outcome.response_excerpt.clone()).filter(|e| !e.is_empty()),
                duration_ms: outcome.elapsed.as_millis().min(i64::MAX as u128) as i64,
                delivered: outcome.delivered,
                next_attempt_at,
                disable_after_ms: settings.disable_after.as_millis().min(i64::MAX as u128 / 2)
                    as i64,
                disable_now: gone.then(|| GONE_REASON.to_string()),
            })
            .await?;
        if !recorded {
            tracing::warn!(delivery_id = %d.id, "a webhook delivery's claim lapsed before its attempt was recorded; it will be sent again");
        }
        Ok(())
    }

    /// The URL, message and signing keys of a delivery.
    fn prepare_message(
        &self,
        d: &ClaimedDelivery,
        body: Vec<u8>,
        now_ms: i64,
    ) -> Result<(
        url::Url,
        connectors_webhooks::Message,
        Vec<connectors_webhooks::SigningKey>,
    )> {
        let unusable = |what: &str| {
            EngineError::ServerMisconfigured(format!(
                "this endpoint's {what} cannot be used (were encryption keys removed before `rotate-keys`?); rotate the endpoint's secret, or restore the key"
            ))
        };
        let mut keys = Vec::with_capacity(2);
        let current = self
            .keys()
            .open_secret(&d.secret, &webhook_secret_context(&d.endpoint_id, "secret"))
            .map_err(|_| unusable("signing secret"))?;
        keys.push(
            connectors_webhooks::secret::parse(current.expose())
                .map_err(|_| unusable("signing secret"))?,
        );
        if let (Some(sealed), Some(until)) = (&d.previous_secret, d.previous_secret_expires_at) {
            if until > now_ms {
                let previous = self
                    .keys()
                    .open_secret(
                        sealed,
                        &webhook_secret_context(&d.endpoint_id, "previous_secret"),
                    )
                    .ok()
                    .and_then(|p| connectors_webhooks::secret::parse(p.expose()).ok());
                keys.extend(previous);
            }
        }
        let message = connectors_webhooks::Message::new(d.event_id.as_str(), now_ms / 1000, body)
            .map_err(|_| unusable("event id"))?;
        let url = url::Url::parse(&d.url).map_err(|_| unusable("URL"))?;
        Ok((url, message, keys))
    }

    /// Forgets events and finished deliveries older than the retention.
    pub async fn purge_events(&self) -> Result<u64> {
        let keep = self
            .config()
            .webhooks
            .retention
            .as_millis()
            .min(i64::MAX as u128 / 2) as i64;
        Ok(self.store().purge_events(self.now_ms() - keep).await?)
    }

    /// This replica's delivery worker, until `shutdown`: a pass whenever
    /// a local write queued something or `poll_interval` passed, and at
    /// once again after a full batch.
    pub async fn run_deliveries(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let settings = self.config().webhooks.clone();
        let mut last_purge = std::time::Instant::now()
            .checked_sub(Duration::from_secs(3600))
            .unwrap_or_else(std::time::Instant::now);
        loop {
            if last_purge.elapsed() >= Duration::from_secs(3600) {
                last_purge = std::time::Instant::now();
                if let Err(e) = self.purge_events().await {
                    tracing::warn!(error = %e, "purging old events failed");
                }
            }
            let full = match self.deliver_due().await {
                Ok(n) => n >= settings.batch.max(1),
                Err(e) => {
                    tracing::warn!(error = %e, "a webhook delivery pass failed");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                _ = self.inner.deliveries_wake.notified() => {}
                _ = tokio::time::sleep(settings.poll_interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
