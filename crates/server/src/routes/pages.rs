//! Browser pages: the consent start (`/connect/{id}`), its config form, and
//! the provider's callback (`/oauth/callback`).

use std::collections::BTreeMap;

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use connectors_engine::{
    CallbackParams, ConnectPage, ConsentError, EngineError, CALLBACK_PATH, EXTERNAL_CALLBACK_PATH,
};

use crate::error::{is_body_timeout, ErrorCause};
use crate::extract::{PageForm, PagePath, PageQuery};
use crate::state::AppState;

/// The browser-binding cookie of a consent attempt: one per attempt, so
/// parallel consents do not collide, sent only to the callback.
fn cookie_name(connection_id: &str) -> String {
    format!("b44c_{connection_id}")
}

/// The query of the provider's callback.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// Provider-specific values (a catalog entry's `callback_params`).
    #[serde(flatten)]
    extra: std::collections::BTreeMap<String, String>,
}

/// The two families of browser pages; each has its own failure page,
/// worded for the person who reads it ([`crate::routes::page_kind`] tells
/// which a path belongs to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Consent, the provider's callback, Stripe's claim link: opened from
    /// a link the CLI printed, so the way back is `base44 connectors push`.
    Consent,
    /// Sign-in, invite, sign-out, the home page and `/device`: a builder's
    /// own pages, so the way back is the page itself or the sign-in page.
    Account,
}

/// What went wrong before a page's handler could answer: the one mapping
/// from axum's rejections (and the router's misses) to a status, worded by
/// each [`PageKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageProblem {
    /// The form body stopped arriving (`body_read_timeout_secs`).
    FormStalled,
    /// The form body is over the size limit.
    FormTooLarge,
    /// The body is not `application/x-www-form-urlencoded`.
    FormNotUrlEncoded,
    /// The form does not decode into the page's fields.
    FormUnreadable,
    /// The query does not decode (a parameter repeated, bad encoding).
    QueryUnreadable,
    /// A path segment does not decode as text.
    PathUnreadable,
    /// No page at this path.
    NotFound,
    /// A method the page does not take.
    MethodNotAllowed,
    /// The request outlived `request_timeout_secs`.
    TooSlow,
}

impl PageProblem {
    fn status(self) -> StatusCode {
        match self {
            PageProblem::FormStalled => StatusCode::REQUEST_TIMEOUT,
            PageProblem::FormTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            PageProblem::FormNotUrlEncoded => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PageProblem::FormUnreadable
            | PageProblem::QueryUnreadable
            | PageProblem::PathUnreadable => StatusCode::BAD_REQUEST,
            PageProblem::NotFound => StatusCode::NOT_FOUND,
            PageProblem::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PageProblem::TooSlow => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// What a form's rejection means.
    pub fn of_form(rejection: &FormRejection) -> Self {
        tracing::info!(reason = %rejection.body_text(), "unreadable page form");
        if is_body_timeout(rejection) {
            return PageProblem::FormStalled;
        }
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => PageProblem::FormTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => PageProblem::FormNotUrlEncoded,
            _ => PageProblem::FormUnreadable,
        }
    }
}

/// A page request that could not be answered normally: the HTML failure
/// page of its [`PageKind`], since a person in a browser reads it.
#[derive(Debug)]
pub struct FailurePage {
    kind: PageKind,
    problem: PageProblem,
}

impl FailurePage {
    /// The failure page of `kind` for `problem`.
    pub fn new(kind: PageKind, problem: PageProblem) -> Self {
        Self { kind, problem }
    }
}

impl IntoResponse for FailurePage {
    fn into_response(self) -> Response {
        let status = self.problem.status();
        match self.kind {
            PageKind::Consent => failure(status, consent_problem(self.problem)),
            PageKind::Account => crate::routes::signin::failure(
                status,
                crate::routes::signin::problem_message(self.problem),
            ),
        }
    }
}

/// What a consent-page reader is told about `problem`.
fn consent_problem(problem: PageProblem) -> &'static str {
    match problem {
        PageProblem::FormStalled => "The form stopped arriving before it was complete. Check the connection and send the form again.",
        PageProblem::FormTooLarge => "The form is larger than this server accepts. Shorten the values and send it again.",
        PageProblem::FormNotUrlEncoded => "The form was not sent as a URL-encoded form. Send it from the authorization page, or start again with `base44 connectors push`.",
        PageProblem::FormUnreadable => "The form could not be read (send it from the authorization page, as a URL-encoded form). Open the authorization link again, or start again with `base44 connectors push`.",
        PageProblem::QueryUnreadable => "The provider sent the browser back with a query this server cannot read (a parameter repeated or badly encoded). Start again with `base44 connectors push`.",
        PageProblem::PathUnreadable => "This link is damaged (it does not decode as text). Open the link from the terminal again, or start again with `base44 connectors push`.",
        PageProblem::NotFound => "There is no page at this address. Open the link from the terminal again, or start again with `base44 connectors push`.",
        PageProblem::MethodNotAllowed => "This page is opened in a browser (GET), or sent from its own form (POST). Open the link from the terminal again.",
        PageProblem::TooSlow => "The server took too long to answer. Reload this page in a minute.",
    }
}

