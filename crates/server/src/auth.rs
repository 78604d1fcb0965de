//! Extracting the caller from request headers.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use connectors_engine::{Credential, EngineError, Principal};

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// Reads `api_key` (preferred, as the npm CLI sends it) or `Authorization: Bearer`.
/// A present but malformed header is refused rather than ignored.
fn credential(parts: &Parts) -> Result<Credential<'_>, EngineError> {
    if let Some(value) = parts.headers.get("api_key") {
        return value
            .to_str()
            .map(Credential::ApiKey)
            .map_err(|_| EngineError::Unauthorized);
    }
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let text = value.to_str().map_err(|_| EngineError::Unauthorized)?;
        let mut words = text.split(' ');
        return match (words.next(), words.next(), words.next()) {
            (Some(scheme), Some(token), None)
                if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() =>
            {
                Ok(Credential::Bearer(token))
            }
            _ => Err(EngineError::Unauthorized),
        };
    }
    Ok(Credential::None)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = credential(parts)?;
        Ok(Caller(state.engine.authenticate(credential).await?))
    }
}
