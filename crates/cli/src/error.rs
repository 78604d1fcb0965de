//! The one error type of the CLI. Every failure that ends a command is a
//! [`CliError`]; `output::render_error` is its only renderer, so the human
//! text and the `--json` envelope can never drift apart.
//!
//! Codes and texts follow the npm CLI (protocol.md §3.9) because agents and
//! scripts match on them.

use std::fmt;

use connectors_project::Diagnostic;

/// What to do next, optionally with the command that does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The advice.
    pub message: String,
    /// A command that follows the advice, shown as ` (<command>)`.
    pub command: Option<String>,
}

impl Hint {
    /// A hint without a command.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            command: None,
        }
    }

    /// A hint naming a command.
    pub fn with_command(message: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            command: Some(command.into()),
        }
    }
}

/// An HTTP-level failure, as the npm CLI's `ApiError` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Full message, e.g. `Error listing connectors: Unauthorized`.
    pub message: String,
    /// HTTP status (after the KeyError → 404 normalisation), if a response came back.
    pub status: Option<u16>,
    /// The response's `X-Request-ID`, to look the request up server-side.
    pub request_id: Option<String>,
    /// `extra_data.errors` lines.
    pub details: Vec<String>,
    /// What to do next.
    pub hints: Vec<Hint>,
}

/// Every way a command can fail.
#[derive(Debug, Clone)]
pub enum CliError {
    /// The user asked for something invalid (`INVALID_INPUT`).
    InvalidInput {
        /// What is wrong.
        message: String,
        /// What to do next.
        hints: Vec<Hint>,
    },
    /// No app id or project could be found (`CONFIG_NOT_FOUND`).
    ConfigNotFound {
        /// What is missing.
        message: String,
        /// Where an app id can come from.
        hints: Vec<Hint>,
    },
    /// A configuration value or file is unusable (`CONFIG_INVALID`).
    ConfigInvalid {
        /// What is wrong.
        message: String,
        /// What to do next.
        hints: Vec<Hint>,
    },
    /// Data failed validation: a server response or the auth file (`SCHEMA_INVALID`).
    Schema {
        /// `<context>:\n<issue list>`.
        message: String,
        /// What to do next.
        hints: Vec<Hint>,
    },
    /// An HTTP request failed (`API_ERROR`).
    Api(ApiError),
    /// A file the user wrote is wrong; located by connectors-project.
    File(Box<Diagnostic>),
    /// A local file could not be read, written or deleted (`FILE_READ_ERROR`).
    FileAccess {
        /// What failed and why.
        message: String,
    },
    /// Login did not complete in time (`AUTH_EXPIRED`).
    AuthExpired {
        /// What happened.
        message: String,
    },
    /// A bug or an impossible state (`INTERNAL_ERROR`).
    Internal {
        /// What happened.
        message: String,
    },
}

impl CliError {
    /// `INVALID_INPUT` without hints.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
            hints: vec![],
        }
    }

    /// A response that did not match what the CLI expects.
    pub fn invalid_response(issues: &str) -> Self {
        Self::Schema {
            message: format!("Invalid response from server:\n{issues}"),
            hints: vec![Hint::new("Fix the schema/data structure errors above")],
        }
    }

    /// `FILE_READ_ERROR`.
    pub fn file_access(message: impl Into<String>) -> Self {
        Self::FileAccess {
            message: message.into(),
        }
    }

    /// `INTERNAL_ERROR`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
        }
    }

    /// The stable code of the `--json` envelope.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidInput { .. } => "INVALID_INPUT",
            Self::ConfigNotFound { .. } => "CONFIG_NOT_FOUND",
            Self::ConfigInvalid { .. } => "CONFIG_INVALID",
            Self::Schema { .. } => "SCHEMA_INVALID",
            Self::Api(_) => "API_ERROR",
            Self::File(d) => d.code,
            Self::FileAccess { .. } => "FILE_READ_ERROR",
            Self::AuthExpired { .. } => "AUTH_EXPIRED",
            Self::Internal { .. } => "INTERNAL_ERROR",
        }
    }

    /// The one-line (or, for schema errors, multi-line) message.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidInput { message, .. }
            | Self::ConfigNotFound { message, .. }
            | Self::ConfigInvalid { message, .. }
            | Self::Schema { message, .. }
            | Self::FileAccess { message }
            | Self::AuthExpired { message }
            | Self::Internal { message } => message,
            Self::Api(e) => &e.message,
            Self::File(d) => &d.message,
        }
    }

    /// Extra lines: `extra_data.errors` of an API error; for a file
    /// diagnostic, its `file:line:column` (our addition to the npm
    /// envelope, so a program can jump to the problem too).
    pub fn details(&self) -> Vec<String> {
        match self {
            Self::Api(e) => e.details.clone(),
            Self::File(d) => match (&d.file, d.position) {
                (Some(f), Some((line, col))) => vec![format!("{}:{line}:{col}", f.display())],
                _ => vec![],
            },
            _ => vec![],
        }
    }

    /// What to do next.
    pub fn hints(&self) -> Vec<Hint> {
        match self {
            Self::InvalidInput { hints, .. }
            | Self::ConfigNotFound { hints, .. }
            | Self::ConfigInvalid { hints, .. }
            | Self::Schema { hints, .. } => hints.clone(),
            Self::Api(e) => e.hints.clone(),
            Self::File(d) => d.hints.iter().map(|h| file_hint(h)).collect(),
            Self::FileAccess { .. } => vec![Hint::new("Check file permissions and try again")],
            Self::AuthExpired { .. } => vec![Hint::with_command(
                "Run 'base44 login' to re-authenticate",
                "base44 login",
            )],
            Self::Internal { .. } => vec![Hint::new(
                "This is an unexpected error. Please report it if it persists.",
            )],
        }
    }

    /// HTTP status, for the envelope's `statusCode`.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(e) => e.status,
            _ => None,
        }
    }

    /// The response's request id, for the envelope's `requestId`.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(e) => e.request_id.as_deref(),
            _ => None,
        }
    }
}

/// A connectors-project hint as the npm CLI words it: `Run 'base44 link' …`
/// carries `base44 link` as its command.
fn file_hint(text: &str) -> Hint {
    let command = text
        .strip_prefix("Run '")
        .and_then(|rest| rest.split_once('\''))
        .map(|(cmd, _)| cmd)
        .filter(|cmd| cmd.starts_with("base44 "));
    match command {
        Some(cmd) => Hint::with_command(text, cmd),
        None => Hint::new(text),
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for CliError {}

impl From<Diagnostic> for CliError {
    fn from(d: Diagnostic) -> Self {
        Self::File(Box::new(d))
    }
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_hints_name_their_command() {
        assert_eq!(
            file_hint("Run 'base44 link' to link this project to a Base44 app"),
            Hint::with_command(
                "Run 'base44 link' to link this project to a Base44 app",
                "base44 link"
            )
        );
        assert_eq!(file_hint("Check the file"), Hint::new("Check the file"));
    }
}
