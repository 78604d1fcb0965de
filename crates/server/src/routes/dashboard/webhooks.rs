//! The dashboard's webhook endpoints (#15.3): an app's "Webhooks" tab
//! lists its endpoints and adds one, and each endpoint has its delivery
//! log, "Send test event", Enable / Disable, and "Rotate secret…" and
//! "Delete…" behind a confirmation page. The same use cases as
//! `/api/apps/{app_id}/webhooks…`; a new `whsec_` secret is shown once, on
//! the POST's answer (`no-store`), never on a page that can be reloaded.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use connectors_engine::{AuthorizedApp, EngineError, AUTO_DISABLED_REASON};
use connectors_wire::events::{
    self as wire, CreateWebhookEndpoint, RotateWebhookSecret, UpdateWebhookEndpoint,
    WebhookAttempt, WebhookEndpoint, WebhookEndpointWithSecret,
};
use maud::{html, Markup};
use serde::Deserialize;

use super::audit::when;
use super::{
    authorize, authorize_form, confirm_page, dashboard_page, encode, engine_failure_back,
    failure_back, AppSegment, Tab,
};
use crate::extract::{PageForm, PagePath, PageQuery};
use crate::routes::signin::{csrf_button, respond, CsrfForm};
use crate::session::{redirect, SignedIn, CSRF_FIELD};
use crate::state::AppState;

/// Attempts the delivery log shows.
const LOG_ENTRIES: i64 = 50;

/// Where an app's endpoints are listed.
pub(crate) fn webhooks_url(app_id: &str) -> String {
    format!("/apps/{}/editor/workspace/webhooks", encode(app_id))
}

/// One endpoint's page (its delivery log); its actions are below it.
fn endpoint_url(app_id: &str, endpoint_id: &str) -> String {
    format!("{}/{}", webhooks_url(app_id), encode(endpoint_id))
}

const BACK: &str = "Back to the app's webhooks";

/// `{app_id}` and `{endpoint_id}` of an endpoint's path.
#[derive(Debug, Deserialize)]
pub struct EndpointSegments {
    app_id: String,
    endpoint_id: String,
}

/// What the list page says happened.
#[derive(Debug, Default, Deserialize)]
pub struct ListNotice {
    deleted: Option<String>,
    enabled: Option<String>,
    disabled: Option<String>,
}

/// What the delivery log says happened.
#[derive(Debug, Default, Deserialize)]
pub struct LogNotice {
    tested: Option<String>,
}

/// The add form as sent, kept as typed so a refused form comes back whole.
/// Read from the pairs, since a browser sends one `event_types` per
/// checked box.
#[derive(Debug, Default)]
struct EndpointForm {
    csrf: String,
    url: String,
    description: String,
    event_types: Vec<String>,
}

impl EndpointForm {
    fn read(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (name, value) in pairs {
            match name.as_str() {
                CSRF_FIELD => form.csrf = value,
                "url" => form.url = value,
                "description" => form.description = value,
                "event_types" => form.event_types.push(value),
                _ => {}
            }
        }
        form
    }

    fn request(&self) -> CreateWebhookEndpoint {
        CreateWebhookEndpoint {
            url: self.url.trim().to_string(),
            event_types: self.event_types.clone(),
            description: Some(self.description.clone()).filter(|d| !d.trim().is_empty()),
        }
    }
}

/// The types a builder may pick: every event but the test event, which
/// "Send test event" sends whatever the filter.
fn pickable_types() -> impl Iterator<Item = &'static str> {
    wire::EVENT_TYPES
        .into_iter()
        .filter(|t| *t != wire::WEBHOOK_TEST)
}

/// What an event type means, for the checkboxes.
fn type_meaning(event_type: &str) -> &'static str {
    match event_type {
        wire::CONNECTED => "a consent made a connection",
        wire::REAUTHORIZED => "a consent renewed a connection",
        wire::REFRESH_FAILED => "a token refresh failed",
        wire::EXPIRED => "a connection needs a new consent",
        wire::DISCONNECTED => "a connection was removed",
        wire::ATTEMPT_FAILED => "a consent did not finish",
        wire::WORKSPACE_CONNECTOR_CREATED => "a workspace connector was created",
        wire::WORKSPACE_CONNECTOR_UPDATED => "a workspace connector was changed",
        wire::WORKSPACE_CONNECTOR_DELETED => "a workspace connector was deleted",
        wire::WEBHOOK_TEST => "sent by Send test event",
        _ => "",
    }
}

