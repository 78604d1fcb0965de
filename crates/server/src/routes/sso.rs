//! Single sign-on pages (`[auth.oidc]`): `POST /signin/oidc`, the sign-in
//! page's "Sign in with …" button, sends the browser to the identity
//! provider; `GET /signin/oidc/callback` is where it comes back and is
//! signed in. The sign-in in progress lives only in the `b44_sso` cookie
//! (sealed by the engine, sent only to the callback).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use connectors_engine::{SsoCallback, SsoError, SSO_CALLBACK_PATH};
use serde::Deserialize;

use crate::extract::PageForm;
use crate::routes::pages::read_cookie;
use crate::routes::signin::{failure, internal_failure, session_started};
use crate::session::{check_form_post, redirect, safe_next, set_cookie, signed_in};
use crate::state::AppState;

/// The browser binding of a single sign-on in progress.
const BINDING_COOKIE: &str = "b44_sso";

/// The button's form.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// The provider's redirect back; other parameters (`session_state`,
/// `scope`, …) are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// The binding cookie: HttpOnly, SameSite=Lax (the provider's redirect
/// back is a top-level GET, which carries it), only for the callback.
fn binding_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.engine.config().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{BINDING_COOKIE}={value}; Path={SSO_CALLBACK_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// A refusal as a page saying what to do; logged at info (the texts hold
/// no secret).
fn refused(e: SsoError) -> Response {
    let status = match &e {
        SsoError::NotConfigured => StatusCode::NOT_FOUND,
        SsoError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        SsoError::Exchange(_) => StatusCode::BAD_GATEWAY,
        SsoError::NoEmail | SsoError::EmailUnverified(_) | SsoError::UnknownEmail(_) => {
            StatusCode::FORBIDDEN
        }
        SsoError::Internal(inner) => return internal_failure(inner),
        _ => StatusCode::BAD_REQUEST,
    };
    tracing::info!(reason = %e, "single sign-on refused");
    failure(status, &e.to_string())
}

/// `POST /signin/oidc`: after the form checks, to the provider, with the
/// binding cookie.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<StartForm>,
) -> Response {
    if let Err(refusal) = check_form_post(&headers, &state.engine, None, &form.csrf) {
        return refusal.into_response();
    }
    let next = safe_next(form.next.as_deref());
    match state.engine.start_sso(&next).await {
        Ok(started) => {
            let mut response = redirect(&started.url);
            set_cookie(
                &mut response,
                &binding_cookie(&state, started.binding.expose(), started.binding_ttl_secs),
            );
            response
        }
        Err(e) => refused(e),
    }
}

/// `GET /signin/oidc/callback`: signs the builder in (the same session as
/// a password sign-in) and goes on to `next`. The binding cookie is
/// cleared whatever the outcome: it serves one answer only.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let mut response = match query {
        Err(_) => failure(
            StatusCode::BAD_REQUEST,
            "The identity provider sent the browser back with a query this server cannot read (a parameter repeated or badly encoded). Start again from the sign-in page.",
        ),
        Ok(Query(q)) => {
            let binding = read_cookie(&headers, BINDING_COOKIE);
            let callback = SsoCallback {
                state: q.state,
                code: q.code,
                error: q.error,
                error_description: q.error_description,
                iss: q.iss,
            };
            match state.engine.finish_sso(callback, binding.as_deref()).await {
                Ok(done) => {
                    tracing::info!(
                        builder_id = %done.session.builder.id,
                        "builder signed in with single sign-on"
                    );
                    // A session this browser already had ends: one per sign-in.
                    if let Ok(Some(old)) = signed_in(&headers, &state.engine).await {
                        let _ = state.engine.sign_out(&old.session_id).await;
                    }
                    session_started(&state, done.session, &done.next)
                }
                Err(e) => refused(e),
            }
        }
    };
    set_cookie(&mut response, &binding_cookie(&state, "", 0));
    response
}
