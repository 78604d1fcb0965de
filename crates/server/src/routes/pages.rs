//! Browser pages: where a `redirect_url` leads.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;

use crate::extract::Path;
use crate::state::AppState;

/// `GET /connect/{connection_id}`: the start of a builder's consent.
pub async fn connect(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
) -> (StatusCode, Html<String>) {
    let attempt = state
        .engine
        .store()
        .get_attempt(&connection_id)
        .await
        .ok()
        .flatten();
    match attempt {
        Some(attempt) => (
            StatusCode::NOT_IMPLEMENTED,
            Html(page(
                "Consent not available yet",
                &format!(
                    "This server recorded the authorization request for <b>{}</b>, but it cannot start the provider's consent yet. Ask the operator to upgrade the connectors server.",
                    escape(&attempt.integration_type)
                ),
            )),
        ),
        None => (
            StatusCode::NOT_FOUND,
            Html(page(
                "Authorization link not found",
                "This authorization link is unknown or was removed. Run <code>base44 connectors push</code> again for a new link.",
            )),
        ),
    }
}

/// A minimal standalone HTML page.
pub fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}</style>\
         </head><body><h1>{t}</h1><p>{body_html}</p></body></html>",
        t = escape(title)
    )
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