/// `a day`, `2 days`, `6 hours`, `90 seconds`: the configured spans.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    match n {
        1 if unit == "hour" => "an hour".into(),
        1 => format!("a {unit}"),
        n => format!("{n} {unit}s"),
    }
}

/// `text` with a capital first letter (`disabled by a builder` starts a
/// sentence).
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Whether the endpoint's failures, not a builder, disabled it.
fn auto_disabled(e: &WebhookEndpoint) -> bool {
    !e.enabled && e.disabled_reason.as_deref() == Some(AUTO_DISABLED_REASON)
}

/// A failure of an endpoint's pages: "not found" in the dashboard's words,
/// and the way back to the list.
fn webhook_failure(e: EngineError, app_id: &str) -> Response {
    let back = webhooks_url(app_id);
    match e {
        EngineError::WebhookEndpointNotFound(_) => failure_back(
            StatusCode::NOT_FOUND,
            "This app has no such webhook endpoint (it may have been deleted). Pick one on the app's Webhooks page.",
            (&back, BACK),
        ),
        e => engine_failure_back(e, app_id, (&back, BACK)),
    }
}

fn status_badge(e: &WebhookEndpoint) -> Markup {
    html! {
        @if e.enabled {
            span.status.status-active { "Enabled" }
        } @else {
            span.status.status-expired { "Disabled" }
        }
    }
}

/// Why deliveries stopped, or are failing, and what to do: prominent when
/// the endpoint's failures disabled it.
fn health(state: &AppState, e: &WebhookEndpoint) -> Markup {
    let after = span(state.engine.config().webhooks.disable_after);
    html! {
        @if auto_disabled(e) {
            div.warning {
                p { strong { "Deliveries stopped: every delivery to this URL failed for " (after) "." } }
                p { "Fix the receiver (it must answer with a 2xx status within "
                    (span(state.engine.config().webhooks.timeout)) "), then select Enable. Deliveries still waiting are sent again then; events of the time it was disabled are not." }
            }
        } @else if !e.enabled {
            p.notice { (sentence(e.disabled_reason.as_deref().unwrap_or("disabled")))
                ": no deliveries are sent, and events that happen meanwhile are not queued for it. Select Enable to resume." }
        } @else if let Some(since) = &e.failing_since {
            p.error { "Failing since " (when(since)) ": every delivery since then failed. See the delivery log; after "
                (after) " of failures the endpoint is disabled." }
        }
    }
}

fn event_list(types: &[String]) -> Markup {
    html! {
        @if types.is_empty() {
            "All events"
        } @else {
            ul.scopes { @for t in types { li { code { (t) } } } }
        }
    }
}

fn endpoint_card(
    state: &AppState,
    signed_in: &SignedIn,
    app_id: &str,
    e: &WebhookEndpoint,
) -> Markup {
    let base = endpoint_url(app_id, &e.id);
    let id = format!("endpoint-{}", e.id);
    html! {
        article.card aria-labelledby=(id) {
            h2 id=(id) { code { (e.url) } " " (status_badge(e)) }
            (health(state, e))
            dl.facts {
                @if let Some(d) = &e.description {
                    dt { "Description" } dd { (d) }
                }
                dt { "Events" } dd { (event_list(&e.event_types)) }
                dt { "Endpoint id" } dd { code { (e.id) } }
                dt { "Created" } dd { (when(&e.created_at)) }
                @if let Some(until) = &e.previous_secret_expires_at {
                    dt { "Previous secret" } dd { "still signs too until " (when(until)) }
                }
            }
            div.actions {
                @if e.enabled {
                    (csrf_button(signed_in, &format!("{base}/test"), "Send test event", None))
                    (csrf_button(signed_in, &format!("{base}/disable"), "Disable", Some("secondary")))
                } @else {
                    (csrf_button(signed_in, &format!("{base}/enable"), "Enable", None))
                }
                a.button-link href=(base) { "Delivery log" }
                a.button-link href={ (base) "/rotate-secret" } { "Rotate secret…" }
                a.button-link href={ (base) "/delete" } { "Delete…" }
            }
        }
    }
}

