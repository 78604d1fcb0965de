//! From parsed arguments to an exit code: resolve the environment, pick the
//! mode, run the command on a tokio runtime, render any error once.

use crate::api::client::Http;
use crate::args::Parsed;
use crate::commands::{self, Env};
use crate::context::{self, Config};
use crate::error::CliError;
use crate::output::{print_stderr, print_stdout, Ui};

/// Runs what argv asked for; returns the process exit code (0 or 1).
pub fn run(parsed: Parsed) -> u8 {
    let cli = match parsed {
        Parsed::Run(cli) => cli,
        Parsed::Print(text) => {
            print_stdout(&text);
            return 0;
        }
        Parsed::Help(text) => {
            print_stderr(&text);
            return 1;
        }
        Parsed::Usage(text) => {
            print_stderr(&format!("{text}\n"));
            return 1;
        }
    };

    let cwd = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
    let config = Config::load(&cwd);
    let modes = context::modes(cli.global.json, &config);
    let ui = Ui::new(
        modes.interactive,
        modes.json,
        modes.stderr_tty,
        config.no_color,
    );

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ui.render_error(&CliError::internal(format!(
                "cannot start the runtime: {e}"
            )));
            return 1;
        }
    };
    let env = Env {
        ui: ui.clone(),
        global: cli.global.clone(),
        cwd,
        http: Http::new(config.api_url.clone()),
        config,
    };
    let result = runtime.block_on(commands::run(cli, &env));
    // Do not wait for stray blocking tasks (a browser launcher, a key reader).
    runtime.shutdown_background();
    match result {
        Ok(()) => 0,
        Err(err) => {
            ui.render_error(&err);
            1
        }
    }
}
