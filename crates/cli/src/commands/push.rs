//! `base44 connectors push [--dir <path>] [-y] [--dry-run]` (protocol.md §3.5).
//!
//! Order of requests: `GET external-auth/list`, a PUT per local connector,
//! a DELETE per remote-only connector, `GET payments/stripe/status`, then the
//! Stripe install or removal. Our improvement: the PUTs run concurrently
//! (at most [`PUT_CONCURRENCY`] at a time); results are still reported in
//! file order. `--dry-run` stops after the GETs and prints the plan; it is
//! stricter than push: a type or scopes the server would refuse (checked
//! against `list-available` and `connectors_wire::scope`) fail it, where
//! push reports a per-connector error and exits 0 as the npm CLI does.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use connectors_project::ConnectorFile;
use connectors_wire::{
    scope, suggest_type, AvailableIntegrations, ConnectorList, IntegrationType,
    SetConnectorResponse, DIFFERENT_USER, STRIPE,
};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::{fetch_remote, local_connectors, App, Env, Outcome};
use crate::api::AppClient;
use crate::args::PushArgs;
use crate::error::{CliError, Hint};
use crate::json;
use crate::oauth_prompt::{prompt_oauth_flows, FlowStatus, Pending, Target};

/// How many PUTs are in flight at once.
pub const PUT_CONCURRENCY: usize = 4;

/// What happened to one connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Declared and authorized.
    Synced,
    /// Removed from the app.
    Removed,
    /// This connector failed; the push went on.
    Error,
    /// Declared; consent is needed.
    NeedsOauth,
    /// Stripe sandbox created.
    Provisioned,
}

/// One entry of the `results` array, keys in the npm CLI's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncResult {
    #[serde(rename = "type")]
    integration_type: String,
    action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claim_url: Option<String>,
}

impl SyncResult {
    fn new(t: &str, action: Action) -> Self {
        Self {
            integration_type: t.to_string(),
            action,
            error: None,
            redirect_url: None,
            connection_id: None,
            claim_url: None,
        }
    }

    fn error(t: &str, message: impl Into<String>) -> Self {
        Self {
            error: Some(message.into()),
            ..Self::new(t, Action::Error)
        }
    }
}

/// `getConnectorSyncResult`: how push reads a PUT answer.
pub fn sync_result(t: &str, r: &SetConnectorResponse) -> SyncResult {
    if r.error.as_deref() == Some(DIFFERENT_USER) {
        let message = match r.error_message.as_deref() {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => format!(
                "Already connected by {}",
                r.other_user_email.as_deref().unwrap_or("another user")
            ),
        };
        return SyncResult::error(t, message);
    }
    if r.already_authorized {
        return SyncResult::new(t, Action::Synced);
    }
    if let Some(url) = r.redirect_url.as_deref().filter(|u| !u.is_empty()) {
        return SyncResult {
            redirect_url: Some(url.to_string()),
            connection_id: r.connection_id.clone(),
            ..SyncResult::new(t, Action::NeedsOauth)
        };
    }
    SyncResult::new(t, Action::Synced)
}

/// The `oauth` map of the `--json` document, in processing order.
struct OAuthMap<'a>(&'a [(String, FlowStatus)]);

impl Serialize for OAuthMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v.as_str())?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Output<'a> {
    results: &'a [SyncResult],
    oauth: OAuthMap<'a>,
}

/// PUTs every local connector, at most [`PUT_CONCURRENCY`] at a time;
/// results in file order.
async fn put_all(client: &AppClient, connectors: &[&ConnectorFile]) -> Vec<SyncResult> {
    let permits = Arc::new(tokio::sync::Semaphore::new(PUT_CONCURRENCY));
    let handles: Vec<_> = connectors
        .iter()
        .map(|c| {
            let client = client.clone();
            let permits = permits.clone();
            let t = c.integration_type.clone();
            let scopes = c.scopes.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                match client.set_connector(&t, &scopes).await {
                    Ok(r) => sync_result(&t, &r),
                    Err(e) => SyncResult::error(&t, e.message()),
                }
            })
        })
        .collect();
    let mut results = Vec::with_capacity(handles.len());
    for (handle, c) in handles.into_iter().zip(connectors) {
        results.push(handle.await.unwrap_or_else(|e| {
            SyncResult::error(&c.integration_type, format!("internal error: {e}"))
        }));
    }
    results
}

