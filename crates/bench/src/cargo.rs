//! Release builds of the workspace's binaries the benchmarks run as
//! separate processes (our CLI, our server).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{ensure, Context};
use serde_json::Value;

/// The repository root (this crate is `crates/bench`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds `bin` of `package` in release mode with the cargo that runs us
/// (`cargo run` sets `$CARGO`) and returns the binary's path as cargo
/// reports it.
pub fn release_binary(package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building: cargo build --release -p {package} --bin {bin}");
    let mut command = Command::new(&cargo);
    // Not the variables `cargo run` set for us (CARGO_MANIFEST_DIR, ...):
    // build scripts track some of them, and seeing ours would make every
    // run rebuild part of the dependency tree.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*key,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
            )
        {
            command.env_remove(&*key);
        }
    }
    let out = command
        .args(["build", "--release", "-p", package, "--bin", bin])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", Path::new(&cargo).display()))?;
    ensure!(out.status.success(), "cargo build of {package} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == bin)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo did not report the {bin} executable"))
}
