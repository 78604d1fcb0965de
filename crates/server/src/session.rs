//! Builder sessions in the browser: the `b44_session` cookie, the
//! [`SignedIn`] extractor the pages use, and the checks every
//! state-changing form passes ([`check_form_post`]: same origin, and a CSRF
//! token bound to the session or, before one exists, to a cookie).
//!
//! Only pages read the session cookie. The JSON API keeps authenticating by
//! `api_key` or `Authorization: Bearer` alone ([`crate::auth::Caller`]):
//! a browser never attaches those to a cross-site request by itself, so the
//! API needs no CSRF defence at all, and it stays that way as long as no API
//! route accepts the cookie.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{LOCATION, ORIGIN, REFERER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use connectors_engine::{Engine, SignedInBuilder};

use crate::routes::pages::read_cookie;
use crate::routes::signin;
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "b44_session";
/// The cookie of the signed double submit on forms shown before a session
/// exists (sign-in, invite).
pub const CSRF_COOKIE: &str = "b44_csrf";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// Where anonymous visitors of a page are sent.
pub const SIGNIN_PATH: &str = "/signin";

/// A builder signed in by the request's session cookie: the same
/// [`connectors_engine::Principal::Builder`] an API key yields. Without a
/// live session, a page is answered with a redirect to the sign-in page
/// (coming back here afterwards).
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The builder and their session's CSRF token.
    pub builder: SignedInBuilder,
    /// The session id, to end it at sign-out.
    pub session_id: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(found) = signed_in(&parts.headers, &state.engine).await? {
            return Ok(found);
        }
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        Err(redirect(&format!(
            "{SIGNIN_PATH}?next={}",
            percent_encoding::utf8_percent_encode(&here, percent_encoding::NON_ALPHANUMERIC)
        )))
    }
}

/// The live session of a request, if any (a database failure is the
/// failure page).
pub async fn signed_in(headers: &HeaderMap, engine: &Engine) -> Result<Option<SignedIn>, Response> {
    let Some(session_id) = read_cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    match engine.session(&session_id).await {
        Ok(Some(builder)) => Ok(Some(SignedIn {
            builder,
            session_id,
        })),
        Ok(None) => Ok(None),
        Err(e) => Err(signin::internal_failure(&e)),
    }
}

/// The client's IP address, for the per-address sign-in limit (the TCP
/// peer: behind a reverse proxy that is the proxy, so the limit per account
/// is what protects each account there).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
        ))
    }
}

/// A 303 to `location`, never cached.
pub fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    no_store(&mut response);
    response
}

/// Marks a response as never to be cached (it names a session or a token).
pub fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
}

/// The origin (`scheme://host[:port]`) of `public_url`.
fn origin_of(public_url: &str) -> &str {
    let after_scheme = public_url.find("://").map_or(0, |i| i + 3);
    match public_url[after_scheme..].find('/') {
        Some(i) => &public_url[..after_scheme + i],
        None => public_url,
    }
}

/// Whether a form post comes from a page of this server: its `Origin`
/// (or, when a browser sent none, its `Referer`) is `public_url`'s origin.
/// A post that says neither is refused too: browsers send `Origin` on every
/// POST, so only a non-browser client omits both.
pub fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let ours = origin_of(public_url);
    if let Some(origin) = headers.get(ORIGIN) {
        return origin.to_str().is_ok_and(|o| o.eq_ignore_ascii_case(ours));
    }
    headers
        .get(REFERER)
        .and_then(|r| r.to_str().ok())
        .is_some_and(|r| {
            r.len() >= ours.len()
                && r[..ours.len()].eq_ignore_ascii_case(ours)
                && matches!(r.as_bytes().get(ours.len()), None | Some(b'/'))
        })
}

/// Why a form post was refused before its content was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormRefusal {
    /// Posted from another site (or from nowhere a browser would say).
    CrossSite,
    /// The CSRF token is missing, stale or not this browser's.
    BadToken,
}

