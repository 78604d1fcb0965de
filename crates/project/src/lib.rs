//! A Base44 project on disk, as the `base44` CLI sees it: finding the
//! project root and app id, reading and validating connector files (JSON5,
//! which covers JSONC, with file:line:column diagnostics), and writing them back on pull with
//! the npm CLI's exact rules.
//!
//! Central types: [`ProjectPaths`], [`ConnectorFile`], [`Diagnostic`].
//! This crate does file I/O only; it knows nothing of HTTP or the server.
//!
//! Files are parsed as the npm CLI parses them, with the `json5` package's
//! grammar and error texts (the port in `connectors_npm_compat::json5`, which
//! also keeps the byte range of every value so a [`Diagnostic`] can point at it). Schema errors
//! use zod's wording, but name the actual problem where zod's union would
//! only say "Invalid input".
#![deny(missing_docs)]
// The API returns `Diagnostic` by value (its fields are the contract with
// the CLI); an error happens at most once per command, so size is no concern.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

mod connectors;
mod diagnostic;
mod discovery;
mod suggest;
#[cfg(test)]
mod tests;

pub use connectors::connector_file_content;
pub use suggest::{suggest_known_type, KNOWN_TYPES};

/// An error in a file the user wrote, located and explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, as the npm CLI's `--json` envelope names it:
    /// `CONFIG_NOT_FOUND`, `CONFIG_INVALID`, `SCHEMA_INVALID`, `INVALID_INPUT`, `FILE_READ_ERROR`,
    /// `FILE_NOT_FOUND` (a file that vanished between listing and reading).
    pub code: &'static str,
    /// One-line message (the npm CLI's text where it has one).
    pub message: String,
    /// The file, if the problem is in one.
    pub file: Option<PathBuf>,
    /// 1-based line and column of the problem, if known.
    pub position: Option<(usize, usize)>,
    /// The offending line(s) with a caret marker, if known.
    pub snippet: Option<String>,
    /// What to do next.
    pub hints: Vec<String>,
}

/// Where a project's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPaths {
    /// The directory holding `base44/` (or the config file itself).
    pub root: PathBuf,
    /// `base44/config.jsonc` (or `.json`, or `config.json[c]` at the root).
    pub config_file: PathBuf,
}

/// One connector file as read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorFile {
    /// The file.
    pub path: PathBuf,
    /// `type`.
    pub integration_type: String,
    /// `scopes` (`[]` when absent).
    pub scopes: Vec<String>,
}

/// What `write_connectors` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullOutcome {
    /// Types whose files were written, in remote order.
    pub written: Vec<String>,
    /// Types whose files were deleted.
    pub deleted: Vec<String>,
}

/// Walks up from `start` (stopping before the filesystem root) and returns the
/// first directory holding `base44/config.json`, `base44/config.jsonc`,
/// `config.json` or `config.jsonc` (in that order of preference).
///
/// A relative `start` is taken from the current directory; symlinks are not resolved.
pub fn find_project_root(start: &Path) -> Option<ProjectPaths> {
    discovery::find_project_root(start)
}

/// The app id from the first `**/.app.json[c]` under the root (`{ "id": "..." }`, JSON5).
///
/// `base44/.app.jsonc` and `base44/.app.json` are looked at first, then the
/// project is searched breadth-first (skipping `node_modules` and dot-directories).
/// No file: `CONFIG_INVALID` "App not configured. …". A file that is not
/// JSON5: `CONFIG_INVALID` "File contains invalid JSON: …". A file without a
/// non-empty string `id`: `SCHEMA_INVALID` "Invalid app configuration in …",
/// as the npm CLI does.
pub fn read_app_id(paths: &ProjectPaths) -> Result<String, Diagnostic> {
    discovery::read_app_id(paths)
}

/// The connectors directory of a project: `<dir of config file>/<connectorsDir or "connectors">`.
///
/// The config must be an object with a non-empty string `name`; a
/// `connectorsDir` must be a string (`SCHEMA_INVALID` "Invalid project
/// configuration in …" otherwise). The directory is joined as Node's
/// `path.join` does (even an absolute `connectorsDir` is appended) and
/// normalized; other keys of the config are not checked.
pub fn connectors_dir(paths: &ProjectPaths) -> Result<PathBuf, Diagnostic> {
    discovery::connectors_dir(paths)
}

/// Reads every `*.json` / `*.jsonc` directly in `dir` (sorted by file name), validates
/// them, and rejects duplicate types. A missing directory is an empty list.
///
/// Paths come back absolute (as Node's `path.resolve`, symlinks kept). Dot
/// files are skipped as the npm CLI's glob skips them. The first bad file in
/// name order is reported: a syntax error (`CONFIG_INVALID`, the `json5`
/// package's text), a schema error (`SCHEMA_INVALID`), or, once every file is
/// valid, a type defined twice (`INVALID_INPUT`, located at the second file's
/// `type` value, with a hint naming the first).
pub fn read_connectors(dir: &Path) -> Result<Vec<ConnectorFile>, Diagnostic> {
    connectors::read_connectors(dir)
}

/// Parses and validates one connector file's `text` as [`read_connectors`]
/// does for each file, without the disk (`path` only names it in the
/// diagnostic): the entry point of the fuzz target `connector_file`.
pub fn parse_connector_file(path: &Path, text: &str) -> Result<ConnectorFile, Diagnostic> {
    connectors::parse_connector_file(path, text.to_string()).map(|read| read.file)
}

/// The app id in `.app.jsonc` text, with [`read_app_id`]'s checks and
/// diagnostics, without the disk (`path` only names the file).
pub fn parse_app_config(path: &Path, text: &str) -> Result<String, Diagnostic> {
    discovery::app_id_from_text(path, text)
}

/// The connectors directory that project config text (`path`) names, with
/// [`connectors_dir`]'s checks and diagnostics, without reading the file.
pub fn parse_project_config(path: &Path, text: &str) -> Result<PathBuf, Diagnostic> {
    discovery::connectors_dir_from_text(path, text)
}

/// Makes `dir` match `remote` (in order) as the npm CLI's pull does.
///
/// `local` is what [`read_connectors`] returned for `dir`. Local files whose
/// type is not remote are deleted. A remote connector whose local file has
/// the same type and scopes (in order) is left alone, comments and all;
/// otherwise [`connector_file_content`] is written to the existing file, or
/// to `<dir>/<type>.jsonc` (creating `dir`). A remote type that is not a
/// valid integration type is refused (`INVALID_INPUT`) before any change;
/// I/O failures are `FILE_READ_ERROR` naming the file.
pub fn write_connectors(
    dir: &Path,
    local: &[ConnectorFile],
    remote: &[(String, Vec<String>)],
) -> Result<PullOutcome, Diagnostic> {
    connectors::write_connectors(dir, local, remote)
}
