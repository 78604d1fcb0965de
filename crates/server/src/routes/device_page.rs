//! The device-login verification page (`verification_uri`, RFC 8628 §3.3):
//! a signed-in builder enters the code `base44 login` printed, sees which
//! client asks for which scopes, and approves or denies it explicitly.
//!
//! Never approved from the link alone: `verification_uri_complete`
//! (`/device?user_code=…`) only fills the code in and shows the request
//! (§5.4, remote phishing). Wrong codes are rate-limited by the engine.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use connectors_engine::{DeviceLoginRequest, EngineError};
use maud::{html, Markup};
use serde::Deserialize;

use crate::extract::{PageForm, PageQuery};
use crate::routes::signin::{internal_failure, layout, respond};
use crate::session::{check_form_post, SignedIn, CSRF_FIELD};
use crate::state::AppState;

/// Where `base44 login` sends the builder (`verification_uri`).
pub use connectors_engine::VERIFICATION_PATH as DEVICE_PATH;

/// `?user_code=` of `verification_uri_complete`, or of the code form.
#[derive(Debug, Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    user_code: Option<String>,
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_code: String,
    /// `approve` or `deny`: the button pressed.
    #[serde(default)]
    decision: String,
}

fn code_form(code: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
        p { "Enter the code your terminal shows after " code { "base44 login" } "." }
        form method="get" action=(DEVICE_PATH) {
            label for="user_code" { "Code" }
            input id="user_code" name="user_code" value=(code) autocomplete="one-time-code"
                autocapitalize="characters" spellcheck="false" required autofocus
                placeholder="XXXX-XXXX";
            button type="submit" { "Continue" }
        }
    }
}

fn decision_form(signed_in: &SignedIn, request: &DeviceLoginRequest) -> Markup {
    html! {
        p { b { (request.client_name) } " asks to act as " b { (signed_in.builder.builder().email) } " with these scopes:" }
        ul {
            @for scope in &request.scopes {
                li { code { (scope) } }
            }
        }
        p { "Approve only if you started this login yourself and your terminal shows the same code." }
        form method="post" action=(DEVICE_PATH) {
            input type="hidden" name=(CSRF_FIELD) value=(signed_in.builder.csrf_token());
            label for="user_code" { "Code" }
            input id="user_code" name="user_code" value=(request.user_code) readonly;
            div.actions {
                button type="submit" name="decision" value="approve" { "Approve" }
                button.secondary type="submit" name="decision" value="deny" { "Deny" }
            }
        }
    }
}

/// A wrong, expired or rate-limited code: the code form again, saying why.
fn code_refused(code: &str, e: EngineError) -> Response {
    let status = match e {
        EngineError::UserCodeNotFound => StatusCode::NOT_FOUND,
        EngineError::TooManyCodeAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        other => return internal_failure(&other),
    };
    respond(
        status,
        layout("Log in the CLI", code_form(code, Some(&e.to_string()))),
    )
}

/// `GET /device[?user_code=…]`: the code form, or the request it names
/// with Approve and Deny. Anonymous visitors sign in first (and come back).
pub async fn device_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PageQuery(query): PageQuery<CodeQuery>,
) -> Response {
    let Some(code) = query.user_code.filter(|c| !c.trim().is_empty()) else {
        return respond(
            StatusCode::OK,
            layout("Log in the CLI", code_form("", None)),
        );
    };
    match state
        .engine
        .device_login_request(&code, signed_in.builder.builder())
        .await
    {
        Ok(request) => respond(
            StatusCode::OK,
            layout("Log in the CLI", decision_form(&signed_in, &request)),
        ),
        Err(e) => code_refused(&code, e),
    }
}

/// `POST /device`: the builder's decision, after the checks of every form.
pub async fn device_decision(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PageForm(form): PageForm<DecisionForm>,
) -> Response {
    if let Err(refused) = check_form_post(
        &headers,
        &state.engine,
        Some(&signed_in.builder),
        &form.csrf,
    ) {
        return refused.into_response();
    }
    let approve = match form.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => {
            return respond(
                StatusCode::BAD_REQUEST,
                layout(
                    "Log in the CLI",
                    code_form(&form.user_code, Some("Press Approve or Deny.")),
                ),
            )
        }
    };
    match state
        .engine
        .decide_device_login(&form.user_code, signed_in.builder.builder(), approve)
        .await
    {
        Ok(()) => {
            let (title, text) = if approve {
                (
                    "CLI logged in",
                    "You approved this login. Go back to your terminal: the CLI continues on its own.",
                )
            } else {
                (
                    "Login denied",
                    "You denied this login; the CLI stops. If you did not start it, nothing more is needed.",
                )
            };
            respond(
                StatusCode::OK,
                layout(title, html! { p role="status" { (text) } }),
            )
        }
        Err(e) => code_refused(&form.user_code, e),
    }
}