impl IntoResponse for FormRefusal {
    fn into_response(self) -> Response {
        let message = match self {
            FormRefusal::CrossSite => "This form was sent from another site, so it was refused: forms of this server are only accepted from its own pages. Open the sign-in page of this server and send the form from there.",
            FormRefusal::BadToken => "This form has expired or did not come from this browser's copy of the page, so it was refused. Reload the page and send the form again.",
        };
        tracing::info!(reason = ?self, "form post refused");
        let mut response = signin::failure(StatusCode::FORBIDDEN, message);
        no_store(&mut response);
        response
    }
}

/// The checks of every state-changing form: same origin, then the CSRF
/// token: the session's when `session` is given, else the sealed copy of
/// the `b44_csrf` cookie.
pub fn check_form_post(
    headers: &HeaderMap,
    engine: &Engine,
    session: Option<&SignedInBuilder>,
    token: &str,
) -> Result<(), FormRefusal> {
    if !same_origin(headers, &engine.config().public_url) {
        return Err(FormRefusal::CrossSite);
    }
    let ok = match session {
        Some(s) => s.csrf_matches(token),
        None => read_cookie(headers, CSRF_COOKIE)
            .is_some_and(|cookie| engine.anonymous_csrf_matches(&cookie, token)),
    };
    if ok {
        Ok(())
    } else {
        Err(FormRefusal::BadToken)
    }
}

/// The CSRF token for a form shown before sign-in, reusing the browser's
/// `b44_csrf` cookie when it has one (so several open tabs all work), and
/// the `Set-Cookie` to send when it had none.
pub fn anonymous_csrf(headers: &HeaderMap, engine: &Engine) -> (String, Option<String>) {
    if let Some(cookie) = read_cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 43) {
        return (engine.seal_anonymous_csrf(&cookie), None);
    }
    let (cookie, token) = engine.anonymous_csrf();
    let set = cookie_header(engine, CSRF_COOKIE, cookie.expose(), None);
    (token, Some(set))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, `Secure` when
/// the public URL is https; `max_age` `None` lasts the browser session.
pub fn cookie_header(engine: &Engine, name: &str, value: &str, max_age: Option<i64>) -> String {
    let secure = if engine.config().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let max_age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{max_age}{secure}")
}

/// Adds a `Set-Cookie` header.
pub fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(SET_COOKIE, v);
    }
}

/// `next` when it is a path on this server, else `/`: never another
/// origin (`//host`, `/\host`, a scheme), so sign-in cannot be used to
/// send someone elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.len() <= 2048
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_ever_a_local_path() {
        for (given, expected) in [
            (Some("/"), "/"),
            (Some("/apps/x?y=1"), "/apps/x?y=1"),
            (None, "/"),
            (Some("https://evil.example/"), "/"),
            (Some("//evil.example/"), "/"),
            (Some("/\\evil.example/"), "/"),
            (Some("/a\\b"), "/"),
            (Some("/a\nb"), "/"),
            (Some("javascript:alert(1)"), "/"),
            (Some(""), "/"),
        ] {
            assert_eq!(safe_next(given), expected, "{given:?}");
        }
    }

    #[test]
    fn only_our_origin_may_post() {
        let ours = "https://connectors.example";
        let check = |name: &'static str, value: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(value).unwrap());
            same_origin(&h, ours)
        };
        assert!(check("origin", "https://connectors.example"));
        assert!(check("origin", "HTTPS://Connectors.Example"));
        assert!(!check("origin", "https://evil.example"));
        assert!(!check("origin", "https://connectors.example.evil.example"));
        assert!(!check("origin", "null"));
        assert!(check("referer", "https://connectors.example/signin"));
        assert!(!check("referer", "https://connectors.example.evil/signin"));
        assert!(!check("referer", "https://evil.example/"));
        assert!(!same_origin(&HeaderMap::new(), ours));
        assert_eq!(
            origin_of("http://127.0.0.1:8044/base"),
            "http://127.0.0.1:8044"
        );
    }
}
