//! `base44 connectors pull [--dir <path>]` (protocol.md §3.6).
//!
//! Unlike the npm CLI, the local files are read and validated before any
//! request, so a bad file costs no round trip; the writes follow the npm
//! CLI's rules (in `connectors_project::write_connectors`).

use serde::Serialize;

use super::{local_connectors, App, Env, Outcome};
use crate::args::DirArgs;
use crate::error::CliError;
use crate::json;

/// The `--json` document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Output<'a> {
    connectors_dir: String,
    pulled: usize,
    written: &'a [String],
    deleted: &'a [String],
}

/// Runs the command.
pub async fn run(env: &Env, app: &App, args: DirArgs) -> Result<Outcome, CliError> {
    let ui = &env.ui;
    let (dir, local) = local_connectors(env, app, args.dir.as_deref())?;

    let remote: Vec<(String, Vec<String>)> = ui
        .task(
            "Fetching connectors from Base44",
            Some("Connectors fetched successfully"),
            Some("Failed to fetch connectors"),
            async {
                // Concurrent, failing on the first error, as Promise.all.
                let (list, stripe) =
                    tokio::try_join!(app.client.list_connectors(), app.client.stripe_status())?;
                let mut remote: Vec<(String, Vec<String>)> = list
                    .integrations
                    .into_iter()
                    .map(|i| (i.integration_type, i.scopes))
                    .collect();
                if stripe.stripe_mode.is_some() {
                    remote.push((connectors_wire::STRIPE.to_string(), vec![]));
                }
                Ok(remote)
            },
        )
        .await?;

    let outcome = ui
        .task(
            "Syncing connector files",
            Some("Connector files synced successfully"),
            Some("Failed to sync connector files"),
            async { Ok(connectors_project::write_connectors(&dir, &local, &remote)?) },
        )
        .await?;

    let outro = format!("Pulled {} connectors to {}", remote.len(), dir.display());
    if ui.json {
        return Ok(Outcome::with_stdout(
            outro,
            json::to_stdout(&Output {
                connectors_dir: dir.display().to_string(),
                pulled: remote.len(),
                written: &outcome.written,
                deleted: &outcome.deleted,
            }),
        ));
    }
    if !outcome.written.is_empty() {
        ui.success(&format!("Written: {}", outcome.written.join(", ")));
    }
    if !outcome.deleted.is_empty() {
        ui.warn(&format!("Deleted: {}", outcome.deleted.join(", ")));
    }
    if outcome.written.is_empty() && outcome.deleted.is_empty() {
        ui.info("All connectors are already up to date");
    }
    Ok(Outcome::outro(outro))
}
