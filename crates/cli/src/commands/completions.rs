//! `base44 completions <shell>`: the completion script, from the same clap
//! definitions that parse the command line, so it cannot go stale.

use clap::CommandFactory;
use clap_complete::Shell as Target;

use crate::args::{Cli, Shell};

/// Writes the script for `shell` to stdout.
pub fn run(shell: Shell) {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
        Shell::Powershell => Target::PowerShell,
        Shell::Elvish => Target::Elvish,
    };
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(target, &mut command, "base44", &mut out);
    crate::output::print_stdout(&String::from_utf8_lossy(&out));
}
