//! The builders' dashboard (issue #12.3), at the URLs the npm CLI prints:
//! `/apps/{app_id}/editor/workspace/overview` (the app, its service tokens
//! and the builder's API keys) and `…/app-connections` (its connectors,
//! Stripe sandbox and which providers the operator configured), and the
//! audit trail (`dashboard/audit.rs`: `…/audit` of an app, and
//! `/workspace/audit` of the builder's workspace), and an app's webhook
//! endpoints with their delivery logs (`dashboard/webhooks.rs`: `…/webhooks`).
//!
//! Pages read only the session cookie ([`SignedIn`]); each action is a form
//! that passes [`check_form_post`] and then calls the same engine use case
//! as the JSON API. Destructive actions (Remove, Revoke) first show a
//! confirmation page at the same URL (GET), so no script is needed.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use connectors_engine::{
    AppOverview, AuthorizedApp, ConnectorView, EngineError, IntegrationType, IssuedSecret,
    WorkspaceConnectorView,
};
use connectors_wire::{ConnectorStatus, StripeMode};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use crate::error::engine_status;
use crate::extract::{PageForm, PagePath, PageQuery};
use crate::routes::pages;
use crate::routes::signin::{csrf_button, head, internal_failure, respond, signout_form, CsrfForm};
use crate::session::{check_form_post, redirect, SignedIn};
use crate::state::AppState;

mod app_users;
mod audit;
mod webhooks;

pub use audit::WORKSPACE_AUDIT_PATH;

/// The prefix of every dashboard page of an app.
const BASE: &str = "/apps/{app_id}/editor/workspace";

/// The dashboard's routes.
pub fn router() -> Router<AppState> {
    let page = |path: &str| format!("{BASE}{path}");
    Router::new()
        .route(
            &page("/overview"),
            get(overview).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/app-connections"),
            get(connections).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/app-connections/{integration_type}/reconnect"),
            post(reconnect).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/app-connections/{integration_type}/remove"),
            get(remove_confirm)
                .post(remove)
                .fallback(pages::method_not_allowed),
        )
        .route(
            &page("/app-connections/workspace/{connector_id}/connect"),
            post(connect_workspace).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/app-connections/workspace/{connector_id}/disconnect"),
            get(disconnect_workspace_confirm)
                .post(disconnect_workspace)
                .fallback(pages::method_not_allowed),
        )
        .route(
            &page("/app-connections/app-user-settings"),
            get(app_users::settings_page)
                .post(app_users::save_settings)
                .fallback(pages::method_not_allowed),
        )
        .route(
            &page("/app-connections/app-users/{user_id}/{connector_id}/disconnect"),
            get(app_users::disconnect_confirm)
                .post(app_users::disconnect)
                .fallback(pages::method_not_allowed),
        )
        .route(
            &page("/audit"),
            get(audit::app_page).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/webhooks"),
            get(webhooks::list_page)
                .post(webhooks::create)
                .fallback(pages::method_not_allowed),
        )
        .route(
            &page("/webhooks/{endpoint_id}"),
            get(webhooks::log_page).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/webhooks/{endpoint_id}/test"),
            post(webhooks::send_test).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/webhooks/{endpoint_id}/enable"),
            post(webhooks::enable).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/webhooks/{endpoint_id}/disable"),
            post(webhooks::disable).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/webhooks/{endpoint_id}/rotate-secret"),
            get(webhooks::rotate_confirm)
                .post(webhooks::rotate)
                .fallback(pages::method_not_allowed),
        )
        .route(
            &page("/webhooks/{endpoint_id}/delete"),
            get(webhooks::delete_confirm)
                .post(webhooks::delete)
                .fallback(pages::method_not_allowed),
        )
        .route(
            audit::WORKSPACE_AUDIT_PATH,
            get(audit::workspace_page).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/overview/api-keys"),
            post(create_api_key).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/overview/api-keys/{key_id}/revoke"),
            get(revoke_api_key_confirm)
                .post(revoke_api_key)
                .fallback(pages::method_not_allowed),
        )
        .route(
            &page("/overview/service-tokens"),
            post(create_service_token).fallback(pages::method_not_allowed),
        )
        .route(
            &page("/overview/service-tokens/{token_id}/revoke"),
            get(revoke_service_token_confirm)
                .post(revoke_service_token)
                .fallback(pages::method_not_allowed),
        )
}

