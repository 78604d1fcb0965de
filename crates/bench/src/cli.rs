//! The CLI benchmark: wall time of `base44 connectors pull` and
//! `base44 connectors push -y` with our CLI (release build) and with the npm
//! CLI 0.1.18, against the same `connectors-server` over a temp SQLite
//! database, in one linked project with N connectors that are already
//! authorized (so push does its whole sequence of requests and never needs a
//! browser). Prints each command's median per CLI and the ratio.
//!
//! Both CLIs do the same work: the same project files, the same requests
//! (checked once with `--json` before timing: push syncs every connector,
//! pull finds every file up to date), non-interactive, telemetry and the
//! npm CLI's upgrade check off. Runs alternate between the CLIs, so a
//! change of machine load affects both alike.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use serde_json::Value;

/// Options of `connectors-bench cli`.
#[derive(clap::Args)]
pub struct CliArgs {
    /// Timed runs of each command with each CLI (after one checked run).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Connectors in the project (all already authorized).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=200))]
    connectors: u32,
    /// Our `base44` binary; default: built now with `cargo build --release -p base44-cli`.
    #[arg(long)]
    ours: Option<PathBuf>,
    /// The npm CLI; default: `tests/js/node_modules/.bin/base44` (scripts/install-test-deps).
    #[arg(long)]
    npm: Option<PathBuf>,
}

/// An absolute path (the CLIs run in the project directory).
fn absolute(path: &Path, what: &str) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("{what} {}", path.display()))
}

fn npm_cli(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(p) => absolute(&p, "--npm"),
        None => absolute(
            &crate::cargo::repo_root().join("tests/js/node_modules/.bin/base44"),
            "the npm base44 CLI is missing (run scripts/install-test-deps, or pass --npm PATH):",
        ),
    }
}

/// One CLI under test and the environment it runs in.
struct Side {
    name: &'static str,
    program: PathBuf,
    home: PathBuf,
}

/// Everything both CLIs share.
struct Bench {
    project: PathBuf,
    api_url: String,
    api_key: String,
}

impl Bench {
    fn command(&self, side: &Side, args: &[&str]) -> Command {
        let mut c = Command::new(&side.program);
        c.args(args)
            .current_dir(&self.project)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &side.home)
            .env("CI", "true")
            .env("BASE44_API_URL", &self.api_url)
            .env("BASE44_API_KEY", &self.api_key)
            .env("BASE44_DISABLE_TELEMETRY", "1")
            .env("BASE44_CLI_TEST_OVERRIDES", r#"{"latestVersion":null}"#)
            .stdin(Stdio::null());
        c
    }

