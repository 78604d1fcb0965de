//! Everything the CLI prints goes through [`Ui`].
//!
//! The contract, as with the npm CLI: data and the final status line go to
//! stdout, progress and diagnostics to stderr; with `--json`, stdout carries
//! exactly one JSON document (the result or the error envelope). Without a
//! terminal (or with `CI=true` or `--json`) lines are plain, prefixed
//! `Warning: ` / `Error: ` as the npm CLI's `SimpleLogger` writes them; on a
//! terminal the same lines are coloured (unless `NO_COLOR`) and tasks get a
//! spinner.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::error::CliError;
pub use crate::terminal::{print_stderr, print_stdout};

/// How this run talks to the person (or program) at the other end.
#[derive(Debug, Clone)]
pub struct Ui {
    /// Prompts, spinners and the browser are allowed.
    pub interactive: bool,
    /// `--json`: stdout is one JSON document.
    pub json: bool,
    /// Colour on stderr.
    color: bool,
    /// A spinner is drawing; plain lines must clear it first.
    spinning: Arc<AtomicBool>,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Ui {
    /// A UI for the given modes; colour only on a terminal without `NO_COLOR`.
    pub fn new(interactive: bool, json: bool, stderr_is_tty: bool, no_color: bool) -> Self {
        Self {
            interactive,
            json,
            color: interactive && stderr_is_tty && !no_color,
            spinning: Arc::new(AtomicBool::new(false)),
        }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn line(&self, text: &str) {
        if self.spinning.load(Ordering::SeqCst) {
            print_stderr("\r\x1b[2K");
        }
        print_stderr(&format!("{text}\n"));
    }

    /// A plain progress or information line.
    pub fn info(&self, text: &str) {
        self.line(text);
    }

    /// Something that went well.
    pub fn success(&self, text: &str) {
        self.line(&self.paint(GREEN, text));
    }

    /// A de-emphasised line.
    pub fn dim(&self, text: &str) {
        self.line(&self.paint(DIM, text));
    }

    /// A bold line (headings).
    pub fn bold(&self, text: &str) {
        self.line(&self.paint(BOLD, text));
    }

    /// `Warning: <text>`.
    pub fn warn(&self, text: &str) {
        self.line(&format!("{} {text}", self.paint(YELLOW, "Warning:")));
    }

    /// `Error: <text>`.
    pub fn error(&self, text: &str) {
        self.line(&format!("{} {text}", self.paint(RED, "Error:")));
    }

    /// Runs `work` as the npm CLI's `runTask`: a spinner on a terminal;
    /// otherwise the start line, then the success line (or the start line
    /// again) or `Error: <error line>`.
    pub async fn task<T, F>(
        &self,
        start: &str,
        success: Option<&str>,
        failure: Option<&str>,
        work: F,
    ) -> Result<T, CliError>
    where
        F: Future<Output = Result<T, CliError>>,
    {
        let spinner = if self.interactive {
            Some(self.spinner(start))
        } else {
            self.info(start);
            None
        };
        let result = work.await;
        match (&result, spinner) {
            (Ok(_), Some(s)) => s.finish(&self.paint(GREEN, success.unwrap_or(start))),
            (Err(_), Some(s)) => s.finish(&format!(
                "{} {}",
                self.paint(RED, "Error:"),
                failure.unwrap_or("Failed")
            )),
            (Ok(_), None) => self.success(success.unwrap_or(start)),
            (Err(_), None) => self.error(failure.unwrap_or("Failed")),
        }
        result
    }

    /// Starts a spinner on stderr (terminal only).
    pub fn spinner(&self, text: &str) -> Spinner {
        Spinner::start(text.to_string(), self.spinning.clone())
    }

    /// The command's final status line: stdout, or stderr when stdout holds JSON.
    pub fn outro(&self, text: &str) {
        if self.json {
            print_stderr(&format!("{text}\n"));
        } else {
            print_stdout(&format!("{text}\n"));
        }
    }

    /// Asks a yes/no question on the terminal (default yes). `None` when the
    /// person cancelled (Esc or Ctrl-C).
    pub fn confirm(&self, question: &str) -> Option<bool> {
        crate::terminal::confirm(&self.paint(BOLD, question))
    }

    /// Renders an error the one way errors are rendered.
    pub fn render_error(&self, err: &CliError) {
        if self.json {
            print_stdout(&format!("{}\n", envelope(err)));
            return;
        }
        let mut out = format!("{} {}\n", self.paint(RED, "Error:"), err.message());
        if let CliError::File(d) = err {
            if let Some(file) = &d.file {
                let loc = match d.position {
                    Some((l, c)) => format!("{}:{l}:{c}", file.display()),
                    None => file.display().to_string(),
                };
                out.push_str(&format!("  {} {loc}\n", self.paint(DIM, "-->")));
            }
            if let Some(snippet) = &d.snippet {
                for line in snippet.lines() {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        } else {
            for detail in err.details() {
                out.push_str(&format!("  {detail}\n"));
            }
        }
        for hint in err.hints() {
            let cmd = hint
                .command
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {} {}{cmd}\n",
                self.paint(YELLOW, "Hint:"),
                hint.message
            ));
        }
        print_stderr(&out);
    }
}

/// The `--json` error envelope, one line, keys in the npm CLI's order.
pub fn envelope(err: &CliError) -> String {
    #[derive(Serialize)]
    struct HintOut<'a> {
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        command: Option<&'a str>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope<'a> {
        error: &'a str,
        code: &'a str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        details: Vec<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        hints: Vec<HintOut<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status_code: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_id: Option<&'a str>,
    }
    let hints = err.hints();
    let value = Envelope {
        error: err.message(),
        code: err.code(),
        details: err.details(),
        hints: hints
            .iter()
            .map(|h| HintOut {
                message: &h.message,
                command: h.command.as_deref(),
            })
            .collect(),
        status_code: err.status(),
        request_id: err.request_id(),
    };
    serde_json::to_string(&value).unwrap_or_else(|_| "{}".into())
}

/// A spinner drawn on stderr by a background thread until finished.
pub struct Spinner {
    stop: Arc<AtomicBool>,
    spinning: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn start(text: String, spinning: Arc<AtomicBool>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        spinning.store(true, Ordering::SeqCst);
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
            let mut i = 0;
            while !flag.load(Ordering::SeqCst) {
                print_stderr(&format!("\r\x1b[2K{} {text}", FRAMES[i % FRAMES.len()]));
                i += 1;
                std::thread::sleep(Duration::from_millis(80));
            }
        });
        Self {
            stop,
            spinning,
            thread: Some(thread),
        }
    }