/// A method a page does not take (`PUT /connect/…`), on any page route.
pub async fn method_not_allowed(uri: Uri) -> FailurePage {
    FailurePage::new(
        crate::routes::page_kind(uri.path()).unwrap_or(PageKind::Consent),
        PageProblem::MethodNotAllowed,
    )
}

/// `GET /connect/{connection_id}`: the config form, or straight to the provider.
pub async fn connect(
    State(state): State<AppState>,
    PagePath(connection_id): PagePath<String>,
) -> Response {
    open(&state, &connection_id, None).await
}

/// `POST /connect/{connection_id}`: the config form's values.
pub async fn connect_form(
    State(state): State<AppState>,
    PagePath(connection_id): PagePath<String>,
    PageForm(values): PageForm<BTreeMap<String, String>>,
) -> Response {
    open(&state, &connection_id, Some(values)).await
}

/// The consent link's page. An app user's link that can no longer be used
/// ends like a failed consent (the app hears of it, in end-user words); a
/// builder's says how to get a new link.
async fn open(
    state: &AppState,
    connection_id: &str,
    form: Option<BTreeMap<String, String>>,
) -> Response {
    match state.engine.open_consent(connection_id, form).await {
        Err(e) if !matches!(e, ConsentError::Internal(_)) => {
            match state.engine.landing_of_connection(connection_id).await {
                Some(landing) => {
                    tracing::info!(reason = %e, "app user's consent link refused");
                    let reason =
                        end_user_reason(&e).unwrap_or_else(|| "this link was already used".into());
                    app_user_landing(&landing, Outcome::Failed(&reason))
                }
                None => consent_failure(e),
            }
        }
        result => render(state, result, connection_id),
    }
}

fn render(
    state: &AppState,
    result: Result<ConnectPage, ConsentError>,
    connection_id: &str,
) -> Response {
    match result {
        Ok(ConnectPage::Redirect {
            url,
            connection_id,
            binding,
            binding_ttl_secs,
            callback_path,
        }) => {
            let secure = if state.engine.config().public_url.starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{}={}; Path={callback_path}; Max-Age={binding_ttl_secs}; HttpOnly; SameSite=Lax{secure}",
                cookie_name(&connection_id),
                binding.expose(),
            );
            let mut response = StatusCode::FOUND.into_response();
            let headers = response.headers_mut();
            if let (Ok(location), Ok(cookie)) =
                (HeaderValue::from_str(&url), HeaderValue::from_str(&cookie))
            {
                headers.insert(LOCATION, location);
                headers.insert(SET_COOKIE, cookie);
                headers.insert("cache-control", HeaderValue::from_static("no-store"));
                response
            } else {
                failure(StatusCode::INTERNAL_SERVER_ERROR, "The provider's authorization URL is not valid; ask the operator to check the provider configuration.")
            }
        }
        Ok(ConnectPage::Form {
            display_name,
            fields,
            values,
            error,
        }) => {
            let mut inputs = String::new();
            for field in &fields {
                let value = values.get(&field.name).map(String::as_str).unwrap_or("");
                inputs.push_str(&format!(
                    "<label>{label}{req}<br><input name=\"{name}\" value=\"{value}\" placeholder=\"{ph}\"{required}></label><p class=\"help\">{help}</p>",
                    label = escape(&field.display_name),
                    req = if field.required { " *" } else { "" },
                    name = escape(&field.name),
                    value = escape(value),
                    ph = escape(&field.placeholder),
                    required = if field.required { " required" } else { "" },
                    help = escape(&field.description),
                ));
            }
            let error_html = error
                .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(&e)))
                .unwrap_or_default();
            let body = format!(
                "<p>Before connecting <b>{name}</b>, enter:</p>{error_html}\
                 <form id=\"connection-config\" method=\"post\" action=\"/connect/{id}\">{inputs}\
                 <button type=\"submit\">Continue</button></form>",
                name = escape(&display_name),
                id = escape(connection_id),
            );
            let status = if error_html.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            (
                status,
                Html(page(&format!("Connect {display_name}"), &body)),
            )
                .into_response()
        }
        Err(e) => consent_failure(e),
    }
}

