//! Connector files: reading and validating them (`connectors push`) and
//! making a directory match the server's list (`connectors pull`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use connectors_wire::is_valid_integration_type;

use crate::diagnostic::{invalid_json, io_error, read_text, schema_error, Issue};
use crate::discovery::{absolute, expected, object_or_issue};
use crate::{ConnectorFile, Diagnostic, PullOutcome};
use connectors_npm_compat::json5::{self, Node, Value};

/// zod's text for a `type` that fails `/^[a-z0-9_-]+$/i`.
const PATTERN_ISSUE: &str = "Invalid string: must match pattern /^[a-z0-9_-]+$/i";

/// What a valid file holds: `type`, `scopes`, and the byte range of the `type` value.
struct Valid {
    integration_type: String,
    scopes: Vec<String>,
    type_span: (usize, usize),
}

/// A valid connector file and where its `type` value is, for duplicates.
pub(crate) struct ReadFile {
    /// The file as read.
    pub(crate) file: ConnectorFile,
    text: String,
    type_span: (usize, usize),
}

pub(crate) fn read_connectors(dir: &Path) -> Result<Vec<ConnectorFile>, Diagnostic> {
    let dir = absolute(dir);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut read = Vec::new();
    for path in connector_paths(&dir)? {
        read.push(read_connector_file(&path)?);
    }

    let mut first_by_type: HashMap<&str, &ReadFile> = HashMap::new();
    for entry in &read {
        let integration_type = entry.file.integration_type.as_str();
        if let Some(first) = first_by_type.get(integration_type) {
            let (line, column) = first.position();
            return Err(Diagnostic::new("INVALID_INPUT", format!("Duplicate connector type \"{integration_type}\"")).with_hint(format!(
                "Remove duplicate connectors with type \"{integration_type}\" - only one connector per type is allowed"
            ))
            .with_hint(format!("\"{integration_type}\" is first defined in {}:{line}:{column}", first.file.path.display()))
            .in_file(&entry.file.path)
            .at(&entry.text, entry.type_span.0, entry.type_span.1));
        }
        first_by_type.insert(integration_type, entry);
    }
    Ok(read.into_iter().map(|r| r.file).collect())
}

impl ReadFile {
    fn position(&self) -> (usize, usize) {
        crate::diagnostic::line_column(&self.text, self.type_span.0)
    }
}

/// The npm CLI's glob `*.{json,jsonc}` (no dot files, files only, symlinks
/// followed), sorted by file name.
fn connector_paths(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::new(
            "FILE_READ_ERROR",
            format!("Failed to read directory {}: {e}", dir.display()),
        )
        .with_hint("Check file permissions and try again")
        .in_file(dir)
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && (name.ends_with(".json") || name.ends_with(".jsonc"))
        })
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(paths)
}

fn read_connector_file(path: &Path) -> Result<ReadFile, Diagnostic> {
    parse_connector_file(path, read_text(path)?)
}

/// One connector file's `text`, parsed and validated; `path` names it.
pub(crate) fn parse_connector_file(path: &Path, text: String) -> Result<ReadFile, Diagnostic> {
    let root = json5::parse(&text).map_err(|e| invalid_json(path, &text, &e))?;
    match validate(&root) {
        Ok(Valid {
            integration_type,
            scopes,
            type_span,
        }) => Ok(ReadFile {
            file: ConnectorFile {
                path: path.to_path_buf(),
                integration_type,
                scopes,
            },
            text,
            type_span,
        }),
        Err(issues) => Err(schema_error("Invalid connector file", path, &text, &issues)),
    }
}