/// Whether `path` is a dashboard page (its failures are pages, not JSON).
pub fn is_dashboard_path(path: &str) -> bool {
    path.starts_with("/apps/")
}

pub(crate) fn overview_url(app_id: &str) -> String {
    format!("/apps/{}/editor/workspace/overview", encode(app_id))
}

pub(crate) fn connections_url(app_id: &str) -> String {
    format!("/apps/{}/editor/workspace/app-connections", encode(app_id))
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `{app_id}` of a dashboard path.
#[derive(Debug, Deserialize)]
pub struct AppSegment {
    app_id: String,
}

/// `{app_id}` and `{integration_type}` of a connector's path.
#[derive(Debug, Deserialize)]
pub struct ConnectorSegments {
    app_id: String,
    integration_type: String,
}

/// `{app_id}` and `{connector_id}` of a workspace connector's path.
#[derive(Debug, Deserialize)]
pub struct WorkspaceConnectorSegments {
    app_id: String,
    connector_id: String,
}

/// `{app_id}` and `{key_id}` of an API key's path.
#[derive(Debug, Deserialize)]
pub struct KeySegments {
    app_id: String,
    key_id: String,
}

/// `{app_id}` and `{token_id}` of a service token's path.
#[derive(Debug, Deserialize)]
pub struct TokenSegments {
    app_id: String,
    token_id: String,
}

/// What the page after an action says happened.
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    removed: Option<String>,
    disconnected: Option<String>,
    revoked: Option<String>,
    user_disconnected: Option<String>,
    settings: Option<String>,
}

/// Which tab a page is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    Connections,
    Webhooks,
    Audit,
}

/// A dashboard page: the signed-in header, the app's tabs, the title as the
/// one `h1`. Wider than the account pages, and still one column on a phone.
fn dashboard_page(
    signed_in: &SignedIn,
    app: &connectors_engine::App,
    tab: Option<Tab>,
    title: &str,
    content: Markup,
) -> Markup {
    let current = |t: Tab| (tab == Some(t)).then_some("page");
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} · {}", app.name)))
            body.wide {
                header {
                    nav aria-label="Breadcrumb" {
                        a href="/" { "Apps" } " / " b { (app.name) }
                    }
                    div.actions {
                        span { "Signed in as " b { (signed_in.builder.builder().email) } }
                        (signout_form(signed_in))
                    }
                }
                nav.tabs aria-label="App sections" {
                    a href=(overview_url(&app.id)) aria-current=[current(Tab::Overview)] { "Overview" }
                    a href=(connections_url(&app.id)) aria-current=[current(Tab::Connections)] { "Connectors" }
                    a href=(webhooks::webhooks_url(&app.id)) aria-current=[current(Tab::Webhooks)] { "Webhooks" }
                    a href=(audit::app_audit_url(&app.id)) aria-current=[current(Tab::Audit)] { "Audit trail" }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// A failure inside an app's dashboard: what went wrong, and the way back.
fn failure(status: StatusCode, message: &str, app_id: &str) -> Response {
    let back = connections_url(app_id);
    failure_back(status, message, (&back, BACK_TO_CONNECTIONS))
}

const BACK_TO_CONNECTIONS: &str = "Back to the app's connectors";

/// [`failure`] leading back to another page of the app: (URL, link text).
fn failure_back(status: StatusCode, message: &str, back: (&str, &str)) -> Response {
    respond(
        status,
        crate::routes::signin::layout(
            "Connectors",
            html! {
                p.error role="alert" { (message) }
                p {
                    a href=(back.0) { (back.1) }
                    " · "
                    a href="/" { "Your apps" }
                }
            },
        ),
    )
}

fn engine_failure(e: EngineError, app_id: &str) -> Response {
    let back = connections_url(app_id);
    engine_failure_back(e, app_id, (&back, BACK_TO_CONNECTIONS))
}

/// [`engine_failure`] leading back to another page of the app.
fn engine_failure_back(e: EngineError, app_id: &str, back: (&str, &str)) -> Response {
    let status = engine_status(&e);
    if e.is_internal() || status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        return internal_failure(&e);
    }
    let message = match &e {
        EngineError::AppNotFound(_) => format!(
            "There is no app `{app_id}` in your workspace. Pick one of your apps on the home page."
        ),
        _ => e.to_string(),
    };
    failure_back(status, &message, back)
}

/// The app, if the signed-in builder may manage it.
async fn authorize(
    state: &AppState,
    signed_in: &SignedIn,
    app_id: &str,
) -> Result<AuthorizedApp, Response> {
    state
        .engine
        .builder_app(signed_in.builder.principal(), app_id)
        .await
        .map_err(|e| engine_failure(e, app_id))
}

/// The same checks as every form, then the app.
async fn authorize_form(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
    csrf: &str,
    app_id: &str,
) -> Result<AuthorizedApp, Response> {
    check_form_post(headers, &state.engine, Some(&signed_in.builder), csrf)
        .map_err(axum::response::IntoResponse::into_response)?;
    authorize(state, signed_in, app_id).await
}

/// The failure page of a path whose type is not even a valid type name.
fn no_such_type(app_id: &str) -> Response {
    failure(
        StatusCode::NOT_FOUND,
        "There is no connector of that type in this app.",
        app_id,
    )
}

// ---- time ------------------------------------------------------------------

/// `2026-12-03 18:20 UTC`.
fn absolute(secs: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| secs.to_string())
}

