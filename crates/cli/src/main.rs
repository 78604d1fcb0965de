//! `base44`: the native CLI for Base44 connectors. Everything but argv and
//! the exit code lives in the `base44_cli` library.

fn main() -> std::process::ExitCode {
    let parsed = base44_cli::args::parse(std::env::args_os());
    std::process::ExitCode::from(base44_cli::run::run(parsed))
}