/// `ConnectorResourceSchema`: an object with `type` (a known type or a string
/// matching `/^[a-z0-9_-]+$/i`; every known type matches it too) and optional
/// `scopes` (an array of strings, `[]` when absent). Unknown keys are ignored.
///
/// zod reports a union failure as a bare "Invalid input"; this reports what
/// the generic member found instead, in zod's words.
fn validate(root: &Node) -> Result<Valid, Vec<Issue>> {
    object_or_issue(root).map_err(|issue| vec![issue])?;
    let mut issues = Vec::new();

    let integration_type = match root.get("type") {
        None => {
            issues.push(Issue::new(
                "Invalid input: expected string, received undefined",
                "type",
                root.start,
                root.start + 1,
            ));
            None
        }
        Some(
            node @ Node {
                value: Value::String(t),
                ..
            },
        ) => {
            if t.is_empty() {
                issues.push(Issue::new(
                    "Too small: expected string to have >=1 characters",
                    "type",
                    node.start,
                    node.end,
                ));
            }
            if is_valid_integration_type(t) {
                Some((t.clone(), (node.start, node.end)))
            } else {
                issues.push(Issue::new(PATTERN_ISSUE, "type", node.start, node.end));
                None
            }
        }
        Some(node) => {
            issues.push(expected("string", node, "type"));
            None
        }
    };

    let mut scopes = Vec::new();
    match root.get("scopes") {
        None => {}
        Some(Node {
            value: Value::Array(items),
            ..
        }) => {
            for (i, item) in items.iter().enumerate() {
                match &item.value {
                    Value::String(s) => scopes.push(s.clone()),
                    _ => issues.push(expected("string", item, &format!("scopes[{i}]"))),
                }
            }
        }
        Some(node) => issues.push(expected("array", node, "scopes")),
    }

    match integration_type {
        Some((integration_type, type_span)) if issues.is_empty() => Ok(Valid {
            integration_type,
            scopes,
            type_span,
        }),
        _ => Err(issues),
    }
}

/// What `connectors pull` writes for a connector: `JSON.stringify({type,
/// scopes}, null, 2)`, with no trailing newline.
pub fn connector_file_content(integration_type: &str, scopes: &[String]) -> String {
    let mut out = format!(
        "{{\n  \"type\": {},\n  \"scopes\": ",
        json_string(integration_type)
    );
    if scopes.is_empty() {
        out.push_str("[]");
    } else {
        out.push_str("[\n");
        for (i, scope) in scopes.iter().enumerate() {
            out.push_str("    ");
            out.push_str(&json_string(scope));
            out.push_str(if i + 1 < scopes.len() { ",\n" } else { "\n" });
        }
        out.push_str("  ]");
    }
    out.push_str("\n}");
    out
}

/// `JSON.stringify` of a string (serde_json escapes the same characters, the
/// same way).
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

pub(crate) fn write_connectors(
    dir: &Path,
    local: &[ConnectorFile],
    remote: &[(String, Vec<String>)],
) -> Result<PullOutcome, Diagnostic> {
    let dir = absolute(dir);
    // The npm CLI validates the server's types before it touches a file; a
    // type is also a file name here, so check again rather than trust it.
    if let Some((bad, _)) = remote.iter().find(|(t, _)| !is_valid_integration_type(t)) {
        return Err(Diagnostic::new(
            "INVALID_INPUT",
            format!(
                "Invalid connector type \"{bad}\" from the server: it must match /^[a-z0-9_-]+$/i"
            ),
        ));
    }

    let mut outcome = PullOutcome::default();
    let remote_types: HashSet<&str> = remote.iter().map(|(t, _)| t.as_str()).collect();
    for file in local {
        if !remote_types.contains(file.integration_type.as_str()) {
            match std::fs::remove_file(&file.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("delete", &file.path, &e)),
            }
            outcome.deleted.push(file.integration_type.clone());
        }
    }

    for (integration_type, scopes) in remote {
        let existing = local
            .iter()
            .find(|f| &f.integration_type == integration_type);
        if existing.is_some_and(|f| &f.scopes == scopes) {
            continue;
        }
        let path = existing.map_or_else(
            || dir.join(format!("{integration_type}.jsonc")),
            |f| f.path.clone(),
        );
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error("write", &path, &e))?;
        }
        std::fs::write(&path, connector_file_content(integration_type, scopes))
            .map_err(|e| io_error("write", &path, &e))?;
        outcome.written.push(integration_type.clone());
    }
    Ok(outcome)
}