fn add_form(
    state: &AppState,
    signed_in: &SignedIn,
    app_id: &str,
    form: &EndpointForm,
    error: Option<&str>,
) -> Markup {
    let settings = &state.engine.config().webhooks;
    html! {
        section aria-labelledby="add-endpoint" {
            h2 id="add-endpoint" { "Add an endpoint" }
            @if let Some(e) = error {
                p.error role="alert" id="form-error" { (e) }
            }
            form method="post" action=(webhooks_url(app_id)) aria-describedby=[error.map(|_| "form-error")] {
                input type="hidden" name=(CSRF_FIELD) value=(signed_in.builder.csrf_token());
                label for="url" { "URL" }
                input id="url" name="url" type="url" required value=(form.url) spellcheck="false" aria-describedby="url-help";
                p.help id="url-help" {
                    @if settings.allow_private_networks { "An " code { "https://" } " (or, on this server, " code { "http://" } ") URL your app serves." }
                    @else { "An " code { "https://" } " URL your app serves, on a public address." }
                    " It must answer each POST with a 2xx status within "
                    (span(settings.timeout)) "; redirects are not followed."
                }
                label for="description" { "Description" }
                input id="description" name="description" type="text" maxlength="200" value=(form.description) aria-describedby="description-help";
                p.help id="description-help" { "Optional: a note for your team, such as what the receiver does." }
                fieldset aria-describedby="event-types-help" {
                    legend { "Event types" }
                    p.help id="event-types-help" { "None checked: all events, including types added later." }
                    @for t in pickable_types() {
                        label.check {
                            input type="checkbox" name="event_types" value=(t) checked[form.event_types.iter().any(|c| c == t)];
                            span { code { (t) } " " span.help { (type_meaning(t)) } }
                        }
                    }
                }
                button type="submit" { "Add endpoint" }
            }
        }
    }
}

/// The list page: the endpoints and the add form (with a refused form's
/// error and text, on a failed add).
async fn list(
    state: &AppState,
    signed_in: &SignedIn,
    app: &AuthorizedApp,
    notice: &ListNotice,
    form: &EndpointForm,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let app_id = app.app_id();
    let endpoints = match state.engine.list_webhook_endpoints(app).await {
        Ok(list) => list.endpoints,
        Err(e) => return webhook_failure(e, app_id),
    };
    let stopped = endpoints.iter().filter(|e| auto_disabled(e)).count();
    let content = html! {
        p.help { "Each event of this app is sent to these URLs as a signed POST (Standard Webhooks), retried for about a day until the receiver answers 2xx." }
        @if let Some(id) = notice.deleted.as_deref() {
            p.notice role="status" { "Deleted webhook endpoint " code { (id) } ", with its pending deliveries and its log." }
        }
        @if let Some(id) = notice.enabled.as_deref() {
            p.notice role="status" { "Enabled webhook endpoint " code { (id) } "." }
        }
        @if let Some(id) = notice.disabled.as_deref() {
            p.notice role="status" { "Disabled webhook endpoint " code { (id) } ": nothing is sent to it until you enable it." }
        }
        @if stopped > 0 {
            p.warning {
                strong { @if stopped == 1 { "Deliveries to an endpoint stopped" } @else { "Deliveries to " (stopped) " endpoints stopped" } }
                ": every delivery failed for " (span(state.engine.config().webhooks.disable_after))
                ". Fix the receiver, then select its Enable button below."
            }
        }
        @if endpoints.is_empty() {
            p { "No webhook endpoints yet. Add one below to receive this app's connection events." }
        }
        @for e in &endpoints {
            (endpoint_card(state, signed_in, app_id, e))
        }
        (add_form(state, signed_in, app_id, form, error))
    };
    respond(
        status,
        dashboard_page(
            signed_in,
            app.app(),
            Some(Tab::Webhooks),
            "Webhooks",
            content,
        ),
    )
}