fn consent_failure(e: ConsentError) -> Response {
    let status = match &e {
        ConsentError::UnknownLink => StatusCode::NOT_FOUND,
        ConsentError::Internal(inner) => {
            // Logged once by the trace middleware, with the request id.
            return ErrorCause::attach(
                failure(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on the server; the operator can find the cause in its log. Try again with `base44 connectors push`.",
                ),
                inner,
            );
        }
        ConsentError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ConsentError::Exchange(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::BAD_REQUEST,
    };
    tracing::info!(reason = %e, "consent refused");
    failure(status, &e.to_string())
}

fn failure(status: StatusCode, message: &str) -> Response {
    (status, Html(page("Authorization failed", &escape(message)))).into_response()
}

/// `GET /oauth/callback`: where providers send the browser back after
/// consent to an app's own connector.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<CallbackQuery>,
) -> Response {
    finish(state, headers, query, CALLBACK_PATH).await
}

/// `GET /api/external-auth/callback` (Base44's path): the same, after
/// consent to a connection of a workspace connector (whose OAuth app has
/// this URI registered).
pub async fn external_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<CallbackQuery>,
) -> Response {
    finish(state, headers, query, EXTERNAL_CALLBACK_PATH).await
}

/// Finishes a consent at the callback `path` (the binding cookie's path).
async fn finish(
    state: AppState,
    headers: HeaderMap,
    query: CallbackQuery,
    path: &'static str,
) -> Response {
    let params = CallbackParams {
        state: query.state,
        code: query.code,
        error: query.error,
        error_description: query.error_description,
        extra: query.extra,
    };
    let binding = |connection_id: &str| read_cookie(&headers, &cookie_name(connection_id));
    let landing = state.engine.landing_of_state(params.state.as_deref()).await;
    match state.engine.finish_consent(params, binding).await {
        Ok(connectors_engine::Completed {
            landing: Some(landing),
            display_name,
            connection_id,
            ..
        }) => {
            let mut response = app_user_landing(&landing, Outcome::Connected(&display_name));
            let clear = format!(
                "{}=; Path={path}; Max-Age=0; HttpOnly; SameSite=Lax",
                cookie_name(&connection_id),
            );
            if let Ok(v) = HeaderValue::from_str(&clear) {
                response.headers_mut().insert(SET_COOKIE, v);
            }
            response
        }
        Ok(done) => {
            // The dashboard link helps a builder who started from it; it
            // names only the app, and the page behind it needs a session.
            let body = format!(
                "<p>{} is connected. You can close this window and return to the terminal.</p>\
                 <p><a href=\"{}\">Back to the app's connectors</a></p>",
                escape(&done.display_name),
                escape(&crate::routes::dashboard::connections_url(&done.app_id)),
            );
            let mut response =
                (StatusCode::OK, Html(page("Authorization complete", &body))).into_response();
            let clear = format!(
                "{}=; Path={path}; Max-Age=0; HttpOnly; SameSite=Lax",
                cookie_name(&done.connection_id),
            );
            if let Ok(v) = HeaderValue::from_str(&clear) {
                response.headers_mut().insert(SET_COOKIE, v);
            }
            response
        }
        // An app user's consent that failed after its browser was
        // recognised: the app hears of it, in words for an end user.
        Err(e) => match (landing.as_ref(), end_user_reason(&e)) {
            (Some(landing), Some(reason)) => {
                tracing::info!(reason = %e, "app user's consent failed");
                app_user_landing(landing, Outcome::Failed(&reason))
            }
            _ => consent_failure(e),
        },
    }
}

