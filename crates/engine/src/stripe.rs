//! Stripe for an app: one claimable sandbox, provisioned at Stripe on
//! install, kept in step with what Stripe reports, and its keys handed to
//! the app's functions like any connector's token.
//!
//! Installs are idempotent across requests and processes: the store's
//! provisioning claim lets exactly one caller create the sandbox while the
//! others wait for its row.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connectors_store::{stripe_context, StripeClaim, StripeSandboxRow};
use connectors_stripe::{Prefill, Sandbox, SandboxStatus, StripeClient, StripeError};
use connectors_vault::{generate_token, hash_token};
use connectors_wire::{
    ConnectorTokenResponse, StripeInstallResponse, StripeMode, StripeRemoveResponse,
    StripeStatusResponse, STRIPE,
};

use crate::{AuthorizedApp, Engine, EngineError, Result};

/// Where Stripe sends a claimer whose onboarding link has expired.
pub const STRIPE_CLAIM_PATH: &str = "/stripe/claim";

/// How long a provisioning claim lasts before another process may take over
/// (longer than a Stripe call may take).
const PROVISIONING_LEASE_SECS: i64 = 60;
/// How long a concurrent install waits for the provisioning one.
const PROVISIONING_WAIT: Duration = Duration::from_secs(50);
/// A claim link this close to expiry is renewed before it is handed out.
const LINK_RENEW_MARGIN_SECS: i64 = 60;

/// Stripe settings of the engine.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// The client for the platform account.
    pub client: StripeClient,
    /// Two-letter country prefilled for the claimer.
    pub country: String,
}

fn status_of(row: &StripeSandboxRow) -> Option<SandboxStatus> {
    SandboxStatus::parse(&row.status)
}

/// The mode the CLI sees: installed while the sandbox exists.
fn mode_of(row: &StripeSandboxRow) -> Option<StripeMode> {
    match status_of(row)? {
        SandboxStatus::Unclaimed | SandboxStatus::Claimed => Some(StripeMode::Sandbox),
        SandboxStatus::Live => Some(StripeMode::Live),
        SandboxStatus::Expired => None,
    }
}

/// The claim link, while there is something to claim.
fn claim_url_of(row: &StripeSandboxRow) -> Option<String> {
    (status_of(row) == Some(SandboxStatus::Unclaimed))
        .then(|| row.claim_url.clone())
        .flatten()
}

fn link_is_stale(url: Option<&str>, expires_at: Option<i64>, now: i64) -> bool {
    url.is_none() || expires_at.is_some_and(|t| t <= now + LINK_RENEW_MARGIN_SECS)
}

impl Engine {
    fn stripe(&self) -> Result<&StripeSettings> {
        self.config()
            .stripe
            .as_ref()
            .ok_or(EngineError::StripeNotConfigured)
    }

    fn claim_page_url(&self, row: &StripeSandboxRow) -> Result<String> {
        let token = self.keys().open_secret(
            &row.refresh_token,
            &stripe_context(&row.app_id, "refresh_token"),
        )?;
        Ok(format!(
            "{}{STRIPE_CLAIM_PATH}/{}",
            self.config().public_url,
            token.expose()
        ))
    }