/// `pushConnectors`: everything after the confirmation. Fails only when
/// the list cannot be read; per-connector failures become `error` results.
async fn push_connectors(
    client: &AppClient,
    local: &[ConnectorFile],
) -> Result<Vec<SyncResult>, CliError> {
    let stripe_local = local.iter().any(|c| c.integration_type == STRIPE);
    let oauth_local: Vec<&ConnectorFile> = local
        .iter()
        .filter(|c| c.integration_type != STRIPE)
        .collect();
    let upstream = client.list_connectors().await?;
    let local_types: HashSet<&str> = oauth_local
        .iter()
        .map(|c| c.integration_type.as_str())
        .collect();

    let mut results = put_all(client, &oauth_local).await;
    for remote in &upstream.integrations {
        let t = remote.integration_type.as_str();
        if local_types.contains(t) {
            continue;
        }
        results.push(match client.remove_connector(t).await {
            Ok(_) => SyncResult::new(t, Action::Removed),
            Err(e) => SyncResult::error(t, e.message()),
        });
    }

    let stripe = match client.stripe_status().await {
        Err(_) => stripe_local
            .then(|| SyncResult::error(STRIPE, "Failed to check Stripe integration status")),
        Ok(status) => {
            let installed = status.stripe_mode.is_some();
            if stripe_local && !installed {
                Some(match client.stripe_install().await {
                    Ok(r) => SyncResult {
                        claim_url: r.claim_url,
                        ..SyncResult::new(STRIPE, Action::Provisioned)
                    },
                    Err(e) => SyncResult::error(STRIPE, e.message()),
                })
            } else if stripe_local {
                Some(SyncResult::new(STRIPE, Action::Synced))
            } else if installed {
                Some(match client.stripe_remove().await {
                    Ok(_) => SyncResult::new(STRIPE, Action::Removed),
                    Err(e) => SyncResult::error(STRIPE, e.message()),
                })
            } else {
                None
            }
        }
    };
    results.extend(stripe);
    Ok(results)
}

/// Runs the command.
pub async fn run(env: &Env, app: &App, args: PushArgs) -> Result<Outcome, CliError> {
    let ui = &env.ui;
    let (_, local) = local_connectors(env, app, args.dir.as_deref())?;

    if !ui.json {
        if local.is_empty() {
            ui.info("No local connectors found - checking for remote connectors to remove");
        } else {
            let names: Vec<&str> = local.iter().map(|c| c.integration_type.as_str()).collect();
            ui.info(&format!(
                "Found {} connectors to push: {}",
                local.len(),
                names.join(", ")
            ));
        }
    }

    if args.dry_run {
        return dry_run(env, app, &local).await;
    }

    if !args.yes {
        if !ui.interactive {
            return Err(CliError::invalid_input(
                "--yes is required in non-interactive mode",
            ));
        }
        ui.warn("This will overwrite your app's connectors with your local copy and remove any not present locally.");
        if ui.confirm("Are you sure you want to continue?") != Some(true) {
            return Ok(Outcome::outro("Push cancelled"));
        }
    }

    let results = ui
        .task(
            "Pushing connectors to Base44",
            None,
            None,
            push_connectors(&app.client, &local),
        )
        .await?;

    let pending: Vec<Pending> = results
        .iter()
        .filter(|r| r.action == Action::NeedsOauth)
        .filter_map(|r| {
            let id = r.connection_id.as_ref().filter(|id| !id.is_empty())?;
            Some(Pending {
                target: Target::Integration(r.integration_type.clone()),
                redirect_url: r.redirect_url.clone().unwrap_or_default(),
                connection_id: Some(id.clone()),
            })
        })
        .collect();
    let outcomes = prompt_oauth_flows(
        ui,
        env.config.browser.as_deref(),
        &app.client,
        &pending,
        !ui.interactive,
    )
    .await;

    let all_authorized =
        !outcomes.is_empty() && outcomes.iter().all(|(_, s)| *s == FlowStatus::Active);
    let outro = if !pending.is_empty() && !all_authorized {
        if ui.interactive {
            "Some connectors still require authorization. Run 'base44 connectors push' or open the links above to authorize."
        } else {
            "Skipped OAuth in non-interactive mode. Run 'base44 connectors push' locally or open the links above to authorize."
        }
    } else {
        "Connectors pushed to Base44"
    };

    if ui.json {
        return Ok(Outcome::with_stdout(
            outro,
            json::to_stdout(&Output {
                results: &results,
                oauth: OAuthMap(&outcomes),
            }),
        ));
    }
    print_summary(env, app, &results, &outcomes);
    Ok(Outcome::outro(outro))
}

