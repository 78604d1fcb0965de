//! Builder sign-in pages (issue #12.1): `GET/POST /signin` (with the
//! single sign-on button of `routes/sso.rs` when `[auth.oidc]` is set),
//! `GET/POST /invite/{token}`, `POST /signout`, and the signed-in home `/`.
//!
//! Rendered with `maud` through [`layout`], which later pages (the
//! dashboard) use too: one inline stylesheet admitted by the
//! Content-Security-Policy's hash, no script. Every form carries a CSRF
//! token and passes [`check_form_post`] first.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use connectors_engine::{AccountError, MIN_PASSWORD_CHARS};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

use crate::error::ErrorCause;
use crate::extract::{PageForm, PagePath, PageQuery};
use crate::routes::pages::{PageProblem, STYLE};
use crate::session::{
    anonymous_csrf, check_form_post, cookie_header, no_store, redirect, safe_next, set_cookie,
    signed_in, ClientAddress, SignedIn, CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, SIGNIN_PATH,
};
use crate::state::AppState;

/// Every page's `head`: the shared stylesheet and a viewport for phones.
pub(crate) fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            style { (PreEscaped(STYLE)) }
        }
    }
}

/// A standalone page: [`head`], the title as the one `h1`.
pub fn layout(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// An account page's answer. `Referrer-Policy: same-origin` rather than
/// the server's default `no-referrer`: under `no-referrer` a browser sends
/// `Origin: null` with the page's form posts, which the origin check must
/// refuse; `same-origin` still sends no URL (nor the invite token in it)
/// to any other site.
pub(crate) fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    response.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    no_store(&mut response);
    response
}

/// A page that only says what went wrong and what to do.
pub fn failure(status: StatusCode, message: &str) -> Response {
    respond(
        status,
        layout(
            "Sign in",
            html! {
                p.error role="alert" { (message) }
                p { a href=(SIGNIN_PATH) { "Go to the sign-in page" } }
            },
        ),
    )
}

/// What an account page's reader is told about a request the page could
/// not read (the consent pages word the same problems their own way).
pub(crate) fn problem_message(problem: PageProblem) -> &'static str {
    match problem {
        PageProblem::FormStalled => "The form stopped arriving before it was complete. Check the connection, then reload the page and send the form again.",
        PageProblem::FormTooLarge => "The form is larger than this server accepts. Reload the page and send the form again.",
        PageProblem::FormNotUrlEncoded => "The form was not sent the way this server's pages send it (URL-encoded). Reload the page and send the form again.",
        PageProblem::FormUnreadable => "The form could not be read (a field repeated or badly encoded). Reload the page and send the form again.",
        PageProblem::QueryUnreadable => "The address of this page has a query this server cannot read (a parameter repeated or badly encoded). Open the page again from its link, or go to the sign-in page.",
        PageProblem::PathUnreadable => "This link is damaged (it does not decode as text). Open the link you were given again, or ask the server's operator for a new one.",
        PageProblem::NotFound => "There is no page at this address. Open the link you were given again, or go to the sign-in page.",
        PageProblem::MethodNotAllowed => "This page is opened in a browser (GET), or sent from its own form (POST). Reload the page, or go to the sign-in page.",
        PageProblem::TooSlow => "The server took too long to answer. Reload this page in a minute.",
    }
}

/// Our own failure: a generic page, the cause for the trace layer's log.
pub fn internal_failure(e: &dyn std::fmt::Display) -> Response {
    ErrorCause::attach(
        failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the server; the operator can find the cause in its log. Try again in a minute.",
        ),
        e,
    )
}

fn error_block(error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error {
            p.error role="alert" id="form-error" { (e) }
        }
    }
}

/// `?next=` of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// The invite form's fields.
#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    csrf: String,
}

