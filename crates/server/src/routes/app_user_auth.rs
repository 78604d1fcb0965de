//! App users' connections (#13.4), the SDK's routes under
//! `/api/apps/{app_id}/app-user-auth/connectors/{connector_id}`:
//! `initiate` and `DELETE` are called from the app's pages in the user's
//! browser (so they answer CORS, for the app's allowed origins only), and
//! `token` from the app's backend functions.

use axum::extract::State;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, CACHE_CONTROL, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;

use connectors_wire::{AppUserConnection, AppUserConnectionList};

use crate::auth::{AppUserCaller, BuilderApp, ConnectorIdParam, OnBehalfOf, ServiceApp};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

/// The headers the SDK sends from a browser (protocol.md §2.5).
const ALLOWED_HEADERS: &str =
    "authorization, content-type, accept, x-app-id, x-origin-url, x-base44-anonymous-id";

/// The routes, at their full paths.
pub fn router() -> Router<AppState> {
    const BASE: &str = "/api/apps/{app_id}/app-user-auth/connectors/{connector_id}";
    Router::new()
        .route(
            &format!("{BASE}/initiate"),
            post(initiate).options(preflight),
        )
        .route(BASE, delete(disconnect).options(preflight))
        .route(&format!("{BASE}/token"), get(token))
        .route(
            "/api/apps/{app_id}/app-users/{subject}/connectors/{connector_id}/token",
            get(named_token),
        )
        .route("/api/apps/{app_id}/app-user-connections", get(connections))
        .route(
            "/api/apps/{app_id}/app-user-connections/{user_id}/{connector_id}",
            delete(builder_disconnect),
        )
}

/// `{app_id}` of the path.
#[derive(Deserialize)]
struct AppSegment {
    app_id: String,
}

/// The request's `Origin`, when the app allows it (its app-user settings):
/// the one value `Access-Control-Allow-Origin` may echo.
async fn allowed_origin(
    state: &AppState,
    app_id: &str,
    headers: &HeaderMap,
) -> Option<HeaderValue> {
    let origin = headers.get(ORIGIN)?;
    let text = origin.to_str().ok()?;
    let settings = state.engine.app_user_settings_of(app_id).await.ok()?;
    connectors_engine::origin_allowed(&settings, text).then(|| origin.clone())
}