/// `printSummary`.
fn print_summary(env: &Env, app: &App, results: &[SyncResult], outcomes: &[(String, FlowStatus)]) {
    let ui = &env.ui;
    let mut synced = vec![];
    let mut added = vec![];
    let mut removed = vec![];
    let mut skipped = vec![];
    let mut failed: Vec<(String, String)> = vec![];
    let mut provisioned: Option<&SyncResult> = None;
    for r in results {
        let t = r.integration_type.clone();
        match r.action {
            Action::Provisioned => provisioned = Some(r),
            Action::Synced => synced.push(t),
            Action::Removed => removed.push(t),
            Action::Error => failed.push((t, r.error.clone().unwrap_or_default())),
            Action::NeedsOauth => {
                let status = outcomes.iter().find(|(k, _)| *k == t).map(|(_, s)| *s);
                match status {
                    Some(FlowStatus::Active) => added.push(t),
                    Some(FlowStatus::Skipped) => skipped.push(t),
                    Some(FlowStatus::Pending) => failed.push((t, "authorization timed out".into())),
                    Some(FlowStatus::Failed) => failed.push((t, "authorization failed".into())),
                    None => failed.push((t, "needs authorization".into())),
                }
            }
        }
    }
    ui.bold("Summary:");
    if let Some(p) = provisioned {
        ui.success("Stripe sandbox provisioned");
        if let Some(url) = p.claim_url.as_deref().filter(|u| !u.is_empty()) {
            ui.info(&format!("  Claim your Stripe sandbox: {url}"));
        }
        ui.info(&format!(
            "  Connectors dashboard: {}/apps/{}/editor/workspace/app-connections",
            env.http.api_url, app.context.id
        ));
    }
    if !synced.is_empty() {
        ui.success(&format!("Synced: {}", synced.join(", ")));
    }
    if !added.is_empty() {
        ui.success(&format!("Added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        ui.dim(&format!("Removed: {}", removed.join(", ")));
    }
    if !skipped.is_empty() {
        ui.warn(&format!("Skipped: {}", skipped.join(", ")));
    }
    for (t, e) in failed {
        ui.error(&format!("Failed: {t} - {e}"));
    }
}

/// A plan line shows at most this many characters of its note.
const PLAN_NOTE_CHARS: usize = 100;

/// One step of a `--dry-run` plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    #[serde(rename = "type")]
    integration_type: String,
    action: &'static str,
    #[serde(skip)]
    note: String,
}

fn scope_set(scopes: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = scopes.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A local connector the server would refuse, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The connector file.
    pub file: PathBuf,
    /// Its type.
    pub integration_type: String,
    /// The server's reason, with what to do.
    pub reason: String,
}

/// What the server's PUT would refuse among the local OAuth connectors: a
/// type that is not an [`IntegrationType`] or that `list-available` does not
/// offer (with a "did you mean" from [`suggest_type`]), and scopes that
/// break [`scope::check_all`], the rule the server applies.
pub fn refusals(local: &[ConnectorFile], available: &AvailableIntegrations) -> Vec<Refusal> {
    let known = || {
        available
            .integrations
            .iter()
            .map(|i| i.integration_type.as_str())
    };
    local
        .iter()
        .filter(|c| c.integration_type != STRIPE)
        .filter_map(|c| {
            let t = &c.integration_type;
            let reason = if let Err(e) = IntegrationType::new(t.as_str()) {
                e.to_string()
            } else if !known().any(|k| k == t) {
                let suggestion = suggest_type(t, known())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                format!(
                    "unknown integration type `{t}`{suggestion}: this server does not offer it; run `base44 connectors list-available` to see the types it offers and fix `type` in the file, or ask the operator to add [providers.{t}] to the server config"
                )
            } else if let Err(e) = scope::check_all(&c.scopes) {
                format!("invalid scopes: {e}")
            } else {
                return None;
            };
            Some(Refusal {
                file: c.path.clone(),
                integration_type: t.clone(),
                reason,
            })
        })
        .collect()
}

/// The `--dry-run` failure: every refusal, one `✖ <file>: <reason>` line each.
fn refused_error(refused: &[Refusal]) -> CliError {
    let lines: Vec<String> = refused
        .iter()
        .map(|r| format!("✖ {}: {}", r.file.display(), r.reason))
        .collect();
    CliError::InvalidInput {
        message: format!(
            "Dry run: the server would refuse {} connector(s); nothing was changed:\n{}",
            refused.len(),
            lines.join("\n")
        ),
        hints: vec![Hint::with_command(
            "Fix the files above, then check again",
            "base44 connectors push --dry-run",
        )],
    }
}

/// What push would do, from the remote list and whether Stripe is installed.
pub fn plan(
    local: &[ConnectorFile],
    remote: &ConnectorList,
    stripe_installed: bool,
) -> Vec<PlanItem> {
    let item = |t: &str, action: &'static str, note: String| PlanItem {
        integration_type: t.to_string(),
        action,
        note,
    };
    let list = |s: &[String]| format!("[{}]", s.join(", "));
    let mut out = vec![];
    let mut local_types = HashSet::new();
    let mut stripe_local = false;
    for c in local {
        let t = c.integration_type.as_str();
        if t == STRIPE {
            stripe_local = true;
            continue;
        }
        local_types.insert(t);
        match remote.integrations.iter().find(|r| r.integration_type == t) {
            None => out.push(item(t, "add", list(&c.scopes))),
            Some(r) if scope_set(&r.scopes) != scope_set(&c.scopes) => out.push(item(
                t,
                "re-scope",
                format!("{} → {}", list(&r.scopes), list(&c.scopes)),
            )),
            Some(r) => {
                let status = r.status.as_str();
                let note = if status == "active" {
                    String::new()
                } else {
                    format!("{status}: push asks for authorization again")
                };
                out.push(item(t, "unchanged", note));
            }
        }
    }
    for r in &remote.integrations {
        if !local_types.contains(r.integration_type.as_str()) {
            out.push(item(&r.integration_type, "remove", String::new()));
        }
    }
    match (stripe_local, stripe_installed) {
        (true, false) => out.push(item(STRIPE, "provision", "Stripe sandbox".into())),
        (true, true) => out.push(item(STRIPE, "unchanged", String::new())),
        (false, true) => out.push(item(STRIPE, "remove", String::new())),
        (false, false) => {}
    }
    out
}

