//! The two error types: [`OAuthError`] for requests we cannot build (a
//! configuration problem), [`TokenError`] for what the provider answered.

/// A request could not be built from the provider description and inputs.
///
/// These are configuration or programming errors, found before anything is
/// sent; each message says what to set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// A `{placeholder}` of a URL template has no value.
    #[error("`{{{name}}}` in `{template}` has no value: set `{name}` in the connector's connection_config (or a `placeholder_defaults` entry for the provider)")]
    MissingPlaceholder {
        /// The placeholder name.
        name: String,
        /// The URL template.
        template: String,
    },
    /// A placeholder value would change the URL's structure.
    #[error("connection_config `{name}` may hold only letters, digits, `.`, `-`, `_` and `~` to be used in a URL")]
    InvalidPlaceholderValue {
        /// The placeholder name.
        name: String,
    },
    /// A URL (template) is not a usable endpoint.
    #[error("OAuth endpoint `{url}` is not usable: {reason}; fix `authorization_url`, `token_url` or `revocation_url` of the provider")]
    InvalidUrl {
        /// The URL or template as configured.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The client id is empty.
    #[error("the OAuth client has no client id: set `client_id` for the provider")]
    MissingClientId,
    /// The provider needs a client secret and none is configured.
    #[error("the OAuth client has no client secret, but the provider {needs}: set `client_secret` for the provider")]
    MissingClientSecret {
        /// Why it is needed, e.g. "authenticates clients with HTTP Basic".
        needs: &'static str,
    },
    /// The provider uses PKCE and no challenge or verifier was given.
    #[error("the provider uses PKCE (S256) but no code {what} was given")]
    MissingPkce {
        /// `challenge` or `verifier`.
        what: &'static str,
    },
    /// `authorization_params` tries to set a parameter the flow owns.
    #[error("`authorization_params` may not set `{name}`, which the OAuth flow sets itself; remove it from the provider")]
    ReservedParameter {
        /// The parameter name.
        name: String,
    },
}

/// Why a token request or revocation failed.
///
/// Neither variant ever holds a token or the provider's raw body: only the
/// provider's `error` / `error_description` (shortened, scrubbed of token
/// values), HTTP status codes and short reasons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The provider refused the grant for good (e.g. `invalid_grant`,
    /// `invalid_client`, `unauthorized_client`, `unsupported_grant_type`,
    /// `invalid_scope`, or Slack `ok: false` errors such as
    /// `invalid_refresh_token`, `token_revoked`, `invalid_code`): the connector
    /// needs re-authorization; never retry.
    #[error("the provider refused the grant: `{error}`{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Permanent {
        /// The provider's error code.
        error: String,
        /// The provider's description, if any.
        description: Option<String>,
    },
    /// Worth retrying later: HTTP 5xx, 429, 408, a timeout, a refused
    /// connection, a body that is not the expected JSON, Slack `ratelimited`
    /// or `internal_error`, or a request that could not be built (its text
    /// says what to configure).
    #[error("token request failed, retry later: {reason}")]
    Transient {
        /// What happened.
        reason: String,
        /// How long the provider asked to wait (`Retry-After`), in seconds.
        retry_after_secs: Option<u64>,
    },
}

impl TokenError {
    /// Whether the connector needs re-authorization.
    pub fn is_permanent(&self) -> bool {
        matches!(self, TokenError::Permanent { .. })
    }

    /// A transient failure for `reason`, with no `Retry-After`.
    pub fn transient(reason: impl Into<String>) -> Self {
        TokenError::Transient {
            reason: reason.into(),
            retry_after_secs: None,
        }
    }

    /// How long the provider asked to wait before the next try, if it said.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            TokenError::Transient {
                retry_after_secs, ..
            } => *retry_after_secs,
            TokenError::Permanent { .. } => None,
        }
    }
}

impl From<OAuthError> for TokenError {
    /// A request that cannot be built fails transiently: re-authorizing does
    /// not help, fixing the configuration does.
    fn from(error: OAuthError) -> Self {
        TokenError::transient(error.to_string())
    }
}
