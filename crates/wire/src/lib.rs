//! Serde types of every HTTP body of the Base44 connectors API.
//!
//! These are the only types that cross HTTP: the server serializes them and
//! the CLI (and tests standing in for the npm CLI and `@base44/sdk`)
//! deserialize them. Field names, optionality and nullability follow
//! `protocol.md` exactly, because the real clients validate responses with
//! zod and reject a whole body over one missing key.
//!
//! This crate does no I/O and knows nothing of storage, HTTP frameworks or
//! providers.
#![deny(missing_docs)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod audit;
pub mod events;
mod proxy;
pub mod scope;
mod workspace;

pub use audit::{AuditActor, AuditEntry, AuditLog, DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE};
pub use proxy::{ProxyCallRequest, ProxyEnvelope};

pub use workspace::*;

/// The pattern every integration type must match (`/^[a-z0-9_-]+$/i` in the
/// npm CLI). Kept as a function so callers need no regex engine.
pub fn is_valid_integration_type(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An integration type that passed the one rule every layer shares: the npm
/// CLI's `/^[a-z0-9_-]+$/i` and at most [`IntegrationType::MAX_LEN`] bytes.
///
/// Built only through [`IntegrationType::new`] (also behind `FromStr`,
/// `TryFrom<String>` and `Deserialize`), so holding one proves the check was
/// made: code below the route never re-validates, and a path segment like
/// `../x` can never reach a query or a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IntegrationType(String);

/// Why a text is not an [`IntegrationType`]; its `Display` says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidIntegrationType {
    /// The refused text, cut to [`IntegrationType::MAX_LEN`] characters so an
    /// error never echoes a huge input.
    pub value: String,
}

impl std::fmt::Display for InvalidIntegrationType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not an integration type: use 1 to {} letters, digits, `_` or `-`",
            self.value,
            IntegrationType::MAX_LEN
        )
    }
}

impl std::error::Error for InvalidIntegrationType {}

impl IntegrationType {
    /// The longest accepted type, in bytes (all accepted bytes are ASCII).
    pub const MAX_LEN: usize = 100;

    /// Checks `value` against the rule.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidIntegrationType> {
        let value = value.into();
        if is_valid_integration_type(&value) && value.len() <= Self::MAX_LEN {
            Ok(Self(value))
        } else {
            Err(InvalidIntegrationType {
                value: value.chars().take(Self::MAX_LEN).collect(),
            })
        }
    }

    /// The type as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is [`STRIPE`], which is provisioned rather than authorized.
    pub fn is_stripe(&self) -> bool {
        self.0 == STRIPE
    }
}

impl std::str::FromStr for IntegrationType {
    type Err = InvalidIntegrationType;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::new(value)
    }
}