/// `GET …/webhooks`: the app's endpoints, and the add form.
pub async fn list_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(AppSegment { app_id }): PagePath<AppSegment>,
    PageQuery(notice): PageQuery<ListNotice>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    list(
        &state,
        &signed_in,
        &app,
        &notice,
        &EndpointForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// How a receiver checks a delivery, beside a secret shown once.
fn verify_hint() -> Markup {
    html! {
        section aria-labelledby="verify" {
            h2 id="verify" { "Verify each delivery" }
            p { "Deliveries follow Standard Webhooks: a POST with a JSON body and three headers, "
                code { "webhook-id" } " (the event's id, the same on every retry: skip one you handled), "
                code { "webhook-timestamp" } " (Unix seconds) and "
                code { "webhook-signature" } " (space-separated " code { "v1,<base64>" } " values)." }
            ol {
                li { "The key is the base64 after " code { "whsec_" } ", decoded." }
                li { "Compute HMAC-SHA256 of " code { "{webhook-id}.{webhook-timestamp}.{raw body}" } " and encode it in base64." }
                li { "Accept the delivery when it equals one of the " code { "v1," } " values (compare in constant time) and the timestamp is within 5 minutes of now." }
            }
            p.help { "A Standard Webhooks library does all of this, e.g. npm " code { "standardwebhooks" } ": " code { "new Webhook(secret).verify(body, headers)" } "." }
        }
    }
}

/// A new secret, shown this once (the answer is never cached).
fn secret_page(
    signed_in: &SignedIn,
    app: &AuthorizedApp,
    title: &str,
    done: Markup,
    issued: &WebhookEndpointWithSecret,
) -> Response {
    let content = html! {
        (done)
        p.notice role="status" { "Copy the signing secret now: it is not shown again." }
        label for="new-secret" { "Signing secret of " code { (issued.endpoint.url) } }
        input id="new-secret" type="text" readonly value=(issued.secret) autocomplete="off" spellcheck="false";
        (verify_hint())
        p {
            a href=(webhooks_url(app.app_id())) { (BACK) }
            " · "
            a href=(endpoint_url(app.app_id(), &issued.endpoint.id)) { "Its delivery log" }
        }
    };
    respond(
        StatusCode::OK,
        dashboard_page(signed_in, app.app(), None, title, content),
    )
}

/// `POST …/webhooks`: added, answering its secret once; or the list again
/// with what was wrong and the form as typed.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(AppSegment { app_id }): PagePath<AppSegment>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Response {
    let form = EndpointForm::read(pairs);
    let app = match authorize_form(&state, &headers, &signed_in, &form.csrf, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state
        .engine
        .create_webhook_endpoint(&app, form.request())
        .await
    {
        Ok(created) => secret_page(
            &signed_in,
            &app,
            "Webhook endpoint added",
            html! { p { "Added " code { (created.endpoint.url) } " (" code { (created.endpoint.id) } "). Give its signing secret to the receiver, then send it a test event." } },
            &created,
        ),
        Err(EngineError::BadRequest(message)) => {
            list(
                &state,
                &signed_in,
                &app,
                &ListNotice::default(),
                &form,
                Some(&message),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => webhook_failure(e, &app_id),
    }
}

fn delivery_badge(status: &str) -> Markup {
    let (class, label) = match status {
        "delivered" => ("status status-active", "Delivered"),
        "pending" => ("status status-disconnected", "Retrying"),
        "failed" => ("status status-expired", "Failed"),
        other => ("status", other),
    };
    html! { span class=(class) { (label) } }
}

fn attempt_row(a: &WebhookAttempt) -> Markup {
    html! {
        tr {
            td data-label="Time" { (when(&a.at)) }
            td data-label="Event type" { code { (a.event_type) } }
            td data-label="Event id" { code { (a.event_id) } }
            td data-label="Attempt" { (a.attempt) }
            td data-label="Status code" {
                @match a.status_code { Some(code) => { (code) }, None => { "none" } }
                " " span.help { "(" (a.duration_ms) " ms)" }
            }
            td data-label="Error" {
                @match (&a.error, a.status_code) {
                    (Some(error), _) => { (error) }
                    (None, Some(200..=299)) => { "none" }
                    (None, Some(_)) => { "not a 2xx answer" }
                    (None, None) => { "no answer" }
                }
                @if let Some(excerpt) = &a.response_excerpt {
                    details {
                        summary { "Response excerpt" }
                        pre.excerpt { (excerpt) }
                    }
                }
            }
            td data-label="Delivery status" { (delivery_badge(&a.delivery_status)) }
        }
    }
}

/// `GET …/webhooks/{endpoint_id}`: the endpoint and its latest attempts.
pub async fn log_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(EndpointSegments {
        app_id,
        endpoint_id,
    }): PagePath<EndpointSegments>,
    PageQuery(notice): PageQuery<LogNotice>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let endpoint = match state.engine.webhook_endpoint(&app, &endpoint_id).await {
        Ok(e) => e,
        Err(e) => return webhook_failure(e, &app_id),
    };
    let log = match state
        .engine
        .webhook_deliveries(&app, &endpoint_id, Some(LOG_ENTRIES))
        .await
    {
        Ok(log) => log,
        Err(e) => return webhook_failure(e, &app_id),
    };
    let base = endpoint_url(&app_id, &endpoint_id);
    let content = html! {
        @if let Some(event_id) = notice.tested.as_deref() {
            p.notice role="status" { "Queued test event " code { (event_id) } " (" code { (wire::WEBHOOK_TEST) } "). Its attempt is listed here within seconds: reload the page." }
        }
        dl.facts {
            dt { "URL" } dd { code { (endpoint.url) } " " (status_badge(&endpoint)) }
            dt { "Events" } dd { (event_list(&endpoint.event_types)) }
        }
        (health(&state, &endpoint))
        div.actions {
            @if endpoint.enabled {
                (csrf_button(&signed_in, &format!("{base}/test"), "Send test event", None))
            } @else {
                (csrf_button(&signed_in, &format!("{base}/enable"), "Enable", None))
            }
            a.button-link href=(webhooks_url(&app_id)) { (BACK) }
        }
        @if log.attempts.is_empty() {
            p { "No delivery attempts yet. Send a test event to see one." }
        } @else {
            div.scroll {
                // One card per attempt on a phone, each value labelled.
                table.stack {
                    caption { "Latest delivery attempts, newest first (times UTC)" }
                    thead {
                        tr {
                            th scope="col" { "Time" }
                            th scope="col" { "Event type" }
                            th scope="col" { "Event id" }
                            th scope="col" { "Attempt" }
                            th scope="col" { "Status code" }
                            th scope="col" { "Error" }
                            th scope="col" { "Delivery status" }
                        }
                    }
                    tbody { @for a in &log.attempts { (attempt_row(a)) } }
                }
            }
            p.help { "The latest " (LOG_ENTRIES) " attempts. Retrying: another attempt is scheduled; Failed: no more attempts." }
        }
    };
    respond(
        StatusCode::OK,
        dashboard_page(
            &signed_in,
            app.app(),
            Some(Tab::Webhooks),
            "Delivery log",
            content,
        ),
    )
}

/// `POST …/webhooks/{endpoint_id}/test`: queued, then to its log.
pub async fn send_test(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(EndpointSegments {
        app_id,
        endpoint_id,
    }): PagePath<EndpointSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state.engine.send_test_event(&app, &endpoint_id).await {
        Ok(queued) => redirect(&format!(
            "{}?tested={}",
            endpoint_url(&app_id, &endpoint_id),
            encode(&queued.event_id)
        )),
        Err(e) => webhook_failure(e, &app_id),
    }
}

async fn set_enabled(
    state: AppState,
    headers: HeaderMap,
    signed_in: SignedIn,
    EndpointSegments {
        app_id,
        endpoint_id,
    }: EndpointSegments,
    form: CsrfForm,
    enabled: bool,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let patch = UpdateWebhookEndpoint {
        enabled: Some(enabled),
        ..UpdateWebhookEndpoint::default()
    };
    match state
        .engine
        .update_webhook_endpoint(&app, &endpoint_id, patch)
        .await
    {
        Ok(_) => redirect(&format!(
            "{}?{}={}",
            webhooks_url(&app_id),
            if enabled { "enabled" } else { "disabled" },
            encode(&endpoint_id)
        )),
        Err(e) => webhook_failure(e, &app_id),
    }
}

/// `POST …/webhooks/{endpoint_id}/enable`: sends again, with a fresh day
/// before failures disable it.
pub async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(path): PagePath<EndpointSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    set_enabled(state, headers, signed_in, path, form, true).await
}

/// `POST …/webhooks/{endpoint_id}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(path): PagePath<EndpointSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    set_enabled(state, headers, signed_in, path, form, false).await
}

