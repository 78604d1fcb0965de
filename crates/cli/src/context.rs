//! Where a command runs: the environment (env files, `BASE44_PROJECTS_*`
//! copies, `BASE44_API_URL`), the mode (interactive or not, `--json`), the
//! app it talks to and the project on disk (protocol.md §3.1, §3.2).
//!
//! Project files are read through `connectors_project`; this module only
//! decides which directory and which app id apply.

use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};

use connectors_project::ProjectPaths;

use crate::error::{CliError, Hint};

/// The default API origin.
pub const DEFAULT_API_URL: &str = "https://app.base44.com";

/// Keys the Stripe Projects CLI namespaces under `BASE44_PROJECTS_`.
const PROJECTS_KEYS: [&str; 4] = [
    "BASE44_APP_ID",
    "BASE44_ACCESS_TOKEN",
    "BASE44_REFRESH_TOKEN",
    "BASE44_API_URL",
];

/// Loads `<root>/.env.local` then `<root>/.env` (the first value of a key
/// wins, the real environment is never overridden), where root is the
/// project root or `cwd`, then applies the `BASE44_PROJECTS_` copies.
///
/// Must run before any thread starts: it sets environment variables.
pub fn load_env(cwd: &Path) {
    let root = connectors_project::find_project_root(cwd)
        .map(|p| p.root)
        .unwrap_or_else(|| cwd.to_path_buf());
    for name in [".env.local", ".env"] {
        // A missing or unreadable file is not an error, as with dotenv.
        let _ = dotenvy::from_path(root.join(name));
    }
    for key in PROJECTS_KEYS {
        if std::env::var_os(key).is_some() {
            continue;
        }
        if let Some(value) = std::env::var_os(format!("BASE44_PROJECTS_{key}")) {
            std::env::set_var(key, value);
        }
    }
}

/// `BASE44_API_URL`, or the default when unset or empty.
pub fn api_url() -> String {
    match std::env::var("BASE44_API_URL") {
        Ok(v) if !v.is_empty() => v,
        _ => DEFAULT_API_URL.to_string(),
    }
}

/// Whether prompts, spinners and the browser may be used.
#[derive(Debug, Clone, Copy)]
pub struct Modes {
    /// A person at a terminal.
    pub interactive: bool,
    /// `--json`.
    pub json: bool,
    /// stderr is a terminal (colour).
    pub stderr_tty: bool,
}

/// Non-interactive when stdin or stdout is not a terminal, `CI` is true, or
/// `--json` is given.
pub fn modes(json: bool) -> Modes {
    let ci = std::env::var("CI")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1"))
        .unwrap_or(false);
    let ttys = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    Modes {
        interactive: ttys && !ci && !json,
        json,
        stderr_tty: std::io::stderr().is_terminal(),
    }
}

/// The app a command talks to.
#[derive(Debug, Clone)]
pub struct AppContext {
    /// The app id.
    pub id: String,
    /// The linked project, when the id came from `.app.jsonc`; `None` with
    /// `--app-id` / `BASE44_APP_ID`, even inside a project.
    pub project: Option<ProjectPaths>,
}

/// `BASE44_CLI_TEST_OVERRIDES.appConfig`, honoured like the npm CLI does.
fn test_override() -> Option<(String, PathBuf)> {
    let raw = std::env::var("BASE44_CLI_TEST_OVERRIDES").ok()?;
    let value: serde_json::Value = serde_json::from_str(&raw).ok()?;
    let app = value.get("appConfig")?;
    let id = app.get("id")?.as_str()?;
    let root = app.get("projectRoot")?.as_str()?;
    (!id.is_empty() && !root.is_empty()).then(|| (id.to_string(), PathBuf::from(root)))
}

/// `initAppContext` (protocol.md §3.2).
pub fn app_context(flag: Option<&str>, cwd: &Path) -> Result<AppContext, CliError> {
    if let Some((id, root)) = test_override() {
        let project = connectors_project::find_project_root(&root);
        return Ok(AppContext { id, project });
    }
    // Commander reads BASE44_APP_ID whenever it is defined, even empty.
    let given = flag
        .map(str::to_string)
        .or_else(|| std::env::var("BASE44_APP_ID").ok());
    if let Some(id) = given {
        let id = id.trim();
        if id.is_empty() {
            return Err(CliError::invalid_input("App id cannot be empty."));
        }
        return Ok(AppContext {
            id: id.to_string(),
            project: None,
        });
    }
    let Some(paths) = connectors_project::find_project_root(cwd) else {
        return Err(CliError::ConfigNotFound {
            message: "No Base44 app ID found. Pass --app-id, set BASE44_APP_ID, or run this command from a linked project with base44/.app.jsonc.".into(),
            hints: vec![
                Hint::new("Pass an app ID explicitly with --app-id <id>"),
                Hint::new("Set BASE44_APP_ID in your environment"),
                Hint::with_command(
                    "Run from a linked Base44 project with base44/.app.jsonc, or run 'base44 link'",
                    "base44 link",
                ),
            ],
        });
    };
    let id = connectors_project::read_app_id(&paths)?;
    Ok(AppContext {
        id,
        project: Some(paths),
    })
}

/// The connector files' directory: the project's `connectorsDir`, or
/// `--dir` (default `./connectors`) resolved against `cwd` without a project.
/// Returns the directory and whether `--dir` was ignored.
pub fn connectors_dir(
    app: &AppContext,
    dir: Option<&str>,
    cwd: &Path,
) -> Result<(PathBuf, bool), CliError> {
    match &app.project {
        Some(paths) => {
            let d = connectors_project::connectors_dir(paths)?;
            Ok((normalize(&cwd.join(d)), dir.is_some()))
        }
        None => Ok((normalize(&cwd.join(dir.unwrap_or("connectors"))), false)),
    }
}

/// Lexical normalisation, as Node's `path.resolve` does it (no symlinks).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_path_resolve() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./connectors")),
            PathBuf::from("/a/c/connectors")
        );
        assert_eq!(normalize(Path::new("/a/b/")), PathBuf::from("/a/b"));
    }
}
