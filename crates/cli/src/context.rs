//! Where a command runs: the environment (one [`Config`], from the process
//! environment, env files and `BASE44_PROJECTS_*` copies), the mode (interactive or not, `--json`), the
//! app it talks to and the project on disk (protocol.md §3.1, §3.2).
//!
//! Project files are read through `connectors_project`; this module only
//! decides which directory and which app id apply.

use std::collections::HashMap;
use std::env::VarError;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};

use connectors_project::ProjectPaths;
use secrecy::SecretString;

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

/// Every environment variable the CLI reads, resolved once per run.
///
/// Values come from the process environment, then `<root>/.env.local`, then
/// `<root>/.env` (the first value of a key wins, as dotenv loading never
/// overrides), where root is the project root or the working directory;
/// a key of [`PROJECTS_KEYS`] still unset falls back to its
/// `BASE44_PROJECTS_` copy. The process environment is never modified.
#[derive(Debug, Clone)]
pub struct Config {
    /// `BASE44_API_URL`, or [`DEFAULT_API_URL`] when unset or empty.
    pub api_url: String,
    /// `BASE44_APP_ID` whenever defined, even empty (commander reads it so).
    pub app_id: Option<String>,
    /// `BASE44_API_KEY`, trimmed, when it is a workspace key (`b44k_`); any
    /// other value is ignored entirely.
    pub api_key: Option<SecretString>,
    /// `BASE44_ACCESS_TOKEN`, to seed auth.json.
    pub seed_access_token: Option<SecretString>,
    /// `BASE44_REFRESH_TOKEN`, to seed auth.json.
    pub seed_refresh_token: Option<SecretString>,
    /// `$HOME` (`os.homedir()` reads it on Unix), `.` when unset.
    pub home: PathBuf,
    /// `CI` is `true` or `1` (any case).
    pub ci: bool,
    /// `NO_COLOR` is set and not empty.
    pub no_color: bool,
    /// `BROWSER`: the command that opens consent links.
    pub browser: Option<String>,
    /// `BASE44_CLI_TEST_OVERRIDES.appConfig` (app id, project root),
    /// honoured like the npm CLI does.
    pub test_app: Option<(String, PathBuf)>,
}

impl Config {
    /// Reads the environment and the env files of the project around `cwd`.
    pub fn load(cwd: &Path) -> Self {
        let root = connectors_project::find_project_root(cwd)
            .map(|p| p.root)
            .unwrap_or_else(|| cwd.to_path_buf());
        let files = env_files(&root);
        Self::from_lookup(|key| match std::env::var(key) {
            Ok(v) => Some(v.into()),
            // dotenv sets a key whose value is not Unicode.
            Err(VarError::NotUnicode(raw)) => files.get(key).map(Into::into).or(Some(raw)),
            Err(VarError::NotPresent) => files.get(key).map(Into::into),
        })
    }

    /// Resolves every setting from `var`, the environment as seen after the
    /// env files (before the `BASE44_PROJECTS_` copies).
    pub fn from_lookup(var: impl Fn(&str) -> Option<OsString>) -> Self {
        let os = |key: &str| {
            var(key).or_else(|| {
                PROJECTS_KEYS
                    .contains(&key)
                    .then(|| var(&format!("BASE44_PROJECTS_{key}")))
                    .flatten()
            })
        };
        // Unicode only, as `std::env::var` reads.
        let text = |key: &str| os(key).and_then(|v| v.into_string().ok());
        let secret = |key: &str| text(key).map(SecretString::from);
        Self {
            api_url: text("BASE44_API_URL")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| DEFAULT_API_URL.to_string()),
            app_id: text("BASE44_APP_ID"),
            api_key: text("BASE44_API_KEY").and_then(|key| {
                let key = key.trim();
                key.starts_with("b44k_").then(|| SecretString::from(key))
            }),
            seed_access_token: secret("BASE44_ACCESS_TOKEN"),
            seed_refresh_token: secret("BASE44_REFRESH_TOKEN"),
            home: os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".")),
            ci: text("CI").is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1")),
            no_color: os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            browser: text("BROWSER"),
            test_app: text("BASE44_CLI_TEST_OVERRIDES").and_then(|raw| test_app(&raw)),
        }
    }
}

/// The keys of `<root>/.env.local` then `<root>/.env`, the first value of a
/// key winning.
fn env_files(root: &Path) -> HashMap<String, String> {
    let mut files = HashMap::new();
    for name in [".env.local", ".env"] {
        // A missing or unreadable file is not an error, as with dotenv;
        // a bad line ends the file, keeping the lines before it.
        let Ok(lines) = dotenvy::from_path_iter(root.join(name)) else {
            continue;
        };
        for line in lines {
            let Ok((key, value)) = line else { break };
            files.entry(key).or_insert(value);
        }
    }
    files
}

