//! `GET /api/apps/{app_id}/external-auth/tokens/{type}`: the only route that
//! hands out provider tokens, and only to the app's own service token.
//!
//! Every backend function calls it, so it is also served before the router
//! ([`fast`], called by `crate::front`); both ways run [`connector_token`].

use axum::body::{Body, HttpBody};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use connectors_engine::IntegrationType;
use connectors_wire::ConnectorTokenResponse;

use crate::auth::{self, ConnectorIdParam, ServiceApp, TypeParam};
use crate::endpoint::{counted, Route};
use crate::error::ApiError;
use crate::front::Fast;
use crate::state::AppState;

/// The route's template, also its label in `/metrics`.
pub const PATH: &str = "/api/apps/{app_id}/external-auth/tokens/{integration_type}";

/// Answers a fresh token; `Cache-Control: no-store` keeps it out of caches.
pub async fn token(
    State(state): State<AppState>,
    ServiceApp(app): ServiceApp,
    TypeParam(integration_type): TypeParam,
) -> Result<Response, ApiError> {
    connector_token(&state, &app, &integration_type).await
}

/// The route's answer once the caller is checked and the type parsed: the
/// handler and the fast path both end here.
async fn connector_token(
    state: &AppState,
    app: &connectors_engine::ServiceApp,
    integration_type: &IntegrationType,
) -> Result<Response, ApiError> {
    let answer: ConnectorTokenResponse =
        state.engine.connector_token(app, integration_type).await?;
    Ok(token_response(answer))
}

/// A token's answer, uncacheable: what `([(CACHE_CONTROL, "no-store")],
/// Json(answer))` answers, built by hand with room for the headers
/// `crate::front` adds, so that the map is not regrown.
fn token_response(answer: ConnectorTokenResponse) -> Response {
    let Ok(body) = serde_json::to_vec(&answer) else {
        // Not reached (strings only); axum's answer to a failure.
        return Json(answer).into_response();
    };
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    *headers = HeaderMap::with_capacity(8);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `{app_id}` and `{integration_type}` of a path of this route that
/// needs no percent-decoding (the router's `Path` would decode it).
fn segments(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/api/apps/")?;
    let (app_id, rest) = rest.split_once('/')?;
    let integration_type = rest.strip_prefix("external-auth/tokens/")?;
    let plain = |s: &str| !s.is_empty() && !s.bytes().any(|b| b == b'/' || b == b'%');
    (plain(app_id) && plain(integration_type)).then_some((app_id, integration_type))
}

/// Whether the fast path serves `request`: a GET of this route, without a
/// body and without anything to decode in its path. Anything else (HEAD,
/// other methods, a body, an encoded or empty segment) goes to the router.
pub(crate) fn takes<B: HttpBody>(request: &Request<B>) -> bool {
    request.method() == Method::GET
        && request.body().is_end_stream()
        && segments(request.uri().path()).is_some()
}

/// The route served before the router, for a request [`takes`] accepted:
/// the same checks in the same order as the handler's extractors
/// ([`auth::service_app`], then [`auth::integration_type`]), the same
/// answer, under the same count and deadline as the router's routes.
pub(crate) async fn fast(fast: &Fast, parts: Parts) -> Response {
    let Some((app_id, integration_type)) = segments(parts.uri.path()) else {
        // Not reached: `takes` checked the path. What the router answers.
        return ApiError::no_route(parts.method.as_str(), parts.uri.path()).into_response();
    };
    let state = &fast.state;
    let answer = async {
        let app = auth::service_app(&parts.headers, state, app_id).await?;
        let integration_type = auth::integration_type(integration_type.to_owned())?;
        connector_token(state, &app, &integration_type).await
    };
    let answer = async {
        match answer.await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    };
    counted(
        &state.metrics,
        fast.deadline,
        &parts.method,
        Some(Route::Known(fast.route)),
        None,
        answer,
    )
    .await
}

/// `GET /api/apps/{app_id}/external-auth/tokens/connectors/{connector_id}`
/// (`getWorkspaceConnection`): the app's shared connection of a workspace
/// connector.
pub async fn workspace_token(
    State(state): State<AppState>,
    ServiceApp(app): ServiceApp,
    ConnectorIdParam(connector_id): ConnectorIdParam,
) -> Result<impl IntoResponse, ApiError> {
    let answer: ConnectorTokenResponse = state
        .engine
        .workspace_connection_token(&app, &connector_id)
        .await?;
    Ok(([(CACHE_CONTROL, "no-store")], Json(answer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_of_the_route_are_taken() {
        assert_eq!(
            segments("/api/apps/a1/external-auth/tokens/slack"),
            Some(("a1", "slack"))
        );
        for path in [
            "/api/apps/a1/external-auth/tokens/connectors/c1",
            "/api/apps/a1/external-auth/tokens/slack/",
            "/api/apps/a1/external-auth/tokens/",
            "/api/apps//external-auth/tokens/slack",
            "/api/apps/a%31/external-auth/tokens/slack",
            "/api/apps/a1/external-auth/tokens/sl%61ck",
            "/api/apps/a1/external-auth/integrations/slack",
            "/api/apps/a1/b/external-auth/tokens/slack",
        ] {
            assert_eq!(segments(path), None, "{path}");
        }
    }
}