/// A form with only its CSRF token (sign-out, and the dashboard's buttons).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfForm {
    /// The token the form carried.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn signin_form(
    csrf: &str,
    next: &str,
    email: &str,
    error: Option<&str>,
    sso: Option<&str>,
) -> Markup {
    layout(
        "Sign in",
        html! {
            (error_block(error))
            @if let Some(name) = sso {
                form method="post" action=(connectors_engine::SSO_START_PATH) {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    input type="hidden" name="next" value=(next);
                    button type="submit" { "Sign in with " (name) }
                }
                p.help.after-form { "Or sign in with your email and password:" }
            }
            form method="post" action=(SIGNIN_PATH) {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="email" { "Email" }
                input id="email" type="email" name="email" value=(email) autocomplete="username" required autofocus[email.is_empty()];
                label for="password" { "Password" }
                input id="password" type="password" name="password" autocomplete="current-password" required autofocus[!email.is_empty()];
                button type="submit" { "Sign in" }
            }
            p.help.after-form { "No password yet? Open the invite link the server's operator gave you (they make one with " code { "connectors-server invite" } ")." }
        },
    )
}

/// The sign-in form with a fresh (or reused) anonymous CSRF token.
fn signin_response(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    let (csrf, set) = anonymous_csrf(headers, &state.engine);
    let mut response = respond(
        status,
        signin_form(&csrf, next, email, error, state.engine.sso_display_name()),
    );
    if let Some(set) = set {
        set_cookie(&mut response, &set);
    }
    response
}

/// `GET /signin`: the form, or straight on when already signed in.
pub async fn signin_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<NextQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    match signed_in(&headers, &state.engine).await {
        Ok(Some(_)) => redirect(&next),
        Ok(None) => signin_response(&state, &headers, StatusCode::OK, &next, "", None),
        Err(failure) => failure,
    }
}

/// Answers a new session: the cookie, and a redirect to `to`.
pub(crate) fn session_started(
    state: &AppState,
    session: connectors_engine::NewSession,
    to: &str,
) -> Response {
    let mut response = redirect(to);
    set_cookie(
        &mut response,
        &cookie_header(
            &state.engine,
            SESSION_COOKIE,
            session.id.expose(),
            Some(session.max_age_secs),
        ),
    );
    set_cookie(
        &mut response,
        &cookie_header(&state.engine, CSRF_COOKIE, "", Some(0)),
    );
    response
}

/// `POST /signin`.
pub async fn signin_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddress(address): ClientAddress,
    PageForm(form): PageForm<SignInForm>,
) -> Response {
    if let Err(refused) = check_form_post(&headers, &state.engine, None, &form.csrf) {
        return refused.into_response();
    }
    let next = safe_next(form.next.as_deref());
    match state
        .engine
        .sign_in(&form.email, &form.password, address.as_deref())
        .await
    {
        Ok(session) => {
            // A session this browser already had ends: one per sign-in.
            if let Ok(Some(old)) = signed_in(&headers, &state.engine).await {
                let _ = state.engine.sign_out(&old.session_id).await;
            }
            session_started(&state, session, &next)
        }
        Err(e @ AccountError::RateLimited { retry_at, .. }) => {
            let mut response = signin_response(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                &form.email,
                Some(&e.to_string()),
            );
            let wait = (retry_at - state.engine.config().clock.now_secs()).max(1);
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert("retry-after", v);
            }
            response
        }
        Err(e @ (AccountError::Internal(_) | AccountError::Hashing(_))) => internal_failure(&e),
        Err(e) => signin_response(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            &next,
            &form.email,
            Some(&e.to_string()),
        ),
    }
}

fn invite_form(token: &str, csrf: &str, email: &str, error: Option<&str>) -> Markup {
    layout(
        "Set your password",
        html! {
            p { "Choose the password for " b { (email) } ". You sign in with it from now on." }
            (error_block(error))
            form method="post" action={ "/invite/" (token) } {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                input type="hidden" name="email" value=(email) autocomplete="username";
                label for="password" { "Password" }
                input id="password" type="password" name="password" autocomplete="new-password" minlength=(MIN_PASSWORD_CHARS) required autofocus aria-describedby="password-help";
                p.help id="password-help" { "At least " (MIN_PASSWORD_CHARS) " characters; a few unrelated words make a good one." }
                label for="confirm_password" { "Confirm password" }
                input id="confirm_password" type="password" name="confirm_password" autocomplete="new-password" minlength=(MIN_PASSWORD_CHARS) required;
                button type="submit" { "Set password" }
            }
        },
    )
}

fn invite_response(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    token: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    let (csrf, set) = anonymous_csrf(headers, &state.engine);
    let mut response = respond(status, invite_form(token, &csrf, email, error));
    if let Some(set) = set {
        set_cookie(&mut response, &set);
    }
    response
}

