//! The dashboard's audit trail (#15.5): an app's page (a tab of its
//! dashboard) and the workspace's (linked from the signed-in home), newest
//! first, one table each, paged back by cursor ("Older entries"). The
//! same entries as `GET …/audit`, never a secret.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use connectors_engine::{AuditHistory, AuditOf};
use connectors_wire::AuditEntry;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::{authorize, dashboard_page, encode, engine_failure, AppSegment, Tab};
use crate::extract::{PagePath, PageQuery};
use crate::routes::signin::{head, internal_failure, respond, signout_form};
use crate::session::SignedIn;
use crate::state::AppState;

/// Entries per page.
const PAGE: u32 = 50;

/// Where the workspace's trail is.
pub const WORKSPACE_AUDIT_PATH: &str = "/workspace/audit";

/// Where an app's trail is.
pub(crate) fn app_audit_url(app_id: &str) -> String {
    format!("/apps/{}/editor/workspace/audit", encode(app_id))
}

/// `?before=`: the oldest entry shown so far.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    before: Option<i64>,
}

/// `GET /apps/{app_id}/editor/workspace/audit`.
pub async fn app_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(AppSegment { app_id }): PagePath<AppSegment>,
    PageQuery(history): PageQuery<History>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let page = match state
        .engine
        .audit_history(AuditOf::App(&app), history.before, PAGE)
        .await
    {
        Ok(page) => page,
        Err(e) => return engine_failure(e, &app_id),
    };
    let content = html! {
        p.help { "Who changed this app's connectors, service tokens and app-user settings, and when. Newest first; all times UTC." }
        (trail(&page, &format!("Changes to {}", app.app().name), None, &app_audit_url(&app_id), history.before.is_some()))
    };
    respond(
        StatusCode::OK,
        dashboard_page(
            &signed_in,
            app.app(),
            Some(Tab::Audit),
            "Audit trail",
            content,
        ),
    )
}

/// `GET /workspace/audit`: the signed-in builder's workspace's trail.
pub async fn workspace_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PageQuery(history): PageQuery<History>,
) -> Response {
    let builder = signed_in.builder.builder();
    let home = match state.engine.home(&signed_in.builder).await {
        Ok(home) => home,
        Err(e) => return internal_failure(&e),
    };
    let page = match state
        .engine
        .builder_workspace(signed_in.builder.principal(), &builder.workspace_id)
    {
        Ok(workspace) => {
            state
                .engine
                .audit_history(AuditOf::Workspace(&workspace), history.before, PAGE)
                .await
        }
        Err(e) => Err(e),
    };
    let page = match page {
        Ok(page) => page,
        Err(e) => return internal_failure(&e),
    };
    let apps: HashMap<&str, &str> = home
        .apps
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let title = "Audit trail";
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} · {}", home.workspace.name)))
            body.wide {
                header {
                    nav aria-label="Breadcrumb" {
                        a href="/" { "Apps" } " / " b { (title) }
                    }
                    div.actions {
                        span { "Signed in as " b { (builder.email) } }
                        (signout_form(&signed_in))
                    }
                }
                main {
                    h1 { (title) }
                    p.help { "Who signed in, and who changed keys, connectors and settings anywhere in " (home.workspace.name) ", and when. Newest first; all times UTC." }
                    (trail(&page, &format!("Changes in {}", home.workspace.name), Some(&apps), WORKSPACE_AUDIT_PATH, history.before.is_some()))
                }
            }
        }
    };
    respond(StatusCode::OK, markup)
}

/// The table of a page of entries, with its caption and the links to
/// other pages. `apps` (the workspace's page) adds a column naming each
/// entry's app.
fn trail(
    page: &AuditHistory,
    caption: &str,
    apps: Option<&HashMap<&str, &str>>,
    base: &str,
    paged: bool,
) -> Markup {
    html! {
        @if page.entries.is_empty() {
            p { @if paged { "No older entries." } @else { "Nothing recorded yet." } }
        } @else {
            div.scroll {
                // One card per entry on a phone (`table.stack`), each
                // value labelled by its column.
                table.stack {
                    caption { (caption) @if paged { " (older entries)" } }
                    thead {
                        tr {
                            th scope="col" { "When" }
                            th scope="col" { "Who" }
                            th scope="col" { "What" }
                            @if apps.is_some() { th scope="col" { "App" } }
                            th scope="col" { "From" }
                        }
                    }
                    tbody {
                        @for entry in &page.entries {
                            tr {
                                td data-label="When" { (when(&entry.at)) }
                                td data-label="Who" { (who(entry)) }
                                td data-label="What" { (what(entry)) }
                                @if let Some(apps) = apps {
                                    td data-label="App" {
                                        @match entry.app_id.as_deref() {
                                            None => { "Workspace" }
                                            Some(id) => {
                                                @match apps.get(id) {
                                                    Some(name) => a href=(app_audit_url(id)) { (name) },
                                                    None => code { (id) },
                                                }
                                            }
                                        }
                                    }
                                }
                                td data-label="From" {
                                    (entry.client_address.as_deref().unwrap_or("unknown"))
                                    @if let Some(id) = &entry.request_id {
                                        br;
                                        span.help { "request " code { (id) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        nav.actions aria-label="Audit trail pages" {
            @if paged { a href=(base) { "Newest entries" } }
            @if let Some(older) = page.older {
                a href={ (base) "?before=" (older) } { "Older entries" }
            }
        }
    }
}

/// `2026-01-01 12:00:03`, in a `time` element holding the exact instant.
pub(super) fn when(at: &str) -> Markup {
    let shown = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_else(|| at.to_string());
    html! { time datetime=(at) { (shown) } }
}

fn who(entry: &AuditEntry) -> Markup {
    let actor = &entry.actor;
    html! {
        @match actor.kind.as_str() {
            "builder" => { (actor.label.as_deref().or(actor.id.as_deref()).unwrap_or("a builder")) }
            "operator" => { "The operator" br; span.help { "a server command" } }
            "anonymous" => {
                "Someone not signed in"
                @if let Some(tried) = &actor.label { br; span.help { "as " (tried) } }
            }
            "app" => { "The app's service token" }
            "app_user" => { "An app user" @if let Some(id) = &actor.id { br; span.help { code { (id) } } } }
            other => { (other) }
        }
    }
}

/// A sentence for each action this server records (the dotted name for
/// any other).
fn action_text(action: &str) -> &str {
    match action {
        "connector.set" => "Set a connector",
        "connector.removed" => "Removed a connector",
        "workspace_connector.created" => "Created a workspace connector",
        "workspace_connector.updated" => "Changed a workspace connector",
        "workspace_connector.deleted" => "Deleted a workspace connector",
        "api_key.created" => "Created an API key",
        "api_key.revoked" => "Revoked an API key",
        "service_token.created" => "Created a service token",
        "service_token.revoked" => "Revoked a service token",
        "login.revoked" => "Revoked a builder's logins",
        "signin.succeeded" => "Signed in",
        "signin.failed" => "Failed to sign in",
        "device_login.approved" => "Approved a CLI login",
        "device_login.denied" => "Denied a CLI login",
        "app_user_settings.updated" => "Changed the app-user settings",
        "app_user_connection.disconnected" => "Disconnected an app user's connection",
        other => other,
    }
}

fn what(entry: &AuditEntry) -> Markup {
    html! {
        (action_text(&entry.action))
        @if let Some(target) = &entry.target { ": " code { (target) } }
        @if let Some(detail) = &entry.detail { br; span.help { (detail) } }
    }
}