impl TryFrom<String> for IntegrationType {
    type Error = InvalidIntegrationType;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<IntegrationType> for String {
    fn from(value: IntegrationType) -> Self {
        value.0
    }
}

impl std::fmt::Display for IntegrationType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for IntegrationType {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for IntegrationType {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for IntegrationType {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for IntegrationType {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::ops::Deref for IntegrationType {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// The candidate that `typed` is probably a misspelling of, for "did you
/// mean" hints; `None` when `typed` is one of them or close to none.
///
/// The one rule behind the server's and the CLI's hints. Case, `_`, `-` and
/// spaces are ignored first (`Google_Calendar` → `googlecalendar`). Then a
/// candidate of 8 or more letters is suggested within 2 edits (insertions,
/// deletions, substitutions or swaps of adjacent letters: optimal string
/// alignment); a shorter one only for one insertion, deletion or swap, since
/// a single substitution turns real names into known ones (`email`, `motion`).
/// The closest candidate wins; ties go to the earlier one.
pub fn suggest_type<'a>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let normalize = |t: &str| -> String {
        t.chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    if typed.is_empty() {
        return None;
    }
    let wanted = normalize(typed);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == typed {
            return None;
        }
        let known = normalize(candidate);
        let distance = strsim::osa_distance(&wanted, &known);
        let long = known.chars().count() >= 8;
        let close = match distance {
            0 => true,
            1 if !long => {
                wanted.chars().count() != known.chars().count() || is_swap(&wanted, &known)
            }
            d => long && d <= 2,
        };
        if close && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Whether `a` is `b` with two adjacent letters swapped.
fn is_swap(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let diffs: Vec<usize> = (0..a.len().min(b.len()))
        .filter(|&i| a[i] != b[i])
        .collect();
    a.len() == b.len()
        && diffs.len() == 2
        && diffs[1] == diffs[0] + 1
        && a[diffs[0]] == b[diffs[1]]
        && a[diffs[1]] == b[diffs[0]]
}

/// The one integration type that is provisioned rather than authorized.
pub const STRIPE: &str = "stripe";

/// `GET external-auth/available-integrations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvailableIntegrations {
    /// Every integration a builder may declare, in catalog order.
    pub integrations: Vec<AvailableIntegration>,
}

/// One catalog entry as the clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvailableIntegration {
    /// The value of `type` in a connector file.
    pub integration_type: String,
    /// Human name, e.g. "Google Calendar".
    pub display_name: String,
    /// One sentence on what the connector gives access to.
    pub description: String,
    /// Values the builder supplies before consent (may be empty).
    pub connection_config_fields: Vec<ConnectionConfigField>,
}

/// A value the builder types in before consent, e.g. SharePoint's site path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionConfigField {
    /// Key under `connection_config`.
    pub name: String,
    /// Label shown in forms.
    pub display_name: String,
    /// Help text shown in forms.
    pub description: String,
    /// Example value shown in an empty input.
    pub placeholder: String,
    /// Whether consent may start without it.
    pub required: bool,
    /// Regular expression the value must match, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_pattern: Option<String>,
    /// Message shown when the value does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_error: Option<String>,
}

/// Status of a configured connector, lowercase on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorStatus {
    /// Credentials are present and usable.
    Active,
    /// Declared but never authorized (or authorization was withdrawn).
    Disconnected,
    /// The provider refused the grant; a new consent is needed.
    Expired,
}

impl ConnectorStatus {
    /// The wire spelling, also used as the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disconnected => "disconnected",
            Self::Expired => "expired",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(Self::Active),
            "disconnected" => Some(Self::Disconnected),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// `GET external-auth/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorList {
    /// Configured connectors of the app; never includes `stripe`.
    pub integrations: Vec<ConnectorListItem>,
}

/// One configured connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorListItem {
    /// The connector's type.
    pub integration_type: String,
    /// Lowercase status.
    pub status: ConnectorStatus,
    /// The scopes the builder declared.
    pub scopes: Vec<String>,
    /// Who authorized it; left out (never null) when nobody has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
}

/// Body of `PUT external-auth/integrations/{type}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetConnectorRequest {
    /// Replaces the declared scopes; `[]` when the file has none.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// Answer of `PUT external-auth/integrations/{type}`: all six keys always present.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SetConnectorResponse {
    /// Where the builder's browser goes to consent, when consent is needed.
    pub redirect_url: Option<String>,
    /// Id of the consent attempt, for `external-auth/status`.
    pub connection_id: Option<String>,
    /// The requested scopes are already granted; nothing to do.
    pub already_authorized: bool,
    /// Machine-readable refusal, e.g. `different_user`.
    pub error: Option<String>,
    /// Human-readable refusal.
    pub error_message: Option<String>,
    /// With `different_user`: who authorized the existing connection.
    pub other_user_email: Option<String>,
}

/// The `error` value for a connector owned by another builder.
pub const DIFFERENT_USER: &str = "different_user";

/// Query of `GET external-auth/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthStatusQuery {
    /// The connector's type.
    pub integration_type: String,
    /// The attempt id from the PUT answer.
    pub connection_id: String,
}

/// State of a consent attempt, uppercase on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AttemptStatus {
    /// The builder has not finished consent yet.
    Pending,
    /// Consent succeeded and credentials are stored.
    Active,
    /// The provider or the callback refused.
    Failed,
}

impl AttemptStatus {
    /// The wire spelling, also used as the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Active => "ACTIVE",
            Self::Failed => "FAILED",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "PENDING" => Some(Self::Pending),
            "ACTIVE" => Some(Self::Active),
            "FAILED" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Answer of `GET external-auth/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthStatusResponse {
    /// Uppercase attempt status.
    pub status: AttemptStatus,
}

/// Answer of `DELETE external-auth/integrations/{type}/remove`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoveConnectorResponse {
    /// Always `"removed"`.
    pub status: String,
    /// The removed connector's type.
    pub integration_type: String,
}

/// How Stripe is installed for an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StripeMode {
    /// A claimable (or claimed) sandbox.
    Sandbox,
    /// The claimed account is live.
    Live,
}

/// Answer of `GET payments/stripe/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StripeStatusResponse {
    /// `null` when Stripe is not installed; the key is always present.
    pub stripe_mode: Option<StripeMode>,
    /// Where the builder claims the sandbox.
    #[serde(default)]
    pub sandbox_claim_url: Option<String>,
}

/// Answer of `POST payments/stripe/install`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StripeInstallResponse {
    /// A sandbox already existed.
    pub already_installed: bool,
    /// Where the builder claims the sandbox.
    pub claim_url: Option<String>,
}

