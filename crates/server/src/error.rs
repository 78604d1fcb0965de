//! One error type for every handler: a status and an [`ErrorBody`].
//!
//! Turning an error into a response has no side effect: the cause of a
//! server-side failure rides in the response as an [`ErrorCause`], and the
//! front (`crate::front`) logs it once, with the request id.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use connectors_engine::EngineError;
use connectors_wire::ErrorBody;

/// Why a 5xx happened, in words for the server log (never sent to the
/// client: it may name tables or keys, never secrets).
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

impl ErrorCause {
    /// Attaches `cause` to `response` for the log.
    pub fn attach(mut response: Response, cause: impl ToString) -> Response {
        response
            .extensions_mut()
            .insert(ErrorCause(cause.to_string()));
        response
    }
}

/// Whether `error` (or one of its sources) is a request body that stopped
/// arriving for longer than the body-read timeout.
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// What a handler answers when it cannot answer normally.
#[derive(Debug)]
pub enum ApiError {
    /// A domain refusal or failure.
    Engine(EngineError),
    /// A request problem found before the engine ran.
    Request {
        /// HTTP status.
        status: StatusCode,
        /// Stable code.
        code: &'static str,
        /// What went wrong and what to do.
        detail: String,
    },
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self::Engine(e)
    }
}

impl ApiError {
    /// A 400 with `INVALID_INPUT`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::Request {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_INPUT",
            detail: detail.into(),
        }
    }

    /// A 408: the request body stopped arriving.
    pub fn body_timeout() -> Self {
        Self::Request {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "REQUEST_TIMEOUT",
            detail: "the request body stopped arriving before it was complete; send the whole body (as long as its content-length says) without pausing, and retry".into(),
        }
    }

    /// A 503: the request took longer than the server allows one.
    pub fn too_slow(limit: std::time::Duration) -> Self {
        Self::Request {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "TIMEOUT",
            detail: format!(
                "the server could not answer within {} s; retry later, and if it keeps happening the operator can find the cause in the server log under this request's X-Request-ID",
                limit.as_secs_f64()
            ),
        }
    }

    /// A 404 for a path that names no endpoint.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::Request {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            detail: format!(
                "no endpoint {method} {path}; see /openapi.json for the API, and check BASE44_API_URL is a bare origin such as http://127.0.0.1:8044"
            ),
        }
    }
}

pub(crate) fn engine_status(e: &EngineError) -> StatusCode {
    use EngineError::*;
    match e {
        Unauthorized | ApiKeyRevoked | ServiceTokenRevoked | LoginExpired | LoginRevoked => {
            StatusCode::UNAUTHORIZED
        }
        UserCodeNotFound => StatusCode::NOT_FOUND,
        TooManyCodeAttempts { .. } | TooManyAppUserTokens { .. } | TooManyConsents { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        IdentityProviderUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceOnly | BuilderOnly => StatusCode::FORBIDDEN,
        AppNotFound(_)
        | ConnectorNotFound(_)
        | AttemptNotFound { .. }
        | ApiKeyNotFound(_)
        | ServiceTokenNotFound(_)
        | WorkspaceNotFound(_)
        | WorkspaceConnectorNotFound(_)
        | WebhookEndpointNotFound(_)
        | WorkspaceConnectionNotFound(_)
        | ProxyNotConfigured(_) => StatusCode::NOT_FOUND,
        ConnectionsDisabled { .. } | AppUserOnly => StatusCode::FORBIDDEN,
        AppUserConnectorNotConfigured(_)
        | NoActiveAppUserConnection
        | AppUserConnectionNotFound(_) => StatusCode::NOT_FOUND,
        ServerMisconfigured(_) => StatusCode::SERVICE_UNAVAILABLE,
        InvalidType(_)
        | InvalidScopes(_)
        | BadRequest(_)
        | UnknownType { .. }
        | StripeIsNotOAuth => StatusCode::BAD_REQUEST,
        ProviderNotConfigured(..) | StripeNotConfigured => StatusCode::UNPROCESSABLE_ENTITY,
        StripeFailed(_) => StatusCode::BAD_GATEWAY,
        StripeBusy | NeedsReauthorization { .. } | Conflict(_) => StatusCode::CONFLICT,
        ProviderUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ProxyQuotaExhausted => StatusCode::PAYMENT_REQUIRED,
        Store(_) | Vault(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Engine(e) => {
                let status = engine_status(&e);
                if e.is_internal() || status == StatusCode::INTERNAL_SERVER_ERROR {
                    // The cause may name tables or keys: for the log, never
                    // for the client.
                    let body = ErrorBody {
                        detail: "internal server error; the operator can find the cause in the server log under this request's X-Request-ID".into(),
                        code: Some("INTERNAL_ERROR".into()),
                    };
                    ErrorCause::attach(
                        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response(),
                        &e,
                    )
                } else {
                    let body = ErrorBody {
                        detail: e.to_string(),
                        code: e.code().map(str::to_string),
                    };
                    let response = (status, Json(body)).into_response();
                    if status.is_server_error() {
                        ErrorCause::attach(response, &e)
                    } else {
                        response
                    }
                }
            }
            ApiError::Request {
                status,
                code,
                detail,
            } => (
                status,
                Json(ErrorBody {
                    detail,
                    code: Some(code.into()),
                }),
            )
                .into_response(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if is_body_timeout(&rejection) {
            return ApiError::body_timeout();
        }
        let status = rejection.status();
        let (code, hint) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "send a smaller body"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "UNSUPPORTED_MEDIA_TYPE",
                "send the body as JSON with `content-type: application/json`",
            ),
            _ => (
                "INVALID_INPUT",
                "send a JSON body such as {\"scopes\": [\"scope-a\"]}",
            ),
        };
        ApiError::Request {
            status: if status == StatusCode::UNPROCESSABLE_ENTITY {
                StatusCode::BAD_REQUEST
            } else {
                status
            },
            code,
            detail: format!("{}; {hint}", rejection.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(format!(
            "{}; pass integration_type and connection_id as query parameters",
            rejection.body_text()
        ))
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        ApiError::bad_request(format!("{}; check the URL", rejection.body_text()))
    }
}