/// The endpoint a confirmation page names, or the page saying it is gone.
async fn endpoint_to_confirm(
    state: &AppState,
    signed_in: &SignedIn,
    app_id: &str,
    endpoint_id: &str,
) -> Result<(AuthorizedApp, WebhookEndpoint), Response> {
    let app = authorize(state, signed_in, app_id).await?;
    match state.engine.webhook_endpoint(&app, endpoint_id).await {
        Ok(endpoint) => Ok((app, endpoint)),
        Err(e) => Err(webhook_failure(e, app_id)),
    }
}

/// `GET …/webhooks/{endpoint_id}/rotate-secret`: asks first.
pub async fn rotate_confirm(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(EndpointSegments {
        app_id,
        endpoint_id,
    }): PagePath<EndpointSegments>,
) -> Response {
    let (app, endpoint) = match endpoint_to_confirm(&state, &signed_in, &app_id, &endpoint_id).await
    {
        Ok(found) => found,
        Err(page) => return page,
    };
    let overlap = span(Duration::from_secs(
        connectors_engine::DEFAULT_SECRET_OVERLAP_SECS,
    ));
    confirm_page(
        &signed_in,
        app.app(),
        "Rotate signing secret",
        html! {
            p { "Rotate the signing secret of " code { (endpoint.url) } "? A new secret signs every delivery from now on, and is shown once on the next page. The current secret keeps signing them too for " (overlap) " (each delivery carries both signatures), so the receiver keeps working while you update it." }
            @if endpoint.previous_secret_expires_at.is_some() {
                p.help { "The secret replaced by the last rotation stops signing now." }
            }
        },
        &format!("{}/rotate-secret", endpoint_url(&app_id, &endpoint_id)),
        "Rotate secret",
        &webhooks_url(&app_id),
    )
}