/// `GET /stripe/claim/{token}`: Stripe's `refresh_url`, where it sends a
/// claimer whose onboarding link expired; we renew the link and go on.
pub async fn stripe_claim(
    State(state): State<AppState>,
    PagePath(token): PagePath<String>,
) -> Response {
    match state.engine.stripe_claim_link(&token).await {
        Ok(Some(url)) => match HeaderValue::from_str(&url) {
            Ok(location) => {
                let mut response = StatusCode::SEE_OTHER.into_response();
                response.headers_mut().insert(LOCATION, location);
                response
                    .headers_mut()
                    .insert("cache-control", HeaderValue::from_static("no-store"));
                response
            }
            Err(_) => stripe_page(StatusCode::BAD_GATEWAY, "Stripe answered a claim link that is not a valid URL; try again later."),
        },
        Ok(None) => stripe_page(
            StatusCode::NOT_FOUND,
            "There is no unclaimed Stripe sandbox behind this link: it was already claimed, or removed from the app. Run `base44 connectors push` with a stripe connector file to get a current claim link.",
        ),
        Err(EngineError::StripeNotConfigured) => stripe_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "This server cannot reach Stripe to renew the claim link: its operator has not configured Stripe. Ask the operator, or run `base44 connectors push` later.",
        ),
        // Logged once by the trace middleware, with the request id.
        Err(e) => ErrorCause::attach(
            stripe_page(
                StatusCode::BAD_GATEWAY,
                "Stripe could not renew the claim link right now; reload this page in a minute.",
            ),
            &e,
        ),
    }
}