fn account_failure(e: AccountError) -> Response {
    match e {
        AccountError::InviteInvalid => failure(StatusCode::NOT_FOUND, &e.to_string()),
        other => internal_failure(&other),
    }
}

/// `GET /invite/{token}`: the form that sets the password.
pub async fn invite_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PagePath(token): PagePath<String>,
) -> Response {
    match state.engine.invite_email(&token).await {
        Ok(email) => invite_response(&state, &headers, StatusCode::OK, &token, &email, None),
        Err(e) => account_failure(e),
    }
}

/// `POST /invite/{token}`: sets the password and signs in.
pub async fn invite_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    PagePath(token): PagePath<String>,
    PageForm(form): PageForm<InviteForm>,
) -> Response {
    if let Err(refused) = check_form_post(&headers, &state.engine, None, &form.csrf) {
        return refused.into_response();
    }
    match state
        .engine
        .accept_invite(&token, &form.password, &form.confirm_password)
        .await
    {
        Ok(session) => session_started(&state, session, "/"),
        Err(
            e @ (AccountError::PasswordTooShort
            | AccountError::PasswordTooLong
            | AccountError::PasswordsDiffer),
        ) => match state.engine.invite_email(&token).await {
            Ok(email) => invite_response(
                &state,
                &headers,
                StatusCode::BAD_REQUEST,
                &token,
                &email,
                Some(&e.to_string()),
            ),
            Err(e) => account_failure(e),
        },
        Err(e) => account_failure(e),
    }
}

/// `POST /signout`: ends the session (after the same checks as every
/// form, so another site cannot sign a builder out).
pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let session = match signed_in(&headers, &state.engine).await {
        Ok(Some(s)) => s,
        Ok(None) => return redirect(SIGNIN_PATH),
        Err(failure) => return failure,
    };
    if let Err(refused) =
        check_form_post(&headers, &state.engine, Some(&session.builder), &form.csrf)
    {
        return refused.into_response();
    }
    if let Err(e) = state.engine.sign_out(&session.session_id).await {
        return internal_failure(&e);
    }
    let mut response = redirect(SIGNIN_PATH);
    set_cookie(
        &mut response,
        &cookie_header(&state.engine, SESSION_COOKIE, "", Some(0)),
    );
    response
}

/// A signed-in form with one button: the session's CSRF token (maud
/// escapes it) and the button; the pattern of every signed-in action.
pub(crate) fn csrf_button(
    signed_in: &SignedIn,
    action: &str,
    label: &str,
    class: Option<&str>,
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name=(CSRF_FIELD) value=(signed_in.builder.csrf_token());
            button type="submit" class=[class] { (label) }
        }
    }
}

/// The sign-out button.
pub(crate) fn signout_form(signed_in: &SignedIn) -> Markup {
    csrf_button(signed_in, "/signout", "Sign out", Some("secondary"))
}

/// `GET /`: the signed-in builder's workspace and its apps, each linking
/// to its dashboard; anonymous visitors go to the sign-in page.
pub async fn home(State(state): State<AppState>, signed_in: SignedIn) -> Response {
    let home = match state.engine.home(&signed_in.builder).await {
        Ok(home) => home,
        Err(e) => return internal_failure(&e),
    };
    respond(
        StatusCode::OK,
        layout(
            "Connectors",
            html! {
                header {
                    p { "Signed in as " b { (signed_in.builder.builder().email) } }
                    (signout_form(&signed_in))
                }
                h2 { "Apps in " (home.workspace.name) }
                p { a href=(crate::routes::dashboard::WORKSPACE_AUDIT_PATH) { "Audit trail of " (home.workspace.name) } }
                @if home.apps.is_empty() {
                    p { "No apps yet. The operator creates them with " code { "connectors-server create-app" } "." }
                } @else {
                    ul.apps {
                        @for app in &home.apps {
                            li {
                                a href=(crate::routes::dashboard::overview_url(&app.id)) { (app.name) }
                                " " code { (app.id) } " · "
                                a href=(crate::routes::dashboard::connections_url(&app.id)) aria-label={ "Connectors of " (app.name) } { "Connectors" }
                            }
                        }
                    }
                }
            },
        ),
    )
}
