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

/// Where the `{app_id}` and `{integration_type}` of a path of this route
/// are, when neither needs percent-decoding (the router's `Path` would
/// decode them).
#[derive(Clone, Debug)]
pub(crate) struct Segments {
    app_id: std::ops::Range<usize>,
    integration_type: std::ops::Range<usize>,
}

const PREFIX: &str = "/api/apps/";
const MIDDLE: &str = "/external-auth/tokens/";

fn segments(path: &str) -> Option<Segments> {
    let rest = path.strip_prefix(PREFIX)?;
    let app_len = rest.find('/')?;
    let type_start = PREFIX.len() + app_len + MIDDLE.len();
    path.get(PREFIX.len() + app_len..type_start)
        .filter(|m| *m == MIDDLE)?;
    let found = Segments {
        app_id: PREFIX.len()..PREFIX.len() + app_len,
        integration_type: type_start..path.len(),
    };
    let plain = |at: &std::ops::Range<usize>| {
        path.get(at.clone())
            .is_some_and(|s| !s.is_empty() && !s.bytes().any(|b| b == b'/' || b == b'%'))
    };
    (plain(&found.app_id) && plain(&found.integration_type)).then_some(found)
}

/// The fast path takes `request` when it is a GET of this route, without a
/// body and without anything to decode in its path; anything else (HEAD,
/// other methods, a body, an encoded or empty segment) goes to the router.
pub(crate) fn takes<B: HttpBody>(request: &Request<B>) -> Option<Segments> {
    if request.method() != Method::GET || !request.body().is_end_stream() {
        return None;
    }
    segments(request.uri().path())
}

/// The route served before the router, for a request [`takes`] accepted:
/// the same checks in the same order as the handler's extractors
/// ([`auth::service_app`], then [`auth::integration_type`]), the same
/// answer, under the same count and deadline as the router's routes.
pub(crate) async fn fast(fast: &Fast, parts: Parts, at: Segments) -> Response {
    let path = parts.uri.path();
    let (Some(app_id), Some(integration_type)) =
        (path.get(at.app_id), path.get(at.integration_type))
    else {
        // Not reached: `takes` found them in this path. What the router
        // answers to a path it does not know.
        return ApiError::no_route(parts.method.as_str(), path).into_response();
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
        let path = "/api/apps/a1/external-auth/tokens/slack";
        let found = segments(path).unwrap();
        assert_eq!(
            (&path[found.app_id], &path[found.integration_type]),
            ("a1", "slack")
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
            assert!(segments(path).is_none(), "{path}");
        }
    }
}
