//! The engine's error: one variant per thing a caller can be told.

use connectors_store::StoreError;
use connectors_vault::VaultError;
use connectors_wire::InvalidIntegrationType;

/// Why a use case refused or failed. `Display` texts are shown to callers
/// (except for the internal variants) and say what to do next.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No, malformed or unknown credential, or a service token of another app.
    #[error("Unauthorized")]
    Unauthorized,
    /// A revoked API key.
    #[error("Unauthorized: this API key has been revoked; ask the server's operator for a new one (`connectors-server create-api-key --email <you>`) and set BASE44_API_KEY to it")]
    ApiKeyRevoked,
    /// A revoked service token.
    #[error("Unauthorized: this service token has been revoked; issue a new one (`connectors-server create-service-token --app-id <app>`) and give it to the app's backend functions")]
    ServiceTokenRevoked,
    /// No API key with this id that the caller may see.
    #[error("no API key `{0}` that you may revoke; list them with GET /api/api-keys (operators: `connectors-server list-api-keys`)")]
    ApiKeyNotFound(String),
    /// No service token with this id in the app (or at all, for the operator).
    #[error("no service token `{0}` in this app; list them with GET /api/apps/{{app_id}}/service-tokens (operators: `connectors-server list-service-tokens`)")]
    ServiceTokenNotFound(String),
    /// A builder credential on a service-token-only endpoint.
    #[error("This endpoint is only accessible to service tokens")]
    ServiceOnly,
    /// A service token on a builder endpoint.
    #[error("this endpoint needs a builder credential (the `api_key` header or a login token); service tokens are accepted only by external-auth/tokens")]
    BuilderOnly,
    /// The app does not exist or is not in the caller's workspace.
    #[error("app `{0}` not found: check --app-id / BASE44_APP_ID, and that your API key belongs to the app's workspace")]
    AppNotFound(String),
    /// The type does not match `^[a-z0-9_-]+$`.
    #[error("invalid integration type `{0}`: it must match ^[a-z0-9_-]+$ (letters, digits, `_` and `-`)")]
    InvalidType(String),
    /// The type is neither built in nor configured.
    #[error("unknown integration type `{integration_type}`{}: run `base44 connectors list-available` to see the types this server offers, or ask the operator to add [providers.{integration_type}] to the server config", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownType {
        /// The type asked for.
        integration_type: String,
        /// The closest known type.
        suggestion: Option<String>,
    },
    /// `stripe` sent to an OAuth endpoint.
    #[error("`stripe` is not an OAuth connector: it is provisioned by `POST payments/stripe/install` (what `base44 connectors push` does for stripe.jsonc)")]
    StripeIsNotOAuth,
    /// The operator has not configured an OAuth client for the type.
    #[error("integration `{0}` has no OAuth client configured on this server: the operator must set client_id and client_secret under [providers.{0}] in the server config (or the environment variables {1}_CLIENT_ID and {1}_CLIENT_SECRET) and restart the server")]
    ProviderNotConfigured(String, String),
    /// Scopes failed validation.
    #[error("invalid scopes: {0}")]
    InvalidScopes(String),
    /// No authorized connector of this type.
    #[error("Connector connection not found: this app has no authorized `{0}` connector; run `base44 connectors push` to authorize it")]
    ConnectorNotFound(String),
    /// No such consent attempt for this app and type.
    #[error("no authorization attempt `{connection_id}` for `{integration_type}` in this app; run `base44 connectors push` again to start a new one")]
    AttemptNotFound {
        /// The type asked for.
        integration_type: String,
        /// The id asked for.
        connection_id: String,
    },
    /// The provider refused the grant; new consent is needed.
    #[error("connector `{integration_type}` needs re-authorization ({reason}); run `base44 connectors push` and complete the consent in the browser")]
    NeedsReauthorization {
        /// The type.
        integration_type: String,
        /// What the provider said.
        reason: String,
    },
    /// The provider could not be reached or answered garbage; nothing changed.
    #[error("the provider of `{integration_type}` is unavailable ({reason}); the connector is unchanged, try again shortly")]
    ProviderUnavailable {
        /// The type.
        integration_type: String,
        /// What failed.
        reason: String,
    },
    /// No Stripe platform key is configured.
    #[error("Stripe sandboxes are not available on this server: the operator must set the platform key under [stripe] api_key in the server config (or CONNECTORS_STRIPE_API_KEY) and restart the server")]
    StripeNotConfigured,
    /// Stripe refused or could not be reached.
    #[error("Stripe could not provision the sandbox: {0}; check the server's [stripe] api_key and api_base, then push again")]
    StripeFailed(String),
    /// Another install of the same app's sandbox is still running.
    #[error("another install of this app's Stripe sandbox is still in progress; run `base44 connectors push` again in a minute")]
    StripeBusy,
    /// A login's access token that has expired (the CLI refreshes it).
    #[error("Unauthorized: the login token has expired; the CLI refreshes it by itself, or run `base44 login` again")]
    LoginExpired,
    /// A login (refresh-token family) that was revoked.
    #[error("Unauthorized: this login was revoked (a refresh token was reused, or the login was signed out); run `base44 login` again")]
    LoginRevoked,
    /// No pending device login has this user code.
    #[error("no pending login request has this code: check the code the CLI shows (it expires after 10 minutes), or run `base44 login` again for a new one")]
    UserCodeNotFound,
    /// Too many wrong user codes entered recently.
    #[error("too many wrong codes entered; wait {retry_after_secs} seconds, then enter the code the CLI shows")]
    TooManyCodeAttempts {
        /// When the next attempt may be made.
        retry_after_secs: i64,
    },
    /// The workspace is not the caller's (or does not exist).
    #[error("workspace `{0}` not found: your credential belongs to another workspace (GET / on the dashboard lists yours)")]
    WorkspaceNotFound(String),
    /// No such workspace connector in the caller's workspace.
    #[error("no workspace connector `{0}` in this workspace; list them with GET /api/workspace/{{workspace_id}}/connectors")]
    WorkspaceConnectorNotFound(String),
    /// No such webhook endpoint in the app.
    #[error(
        "no webhook endpoint `{0}` in this app; list them with GET /api/apps/{{app_id}}/webhooks"
    )]
    WebhookEndpointNotFound(String),
    /// The app has no connection of the workspace connector.
    #[error("Connector connection not found: this app has no connection of workspace connector `{0}`; a builder of the app connects it (Connect on the app's dashboard, or PUT /api/apps/{{app_id}}/external-auth/connectors/{0})")]
    WorkspaceConnectionNotFound(String),
    /// The workspace connector's switch for this kind of connection is off.
    #[error("workspace connector `{connector_id}` does not allow {what}; a workspace admin can turn them on (PUT /api/workspace/{{workspace_id}}/connectors/{connector_id})")]
    ConnectionsDisabled {
        /// The workspace connector.
        connector_id: String,
        /// "builder connections" or "per-user connections".
        what: &'static str,
    },
    /// No workspace connector of that id allows this app's users to
    /// connect (the SDK mock's text first).
    #[error("Connector authorization not configured: no workspace connector `{0}` lets this app's users connect; a workspace admin creates it (POST /api/workspace/{{workspace_id}}/connectors) or turns per_user_connection_enabled on")]
    AppUserConnectorNotConfigured(String),
    /// The app user has no connection to disconnect (the SDK mock's body:
    /// no code).
    #[error("No active connection found for this connector")]
    NoActiveAppUserConnection,
    /// The app user has no connection of the connector (the SDK mock's
    /// text first).
    #[error("Connector connection not found: this user has not connected workspace connector `{0}`; the app calls connectAppUser(\"{0}\") for them first")]
    AppUserConnectionNotFound(String),
    /// An app-user route was called without an app user's token.
    #[error("this endpoint acts for an app user: send the user's token as `Authorization: Bearer <token>` (a service token or builder credential acts for no user)")]
    AppUserOnly,
    /// The server's own configuration keeps it from answering (a sealed
    /// value its keys cannot open); the text says what the operator checks.
    #[error("{0}")]
    ServerMisconfigured(String),
    /// A request was invalid in a way not covered above.
    #[error("{0}")]
    BadRequest(String),
    /// The app minted too many app-user tokens within a minute.
    #[error("too many app-user tokens minted for this app; wait {retry_after_secs} seconds, and reuse a token until it expires rather than minting one per request")]
    TooManyAppUserTokens {
        /// Seconds until another mint is accepted.
        retry_after_secs: i64,
    },
    /// The type has no API description, so `callApi` cannot reach it.
    #[error("Connector proxy not configured: `{0}` has no API hosts on this server; call a type with an API description (the operator can add `[providers.{0}.api]` with its hosts)")]
    ProxyNotConfigured(String),
    /// The app used its `[proxy] monthly_calls` this month.
    #[error("You have reached the limit of integrations for this month: this app made its monthly number of calls through the proxy; ask the operator to raise `[proxy] monthly_calls`, or wait for next month")]
    ProxyQuotaExhausted,
    /// The app user started too many consents within a minute.
    #[error("too many connections started by this user in the last minute; wait {retry_after_secs} seconds, then open the newest link (each start makes a new one)")]
    TooManyConsents {
        /// Seconds until another start is accepted.
        retry_after_secs: i64,
    },
    /// The app's identity provider's keys cannot be had, so its users'
    /// tokens cannot be checked.
    #[error("the app's identity provider cannot be reached to check this token ({0}); try again in a minute, and if this persists the app's builder should check its app-user settings")]
    IdentityProviderUnavailable(String),
    /// The request lost a race or collides with existing data (a uniqueness
    /// rule of the database); the text says which.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed (never a conflict: those become [`EngineError::Conflict`]).
    #[error(transparent)]
    Store(StoreError),
    /// Encryption failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl EngineError {
    /// A stable machine-readable code for the error body.
    pub fn code(&self) -> Option<&'static str> {
        Some(match self {
            Self::Unauthorized | Self::ServiceOnly | Self::NoActiveAppUserConnection => {
                return None
            }
            Self::AppUserConnectorNotConfigured(_) | Self::AppUserConnectionNotFound(_) => {
                "NOT_FOUND"
            }
            Self::AppUserOnly => "FORBIDDEN",
            Self::BuilderOnly => "FORBIDDEN",
            Self::ApiKeyRevoked | Self::ServiceTokenRevoked | Self::LoginRevoked => {
                "CREDENTIAL_REVOKED"
            }
            Self::LoginExpired => "TOKEN_EXPIRED",
            Self::UserCodeNotFound => "NOT_FOUND",
            Self::TooManyCodeAttempts { .. }
            | Self::TooManyAppUserTokens { .. }
            | Self::TooManyConsents { .. } => "RATE_LIMITED",
            Self::IdentityProviderUnavailable(_) => "IDENTITY_PROVIDER_UNAVAILABLE",
            Self::ApiKeyNotFound(_) | Self::ServiceTokenNotFound(_) => "NOT_FOUND",
            Self::AppNotFound(_) | Self::ConnectorNotFound(_) | Self::AttemptNotFound { .. } => {
                "NOT_FOUND"
            }
            Self::WorkspaceNotFound(_)
            | Self::WorkspaceConnectorNotFound(_)
            | Self::WebhookEndpointNotFound(_)
            | Self::WorkspaceConnectionNotFound(_)
            | Self::ProxyNotConfigured(_) => "NOT_FOUND",
            Self::ProxyQuotaExhausted => "INTEGRATION_CREDITS_LIMIT_REACHED",
            Self::ConnectionsDisabled { .. } => "FORBIDDEN",
            Self::ServerMisconfigured(_) => "SERVER_MISCONFIGURED",
            Self::InvalidType(_) | Self::InvalidScopes(_) | Self::BadRequest(_) => "INVALID_INPUT",
            Self::UnknownType { .. } => "UNKNOWN_INTEGRATION_TYPE",
            Self::StripeIsNotOAuth => "STRIPE_NOT_OAUTH",
            Self::StripeNotConfigured => "STRIPE_NOT_CONFIGURED",
            Self::StripeFailed(_) => "STRIPE_ERROR",
            Self::StripeBusy => "STRIPE_BUSY",
            Self::ProviderNotConfigured(..) => "PROVIDER_NOT_CONFIGURED",
            Self::NeedsReauthorization { .. } => "REAUTHORIZATION_REQUIRED",
            Self::ProviderUnavailable { .. } => "PROVIDER_UNAVAILABLE",
            Self::Conflict(_) => "CONFLICT",
            Self::Store(_) | Self::Vault(_) => "INTERNAL_ERROR",
        })
    }

    /// Whether this is our fault (logged, not echoed).
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Store(_) | Self::Vault(_))
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(text) => Self::Conflict(text),
            other => Self::Store(other),
        }
    }
}

impl From<InvalidIntegrationType> for EngineError {
    fn from(e: InvalidIntegrationType) -> Self {
        Self::InvalidType(e.value)
    }
}

/// Result of engine operations.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
