//! The OAuth step of push, initiate and `workspace connect` (protocol.md
//! §3.5 step 5, §1.1c):
//! list the links; on a terminal ask `Open browser to authorize now?`, then
//! for each connector open the browser (`$BROWSER` if set, else `xdg-open` /
//! `open`) and poll its status at once and then every 2 s for up to 2
//! minutes, while Esc or Ctrl-C skips that connector. An app's own connector
//! is polled at `external-auth/status`, a workspace connection at
//! `external-auth/connectors/{id}/status` ([`Target`]).
//!
//! The terminal work (raw mode, key watching, the browser) is in
//! `terminal`; this module is only the consent loop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use connectors_wire::AttemptStatus;

use crate::api::AppClient;
use crate::error::CliError;
use crate::output::Ui;
use crate::terminal::{open_browser, watch_keys};

/// Time between status polls.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How long to wait for one connector.
const POLL_TIMEOUT: Duration = Duration::from_secs(120);

/// Whose consent is pending, which decides where its status is polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The app's own connector of this type.
    Integration(String),
    /// The app's shared connection of the workspace connector with this id.
    WorkspaceConnector(String),
}

/// A connector waiting for consent.
#[derive(Debug, Clone)]
pub struct Pending {
    /// What it is a consent for.
    pub target: Target,
    /// Where the browser goes.
    pub redirect_url: String,
    /// The attempt to poll; without one the flow counts as failed.
    pub connection_id: Option<String>,
}

impl Pending {
    /// How lines and outcomes name it: the type, or `connector {id}`.
    pub fn name(&self) -> String {
        match &self.target {
            Target::Integration(t) => t.clone(),
            Target::WorkspaceConnector(id) => format!("connector {id}"),
        }
    }
}

/// How one connector's consent ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStatus {
    /// Authorized.
    Active,
    /// The provider or the callback refused.
    Failed,
    /// Still pending after 2 minutes.
    Pending,
    /// The person pressed Esc or Ctrl-C.
    Skipped,
}

impl FlowStatus {
    /// The spelling of push's `--json` `oauth` map.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Failed => "FAILED",
            Self::Pending => "PENDING",
            Self::Skipped => "SKIPPED",
        }
    }
}

/// `promptOAuthFlows`: lists the links and, unless `skip_prompt`, offers to
/// authorize each one now. Returns each processed connector's outcome, in
/// order (empty when nothing was processed).
pub async fn prompt_oauth_flows(
    ui: &Ui,
    browser: Option<&str>,
    client: &AppClient,
    pending: &[Pending],
    skip_prompt: bool,
) -> Vec<(String, FlowStatus)> {
    let mut outcomes = Vec::new();
    if pending.is_empty() {
        return outcomes;
    }
    ui.warn(&format!(
        "{} connector(s) require authorization in your browser:",
        pending.len()
    ));
    for p in pending {
        ui.info(&format!("  {}: {}", p.name(), p.redirect_url));
    }
    if skip_prompt {
        return outcomes;
    }
    if ui.confirm("Open browser to authorize now?") != Some(true) {
        return outcomes;
    }
    for p in pending {
        let name = p.name();
        ui.info(&format!("Opening browser for {name}..."));
        if let Err(e) = open_browser(browser, &p.redirect_url) {
            ui.warn(&format!(
                "Could not open a browser ({e}); open the link above to authorize {name}"
            ));
        }
        let status = match wait_for_consent(ui, client, p).await {
            Ok(s) => s,
            Err(e) => {
                ui.error(&format!("Failed to authorize {name}: {}", e.message()));
                FlowStatus::Failed
            }
        };
        outcomes.push((name, status));
    }
    outcomes
}

/// Sleeps up to `d`, waking early when `flag` is set.
async fn sleep_unless(flag: &AtomicBool, d: Duration) {
    let step = Duration::from_millis(50);
    let mut waited = Duration::ZERO;
    while waited < d && !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(step).await;
        waited += step;
    }
}

/// One connector's wait: spinner, polls, skip.
async fn wait_for_consent(
    ui: &Ui,
    client: &AppClient,
    p: &Pending,
) -> Result<FlowStatus, CliError> {
    let t = &p.name();
    let spinner = ui.spinner(&format!("Waiting for {t} authorization... (Esc to skip)"));
    let skipped = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let keys = watch_keys(skipped.clone(), stop.clone());

    let poll = async {
        let Some(connection_id) = p.connection_id.as_deref() else {
            return Ok(FlowStatus::Failed);
        };
        loop {
            if skipped.load(Ordering::SeqCst) {
                return Ok(FlowStatus::Skipped);
            }
            let status = match &p.target {
                Target::Integration(ty) => client.oauth_status(ty, connection_id).await?,
                Target::WorkspaceConnector(id) => {
                    client
                        .workspace_connection_status(id, connection_id)
                        .await?
                }
            }
            .status;
            match status {
                AttemptStatus::Active => return Ok(FlowStatus::Active),
                AttemptStatus::Failed => return Ok(FlowStatus::Failed),
                AttemptStatus::Pending => {}
            }
            sleep_unless(&skipped, POLL_INTERVAL).await;
        }
    };
    let skip_watch = async {
        while !skipped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let result = tokio::select! {
        r = tokio::time::timeout(POLL_TIMEOUT, poll) => r.unwrap_or(Ok(FlowStatus::Pending)),
        _ = skip_watch => Ok(FlowStatus::Skipped),
    };
    stop.store(true, Ordering::SeqCst);
    let _ = keys.join();

    let line = match &result {
        Ok(FlowStatus::Skipped) => format!("{t} skipped"),
        Ok(FlowStatus::Active) => format!("{t} authorization complete"),
        Ok(FlowStatus::Failed) => format!("{t} authorization failed"),
        Ok(FlowStatus::Pending) => format!("{t} authorization timed out"),
        Err(_) => format!("{t} authorization failed"),
    };
    spinner.finish(&line);
    result
}
