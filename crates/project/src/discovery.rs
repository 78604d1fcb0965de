//! Finding a project on disk: its root and config file, its app id
//! (`.app.jsonc`) and its connectors directory (`connectorsDir`).

use std::collections::VecDeque;
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{invalid_json, read_text, schema_error, Issue};
use crate::{Diagnostic, ProjectPaths};
use connectors_npm_compat::json5::{self, Node, Value};

/// The npm CLI's `PROJECT_CONFIG_PATTERNS`, in order of preference.
const CONFIG_CANDIDATES: [&str; 4] = [
    "base44/config.json",
    "base44/config.jsonc",
    "config.json",
    "config.jsonc",
];

/// Where `base44 link` writes the app id, checked before any search.
const APP_CONFIG_CANONICAL: [&str; 2] = ["base44/.app.jsonc", "base44/.app.json"];

/// The npm CLI's message when a project has no `.app.json[c]`.
pub(crate) const APP_NOT_CONFIGURED: &str =
    "App not configured. Create a .app.jsonc file or run 'base44 link' to link this project.";

pub(crate) fn find_project_root(start: &Path) -> Option<ProjectPaths> {
    let mut current = absolute(start);
    // Like the npm CLI's `while (current !== dirname(current))`: the
    // filesystem root itself is never searched.
    while let Some(parent) = current.parent().map(Path::to_path_buf) {
        for candidate in CONFIG_CANDIDATES {
            let config_file = current.join(candidate);
            if config_file.is_file() {
                return Some(ProjectPaths {
                    root: current,
                    config_file,
                });
            }
        }
        current = parent;
    }
    None
}

pub(crate) fn read_app_id(paths: &ProjectPaths) -> Result<String, Diagnostic> {
    let Some(path) = find_app_config(&paths.root) else {
        return Err(Diagnostic::new("CONFIG_INVALID", APP_NOT_CONFIGURED)
            .with_hint("Run 'base44 link' to link this project to a Base44 app"));
    };
    app_id_from_text(&path, &read_text(&path)?)
}

/// The app id in `.app.jsonc` text; `path` names the file.
pub(crate) fn app_id_from_text(path: &Path, text: &str) -> Result<String, Diagnostic> {
    let root = json5::parse(text).map_err(|e| invalid_json(path, text, &e))?;
    // `AppConfigSchema`: `{ id: z.string().min(1, "id cannot be empty") }`.
    let issue = match object_or_issue(&root) {
        Err(issue) => issue,
        Ok(()) => match root.get("id") {
            None => Issue::new(
                "Invalid input: expected string, received undefined",
                "id",
                root.start,
                root.start + 1,
            ),
            Some(Node {
                value: Value::String(id),
                ..
            }) if !id.is_empty() => return Ok(id.clone()),
            Some(
                node @ Node {
                    value: Value::String(_),
                    ..
                },
            ) => Issue::new("id cannot be empty", "id", node.start, node.end),
            Some(node) => expected("string", node, "id"),
        },
    };
    Err(schema_error(
        "Invalid app configuration",
        path,
        text,
        &[issue],
    ))
}

/// The first `.app.json` / `.app.jsonc` of the project: the canonical
/// `base44/` location first, then a breadth-first search in name order that
/// skips `node_modules`, dot-directories and symlinked directories.
fn find_app_config(root: &Path) -> Option<PathBuf> {
    if let Some(found) = APP_CONFIG_CANONICAL
        .iter()
        .map(|c| root.join(c))
        .find(|p| p.is_file())
    {
        return Some(found);
    }
    let mut queue = VecDeque::from([root.to_path_buf()]);
    while let Some(dir) = queue.pop_front() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            let path = entry.path();
            if name == ".app.json" || name == ".app.jsonc" {
                if path.is_file() {
                    return Some(path);
                }
                continue;
            }
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let name = name.to_string_lossy();
            if is_dir && !name.starts_with('.') && name != "node_modules" {
                queue.push_back(path);
            }
        }
    }
    None
}

pub(crate) fn connectors_dir(paths: &ProjectPaths) -> Result<PathBuf, Diagnostic> {
    connectors_dir_from_text(&paths.config_file, &read_text(&paths.config_file)?)
}

/// The connectors directory named by config file text; `path` names the file.
pub(crate) fn connectors_dir_from_text(path: &Path, text: &str) -> Result<PathBuf, Diagnostic> {
    let root = json5::parse(text).map_err(|e| invalid_json(path, text, &e))?;
    // The parts of `ProjectConfigSchema` this needs: `name` (a non-empty
    // string, "App name cannot be empty" for any failure) and `connectorsDir`
    // (an optional string, default "connectors").
    let mut issues = Vec::new();
    let mut connectors_dir = "connectors".to_string();
    match object_or_issue(&root) {
        Err(issue) => issues.push(issue),
        Ok(()) => {
            match root.get("name") {
                Some(Node {
                    value: Value::String(name),
                    ..
                }) if !name.is_empty() => {}
                Some(node) => issues.push(Issue::new(
                    "App name cannot be empty",
                    "name",
                    node.start,
                    node.end,
                )),
                None => issues.push(Issue::new(
                    "App name cannot be empty",
                    "name",
                    root.start,
                    root.start + 1,
                )),
            }
            match root.get("connectorsDir") {
                None => {}
                Some(Node {
                    value: Value::String(dir),
                    ..
                }) => connectors_dir = dir.clone(),
                Some(node) => issues.push(expected("string", node, "connectorsDir")),
            }
        }
    }
    if !issues.is_empty() {
        return Err(schema_error(
            "Invalid project configuration",
            path,
            text,
            &issues,
        ));
    }
    let config_dir = path.parent().unwrap_or(Path::new("/"));
    Ok(node_join(config_dir, &connectors_dir))
}

/// zod's issue for a root that is not an object.
pub(crate) fn object_or_issue(root: &Node) -> Result<(), Issue> {
    match root.value {
        Value::Object(_) => Ok(()),
        _ => Err(expected("object", root, "")),
    }
}

/// zod's `invalid_type` issue for `node` at `path`.
pub(crate) fn expected(what: &str, node: &Node, path: &str) -> Issue {
    let message = format!(
        "Invalid input: expected {what}, received {}",
        node.type_name()
    );
    Issue::new(&message, path, node.start, node.end)
}

/// `path.resolve(p)`: absolute and lexically normalized (`.` and `..`
/// removed), without resolving symlinks.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path.join(base, rel)`: `rel` is appended even when absolute, then the
/// result is normalized.
pub(crate) fn node_join(base: &Path, rel: &str) -> PathBuf {
    let mut out = absolute(base);
    for component in Path::new(rel).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    out
}