    /// `POST payments/stripe/install`: provisions the app's sandbox once.
    pub async fn install_stripe(&self, app: &AuthorizedApp) -> Result<StripeInstallResponse> {
        let (builder, app) = (app.builder(), app.app());
        let settings = self.stripe()?;
        let owner = &self.inner.owner_id;
        let deadline = Instant::now() + PROVISIONING_WAIT;
        loop {
            match self
                .store()
                .claim_stripe_provisioning(&app.id, owner, self.now(), PROVISIONING_LEASE_SECS)
                .await?
            {
                StripeClaim::Acquired => break,
                StripeClaim::Installed(row) => {
                    let row = self.synced(settings, *row).await;
                    return Ok(StripeInstallResponse {
                        already_installed: true,
                        claim_url: claim_url_of(&row),
                    });
                }
                StripeClaim::Busy if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                StripeClaim::Busy => return Err(EngineError::StripeBusy),
            }
        }
        let token = generate_token("", 32);
        let refresh_url = format!(
            "{}{STRIPE_CLAIM_PATH}/{}",
            self.config().public_url,
            token.expose()
        );
        let prefill = Prefill {
            email: builder.email.clone(),
            name: app.name.clone(),
            country: settings.country.clone(),
        };
        let created = match settings.client.create(&prefill, &refresh_url).await {
            Ok(sandbox) if sandbox.secret_key.is_some() => sandbox,
            Ok(_) => {
                self.store()
                    .abandon_stripe_provisioning(&app.id, owner)
                    .await?;
                return Err(EngineError::StripeFailed(
                    "Stripe created a sandbox but its answer held no secret key".into(),
                ));
            }
            Err(e) => {
                self.store()
                    .abandon_stripe_provisioning(&app.id, owner)
                    .await?;
                return Err(EngineError::StripeFailed(e.to_string()));
            }
        };
        let row = self.sandbox_row(&app.id, &created, &token)?;
        // Our claim is gone when `DELETE payments/stripe` ran during the
        // Stripe call (then this install comes after it and claims again),
        // or when it expired and another process took over (its sandbox wins).
        let mut stored = self.store().finish_stripe_provisioning(&row, owner).await?;
        if !stored {
            match self
                .store()
                .claim_stripe_provisioning(&app.id, owner, self.now(), PROVISIONING_LEASE_SECS)
                .await?
            {
                StripeClaim::Acquired => {
                    stored = self.store().finish_stripe_provisioning(&row, owner).await?;
                }
                StripeClaim::Installed(existing) => {
                    tracing::warn!(app_id = %app.id, sandbox_id = %created.id, "Stripe sandbox created after the provisioning claim expired; it is not used");
                    return Ok(StripeInstallResponse {
                        already_installed: true,
                        claim_url: claim_url_of(&existing),
                    });
                }
                StripeClaim::Busy => {}
            }
        }
        if !stored {
            tracing::warn!(app_id = %app.id, sandbox_id = %created.id, "Stripe sandbox created after the provisioning claim was lost; it is not used");
            return Err(EngineError::StripeBusy);
        }
        tracing::info!(app_id = %app.id, sandbox_id = %created.id, "Stripe sandbox provisioned");
        Ok(StripeInstallResponse {
            already_installed: false,
            claim_url: claim_url_of(&row),
        })
    }

    fn sandbox_row(
        &self,
        app_id: &str,
        sandbox: &Sandbox,
        token: &connectors_vault::Secret,
    ) -> Result<StripeSandboxRow> {
        let keys = self.keys();
        let time = self.now();
        Ok(StripeSandboxRow {
            app_id: app_id.to_string(),
            sandbox_id: sandbox.id.clone(),
            account_id: sandbox.account.clone(),
            secret_key: sandbox
                .secret_key
                .as_ref()
                .map(|key| keys.seal_secret(key, &stripe_context(app_id, "secret_key"))),
            publishable_key: sandbox.publishable_key.clone(),
            status: sandbox.status.as_str().to_string(),
            claim_url: sandbox.onboarding_url.clone(),
            claim_url_expires_at: sandbox.onboarding_expires_at,
            refresh_token: keys.seal_secret(token, &stripe_context(app_id, "refresh_token")),
            refresh_token_hash: hash_token(token.expose()),
            created_at: time,
            updated_at: time,
        })
    }

    /// The row brought up to date with Stripe: its status, and a claim link
    /// renewed when it has expired. Stripe being unreachable leaves the row
    /// as stored (the caller still gets an answer).
    async fn synced(&self, settings: &StripeSettings, row: StripeSandboxRow) -> StripeSandboxRow {
        if matches!(
            status_of(&row),
            Some(SandboxStatus::Live | SandboxStatus::Expired)
        ) {
            return row;
        }
        match self.sync_with_stripe(settings, &row).await {
            Ok(row) => row,
            Err(e) => {
                tracing::warn!(app_id = %row.app_id, sandbox_id = %row.sandbox_id, error = %e, "could not read the Stripe sandbox; answering what is stored");
                row
            }
        }
    }