/// `POST …/webhooks/{endpoint_id}/rotate-secret`: the new secret, once.
pub async fn rotate(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(EndpointSegments {
        app_id,
        endpoint_id,
    }): PagePath<EndpointSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state
        .engine
        .rotate_webhook_secret(&app, &endpoint_id, RotateWebhookSecret::default())
        .await
    {
        Ok(rotated) => {
            let until = rotated.endpoint.previous_secret_expires_at.clone();
            secret_page(
                &signed_in,
                &app,
                "New signing secret",
                html! {
                    p { "Rotated the signing secret of " code { (rotated.endpoint.url) } "."
                        @if let Some(until) = &until {
                            " The previous secret keeps signing too until " (when(until)) ": give the receiver the new one before then."
                        }
                    }
                },
                &rotated,
            )
        }
        Err(e) => webhook_failure(e, &app_id),
    }
}

/// `GET …/webhooks/{endpoint_id}/delete`: asks first.
pub async fn delete_confirm(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(EndpointSegments {
        app_id,
        endpoint_id,
    }): PagePath<EndpointSegments>,
) -> Response {
    let (app, endpoint) = match endpoint_to_confirm(&state, &signed_in, &app_id, &endpoint_id).await
    {
        Ok(found) => found,
        Err(page) => return page,
    };
    confirm_page(
        &signed_in,
        app.app(),
        "Delete webhook endpoint",
        html! {
            p { "Delete the webhook endpoint " code { (endpoint.url) } "? Nothing is sent to it from now on; its pending deliveries and its delivery log are deleted. This cannot be undone." }
        },
        &format!("{}/delete", endpoint_url(&app_id, &endpoint_id)),
        "Delete endpoint",
        &webhooks_url(&app_id),
    )
}

/// `POST …/webhooks/{endpoint_id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(EndpointSegments {
        app_id,
        endpoint_id,
    }): PagePath<EndpointSegments>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state
        .engine
        .delete_webhook_endpoint(&app, &endpoint_id)
        .await
    {
        Ok(()) => redirect(&format!(
            "{}?deleted={}",
            webhooks_url(&app_id),
            encode(&endpoint_id)
        )),
        Err(e) => webhook_failure(e, &app_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_words() {
        assert_eq!(span(Duration::from_secs(86_400)), "a day");
        assert_eq!(span(Duration::from_secs(2 * 86_400)), "2 days");
        assert_eq!(span(Duration::from_secs(3600)), "an hour");
        assert_eq!(span(Duration::from_secs(7200)), "2 hours");
        assert_eq!(span(Duration::from_secs(10)), "10 seconds");
        assert_eq!(span(Duration::from_secs(1)), "a second");
        assert_eq!(span(Duration::from_secs(90)), "90 seconds");
        assert_eq!(sentence("disabled by a builder"), "Disabled by a builder");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn the_form_keeps_every_checked_type() {
        let form = EndpointForm::read(vec![
            ("csrf".into(), "t".into()),
            ("url".into(), " https://hooks.example.com/in ".into()),
            ("description".into(), "  ".into()),
            ("event_types".into(), wire::CONNECTED.into()),
            ("event_types".into(), wire::EXPIRED.into()),
            ("other".into(), "ignored".into()),
        ]);
        let request = form.request();
        assert_eq!(request.url, "https://hooks.example.com/in");
        assert_eq!(request.event_types, [wire::CONNECTED, wire::EXPIRED]);
        assert_eq!(request.description, None);
        assert!(pickable_types().all(|t| !type_meaning(t).is_empty()));
        assert!(pickable_types().all(|t| t != wire::WEBHOOK_TEST));
    }
}