/// `appConfig` of `BASE44_CLI_TEST_OVERRIDES`.
fn test_app(raw: &str) -> Option<(String, PathBuf)> {
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    let app = value.get("appConfig")?;
    let id = app.get("id")?.as_str()?;
    let root = app.get("projectRoot")?.as_str()?;
    (!id.is_empty() && !root.is_empty()).then(|| (id.to_string(), PathBuf::from(root)))
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
pub fn modes(json: bool, config: &Config) -> Modes {
    let ttys = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    Modes {
        interactive: ttys && !config.ci && !json,
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

/// `initAppContext` (protocol.md §3.2).
pub fn app_context(
    flag: Option<&str>,
    config: &Config,
    cwd: &Path,
) -> Result<AppContext, CliError> {
    if let Some((id, root)) = &config.test_app {
        let project = connectors_project::find_project_root(root);
        return Ok(AppContext {
            id: id.clone(),
            project,
        });
    }
    // Commander reads BASE44_APP_ID whenever it is defined, even empty.
    let given = flag.map(str::to_string).or_else(|| config.app_id.clone());
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

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_lookup(|key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn config_defaults_and_filters() {
        use secrecy::ExposeSecret;
        let c = config(&[]);
        assert_eq!(c.api_url, DEFAULT_API_URL);
        assert!(c.app_id.is_none() && c.api_key.is_none() && !c.ci && !c.no_color);
        assert_eq!(c.home, PathBuf::from("."));

        let c = config(&[
            ("BASE44_API_URL", ""),
            ("BASE44_APP_ID", ""),
            ("BASE44_API_KEY", "  b44k_abc \n"),
            ("CI", "TRUE"),
            ("NO_COLOR", ""),
            ("HOME", "/home/dev"),
        ]);
        assert_eq!(c.api_url, DEFAULT_API_URL);
        assert_eq!(c.app_id.as_deref(), Some(""));
        assert!(!format!("{c:?}").contains("b44k_abc"));
        assert_eq!(c.api_key.unwrap().expose_secret(), "b44k_abc");
        assert!(c.ci && !c.no_color);
        assert_eq!(c.home, PathBuf::from("/home/dev"));

        assert!(config(&[("BASE44_API_KEY", "sk_other")]).api_key.is_none());
        assert!(!config(&[("CI", "yes")]).ci);
        assert!(config(&[("NO_COLOR", "1")]).no_color);
    }

    #[test]
    fn projects_copies_fill_only_unset_keys() {
        let c = config(&[
            ("BASE44_PROJECTS_BASE44_APP_ID", "from-projects"),
            ("BASE44_PROJECTS_BASE44_API_URL", "http://projects"),
            ("BASE44_API_URL", "http://direct"),
            ("BASE44_PROJECTS_BROWSER", "not-a-projects-key"),
        ]);
        assert_eq!(c.app_id.as_deref(), Some("from-projects"));
        assert_eq!(c.api_url, "http://direct");
        assert!(c.browser.is_none());
    }

    #[test]
    fn test_overrides_app_config() {
        let c = config(&[(
            "BASE44_CLI_TEST_OVERRIDES",
            r#"{"appConfig":{"id":"a1","projectRoot":"/p"},"latestVersion":null}"#,
        )]);
        assert_eq!(c.test_app, Some(("a1".into(), PathBuf::from("/p"))));
        let c = config(&[("BASE44_CLI_TEST_OVERRIDES", r#"{"latestVersion":null}"#)]);
        assert!(c.test_app.is_none());
    }

    #[test]
    fn env_local_wins_over_env_and_a_bad_line_ends_a_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env.local"), "A=local\nB=local\n").unwrap();
        std::fs::write(dir.path().join(".env"), "A=env\nC=env\nnot a line\nD=env\n").unwrap();
        let files = env_files(dir.path());
        assert_eq!(files.get("A").map(String::as_str), Some("local"));
        assert_eq!(files.get("B").map(String::as_str), Some("local"));
        assert_eq!(files.get("C").map(String::as_str), Some("env"));
        assert_eq!(files.get("D"), None);
        assert!(env_files(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn normalizes_like_path_resolve() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./connectors")),
            PathBuf::from("/a/c/connectors")
        );
        assert_eq!(normalize(Path::new("/a/b/")), PathBuf::from("/a/b"));
    }
}