    async fn sync_with_stripe(
        &self,
        settings: &StripeSettings,
        row: &StripeSandboxRow,
    ) -> Result<StripeSandboxRow> {
        let stripe_failed =
            |e: connectors_stripe::StripeError| EngineError::StripeFailed(e.to_string());
        let mut fresh = match settings.client.retrieve(&row.sandbox_id).await {
            Ok(sandbox) => sandbox,
            // Stripe no longer knows it (deleted unclaimed): as good as expired.
            Err(StripeError::Api { status: 404, .. }) => Sandbox {
                id: row.sandbox_id.clone(),
                status: SandboxStatus::Expired,
                account: None,
                onboarding_url: None,
                onboarding_expires_at: None,
                secret_key: None,
                publishable_key: None,
            },
            Err(e) => return Err(stripe_failed(e)),
        };
        if fresh.status == SandboxStatus::Unclaimed
            && link_is_stale(
                fresh.onboarding_url.as_deref(),
                fresh.onboarding_expires_at,
                self.now(),
            )
        {
            fresh = settings
                .client
                .renew_onboarding_link(&row.sandbox_id, &self.claim_page_url(row)?)
                .await
                .map_err(stripe_failed)?;
        }
        let updated = StripeSandboxRow {
            status: fresh.status.as_str().to_string(),
            claim_url: fresh.onboarding_url.clone(),
            claim_url_expires_at: fresh.onboarding_expires_at,
            updated_at: self.now(),
            ..row.clone()
        };
        if updated != *row {
            self.store()
                .update_stripe_sandbox(
                    &row.app_id,
                    &row.sandbox_id,
                    &updated.status,
                    updated.claim_url.as_deref(),
                    updated.claim_url_expires_at,
                    updated.updated_at,
                )
                .await?;
        }
        Ok(updated)
    }

    /// `GET payments/stripe/status`.
    pub async fn stripe_status(&self, app: &AuthorizedApp) -> Result<StripeStatusResponse> {
        let app = app.app();
        let Some(row) = self.store().get_stripe_sandbox(&app.id).await? else {
            return Ok(StripeStatusResponse {
                stripe_mode: None,
                sandbox_claim_url: None,
            });
        };
        let row = match self.config().stripe.as_ref() {
            Some(settings) => self.synced(settings, row).await,
            None => row,
        };
        Ok(StripeStatusResponse {
            stripe_mode: mode_of(&row),
            sandbox_claim_url: claim_url_of(&row),
        })
    }

    /// `DELETE payments/stripe`: forgets the app's sandbox (Stripe keeps it;
    /// an unclaimed one expires there on its own).
    pub async fn remove_stripe(&self, app: &AuthorizedApp) -> Result<StripeRemoveResponse> {
        let app = app.app();
        let success = self.store().delete_stripe_sandbox(&app.id).await?;
        if success {
            tracing::info!(app_id = %app.id, "Stripe sandbox forgotten");
        }
        Ok(StripeRemoveResponse { success })
    }

    /// The sandbox's keys for the app's functions.
    pub(crate) async fn stripe_token(&self, app_id: &str) -> Result<ConnectorTokenResponse> {
        let not_found = || EngineError::ConnectorNotFound(STRIPE.to_string());
        let row = self
            .store()
            .get_stripe_sandbox(app_id)
            .await?
            .filter(|row| mode_of(row).is_some())
            .ok_or_else(not_found)?;
        let sealed = row.secret_key.as_deref().ok_or_else(not_found)?;
        let secret_key = self
            .keys()
            .open_secret(sealed, &stripe_context(app_id, "secret_key"))?;
        let mut config = BTreeMap::new();
        if let Some(key) = &row.publishable_key {
            config.insert("publishable_key".to_string(), key.clone());
        }
        if let Some(account) = &row.account_id {
            config.insert("account_id".to_string(), account.clone());
        }
        Ok(ConnectorTokenResponse {
            access_token: secret_key.expose().to_string(),
            integration_type: STRIPE.to_string(),
            connection_config: Some(config),
        })
    }

    /// Where a claimer arriving at our refresh URL goes next: a renewed
    /// onboarding link. `None` when the token is unknown or there is nothing
    /// left to claim.
    pub async fn stripe_claim_link(&self, token: &str) -> Result<Option<String>> {
        // The token first: only a link we handed out may make us call Stripe
        // (or fail for want of it).
        let Some(row) = self
            .store()
            .stripe_sandbox_by_refresh_hash(&hash_token(token))
            .await?
        else {
            return Ok(None);
        };
        let settings = self.stripe()?;
        let row = self.sync_with_stripe(settings, &row).await?;
        Ok(claim_url_of(&row))
    }
}