/// Adds the CORS grant (or nothing) and `Vary: Origin`.
fn with_cors(mut response: Response, origin: Option<HeaderValue>) -> Response {
    let headers = response.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

/// `OPTIONS` (a browser's preflight): granted only to the app's allowed
/// origins; others get no CORS headers, so the browser sends nothing.
async fn preflight(
    State(state): State<AppState>,
    Path(AppSegment { app_id }): Path<AppSegment>,
    headers: HeaderMap,
) -> Response {
    let origin = allowed_origin(&state, &app_id, &headers).await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if origin.is_some() {
        let h = response.headers_mut();
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, DELETE"),
        );
        h.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    with_cors(response, origin)
}

/// Answer of `initiate` (the SDK mock's keys).
#[derive(serde::Serialize)]
struct InitiateResponse {
    redirect_url: String,
    connection_id: String,
    already_authorized: bool,
}

/// `POST …/initiate` (`connectAppUser`): a consent link for the user.
async fn initiate(
    State(state): State<AppState>,
    Path(AppSegment { app_id }): Path<AppSegment>,
    ConnectorIdParam(connector_id): ConnectorIdParam,
    headers: HeaderMap,
    user: Result<AppUserCaller, ApiError>,
) -> Response {
    let origin = allowed_origin(&state, &app_id, &headers).await;
    let page = headers.get("x-origin-url").and_then(|v| v.to_str().ok());
    let answer = async {
        let AppUserCaller(user) = user?;
        let consent = state
            .engine
            .connect_app_user(&user, &connector_id, page)
            .await?;
        Ok::<_, ApiError>(Json(InitiateResponse {
            redirect_url: consent.redirect_url,
            connection_id: consent.connection_id,
            already_authorized: consent.already_authorized,
        }))
    }
    .await;
    with_cors(answer.into_response(), origin)
}

/// `DELETE …` (`disconnectAppUser`).
async fn disconnect(
    State(state): State<AppState>,
    Path(AppSegment { app_id }): Path<AppSegment>,
    ConnectorIdParam(connector_id): ConnectorIdParam,
    headers: HeaderMap,
    user: Result<AppUserCaller, ApiError>,
) -> Response {
    let origin = allowed_origin(&state, &app_id, &headers).await;
    let answer = async {
        let AppUserCaller(user) = user?;
        Ok::<_, ApiError>(Json(
            state
                .engine
                .disconnect_app_user(&user, &connector_id)
                .await?,
        ))
    }
    .await;
    with_cors(answer.into_response(), origin)
}

/// `GET …/token` (`getCurrentAppUserConnection`): the service token, then
/// the user it acts for (the SDK mock's order: 401, 403, 401, 404).
async fn token(
    State(state): State<AppState>,
    ServiceApp(app): ServiceApp,
    OnBehalfOf(user): OnBehalfOf,
    ConnectorIdParam(connector_id): ConnectorIdParam,
) -> Result<impl IntoResponse, ApiError> {
    let answer = state
        .engine
        .app_user_token(&app, &user, &connector_id)
        .await?;
    Ok(([(CACHE_CONTROL, "no-store")], Json(answer)))
}

/// `{subject}` of the path: the user as the app names them.
#[derive(Deserialize)]
struct SubjectSegment {
    subject: String,
}

/// `?issuer=` of the named read: whose subject it is (by default this
/// server's minted tokens, then the app's identity provider).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerQuery {
    issuer: Option<String>,
}

/// `GET /api/apps/{app_id}/app-users/{subject}/connectors/{connector_id}/token`:
/// for scheduled jobs, a named user's token, to the app's service token.
async fn named_token(
    State(state): State<AppState>,
    ServiceApp(app): ServiceApp,
    Path(SubjectSegment { subject }): Path<SubjectSegment>,
    ConnectorIdParam(connector_id): ConnectorIdParam,
    Query(query): Query<IssuerQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let answer = state
        .engine
        .named_app_user_token(&app, &subject, query.issuer.as_deref(), &connector_id)
        .await?;
    Ok(([(CACHE_CONTROL, "no-store")], Json(answer)))
}

/// `GET /api/apps/{app_id}/app-user-connections`: the app's users'
/// connections, for its builders.
async fn connections(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
) -> Result<Json<AppUserConnectionList>, ApiError> {
    let connections = state
        .engine
        .list_app_user_connections(&app)
        .await?
        .into_iter()
        .map(|c| AppUserConnection {
            user_id: c.user.id,
            issuer: c.user.issuer,
            subject: c.user.subject,
            email: c.user.email,
            connector_id: c.connector_id,
            integration_type: c.integration_type,
            status: c.status.as_str().to_string(),
            granted_scopes: c.granted_scopes,
            updated_at: c.updated_at,
        })
        .collect();
    Ok(Json(AppUserConnectionList { connections }))
}

/// `{user_id}` of the path: the user's opaque id on this server.
#[derive(Deserialize)]
struct UserSegment {
    user_id: String,
}

/// `DELETE /api/apps/{app_id}/app-user-connections/{user_id}/{connector_id}`:
/// a builder ends a user's connection (revoked at the provider).
async fn builder_disconnect(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    Path(UserSegment { user_id }): Path<UserSegment>,
    ConnectorIdParam(connector_id): ConnectorIdParam,
) -> Result<Json<connectors_wire::Disconnected>, ApiError> {
    Ok(Json(
        state
            .engine
            .builder_disconnect_app_user(&app, &user_id, &connector_id)
            .await?,
    ))
}
