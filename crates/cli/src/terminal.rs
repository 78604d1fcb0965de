//! The terminal itself: the two output streams, raw-mode key reading (the
//! yes/no question, the Esc-to-skip watcher) and launching the browser.
//!
//! Nothing here knows about commands, errors or the API; `output` and
//! `oauth_prompt` build on it.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Writes to a stream, ignoring failures: a closed pipe (`base44 … | head`)
/// must not turn into a panic or a different exit code.
fn write_to(mut w: impl Write, text: &str) {
    let _ = w.write_all(text.as_bytes());
    let _ = w.flush();
}

/// Prints to stdout.
pub fn print_stdout(text: &str) {
    write_to(std::io::stdout().lock(), text);
}

/// Prints to stderr.
pub fn print_stderr(text: &str) {
    write_to(std::io::stderr().lock(), text);
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

/// Watches the keyboard (in raw mode) until `stop` is set; sets `skipped`
/// on Esc or Ctrl-C. A thread of its own, so a skip takes effect at once.
pub fn watch_keys(skipped: Arc<AtomicBool>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
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

/// Opens `url` in a browser: `browser` (the `BROWSER` variable) when set,
/// else the platform opener. Does not wait for it, and it outlives us.
pub fn open_browser(browser: Option<&str>, url: &str) -> std::io::Result<()> {
    let mut command = match browser {
        Some(b) if !b.trim().is_empty() => {
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