    /// One run with `--json`: checks the exit code and returns stdout parsed.
    fn checked(&self, side: &Side, args: &[&str]) -> anyhow::Result<Value> {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self
            .command(side, &all)
            .output()
            .with_context(|| format!("running {}", side.program.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        ensure!(
            out.status.success(),
            "{} base44 {}: {}\n{stdout}\n{}",
            side.name,
            all.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).with_context(|| {
            format!(
                "{} base44 {}: stdout is not JSON: {stdout}",
                side.name,
                all.join(" ")
            )
        })
    }

    /// One timed run, output discarded: wall time from spawn to exit.
    fn timed(&self, side: &Side, args: &[&str]) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let status = self
            .command(side, args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running {}", side.program.display()))?;
        let elapsed = start.elapsed();
        ensure!(
            status.success(),
            "{} base44 {} failed: {status}",
            side.name,
            args.join(" ")
        );
        Ok(elapsed)
    }
}

/// Checks that a run did the intended work, so that both CLIs are compared
/// on the same thing.
fn check_push(side: &str, out: &Value, types: &[String]) -> anyhow::Result<()> {
    let results = out["results"].as_array().context("push: no results")?;
    let synced: Vec<&str> = results
        .iter()
        .filter(|r| r["action"] == "synced")
        .filter_map(|r| r["type"].as_str())
        .collect();
    if synced.len() != types.len() || results.len() != types.len() {
        bail!(
            "{side} push did not sync exactly the {} connectors: {out}",
            types.len()
        );
    }
    Ok(())
}

fn check_pull(side: &str, out: &Value, n: usize) -> anyhow::Result<()> {
    let unchanged = out["written"].as_array().is_some_and(Vec::is_empty)
        && out["deleted"].as_array().is_some_and(Vec::is_empty);
    if out["pulled"] != n || !unchanged {
        bail!("{side} pull did not find {n} connectors up to date: {out}");
    }
    Ok(())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    let n = samples.len();
    if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs the CLI benchmark and prints its table.
pub fn run(args: CliArgs) -> anyhow::Result<()> {
    let npm = npm_cli(args.npm)?;
    let ours = match args.ours {
        Some(p) => absolute(&p, "--ours")?,
        None => crate::cargo::release_binary("base44-cli", "base44")?,
    };
    let dir = tempfile::tempdir()?;
    let types: Vec<String> = (0..args.connectors).map(|i| format!("bench_{i}")).collect();
    let scopes = vec!["contacts.read".to_string()];

    // The server runs on its own threads while this thread drives the CLIs.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let server = runtime.block_on(crate::server::start(&url, &types, &scopes))?;

    let project = dir.path().join("project");
    let connectors = project.join("base44/connectors");
    std::fs::create_dir_all(&connectors)?;
    std::fs::write(
        project.join("base44/config.jsonc"),
        "{\n  \"name\": \"Bench\"\n}\n",
    )?;
    std::fs::write(
        project.join("base44/.app.jsonc"),
        format!("{{\n  \"id\": \"{}\"\n}}\n", server.boot().app_id),
    )?;
    for t in &types {
        // What pull writes, so that pull finds every file up to date.
        let body = serde_json::json!({ "type": t, "scopes": scopes });
        std::fs::write(
            connectors.join(format!("{t}.jsonc")),
            serde_json::to_string_pretty(&body)?,
        )?;
    }
    let bench = Bench {
        project,
        api_url: format!("http://{}", server.addr),
        api_key: server.boot().api_key.expose().to_string(),
    };
    let sides = [
        Side {
            name: "ours",
            program: ours,
            home: dir.path().join("home-ours"),
        },
        Side {
            name: "npm",
            program: npm,
            home: dir.path().join("home-npm"),
        },
    ];
    for side in &sides {
        std::fs::create_dir_all(&side.home)?;
        eprintln!("{}: {}", side.name, side.program.display());
    }

    const PULL: &[&str] = &["connectors", "pull"];
    const PUSH: &[&str] = &["connectors", "push", "-y"];
    // One checked (and warming) run of each command with each CLI.
    for side in &sides {
        check_push(side.name, &bench.checked(side, PUSH)?, &types)?;
        check_pull(side.name, &bench.checked(side, PULL)?, types.len())?;
    }

    let commands = [("connectors pull", PULL), ("connectors push -y", PUSH)];
    // samples[command][side]
    let mut samples = vec![vec![Vec::new(); sides.len()]; commands.len()];
    for run in 0..args.runs {
        eprint!("\rtimed runs: {}/{}", run + 1, args.runs);
        for (c, (_, argv)) in commands.iter().enumerate() {
            for (s, side) in sides.iter().enumerate() {
                samples[c][s].push(bench.timed(side, argv)?);
            }
        }
    }
    eprintln!();

    println!(
        "{} connectors (already authorized), {} timed runs per command and CLI, median wall time;",
        types.len(),
        args.runs
    );
    println!("connectors-server in process on loopback over SQLite; both CLIs non-interactive");
    println!(
        "{:<22} {:>12} {:>16} {:>16}",
        "command", "ours ms", "npm 0.1.18 ms", "ours faster by"
    );
    for (c, (name, _)) in commands.iter().enumerate() {
        let ours = median(&mut samples[c][0]);
        let npm = median(&mut samples[c][1]);
        println!(
            "{name:<22} {:>12.1} {:>16.1} {:>15.0}x",
            ms(ours),
            ms(npm),
            npm.as_secs_f64() / ours.as_secs_f64()
        );
    }
    drop(runtime);
    Ok(())
}
