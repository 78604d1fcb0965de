//! `base44 connectors status [--dir <path>]` (new): each connector, local
//! file beside remote status. Read-only: `GET external-auth/list` and
//! `GET payments/stripe/status`, concurrently.

use connectors_project::ConnectorFile;
use connectors_wire::{ConnectorList, STRIPE};
use serde::Serialize;

use super::{fetch_remote, local_connectors, App, Env, Outcome};
use crate::args::DirArgs;
use crate::error::CliError;
use crate::json;
use crate::output::print_stdout;

/// One row: the `--json` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    #[serde(rename = "type")]
    integration_type: String,
    /// A local file declares it.
    local: bool,
    /// `active` / `disconnected` / `expired` on Base44, `null` when absent.
    remote: Option<String>,
    /// The local file's scopes (`null` without a file).
    scopes: Option<Vec<String>>,
    /// The scopes on Base44 (`null` when not there).
    remote_scopes: Option<Vec<String>>,
    /// The file, when there is one.
    file: Option<String>,
}

impl Row {
    /// The status column: the remote status, `not pushed` or `remote only`.
    fn status(&self) -> String {
        match (&self.remote, self.local) {
            (Some(s), true) => s.clone(),
            (None, true) => "not pushed".into(),
            (Some(s), false) => format!("remote only ({s})"),
            (None, false) => "-".into(),
        }
    }

    fn scopes_differ(&self) -> bool {
        let sorted = |v: &Option<Vec<String>>| {
            v.as_ref().map(|v| {
                let mut v = v.clone();
                v.sort();
                v.dedup();
                v
            })
        };
        self.local && self.remote.is_some() && sorted(&self.scopes) != sorted(&self.remote_scopes)
    }
}

/// Local files first (file order), then remote-only connectors (remote order).
pub fn rows(local: &[ConnectorFile], remote: &ConnectorList, stripe_installed: bool) -> Vec<Row> {
    let mut out: Vec<Row> = local
        .iter()
        .map(|c| {
            let r = remote
                .integrations
                .iter()
                .find(|r| r.integration_type == c.integration_type);
            let (remote_status, remote_scopes) = if c.integration_type == STRIPE {
                (
                    stripe_installed.then(|| "active".to_string()),
                    stripe_installed.then(Vec::new),
                )
            } else {
                (
                    r.map(|r| r.status.as_str().to_string()),
                    r.map(|r| r.scopes.clone()),
                )
            };
            Row {
                integration_type: c.integration_type.clone(),
                local: true,
                remote: remote_status,
                scopes: Some(c.scopes.clone()),
                remote_scopes,
                file: Some(c.path.display().to_string()),
            }
        })
        .collect();
    for r in &remote.integrations {
        if !local
            .iter()
            .any(|c| c.integration_type == r.integration_type)
        {
            out.push(Row {
                integration_type: r.integration_type.clone(),
                local: false,
                remote: Some(r.status.as_str().to_string()),
                scopes: None,
                remote_scopes: Some(r.scopes.clone()),
                file: None,
            });
        }
    }
    if stripe_installed && !local.iter().any(|c| c.integration_type == STRIPE) {
        out.push(Row {
            integration_type: STRIPE.into(),
            local: false,
            remote: Some("active".into()),
            scopes: None,
            remote_scopes: Some(vec![]),
            file: None,
        });
    }
    out
}

/// The human table.
pub fn table(rows: &[Row]) -> String {
    let header = ["TYPE", "STATUS", "SCOPES"];
    let cells: Vec<[String; 3]> = rows
        .iter()
        .map(|r| {
            let scopes = r
                .scopes
                .as_ref()
                .or(r.remote_scopes.as_ref())
                .map(|s| s.join(", "))
                .unwrap_or_default();
            let scopes = if r.scopes_differ() {
                format!(
                    "{scopes} (on Base44: {}; run push to update)",
                    r.remote_scopes.as_deref().unwrap_or_default().join(", ")
                )
            } else {
                scopes
            };
            [r.integration_type.clone(), r.status(), scopes]
        })
        .collect();
    let w0 = cells
        .iter()
        .map(|c| c[0].len())
        .chain([header[0].len()])
        .max()
        .unwrap_or(0);
    let w1 = cells
        .iter()
        .map(|c| c[1].len())
        .chain([header[1].len()])
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for row in std::iter::once(header.map(String::from)).chain(cells) {
        let line = format!("{:<w0$}  {:<w1$}  {}", row[0], row[1], row[2]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct Output<'a> {
    connectors: &'a [Row],
}

/// Runs the command.
pub async fn run(env: &Env, app: &App, args: DirArgs) -> Result<Outcome, CliError> {
    let ui = &env.ui;
    let (dir, local) = local_connectors(env, app, args.dir.as_deref())?;
    let (remote, stripe_installed) = fetch_remote(env, app, &local).await?;
    let rows = rows(&local, &remote, stripe_installed);
    let outro = format!(
        "{} connector(s): {} local in {}, {} on Base44",
        rows.len(),
        local.len(),
        dir.display(),
        rows.iter().filter(|r| r.remote.is_some()).count()
    );
    if ui.json {
        return Ok(Outcome::with_stdout(
            outro,
            json::to_stdout(&Output { connectors: &rows }),
        ));
    }
    if rows.is_empty() {
        return Ok(Outcome::outro(format!(
            "No connectors in {} or on Base44.",
            dir.display()
        )));
    }
    print_stdout(&table(&rows));
    Ok(Outcome::outro(outro))
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors_wire::{ConnectorListItem, ConnectorStatus};

    #[test]
    fn rows_and_table() {
        let local = vec![
            ConnectorFile {
                path: "/c/acme.jsonc".into(),
                integration_type: "acme".into(),
                scopes: vec!["a".into()],
            },
            ConnectorFile {
                path: "/c/slack.jsonc".into(),
                integration_type: "slack".into(),
                scopes: vec!["x".into(), "y".into()],
            },
        ];
        let remote = ConnectorList {
            integrations: vec![
                ConnectorListItem {
                    integration_type: "slack".into(),
                    status: ConnectorStatus::Active,
                    scopes: vec!["x".into()],
                    user_email: None,
                },
                ConnectorListItem {
                    integration_type: "github".into(),
                    status: ConnectorStatus::Expired,
                    scopes: vec![],
                    user_email: None,
                },
            ],
        };
        let rows = rows(&local, &remote, false);
        assert_eq!(
            table(&rows),
            "TYPE    STATUS                 SCOPES\n\
             acme    not pushed             a\n\
             slack   active                 x, y (on Base44: x; run push to update)\n\
             github  remote only (expired)\n"
        );
        assert_eq!(
            serde_json::to_string(&rows[0]).unwrap(),
            r#"{"type":"acme","local":true,"remote":null,"scopes":["a"],"remoteScopes":null,"file":"/c/acme.jsonc"}"#
        );
    }
}