/// Answer of `DELETE payments/stripe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StripeRemoveResponse {
    /// Whether a sandbox was forgotten.
    pub success: bool,
}

/// Answer of `GET external-auth/tokens/{type}`, for the app's backend functions.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorTokenResponse {
    /// A currently valid provider access token.
    pub access_token: String,
    /// The connector's type.
    pub integration_type: String,
    /// Values fixed at consent (site path, instance URL, team id, ...).
    pub connection_config: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for ConnectorTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorTokenResponse")
            .field("access_token", &"[redacted]")
            .field("integration_type", &self.integration_type)
            .field("connection_config", &self.connection_config)
            .finish()
    }
}

/// Every error body: the npm CLI shows `message` or else `detail`, the SDK
/// reads `detail` and `code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong and what to do next.
    pub detail: String,
    /// A stable machine-readable code, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_answer_always_has_six_keys() {
        let value = serde_json::to_value(SetConnectorResponse::default()).unwrap();
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
    }

    #[test]
    fn user_email_is_omitted_not_null() {
        let item = ConnectorListItem {
            integration_type: "slack".into(),
            status: ConnectorStatus::Active,
            scopes: vec![],
            user_email: None,
        };
        let text = serde_json::to_string(&item).unwrap();
        assert_eq!(
            text,
            r#"{"integration_type":"slack","status":"active","scopes":[]}"#
        );
    }

    #[test]
    fn statuses_have_the_documented_case() {
        assert_eq!(
            serde_json::to_string(&AttemptStatus::Pending).unwrap(),
            "\"PENDING\""
        );
        assert_eq!(
            serde_json::to_string(&ConnectorStatus::Expired).unwrap(),
            "\"expired\""
        );
    }

    #[test]
    fn integration_type_pattern() {
        assert!(is_valid_integration_type("custom-CRM_2"));
        assert!(!is_valid_integration_type(""));
        assert!(!is_valid_integration_type("../evil"));
        assert!(!is_valid_integration_type("a b"));
    }

    #[test]
    fn integration_type_checks_once() {
        assert_eq!(
            IntegrationType::new("custom-CRM_2").unwrap(),
            "custom-CRM_2"
        );
        let max = "a".repeat(IntegrationType::MAX_LEN);
        assert!(IntegrationType::new(max.clone()).is_ok());
        let long = IntegrationType::new(max + "a").unwrap_err();
        assert_eq!(long.value.len(), IntegrationType::MAX_LEN);
        for bad in ["", "../evil", "a b", "é", "a/b"] {
            assert!(IntegrationType::new(bad).is_err(), "{bad:?}");
        }
        let parsed: IntegrationType = serde_json::from_str("\"slack\"").unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"slack\"");
        assert!(serde_json::from_str::<IntegrationType>("\"a b\"").is_err());
        assert!(IntegrationType::new("stripe").unwrap().is_stripe());
        assert!(InvalidIntegrationType {
            value: "x y".into()
        }
        .to_string()
        .contains("letters, digits"));
    }

    #[test]
    fn suggestions_follow_one_rule() {
        let known = ["googlecalendar", "slack", "gmail", "notion", "acme_crm"];
        let s = |t: &str| suggest_type(t, known);
        assert_eq!(s("googlecalender"), Some("googlecalendar"));
        assert_eq!(s("Google_Calendar"), Some("googlecalendar"));
        assert_eq!(s("slakc"), Some("slack"));
        assert_eq!(s("SLACK"), Some("slack"));
        assert_eq!(s("acmecrm"), Some("acme_crm"));
        for t in ["", "slack", "email", "motion", "slackbot", "zzzzzzzzzzzzzz"] {
            assert_eq!(s(t), None, "{t}");
        }
        // Optimal string alignment: an adjacent swap is one edit.
        assert_eq!(strsim::osa_distance("slakc", "slack"), 1);
        assert_eq!(strsim::osa_distance("", "abc"), 3);
        assert_eq!(strsim::osa_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = ConnectorTokenResponse {
            access_token: "canary".into(),
            integration_type: "x".into(),
            connection_config: None,
        };
        assert!(!format!("{t:?}").contains("canary"));
    }
}