fn stripe_page(status: StatusCode, message: &str) -> Response {
    (status, Html(page("Stripe sandbox", &escape(message)))).into_response()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The pages' one stylesheet, inline; the Content-Security-Policy admits it
/// by its hash ([`content_security_policy`]) and nothing else.
pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5}\
.error{color:#b00020}.help{color:#666;font-size:.9em;margin-top:.2em}input,textarea{width:100%;padding:.5em;font-size:1rem;box-sizing:border-box;font-family:inherit}fieldset{border:1px solid #ddd;border-radius:.4em;margin-top:1.2em}\
label{display:block;margin-top:1em;font-weight:600}button{margin-top:1.2em;padding:.6em 1.4em;font-size:1rem;border:0;border-radius:.3em;background:#1f4fd1;color:#fff;cursor:pointer}\
button.secondary{background:#eee;color:#222}header{display:flex;justify-content:space-between;align-items:center;gap:1em;flex-wrap:wrap}\
ul.apps{padding-left:1.2em}code{background:#f3f3f3;padding:0 .3em;border-radius:.2em}p code{overflow-wrap:anywhere}.inline{display:inline}.inline button,header p{margin:0}.after-form{margin-top:1.5em}.actions{display:flex;gap:.6em;flex-wrap:wrap;align-items:center}\
body.wide{max-width:64rem}nav.tabs{display:flex;gap:1.2em;border-bottom:1px solid #ddd;margin:1em 0 0}nav.tabs a{padding:.4em 0;text-decoration:none;color:#1f4fd1}\
nav.tabs a[aria-current=page]{font-weight:700;color:#222;border-bottom:3px solid #1f4fd1}.card{border:1px solid #ddd;border-radius:.4em;padding:.2em 1em .9em;margin:1em 0}\
.card h2{font-size:1.2em}.status{display:inline-block;padding:0 .6em;border-radius:1em;font-size:.8em;font-weight:600;vertical-align:middle}\
.status-active{background:#e3f6e8;color:#0b6b2b}.status-expired{background:#fde8e8;color:#a01010}.status-disconnected{background:#fff4d6;color:#6b4800}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1em}dl.facts dt{font-weight:600}dl.facts dd{margin:0}ul.scopes{margin:0;padding-left:1.1em}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #eee;vertical-align:top}.scroll{overflow-x:auto}\
button.danger{background:#b00020}.notice{background:#eef4ff;padding:.5em 1em;border-radius:.3em}.button-link{padding:.6em 0}.card .actions button,.actions button{margin-top:.4em}\
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}summary{cursor:pointer;margin:.5em 0}\
caption{text-align:left;font-weight:600;padding:.3em 0}\
input[type=checkbox]{width:auto;margin:0}label.check{display:flex;gap:.6em;align-items:baseline;font-weight:400;margin-top:.5em}\
.warning{background:#fde8e8;border-left:4px solid #b00020;padding:.5em 1em;border-radius:.3em;margin:1em 0}.warning p{margin:.3em 0}h2 code,dd code{overflow-wrap:anywhere}td code{overflow-wrap:break-word}.actions+.scroll{margin-top:1em}\
pre.excerpt{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f3f3;padding:.4em;margin:.3em 0;font-size:.85em;max-height:12em;overflow:auto}\
@media (max-width:36rem){dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.4em}}\
@media (max-width:36rem){table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}table.stack tr{display:block;border-bottom:1px solid #ddd;padding:.5em 0}\
table.stack td{display:block;border:0;padding:.1em 0}table.stack td[data-label]::before{content:attr(data-label) \": \";font-weight:600}}";

/// A minimal standalone HTML page.
pub fn page(title: &str, body_html: &str) -> String {
    page_with_head(title, "", body_html)
}

/// [`page`] with more elements in its `head` (already HTML).
fn page_with_head(title: &str, head_html: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{head_html}\
         <style>{STYLE}</style></head><body><h1>{t}</h1><div>{body_html}</div></body></html>",
        t = escape(title)
    )
}

/// The policy every response carries: no scripts, no frames, no plugins, no
/// other origin's resources; styles only [`STYLE`] (by its SHA-256). No
/// `form-action`, because the consent form's answer redirects to the
/// provider, and Chromium applies `form-action` to that redirect too.
pub fn content_security_policy() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The landing page's one script (allowed by its hash, like [`STYLE`]):
/// inside a popup it tells the opener, at the app's exact origin (never
/// `*`), and closes; otherwise it returns to the app's page.
const LANDING_SCRIPT: &str = "(function(){var d=document.getElementById('landing').dataset;\
var m={type:'base44:connector',connector_id:d.connector,status:d.status};if(d.error){m.error=d.error;}\
if(window.opener&&d.origin){window.opener.postMessage(m,d.origin);window.close();}\
else if(d.next){window.location.replace(d.next);}})();";

/// [`content_security_policy`] plus [`LANDING_SCRIPT`], by its SHA-256.
fn landing_policy() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(LANDING_SCRIPT));
    format!("{}; script-src 'sha256-{hash}'", content_security_policy())
}

/// How an app user's consent ended.
enum Outcome<'a> {
    /// Connected to the provider of this display name.
    Connected(&'a str),
    /// Not connected, for this reason (end-user words, no secret).
    Failed(&'a str),
}

/// What an end user may be told of a failed consent: the failures after
/// the browser was recognised (others get the generic failure page).
fn end_user_reason(e: &ConsentError) -> Option<String> {
    Some(match e {
        ConsentError::Provider(reason) => format!("the provider refused: {reason}"),
        ConsentError::Exchange(reason) => reason.clone(),
        ConsentError::MissingCode => "the provider sent no authorization code".into(),
        ConsentError::Expired => "the sign-in took too long".into(),
        ConsentError::ConnectorRemoved => {
            "the connection was removed while it was being made".into()
        }
        ConsentError::Unavailable(reason) => reason.clone(),
        _ => return None,
    })
}

/// Where an app user lands after consent (wave2.md §1.5): in a popup, its
/// opener gets `{type: "base44:connector", connector_id, status, error?}`
/// and the popup closes; in a tab, the browser goes back to the app's page
/// with `connector_id` and `connector_status` (`connected` or `failed`) in
/// its query (without script, by a `<noscript>` refresh: no server can tell
/// a popup from a tab, so wave2.md's 303 is done by the page); without a
/// page to return to, the page says what happened. No token is ever in a
/// URL.
fn app_user_landing(landing: &connectors_engine::Landing, outcome: Outcome<'_>) -> Response {
    let (status, heading, text, error) = match outcome {
        Outcome::Connected(name) => (
            "connected",
            "Connected",
            format!("{name} is connected. You can close this window."),
            None,
        ),
        Outcome::Failed(reason) => (
            "failed",
            "Not connected",
            format!("The connection was not made: {reason}. Close this window and try again from the app."),
            Some(reason),
        ),
    };
    let back = landing.return_to.as_deref().and_then(|url| {
        let mut url = url::Url::parse(url).ok()?;
        url.query_pairs_mut()
            .append_pair("connector_id", &landing.connector_id)
            .append_pair("connector_status", status);
        Some(url)
    });
    let origin = back.as_ref().map(|u| u.origin().ascii_serialization());
    let (refresh, link) = back
        .as_ref()
        .map(|u| {
            let url = escape(u.as_str());
            (
                format!(
                    "<noscript><meta http-equiv=\"refresh\" content=\"0; url={url}\"></noscript>"
                ),
                format!("<p><a href=\"{url}\">Back to the app</a></p>"),
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<p id=\"landing\" data-connector=\"{}\" data-status=\"{status}\" data-error=\"{}\" \
         data-origin=\"{}\" data-next=\"{}\">{}</p>{link}<script>{LANDING_SCRIPT}</script>",
        escape(&landing.connector_id),
        escape(error.unwrap_or("")),
        escape(origin.as_deref().unwrap_or("")),
        escape(back.as_ref().map_or("", |u| u.as_str())),
        escape(&text),
    );
    let mut response = (
        StatusCode::OK,
        Html(page_with_head(heading, &refresh, &body)),
    )
        .into_response();
    if let Ok(policy) = HeaderValue::from_str(&landing_policy()) {
        response
            .headers_mut()
            .insert(CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
