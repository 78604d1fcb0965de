//! The OAuth step of push and initiate (protocol.md §3.5 step 5, §1.1c):
//! list the links; on a terminal ask `Open browser to authorize now?`, then
//! for each connector open the browser (`$BROWSER` if set, else `xdg-open` /
//! `open`) and poll `external-auth/status` at once and then every 2 s for up
//! to 2 minutes, while Esc or Ctrl-C skips that connector.
//!
//! Key presses are read in raw mode (crossterm) on a separate thread, so a
//! skip takes effect at once rather than at the next poll.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use connectors_wire::AttemptStatus;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::api::AppClient;
use crate::error::CliError;
use crate::output::{print_stderr, Ui};

/// Time between status polls.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How long to wait for one connector.
const POLL_TIMEOUT: Duration = Duration::from_secs(120);

/// A connector waiting for consent.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Its type.
    pub integration_type: String,
    /// Where the browser goes.
    pub redirect_url: String,
    /// The attempt to poll; without one the flow counts as failed.
    pub connection_id: Option<String>,
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

/// Restores the terminal however the wait ends.
struct RawMode;

impl RawMode {
    fn enable() -> Option<Self> {
        crossterm::terminal::enable_raw_mode().ok().map(|_| RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

fn is_cancel(key: &KeyEvent) -> bool {
    key.code == KeyCode::Esc
        || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
}

/// Drops key presses typed before a question was shown: a stray Enter must
/// not answer a question the person has not read.
fn drain_pending_keys() {
    while event::poll(Duration::from_millis(0)).unwrap_or(false) {
        if event::read().is_err() {
            break;
        }
    }
}

/// After a `y`/`n` answer, swallows the Enter of someone who typed a whole
/// line (`y⏎`), so it does not answer the next question.
fn swallow_trailing_enter() {
    let deadline = std::time::Instant::now() + Duration::from_millis(400);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || !event::poll(left).unwrap_or(false) {
            return;
        }
        match event::read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Release => continue,
            Ok(Event::Key(k)) if k.code == KeyCode::Enter => return,
            _ => return,
        }
    }
}

/// A yes/no question, default yes. `None` when cancelled with Esc/Ctrl-C.
pub fn confirm(question: &str) -> Option<bool> {
    let raw = RawMode::enable()?;
    drain_pending_keys();
    print_stderr(&format!("? {question} (Y/n) "));
    let answer = loop {
        match event::read() {
            Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => {
                if is_cancel(&key) {
                    break None;
                }
                match key.code {
                    KeyCode::Enter => break Some(true),
                    KeyCode::Char('y') | KeyCode::Char('Y') => {
                        swallow_trailing_enter();
                        break Some(true);
                    }
                    KeyCode::Char('n') | KeyCode::Char('N') => {
                        swallow_trailing_enter();
                        break Some(false);
                    }
                    _ => {}
                }
            }
            Ok(_) => {}
            Err(_) => break None,
        }
    };
    drop(raw);
    let shown = match answer {
        Some(true) => "Yes",
        Some(false) => "No",
        None => "Cancelled",
    };
    print_stderr(&format!("{shown}\n"));
    answer
}

/// Opens `url` in a browser: `$BROWSER <url>` when set, else the platform
/// opener. Does not wait for it, and it outlives us.
pub fn open_browser(url: &str) -> std::io::Result<()> {
    let mut command = match std::env::var("BROWSER") {
        Ok(b) if !b.trim().is_empty() => {
            // A path with spaces is taken whole; otherwise `cmd args...`.
            let mut parts: Vec<String> = if std::path::Path::new(b.trim()).exists() {
                vec![b.trim().to_string()]
            } else {
                b.split_whitespace().map(str::to_string).collect()
            };
            let program = parts.remove(0);
            let mut c = Command::new(program);
            c.args(parts);
            c
        }
        _ if cfg!(target_os = "macos") => Command::new("open"),
        _ if cfg!(windows) => {
            let mut c = Command::new("cmd");
            c.args(["/C", "start", ""]);
            c
        }
        _ => Command::new("xdg-open"),
    };
    command
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Its own process group, as the npm CLI's `open` detaches: the terminal's
    // hangup when we exit (and a Ctrl-C at a prompt) must not reach a
    // browser that is still finishing the consent.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn()?;
    // Reap it whenever it exits, without holding up the poll.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// `promptOAuthFlows`: lists the links and, unless `skip_prompt`, offers to
/// authorize each one now. Returns each processed connector's outcome, in
/// order (empty when nothing was processed).
pub async fn prompt_oauth_flows(
    ui: &Ui,
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
        ui.info(&format!("  {}: {}", p.integration_type, p.redirect_url));
    }
    if skip_prompt {
        return outcomes;
    }
    if ui.confirm("Open browser to authorize now?") != Some(true) {
        return outcomes;
    }
    for p in pending {
        ui.info(&format!("Opening browser for {}...", p.integration_type));
        if let Err(e) = open_browser(&p.redirect_url) {
            ui.warn(&format!(
                "Could not open a browser ({e}); open the link above to authorize {}",
                p.integration_type
            ));
        }
        let status = match wait_for_consent(ui, client, p).await {
            Ok(s) => s,
            Err(e) => {
                ui.error(&format!(
                    "Failed to authorize {}: {}",
                    p.integration_type,
                    e.message()
                ));
                FlowStatus::Failed
            }
        };
        outcomes.push((p.integration_type.clone(), status));
    }
    outcomes
}

/// Watches the keyboard until stopped; sets `skipped` on Esc or Ctrl-C.
fn watch_keys(skipped: Arc<AtomicBool>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let _raw = RawMode::enable();
        while !stop.load(Ordering::SeqCst) {
            match event::poll(Duration::from_millis(50)) {
                Ok(true) => {
                    if let Ok(Event::Key(key)) = event::read() {
                        if key.kind != KeyEventKind::Release && is_cancel(&key) {
                            skipped.store(true, Ordering::SeqCst);
                            return;
                        }
                    }
                }
                Ok(false) => {}
                Err(_) => return,
            }
        }
    })
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
    let t = &p.integration_type;
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
            let status = client.oauth_status(t, connection_id).await?.status;
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