/// One API key or service token as listed: never the secret nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    /// Its id, for `DELETE`.
    pub id: String,
    /// Its first characters (`b44k_…` / `b44s_…`), to recognise it.
    pub prefix: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, or null while it is valid.
    pub revoked_at: Option<i64>,
    /// Unix seconds of its last use, or null if never used. Recorded at
    /// most once a minute, so up to a minute behind.
    pub last_used_at: Option<i64>,
}

/// Answer of `GET /api/api-keys`: the caller's own keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyList {
    /// Oldest first, revoked ones included.
    pub api_keys: Vec<CredentialInfo>,
}

/// Answer of `GET /api/apps/{app_id}/service-tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTokenList {
    /// Oldest first, revoked ones included.
    pub service_tokens: Vec<CredentialInfo>,
}

/// Answer of a revocation (`DELETE /api/api-keys/{id}`,
/// `DELETE /api/apps/{app_id}/service-tokens/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeResponse {
    /// The credential's id.
    pub id: String,
    /// When it was revoked (Unix seconds).
    pub revoked_at: i64,
    /// Whether it had been revoked before (revoking again changes nothing).
    pub already_revoked: bool,
}

/// Body of `POST /api/apps/{app_id}/app-user-tokens` (service token): a
/// token naming one user of the app, for `createClient({token})`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppUserTokenRequest {
    /// The user's id in the app: 1 to 255 characters, no control characters.
    pub user_id: String,
    /// Display only; never identifies the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Display only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Lifetime in seconds: 1 to 86400, default 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

/// Answer of `POST /api/apps/{app_id}/app-user-tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppUserTokenResponse {
    /// The JWT (EdDSA, verifiable with `/.well-known/jwks.json`).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// An app's own identity provider, whose JWTs name its users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityProviderSettings {
    /// The `iss` of its tokens (https, or http to a loopback host).
    pub issuer: String,
    /// Where its public keys are (same rule).
    pub jwks_uri: String,
    /// The `aud` its tokens carry for this app.
    pub audience: String,
    /// The claim naming the user; default `sub`.
    #[serde(default = "IdentityProviderSettings::default_user_id_claim")]
    pub user_id_claim: String,
    /// The claim with the email (display only); default `email`.
    #[serde(default = "IdentityProviderSettings::default_email_claim")]
    pub email_claim: String,
    /// Accepted `alg`s, asymmetric only; default RS256, ES256, EdDSA.
    #[serde(default = "IdentityProviderSettings::default_algorithms")]
    pub algorithms: Vec<String>,
}

impl IdentityProviderSettings {
    /// `user_id_claim` when none is given.
    pub fn default_user_id_claim() -> String {
        "sub".into()
    }

    /// `email_claim` when none is given.
    pub fn default_email_claim() -> String {
        "email".into()
    }

    /// `algorithms` when none are given.
    pub fn default_algorithms() -> Vec<String> {
        ["RS256", "ES256", "EdDSA"].map(String::from).to_vec()
    }
}

/// `GET`/`PUT /api/apps/{app_id}/app-user-settings` (builder).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppUserSettings {
    /// Exact origins (`https://host[:port]`; http only for loopback) that
    /// may call the browser routes and be sent back to; at most 50.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Where the browser goes after consent when its page is not on the
    /// list; its origin must be.
    #[serde(default)]
    pub default_return_url: Option<String>,
    /// The app's own identity provider, or null for minted tokens only.
    #[serde(default)]
    pub identity_provider: Option<IdentityProviderSettings>,
}

/// One app user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppUserInfo {
    /// Opaque id.
    pub id: String,
    /// Who vouches for the user: this server or the app's provider.
    pub issuer: String,
    /// The user's id at the issuer.
    pub subject: String,
    /// Display only.
    pub email: Option<String>,
    /// Display only.
    pub name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; recorded at most once a minute.
    pub last_seen_at: i64,
}

/// Answer of `GET /api/apps/{app_id}/app-users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppUserList {
    /// Oldest first.
    pub app_users: Vec<AppUserInfo>,
}
