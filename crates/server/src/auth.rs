//! Extracting the caller and its authorization from a request, so that a
//! handler's signature proves the check: a builder handler takes
//! [`BuilderApp`], the token handler takes [`ServiceApp`].

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use connectors_engine::{AuthorizedApp, Credential, EngineError, IntegrationType, Principal};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// The npm CLI's API key header.
const API_KEY: HeaderName = HeaderName::from_static("api_key");

/// Reads `api_key` (preferred, as the npm CLI sends it) or `Authorization: Bearer`.
/// A present but malformed header is refused rather than ignored.
fn credential(headers: &HeaderMap) -> Result<Credential<'_>, EngineError> {
    if let Some(value) = headers.get(&API_KEY) {
        return value
            .to_str()
            .map(Credential::ApiKey)
            .map_err(|_| EngineError::Unauthorized);
    }
    if let Some(value) = headers.get(AUTHORIZATION) {
        return bearer(value)
            .map(Credential::Bearer)
            .ok_or(EngineError::Unauthorized);
    }
    Ok(Credential::None)
}

/// The token of a `Bearer <token>` header value (exactly two words, as the
/// SDK's `createClientFromRequest` requires).
fn bearer(value: &axum::http::HeaderValue) -> Option<&str> {
    let mut words = value.to_str().ok()?.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some(scheme), Some(token), None)
            if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() =>
        {
            Some(token)
        }
        _ => None,
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = credential(&parts.headers)?;
        Ok(Caller(state.engine.authenticate(credential).await?))
    }
}

/// The `{app_id}` segment of `/api/apps/{app_id}/…`.
#[derive(Deserialize)]
struct AppSegment {
    app_id: String,
}

/// The two inputs of every app check: who calls, and the path's app id.
/// An app user's token counts as a caller of its own app, so that builder
/// and service routes refuse it with 403 rather than 401.
async fn caller_and_app(
    parts: &mut Parts,
    state: &AppState,
) -> Result<(Principal, String), ApiError> {
    let Path(AppSegment { app_id }) = Path::from_request_parts(parts, state).await?;
    let caller = caller_for_app(&parts.headers, state, &app_id).await?;
    Ok((caller, app_id))
}

/// Who calls, by the credential in `headers`, on a route of `app_id`.
async fn caller_for_app(
    headers: &HeaderMap,
    state: &AppState,
    app_id: &str,
) -> Result<Principal, ApiError> {
    let credential = credential(headers)?;
    Ok(state
        .engine
        .authenticate_for_app(credential, app_id)
        .await?)
}

/// The check of [`ServiceApp`] on an app id already taken from the path:
/// the extractor and the token route's fast path (`crate::front`) both
/// call it, so they answer alike.
pub(crate) async fn service_app(
    headers: &HeaderMap,
    state: &AppState,
    app_id: &str,
) -> Result<connectors_engine::ServiceApp, ApiError> {
    let caller = caller_for_app(headers, state, app_id).await?;
    Ok(state.engine.service_app(&caller, app_id)?)
}

/// The check of [`TypeParam`] on the path's raw segment.
pub(crate) fn integration_type(segment: String) -> Result<IntegrationType, ApiError> {
    Ok(IntegrationType::new(segment).map_err(EngineError::from)?)
}

/// The `{integration_type}` segment of a route.
#[derive(Deserialize)]
struct TypeSegment {
    integration_type: String,
}

/// A builder allowed to act on the app of the path: 401 without a valid
/// credential, 403 for a service token, 404 for another workspace's app.
#[derive(Debug, Clone)]
pub struct BuilderApp(pub AuthorizedApp);

impl FromRequestParts<AppState> for BuilderApp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (caller, app_id) = caller_and_app(parts, state).await?;
        Ok(BuilderApp(
            state.engine.builder_app(&caller, &app_id).await?,
        ))
    }
}

/// The app of the path, called by its own service token: 401 for another
/// app's token, 403 for a builder credential.
#[derive(Debug, Clone)]
pub struct ServiceApp(pub connectors_engine::ServiceApp);

impl FromRequestParts<AppState> for ServiceApp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(AppSegment { app_id }) = Path::from_request_parts(parts, state).await?;
        Ok(ServiceApp(
            service_app(&parts.headers, state, &app_id).await?,
        ))
    }
}

/// The `{integration_type}` of the path, checked once here; an invalid one
/// is a 400 `INVALID_INPUT` naming the rule.
#[derive(Debug, Clone)]
pub struct TypeParam(pub IntegrationType);

impl FromRequestParts<AppState> for TypeParam {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(TypeSegment { integration_type }) = Path::from_request_parts(parts, state).await?;
        Ok(TypeParam(self::integration_type(integration_type)?))
    }
}

/// The `{connector_id}` of the path: a workspace connector's id, checked by
/// the engine (an id of the wrong shape is simply not found).
#[derive(Debug, Clone)]
pub struct ConnectorIdParam(pub String);

#[derive(Deserialize)]
struct ConnectorSegment {
    connector_id: String,
}

impl FromRequestParts<AppState> for ConnectorIdParam {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(ConnectorSegment { connector_id }) =
            Path::from_request_parts(parts, state).await?;
        Ok(ConnectorIdParam(connector_id))
    }
}

/// A builder administering the workspace of the path: 401 without a valid
/// credential, 403 for a service token, 404 for another workspace.
#[derive(Debug, Clone)]
pub struct BuilderWorkspace(pub connectors_engine::AuthorizedWorkspace);

#[derive(Deserialize)]
struct WorkspaceSegment {
    workspace_id: String,
}

impl FromRequestParts<AppState> for BuilderWorkspace {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(caller) = Caller::from_request_parts(parts, state).await?;
        let Path(WorkspaceSegment { workspace_id }) =
            Path::from_request_parts(parts, state).await?;
        Ok(BuilderWorkspace(
            state.engine.builder_workspace(&caller, &workspace_id)?,
        ))
    }
}

/// The app user the path's app-user route acts for, by their token in
/// `Authorization: Bearer`: 401 without a valid one, 403 for a service token
/// or builder credential (they act for no user).
#[derive(Debug, Clone)]
pub struct AppUserCaller(pub connectors_engine::AppUser);

impl FromRequestParts<AppState> for AppUserCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (caller, _) = caller_and_app(parts, state).await?;
        match caller {
            Principal::AppUser(user) => Ok(AppUserCaller(user)),
            _ => Err(EngineError::AppUserOnly.into()),
        }
    }
}

/// The app user a service call acts on behalf of: `on-behalf-of: Bearer
/// <app-user token>`, as the SDK sends it (protocol.md §2.5). Extract it
/// after [`ServiceApp`], so the SDK mock's order holds: no or foreign
/// service token 401, a non-service caller 403, then no user 401.
#[derive(Debug, Clone)]
pub struct OnBehalfOf(pub connectors_engine::AppUser);

impl FromRequestParts<AppState> for OnBehalfOf {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(AppSegment { app_id }) = Path::from_request_parts(parts, state).await?;
        let token = parts
            .headers
            .get("on-behalf-of")
            .and_then(bearer)
            .ok_or(EngineError::Unauthorized)?;
        Ok(OnBehalfOf(state.engine.app_user(&app_id, token).await?))
    }
}
