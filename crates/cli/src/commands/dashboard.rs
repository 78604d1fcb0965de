//! `base44 dashboard open`: the app's overview page on the server (the URL
//! the npm CLI's links use, wave2.md §4.1). No request and no login: the
//! page asks the browser to sign in.

use super::{Env, Outcome};
use crate::context;
use crate::error::CliError;

/// The overview URL of `app_id` on the server at `api_url`.
pub fn overview_url(api_url: &str, app_id: &str) -> String {
    format!(
        "{}/apps/{app_id}/editor/workspace/overview",
        api_url.trim_end_matches('/')
    )
}

/// Prints the URL and, on a terminal, opens it.
pub fn open(env: &Env) -> Result<Outcome, CliError> {
    let app = context::app_context(env.global.app_id.as_deref(), &env.config, &env.cwd)?;
    let url = overview_url(&env.config.api_url, &app.id);
    if env.ui.interactive {
        // Best effort: the URL is printed either way.
        let _ = crate::terminal::open_browser(env.config.browser.as_deref(), &url);
    }
    Ok(Outcome::outro(format!("Dashboard: {url}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn overview_url_joins_a_bare_or_slashed_origin() {
        for origin in ["http://127.0.0.1:8044", "http://127.0.0.1:8044/"] {
            assert_eq!(
                super::overview_url(origin, "app1"),
                "http://127.0.0.1:8044/apps/app1/editor/workspace/overview"
            );
        }
    }
}