/// `in 42 min` / `3 h ago`.
fn relative(now: i64, at: i64) -> String {
    let d = (at - now).abs();
    let amount = match d {
        0..=59 => {
            return if at >= now {
                "now".into()
            } else {
                "just now".into()
            }
        }
        60..=3599 => format!("{} min", d / 60),
        3600..=172_799 => format!("{} h", d / 3600),
        _ => format!("{} days", d / 86_400),
    };
    if at >= now {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

fn when(now: i64, at: i64) -> Markup {
    html! { (relative(now, at)) " " span.help { "(" (absolute(at)) ")" } }
}

// ---- overview --------------------------------------------------------------

/// `GET …/overview`: the app, its service tokens and the builder's API keys.
pub async fn overview(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(AppSegment { app_id }): PagePath<AppSegment>,
    PageQuery(notice): PageQuery<Notice>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let view = match state.engine.app_overview(&app).await {
        Ok(view) => view,
        Err(e) => return engine_failure(e, &app_id),
    };
    let now = state.engine.config().clock.now_secs();
    let count = |s: ConnectorStatus| view.connectors.iter().filter(|c| c.status == s).count();
    let base = overview_url(&app_id);
    let content = html! {
        @if let Some(what) = notice.revoked.as_deref() {
            p.notice role="status" { "Revoked the " (what.replace('-', " ")) ". It is refused from now on." }
        }
        dl.facts {
            dt { "App id" } dd { code { (view.app.id) } }
            dt { "Connectors" } dd {
                a href=(connections_url(&app_id)) {
                    (view.connectors.len()) " in all"
                }
                ": " (count(ConnectorStatus::Active)) " active, "
                (count(ConnectorStatus::Expired)) " expired, "
                (count(ConnectorStatus::Disconnected)) " not connected"
            }
            dt { "Stripe" } dd { (stripe_summary(&view)) }
        }
        section aria-labelledby="service-tokens" {
            h2 id="service-tokens" { "Service tokens" }
            p.help { "The app's backend functions read connector tokens with a service token (" code { "createClient({ serviceToken })" } " of the SDK)." }
            (credential_table(
                now,
                "service token",
                view.service_tokens.iter().map(|t| CredentialRow {
                    id: &t.id,
                    prefix: &t.display_prefix,
                    created_at: t.created_at,
                    last_used_at: t.last_used_at,
                    revoked_at: t.revoked_at,
                }),
                &format!("{base}/service-tokens"),
            ))
            (csrf_button(&signed_in, &format!("{base}/service-tokens"), "Create a service token", None))
        }
        section aria-labelledby="api-keys" {
            h2 id="api-keys" { "Your API keys" }
            p.help { "The CLI and scripts act as you with an API key (" code { "BASE44_API_KEY" } "); " code { "base44 login" } " needs none." }
            (credential_table(
                now,
                "API key",
                view.api_keys.iter().map(|k| CredentialRow {
                    id: &k.id,
                    prefix: &k.display_prefix,
                    created_at: k.created_at,
                    last_used_at: k.last_used_at,
                    revoked_at: k.revoked_at,
                }),
                &format!("{base}/api-keys"),
            ))
            (csrf_button(&signed_in, &format!("{base}/api-keys"), "Create an API key", None))
        }
    };
    respond(
        StatusCode::OK,
        dashboard_page(
            &signed_in,
            &view.app,
            Some(Tab::Overview),
            "Overview",
            content,
        ),
    )
}

fn stripe_summary(view: &AppOverview) -> Markup {
    html! {
        @match &view.stripe {
            Ok(None) => { "No sandbox (add " code { "base44/connectors/stripe.jsonc" } " and push)." }
            Ok(Some(s)) => {
                @match s.mode {
                    StripeMode::Sandbox => { "A sandbox, not claimed yet" }
                    StripeMode::Live => { "Claimed: a live Stripe account" }
                }
                @if let Some(url) = &s.claim_url {
                    ". " a href=(url) rel="noreferrer" { "Claim it in Stripe" }
                }
            }
            Err(reason) => { span.error { "Stripe could not be asked: " (reason) } }
        }
    }
}

/// One API key or service token, as its table shows it.
struct CredentialRow<'a> {
    id: &'a str,
    prefix: &'a str,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// Keys or tokens: prefix, created, last use, status and a Revoke link.
fn credential_table<'a>(
    now: i64,
    noun: &str,
    rows: impl Iterator<Item = CredentialRow<'a>>,
    base: &str,
) -> Markup {
    let rows: Vec<_> = rows.collect();
    html! {
        @if rows.is_empty() {
            p { "No " (noun) "s yet." }
        } @else {
            div.scroll {
                table {
                    thead { tr { th scope="col" { "Starts with" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for row in rows {
                            tr {
                                td { code { (row.prefix) "…" } }
                                td { (when(now, row.created_at)) }
                                td {
                                    // Recorded at most once a minute (`engine::last_use`).
                                    @if let Some(at) = row.last_used_at { (when(now, at)) } @else { "Never" }
                                }
                                td {
                                    @if let Some(at) = row.revoked_at { "Revoked " (when(now, at)) } @else { "Active" }
                                }
                                td {
                                    @if row.revoked_at.is_none() {
                                        a href={ (base) "/" (encode(row.id)) "/revoke" } aria-label={ "Revoke " (noun) " " (row.prefix) } { "Revoke…" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Shows a new secret, once.
fn secret_page(
    signed_in: &SignedIn,
    app: &connectors_engine::App,
    noun: &str,
    use_hint: Markup,
    issued: &IssuedSecret,
) -> Response {
    let content = html! {
        p.notice role="status" { "Copy the " (noun) " now: it is not shown again (the server keeps only its hash)." }
        label for="new-secret" { "New " (noun) }
        input id="new-secret" type="text" readonly value=(issued.secret.expose()) autocomplete="off" spellcheck="false";
        p.help { (use_hint) }
        p { a href=(overview_url(&app.id)) { "Back to the overview" } }
    };
    respond(
        StatusCode::OK,
        dashboard_page(signed_in, app, None, &format!("New {noun}"), content),
    )
}

/// `POST …/overview/api-keys`.
pub async fn create_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(AppSegment { app_id }): PagePath<AppSegment>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state
        .engine
        .create_own_api_key(signed_in.builder.principal())
        .await
    {
        Ok(issued) => secret_page(
            &signed_in,
            app.app(),
            "API key",
            html! { "Use it as " code { "BASE44_API_KEY" } " with the CLI, or in the " code { "api_key" } " header." },
            &issued,
        ),
        Err(e) => engine_failure(e, &app_id),
    }
}

/// `POST …/overview/service-tokens`.
pub async fn create_service_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(AppSegment { app_id }): PagePath<AppSegment>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state.engine.create_app_service_token(&app).await {
        Ok(issued) => secret_page(
            &signed_in,
            app.app(),
            "service token",
            html! { "Give it to the app's backend functions as the SDK's " code { "serviceToken" } "." },
            &issued,
        ),
        Err(e) => engine_failure(e, &app_id),
    }
}

/// The confirmation page of a destructive action.
fn confirm_page(
    signed_in: &SignedIn,
    app: &connectors_engine::App,
    title: &str,
    explanation: Markup,
    action: &str,
    button: &str,
    cancel: &str,
) -> Response {
    let content = html! {
        (explanation)
        div.actions {
            (csrf_button(signed_in, action, button, Some("danger")))
            a.button-link href=(cancel) { "Cancel" }
        }
    };
    respond(
        StatusCode::OK,
        dashboard_page(signed_in, app, None, title, content),
    )
}

/// `GET …/overview/api-keys/{key_id}/revoke`: asks first.
pub async fn revoke_api_key_confirm(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(KeySegments { app_id, key_id }): PagePath<KeySegments>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let keys = match state
        .engine
        .list_api_keys(connectors_engine::ApiKeyScope::Caller(
            signed_in.builder.principal(),
        ))
        .await
    {
        Ok(keys) => keys,
        Err(e) => return engine_failure(e, &app_id),
    };
    let Some(key) = keys.iter().find(|k| k.id == key_id) else {
        return failure(
            StatusCode::NOT_FOUND,
            "You have no API key with this id; it may have been deleted.",
            &app_id,
        );
    };
    confirm_page(
        &signed_in,
        app.app(),
        "Revoke API key",
        html! {
            p { "Revoke the API key starting with " code { (key.display_prefix) "…" } "? Every CLI and script that uses it is refused from then on; this cannot be undone." }
        },
        &format!(
            "{}/api-keys/{}/revoke",
            overview_url(&app_id),
            encode(&key_id)
        ),
        "Revoke API key",
        &overview_url(&app_id),
    )
}

/// `POST …/overview/api-keys/{key_id}/revoke`.
pub async fn revoke_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(KeySegments { app_id, key_id }): PagePath<KeySegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    if let Err(page) = authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        return page;
    }
    match state
        .engine
        .revoke_api_key(
            &key_id,
            connectors_engine::ApiKeyScope::Caller(signed_in.builder.principal()),
        )
        .await
    {
        Ok(_) => redirect(&format!("{}?revoked=API-key", overview_url(&app_id))),
        Err(e) => engine_failure(e, &app_id),
    }
}

/// `GET …/overview/service-tokens/{token_id}/revoke`: asks first.
pub async fn revoke_service_token_confirm(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(TokenSegments { app_id, token_id }): PagePath<TokenSegments>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let tokens = match state
        .engine
        .list_service_tokens(connectors_engine::ServiceTokenScope::App(&app))
        .await
    {
        Ok(tokens) => tokens,
        Err(e) => return engine_failure(e, &app_id),
    };
    let Some(token) = tokens.iter().find(|t| t.id == token_id) else {
        return failure(
            StatusCode::NOT_FOUND,
            "This app has no service token with this id.",
            &app_id,
        );
    };
    confirm_page(
        &signed_in,
        app.app(),
        "Revoke service token",
        html! {
            p { "Revoke the service token starting with " code { (token.display_prefix) "…" } "? The app's functions that use it can no longer read connector tokens; this cannot be undone." }
        },
        &format!(
            "{}/service-tokens/{}/revoke",
            overview_url(&app_id),
            encode(&token_id)
        ),
        "Revoke service token",
        &overview_url(&app_id),
    )
}

/// `POST …/overview/service-tokens/{token_id}/revoke`.
pub async fn revoke_service_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(TokenSegments { app_id, token_id }): PagePath<TokenSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state
        .engine
        .revoke_service_token(&token_id, connectors_engine::ServiceTokenScope::App(&app))
        .await
    {
        Ok(_) => redirect(&format!("{}?revoked=service-token", overview_url(&app_id))),
        Err(e) => engine_failure(e, &app_id),
    }
}

// ---- connectors ------------------------------------------------------------

/// `GET …/app-connections`: the app's connectors, Stripe, and providers.
pub async fn connections(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(AppSegment { app_id }): PagePath<AppSegment>,
    PageQuery(notice): PageQuery<Notice>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let view = match state.engine.app_overview(&app).await {
        Ok(view) => view,
        Err(e) => return engine_failure(e, &app_id),
    };
    let now = state.engine.config().clock.now_secs();
    let configured = view.providers.iter().filter(|p| p.configured).count();
    let content = html! {
        @if let Some(removed) = notice.removed.as_deref() {
            p.notice role="status" { "Removed " code { (removed) } ". Delete its file in " code { "base44/connectors" } " too, or the next push adds it again." }
        }
        @if view.connectors.is_empty() {
            p { "No connectors yet. Declare one in " code { "base44/connectors/{type}.jsonc" } " and run " code { "base44 connectors push" } "." }
        }
        @for c in &view.connectors {
            (connector_card(&signed_in, &app_id, now, c))
        }
        @if let Some(id) = notice.disconnected.as_deref() {
            p.notice role="status" { "Disconnected the app from workspace connector " code { (id) } "." }
        }
        section aria-labelledby="workspace-connectors" {
            h2 id="workspace-connectors" { "Workspace connectors" }
            @if view.workspace.is_empty() {
                p { "Your workspace has no connectors of its own OAuth apps. Create one with "
                    code { "POST /api/workspace/" (view.app.workspace_id) "/connectors" } "; the app's functions then read its token with "
                    code { "getWorkspaceConnection(id)" } "." }
            }
            @for w in &view.workspace {
                (workspace_card(&signed_in, &app_id, now, w))
            }
        }
        section aria-labelledby="app-users" {
            h2 id="app-users" { "App users" }
            @if notice.settings.is_some() {
                p.notice role="status" { "Saved the app-user settings." }
            }
            @if let Some(id) = notice.user_disconnected.as_deref() {
                p.notice role="status" { "Disconnected the user's connection of workspace connector " code { (id) } "." }
            }
            (app_users::settings_summary(&app_id, &view.app_user_settings))
            @if view.app_users.is_empty() {
                p { "None of the app's users has connected an account yet (the app calls "
                    code { "connectAppUser(connectorId)" } " for them)." }
            } @else {
                div.scroll {
                    table {
                        thead { tr { th scope="col" { "User" } th scope="col" { "Connector" } th scope="col" { "Status" } th scope="col" { "Changed" } th scope="col" { span.visually-hidden { "Actions" } } } }
                        tbody {
                            @for c in &view.app_users {
                                tr {
                                    td { (c.user.email.as_deref().unwrap_or(&c.user.subject)) }
                                    td { code { (c.integration_type) } " " span.help { (c.connector_id) } }
                                    td { (status_badge(c.status)) }
                                    td { (when(now, c.updated_at)) }
                                    td { (app_users::disconnect_link(&app_id, &c.user.id, &c.connector_id)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="stripe" {
            h2 id="stripe" { "Stripe" }
            p { (stripe_summary(&view)) }
        }
        section aria-labelledby="providers" {
            h2 id="providers" { "Providers" }
            p { (configured) " of " (view.providers.len()) " connector types have an OAuth client configured on this server; only those can be connected." }
            details {
                summary { "What the operator must set for each type" }
                div.scroll {
                    table {
                        thead { tr { th scope="col" { "Type" } th scope="col" { "OAuth client" } } }
                        tbody {
                            @for p in &view.providers {
                                tr {
                                    td { (p.display_name) " " code { (p.integration_type) } }
                                    td {
                                        @if p.configured { "Configured" } @else {
                                            "Not configured: set " code { "client_id" } " and " code { "client_secret" }
                                            " under " code { "[providers." (p.integration_type) "]" } " in the server config, or "
                                            code { (p.env_prefix) "_CLIENT_ID" } " and " code { (p.env_prefix) "_CLIENT_SECRET" }
                                            ", and restart the server."
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        dashboard_page(
            &signed_in,
            &view.app,
            Some(Tab::Connections),
            "Connectors",
            content,
        ),
    )
}

fn status_badge(status: ConnectorStatus) -> Markup {
    let (class, label) = match status {
        ConnectorStatus::Active => ("status status-active", "Active"),
        ConnectorStatus::Expired => ("status status-expired", "Expired"),
        ConnectorStatus::Disconnected => ("status status-disconnected", "Not connected"),
    };
    html! { span class=(class) { (label) } }
}

fn scope_list(scopes: &[String], granted: Option<&[String]>) -> Markup {
    html! {
        @if scopes.is_empty() {
            "none"
        } @else {
            ul.scopes {
                @for s in scopes {
                    li {
                        code { (s) }
                        @if granted.is_some_and(|g| !g.contains(s)) {
                            " " span.help { "(not granted yet)" }
                        }
                    }
                }
            }
        }
    }
}

/// What the dashboard says of a connection: scopes, who consented, and how
/// its credentials are doing.
fn connection_facts(now: i64, c: &ConnectorView) -> Markup {
    let granted = (c.status == ConnectorStatus::Active).then_some(c.granted_scopes.as_slice());
    html! {
            dl.facts {
            dt { "Scopes" } dd { (scope_list(&c.scopes, granted)) }
            dt { "Authorized by" } dd { (c.authorized_by_email.as_deref().unwrap_or("nobody yet")) }
            @if let Some(h) = &c.credentials {
                dt { "Token expires" } dd {
                    @match h.expires_at_ms {
                        Some(ms) => { (when(now, ms.div_euclid(1000))) }
                        None => { "never (the provider set no expiry)" }
                    }
                }
                dt { "Last refresh" } dd {
                    @if let Some(at) = h.last_refresh_at { (when(now, at)) ", succeeded" } @else { "none yet" }
                    @if let Some(error) = &h.last_refresh_error {
                        p.error { "Then failed " (h.refresh_failures) " time(s): " (error) }
                        @if let Some(next) = h.next_refresh_at {
                            p.help { "Next try " (when(now, next)) }
                        }
                    }
                }
            }
        }
    }
}

fn connector_card(signed_in: &SignedIn, app_id: &str, now: i64, c: &ConnectorView) -> Markup {
    let base = format!(
        "{}/{}",
        connections_url(app_id),
        encode(c.integration_type.as_str())
    );
    let id = format!("connector-{}", c.integration_type);
    html! {
        article.card aria-labelledby=(id) {
            h2 id=(id) { (c.display_name) " " code { (c.integration_type.as_str()) } " " (status_badge(c.status)) }
            @if let Some(reason) = &c.status_reason {
                @if c.status != ConnectorStatus::Active {
                    p { "Why: " (reason) }
                }
            }
            (connection_facts(now, c))
            div.actions {
                @if c.configured {
                    @let label = if c.status == ConnectorStatus::Active { "Reconnect" } else { "Connect" };
                    (csrf_button(signed_in, &format!("{base}/reconnect"), label, None))
                } @else {
                    p.help { "Connecting needs the operator to configure this provider (see Providers below)." }
                }
                a.button-link href={ (base) "/remove" } { "Remove…" }
            }
        }
    }
}

fn workspace_card(
    signed_in: &SignedIn,
    app_id: &str,
    now: i64,
    w: &WorkspaceConnectorView,
) -> Markup {
    let base = format!("{}/workspace/{}", connections_url(app_id), encode(&w.id));
    let id = format!("workspace-{}", w.id);
    let status = w
        .connection
        .as_ref()
        .map_or(ConnectorStatus::Disconnected, |c| c.status);
    html! {
        article.card aria-labelledby=(id) {
            h3 id=(id) { (w.name) " " code { (w.integration_type.as_str()) } " " (status_badge(status)) }
            p.help { "Connector id " code { (w.id) } " (" (w.display_name) "): functions call " code { "getWorkspaceConnection(\"" (w.id) "\")" } "." }
            @if let Some(c) = &w.connection {
                @if let Some(reason) = &c.status_reason {
                    @if c.status != ConnectorStatus::Active {
                        p { "Why: " (reason) }
                    }
                }
                (connection_facts(now, c))
            }
            div.actions {
                @if w.builder_enabled {
                    @let label = if status == ConnectorStatus::Active { "Reconnect" } else { "Connect" };
                    (csrf_button(signed_in, &format!("{base}/connect"), label, None))
                } @else {
                    p.help { "A workspace admin has turned off builder connections for this connector." }
                }
                @if w.connection.is_some() {
                    a.button-link href={ (base) "/disconnect" } { "Disconnect…" }
                }
            }
        }
    }
}

/// `POST …/app-connections/workspace/{connector_id}/connect`: the app's
/// shared connection's consent, in this browser.
pub async fn connect_workspace(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(WorkspaceConnectorSegments {
        app_id,
        connector_id,
    }): PagePath<WorkspaceConnectorSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let started = state
        .engine
        .connect_workspace_connector(&app, &connector_id, true)
        .await;
    to_consent(started, &app_id)
}

/// Where a Connect/Reconnect goes: to the consent, or a page saying why not.
fn to_consent(
    started: Result<connectors_wire::SetConnectorResponse, EngineError>,
    app_id: &str,
) -> Response {
    match started {
        Ok(answer) => match (answer.redirect_url, answer.error_message) {
            (Some(url), _) => redirect(&url),
            (None, Some(message)) => failure(StatusCode::CONFLICT, &message, app_id),
            (None, None) => redirect(&connections_url(app_id)),
        },
        Err(e) => engine_failure(e, app_id),
    }
}

/// `GET …/app-connections/workspace/{connector_id}/disconnect`: asks first.
pub async fn disconnect_workspace_confirm(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(WorkspaceConnectorSegments {
        app_id,
        connector_id,
    }): PagePath<WorkspaceConnectorSegments>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state.engine.list_workspace_connections(&app).await {
        Ok(list)
            if list
                .connections
                .iter()
                .any(|c| c.connector_id == connector_id) => {}
        Ok(_) => {
            return failure(
                StatusCode::NOT_FOUND,
                "This app has no connection of that workspace connector.",
                &app_id,
            )
        }
        Err(e) => return engine_failure(e, &app_id),
    }
    confirm_page(
        &signed_in,
        app.app(),
        "Disconnect workspace connector",
        html! {
            p { "Disconnect " b { (app.app().name) } " from workspace connector " code { (connector_id) } "? The app's functions lose access at once; the stored tokens are deleted and revoked at the provider. The connector stays in the workspace." }
        },
        &format!(
            "{}/workspace/{}/disconnect",
            connections_url(&app_id),
            encode(&connector_id)
        ),
        "Disconnect",
        &connections_url(&app_id),
    )
}

/// `POST …/app-connections/workspace/{connector_id}/disconnect`.
pub async fn disconnect_workspace(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(WorkspaceConnectorSegments {
        app_id,
        connector_id,
    }): PagePath<WorkspaceConnectorSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state
        .engine
        .disconnect_workspace_connector(&app, &connector_id)
        .await
    {
        Ok(_) => redirect(&format!(
            "{}?disconnected={}",
            connections_url(&app_id),
            encode(&connector_id)
        )),
        Err(e) => engine_failure(e, &app_id),
    }
}

/// `POST …/app-connections/{type}/reconnect`: a new consent, in this browser.
pub async fn reconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(ConnectorSegments {
        app_id,
        integration_type,
    }): PagePath<ConnectorSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let Ok(ty) = IntegrationType::new(integration_type) else {
        return no_such_type(&app_id);
    };
    to_consent(state.engine.reconnect_connector(&app, &ty).await, &app_id)
}

/// `GET …/app-connections/{type}/remove`: asks first.
pub async fn remove_confirm(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(ConnectorSegments {
        app_id,
        integration_type,
    }): PagePath<ConnectorSegments>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let Ok(ty) = IntegrationType::new(integration_type) else {
        return no_such_type(&app_id);
    };
    match state.engine.list_connectors(&app).await {
        Ok(list)
            if list
                .integrations
                .iter()
                .any(|c| c.integration_type == ty.as_str()) => {}
        Ok(_) => return no_such_type(&app_id),
        Err(e) => return engine_failure(e, &app_id),
    }
    let name = state
        .engine
        .catalog()
        .get(&ty)
        .map_or_else(|| ty.to_string(), |i| i.display_name.clone());
    confirm_page(
        &signed_in,
        app.app(),
        &format!("Remove {name}"),
        html! {
            p { "Remove the " (name) " connector (" code { (ty.as_str()) } ") from " b { (app.app().name) } "? The app's functions lose access at once; its stored tokens are deleted and revoked at the provider." }
            p.help { "Delete " code { "base44/connectors/" (ty.as_str()) ".jsonc" } " in your project too, or the next " code { "base44 connectors push" } " adds it again." }
        },
        &format!(
            "{}/{}/remove",
            connections_url(&app_id),
            encode(ty.as_str())
        ),
        &format!("Remove {name}"),
        &connections_url(&app_id),
    )
}

/// `POST …/app-connections/{type}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(ConnectorSegments {
        app_id,
        integration_type,
    }): PagePath<ConnectorSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let Ok(ty) = IntegrationType::new(integration_type) else {
        return no_such_type(&app_id);
    };
    match state.engine.remove_connector(&app, &ty).await {
        Ok(_) => redirect(&format!(
            "{}?removed={}",
            connections_url(&app_id),
            encode(ty.as_str())
        )),
        Err(e) => engine_failure(e, &app_id),
    }
}