/// `--dry-run`: read-only requests, then the plan; an error (exit 1) when
/// the server would refuse a connector.
async fn dry_run(env: &Env, app: &App, local: &[ConnectorFile]) -> Result<Outcome, CliError> {
    let ui = &env.ui;
    let (remote, stripe) = fetch_remote(env, app, local).await?;
    let refused = if local.iter().any(|c| c.integration_type != STRIPE) {
        let (available, _) = ui
            .task(
                "Checking connector types and scopes",
                Some("Connector types and scopes checked"),
                Some("Failed to fetch the available integrations"),
                app.client.available_integrations(),
            )
            .await?;
        refusals(local, &available)
    } else {
        vec![]
    };
    let mut items = plan(local, &remote, stripe);
    for item in &mut items {
        if refused
            .iter()
            .any(|r| r.integration_type == item.integration_type)
        {
            item.action = "refused";
            item.note = "the server would refuse it (see below)".into();
        }
    }
    if ui.json && !refused.is_empty() {
        return Err(refused_error(&refused));
    }
    let changes = items.iter().filter(|i| i.action != "unchanged").count();
    let outro = if changes == 0 {
        "Dry run: nothing to change.".to_string()
    } else {
        format!("Dry run: {changes} change(s) planned, nothing was changed. Run 'base44 connectors push' to apply.")
    };
    if ui.json {
        #[derive(Serialize)]
        struct PlanOut<'a> {
            plan: &'a [PlanItem],
        }
        return Ok(Outcome::with_stdout(
            outro,
            json::to_stdout(&PlanOut { plan: &items }),
        ));
    }
    let width = items
        .iter()
        .map(|i| i.integration_type.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("Plan:\n");
    for i in &items {
        let sign = match i.action {
            "add" | "provision" => "+",
            "remove" => "-",
            "re-scope" => "~",
            "refused" => "!",
            _ => "=",
        };
        // A note lists scopes, which may be long: one terminal line at most.
        let mut note: String = i.note.chars().take(PLAN_NOTE_CHARS).collect();
        if note.len() < i.note.len() {
            note.push('…');
        }
        let line = format!(
            "  {sign} {:<10} {:<width$}  {note}",
            i.action, i.integration_type
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    if items.is_empty() {
        text.push_str("  (no connectors locally or on Base44)\n");
    }
    // The plan is the command's data: stdout, before the status line.
    crate::output::print_stdout(&text);
    if !refused.is_empty() {
        return Err(refused_error(&refused));
    }
    Ok(Outcome::outro(outro))
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors_wire::{ConnectorListItem, ConnectorStatus};

    fn file(t: &str, scopes: &[&str]) -> ConnectorFile {
        ConnectorFile {
            path: format!("/c/{t}.jsonc").into(),
            integration_type: t.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn remote(items: &[(&str, &[&str], ConnectorStatus)]) -> ConnectorList {
        ConnectorList {
            integrations: items
                .iter()
                .map(|(t, s, st)| ConnectorListItem {
                    integration_type: t.to_string(),
                    status: *st,
                    scopes: s.iter().map(|x| x.to_string()).collect(),
                    user_email: None,
                })
                .collect(),
        }
    }

    #[test]
    fn sync_result_follows_the_npm_order() {
        let mut r = SetConnectorResponse {
            error: Some("different_user".into()),
            other_user_email: Some("o@example.com".into()),
            already_authorized: true,
            ..Default::default()
        };
        assert_eq!(
            sync_result("slack", &r).error.as_deref(),
            Some("Already connected by o@example.com")
        );
        r.error_message = Some("Owned by someone else".into());
        assert_eq!(
            sync_result("slack", &r).error.as_deref(),
            Some("Owned by someone else")
        );
        let r = SetConnectorResponse {
            error: Some("other".into()),
            redirect_url: Some("http://x/connect/1".into()),
            connection_id: None,
            ..Default::default()
        };
        let s = sync_result("slack", &r);
        assert_eq!(s.action, Action::NeedsOauth);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"type":"slack","action":"needs_oauth","redirectUrl":"http://x/connect/1"}"#
        );
        let r = SetConnectorResponse::default();
        assert_eq!(sync_result("slack", &r).action, Action::Synced);
    }

    #[test]
    fn json_document_shape() {
        let results = vec![
            SyncResult::error("a", "boom"),
            SyncResult {
                claim_url: None,
                ..SyncResult::new("stripe", Action::Provisioned)
            },
        ];
        let doc = json::to_stdout(&Output {
            results: &results,
            oauth: OAuthMap(&[]),
        });
        assert_eq!(
            doc,
            "{\n  \"results\": [\n    {\n      \"type\": \"a\",\n      \"action\": \"error\",\n      \"error\": \"boom\"\n    },\n    {\n      \"type\": \"stripe\",\n      \"action\": \"provisioned\"\n    }\n  ],\n  \"oauth\": {}\n}\n"
        );
    }

    #[test]
    fn plan_covers_every_action() {
        let local = vec![
            file("acme", &["a"]),
            file("slack", &["x", "y"]),
            file("notion", &[]),
            file("stripe", &[]),
        ];
        let remote = remote(&[
            ("slack", &["x"], ConnectorStatus::Active),
            ("notion", &[], ConnectorStatus::Disconnected),
            ("github", &[], ConnectorStatus::Active),
        ]);
        let items = plan(&local, &remote, false);
        let got: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i.integration_type.as_str(), i.action))
            .collect();
        assert_eq!(
            got,
            vec![
                ("acme", "add"),
                ("slack", "re-scope"),
                ("notion", "unchanged"),
                ("github", "remove"),
                ("stripe", "provision"),
            ]
        );
        assert_eq!(
            serde_json::to_string(&items[0]).unwrap(),
            r#"{"type":"acme","action":"add"}"#
        );
        let none = plan(&[], &remote_empty(), true);
        assert_eq!(none[0].action, "remove");
    }

    #[test]
    fn refusals_follow_list_available_and_the_scope_rule() {
        let available: AvailableIntegrations = serde_json::from_value(serde_json::json!({
            "integrations": [
                {"integration_type": "slack", "display_name": "Slack", "description": "",
                 "connection_config_fields": []},
                {"integration_type": "googlecalendar", "display_name": "Calendar",
                 "description": "", "connection_config_fields": []}
            ]
        }))
        .unwrap();
        let long_type = "a".repeat(101);
        let local = vec![
            file("slak", &[]),
            file("googlecalendar", &["a\u{7f}b"]),
            file("slack", &[&"é".repeat(512)]),
            file("stripe", &[]),
            file(&long_type, &[]),
        ];
        let refused = refusals(&local, &available);
        let got: Vec<(&str, &str)> = refused
            .iter()
            .map(|r| (r.integration_type.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, "slak");
        assert!(got[0]
            .1
            .starts_with("unknown integration type `slak` (did you mean `slack`?)"));
        assert_eq!(
            got[1],
            (
                "googlecalendar",
                format!("invalid scopes: {}", scope::check("a\u{7f}b").unwrap_err()).as_str()
            )
        );
        assert!(
            got[2].1.contains("is not an integration type"),
            "{}",
            got[2].1
        );
        assert_eq!(refused[0].file, PathBuf::from("/c/slak.jsonc"));
    }

    fn remote_empty() -> ConnectorList {
        ConnectorList {
            integrations: vec![],
        }
    }
}