    /// Stops the spinner and leaves `line` in its place.
    pub fn finish(mut self, line: &str) {
        self.halt();
        // `\r\n`: the terminal may still be in raw mode (OAuth wait).
        print_stderr(&format!("\r\x1b[2K{line}\r\n"));
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.spinning.store(false, Ordering::SeqCst);
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.halt();
            print_stderr("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, Hint};

    #[test]
    fn file_envelope_gives_the_location() {
        let d = connectors_project::Diagnostic {
            code: "INVALID_INPUT",
            message: "Duplicate connector type \"slack\"".into(),
            file: Some("/p/b.jsonc".into()),
            position: Some((3, 11)),
            snippet: None,
            hints: vec![],
        };
        assert_eq!(
            envelope(&CliError::File(Box::new(d))),
            r#"{"error":"Duplicate connector type \"slack\"","code":"INVALID_INPUT","details":["/p/b.jsonc:3:11"]}"#
        );
    }

    #[test]
    fn envelope_keys_and_order() {
        let err = CliError::Api(ApiError {
            message: "Error listing connectors: Unauthorized".into(),
            status: Some(401),
            request_id: Some("r1".into()),
            details: vec![],
            hints: vec![Hint::with_command("Try logging in again", "base44 login")],
        });
        assert_eq!(
            envelope(&err),
            r#"{"error":"Error listing connectors: Unauthorized","code":"API_ERROR","hints":[{"message":"Try logging in again","command":"base44 login"}],"statusCode":401,"requestId":"r1"}"#
        );
        assert_eq!(
            envelope(&CliError::invalid_input("App id cannot be empty.")),
            r#"{"error":"App id cannot be empty.","code":"INVALID_INPUT"}"#
        );
    }
}
