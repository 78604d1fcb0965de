//! Row types: plain data, secrets only as sealed text or hashes.

use std::collections::BTreeMap;

use connectors_wire::{AttemptStatus, ConnectorStatus, IntegrationType};

/// Whose connection a connector row is. An app's own connectors (declared
/// by its files) are keyed by their bare type; the connections made through
/// a workspace connector (#13) live in the same tables, so that consent,
/// refresh, leases, the read cache and the change feed serve them unchanged,
/// under a slot that names the workspace connector too (see
/// [`ConnectorKey::slot`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holder {
    /// The app's own connector of its type.
    #[default]
    App,
    /// The app's one shared connection of a workspace connector, consented
    /// by a builder.
    Workspace {
        /// The workspace connector (24 hex characters).
        connector_id: String,
    },
    /// One end user's own connection of a workspace connector.
    AppUser {
        /// The workspace connector (24 hex characters).
        connector_id: String,
        /// The app user (`app_users.id`: lowercase letters and digits).
        user_id: String,
    },
}

/// Separates the parts of a slot; no integration type contains it.
const SLOT_SEPARATOR: char = '~';

/// Which connector a call is about: an app's connector of one type, or its
/// connection of a workspace connector.
///
/// Every connector, credentials and lease method takes this one value, so a
/// later kind of holder (an app user) is a variant of [`Holder`] rather
/// than a new parameter on every method.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectorKey {
    /// The app.
    pub app_id: String,
    /// The connector type (a workspace connector's own type).
    pub integration_type: IntegrationType,
    /// Whose connection it is.
    pub holder: Holder,
}

impl ConnectorKey {
    /// The key of `app_id`'s `integration_type` connector.
    pub fn new(app_id: impl Into<String>, integration_type: IntegrationType) -> Self {
        Self {
            app_id: app_id.into(),
            integration_type,
            holder: Holder::App,
        }
    }

    /// The key of `app_id`'s shared connection of a workspace connector.
    pub fn workspace(
        app_id: impl Into<String>,
        integration_type: IntegrationType,
        connector_id: impl Into<String>,
    ) -> Self {
        Self {
            app_id: app_id.into(),
            integration_type,
            holder: Holder::Workspace {
                connector_id: connector_id.into(),
            },
        }
    }

    /// The key of an app user's own connection of a workspace connector.
    pub fn app_user(
        app_id: impl Into<String>,
        integration_type: IntegrationType,
        connector_id: impl Into<String>,
        user_id: impl Into<String>,
    ) -> Self {
        Self {
            app_id: app_id.into(),
            integration_type,
            holder: Holder::AppUser {
                connector_id: connector_id.into(),
                user_id: user_id.into(),
            },
        }
    }

    /// What the `integration_type` columns hold: the bare type for an app's
    /// own connector, `{type}~{connector id}` for a workspace connection,
    /// `{type}~{connector id}~{user id}` for an app user's.
    pub fn slot(&self) -> String {
        let ty = self.integration_type.as_str();
        match &self.holder {
            Holder::App => ty.to_string(),
            Holder::Workspace { connector_id } => format!("{ty}{SLOT_SEPARATOR}{connector_id}"),
            Holder::AppUser {
                connector_id,
                user_id,
            } => format!("{ty}{SLOT_SEPARATOR}{connector_id}{SLOT_SEPARATOR}{user_id}"),
        }
    }

    /// Reads a slot back; `None` if it is not one we write.
    pub fn from_slot(app_id: impl Into<String>, slot: &str) -> Option<Self> {
        let mut parts = slot.split(SLOT_SEPARATOR);
        let integration_type = IntegrationType::new(parts.next()?).ok()?;
        let holder = match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => Holder::App,
            (Some(id), None, _) if is_workspace_connector_id(id) => Holder::Workspace {
                connector_id: id.to_string(),
            },
            (Some(id), Some(user), None)
                if is_workspace_connector_id(id) && is_app_user_id(user) =>
            {
                Holder::AppUser {
                    connector_id: id.to_string(),
                    user_id: user.to_string(),
                }
            }
            _ => return None,
        };
        Some(Self {
            app_id: app_id.into(),
            integration_type,
            holder,
        })
    }

    /// The workspace connector the connection is made through, if any.
    pub fn workspace_connector_id(&self) -> Option<&str> {
        match &self.holder {
            Holder::App => None,
            Holder::Workspace { connector_id } | Holder::AppUser { connector_id, .. } => {
                Some(connector_id)
            }
        }
    }

    /// The app user whose connection it is, if any.
    pub fn app_user_id(&self) -> Option<&str> {
        match &self.holder {
            Holder::AppUser { user_id, .. } => Some(user_id),
            _ => None,
        }
    }

    /// The associated-data context of one of its sealed credential columns.
    pub fn credentials_context(&self, column: &str) -> String {
        crate::credentials_context(&self.app_id, &self.slot(), column)
    }
}

/// Whether `id` can be an app user's id in a slot: 1 to 64 lowercase
/// letters or digits (ours are 32 hex characters).
fn is_app_user_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Whether `id` has the shape of a workspace connector's id: 24 lowercase
/// hexadecimal characters (Base44's ids have it).
pub fn is_workspace_connector_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A tenant: builders and apps belong to exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// Opaque id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A person who builds apps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Builder {
    /// Opaque id.
    pub id: String,
    /// Owning workspace.
    pub workspace_id: String,
    /// Email, shown as a connector's `user_email`.
    pub email: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A new builder API key; only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Opaque id.
    pub id: String,
    /// Owner.
    pub builder_id: String,
    /// SHA-256 of the key.
    pub key_hash: String,
    /// First characters, to recognise the key in listings.
    pub display_prefix: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Who an API key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyOwner {
    /// The key's id (what a recorded use names).
    pub id: String,
    /// The builder.
    pub builder: Builder,
    /// The stored hash, for a constant-time re-check.
    pub key_hash: String,
    /// When the key was revoked (Unix seconds): the caller must refuse it.
    pub revoked_at: Option<i64>,
    /// When its last use was recorded (Unix seconds).
    pub last_used_at: Option<i64>,
}

/// A stored API key as listed: never its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// Opaque id.
    pub id: String,
    /// Owner.
    pub builder_id: String,
    /// The owner's email.
    pub builder_email: String,
    /// The owner's workspace.
    pub workspace_id: String,
    /// First characters of the key, to recognise it.
    pub display_prefix: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once revoked.
    pub revoked_at: Option<i64>,
    /// Unix seconds of the last recorded use (recorded at most once a
    /// minute, so up to that much behind); `None` if never used.
    pub last_used_at: Option<i64>,
}

/// An app of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Opaque id, as in `/api/apps/{id}`.
    pub id: String,
    /// Owning workspace.
    pub workspace_id: String,
    /// Human name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A new per-app service token; only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewServiceToken {
    /// Opaque id.
    pub id: String,
    /// The app it grants.
    pub app_id: String,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// First characters, to recognise the token in listings.
    pub display_prefix: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Which app a service token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTokenOwner {
    /// The token's id (what a recorded use names).
    pub id: String,
    /// The app.
    pub app_id: String,
    /// The stored hash, for a constant-time re-check.
    pub token_hash: String,
    /// When the token was revoked (Unix seconds): the caller must refuse it.
    pub revoked_at: Option<i64>,
    /// When its last use was recorded (Unix seconds).
    pub last_used_at: Option<i64>,
}

/// A stored service token as listed: never its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTokenInfo {
    /// Opaque id.
    pub id: String,
    /// The app it grants.
    pub app_id: String,
    /// The app's workspace.
    pub workspace_id: String,
    /// First characters of the token, to recognise it.
    pub display_prefix: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once revoked.
    pub revoked_at: Option<i64>,
    /// Unix seconds of the last recorded use (recorded at most once a
    /// minute, so up to that much behind); `None` if never used.
    pub last_used_at: Option<i64>,
}

/// A configured connector of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorRow {
    /// The app.
    pub app_id: String,
    /// The connector type.
    pub integration_type: IntegrationType,
    /// Whose connection it is (the column holds [`ConnectorKey::slot`]).
    pub holder: Holder,
    /// Scopes as declared by the builder's file.
    pub scopes: Vec<String>,
    /// Scopes the last successful consent granted.
    pub granted_scopes: Vec<String>,
    /// Current status.
    pub status: ConnectorStatus,
    /// Why it is expired or disconnected, if known.
    pub status_reason: Option<String>,
    /// The builder whose consent the credentials carry.
    pub authorized_by: Option<String>,
    /// That builder's email.
    pub authorized_by_email: Option<String>,
    /// Values fixed at consent.
    pub connection_config: Option<BTreeMap<String, String>>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// Stored credentials of a connector (sealed).
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialsRow {
    /// The app.
    pub app_id: String,
    /// The connector type.
    pub integration_type: IntegrationType,
    /// Whose connection it is (the column holds [`ConnectorKey::slot`]).
    pub holder: Holder,
    /// Sealed access token.
    pub access_token: String,
    /// Sealed refresh token.
    pub refresh_token: Option<String>,
    /// Sealed raw token response.
    pub token_response: Option<String>,
    /// When the access token expires (Unix milliseconds), if it does.
    pub expires_at_ms: Option<i64>,
    /// Incremented on every change, for compare-and-swap.
    pub version: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Set while a lease holder's provider call is in flight (Unix seconds).
    /// Found set by a new lease holder, it means the previous one died after
    /// sending the refresh token, so the provider may have rotated it.
    pub refresh_in_flight_since: Option<i64>,
}

/// How a connector's stored credentials are doing, for the dashboard:
/// never a token, only times, counts and the last refresh error's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsHealth {
    /// The connector type.
    pub integration_type: IntegrationType,
    /// Whose connection it is (the column holds [`ConnectorKey::slot`]).
    pub holder: Holder,
    /// When the access token expires (Unix milliseconds), if it does.
    pub expires_at_ms: Option<i64>,
    /// The last successful refresh (Unix seconds), if any.
    pub last_refresh_at: Option<i64>,
    /// Why the last refresh failed, when it did.
    pub last_refresh_error: Option<String>,
    /// Failed refreshes since the last success.
    pub refresh_failures: i64,
    /// When the next retry is due after a failure (Unix seconds).
    pub next_refresh_at: Option<i64>,
    /// When the credentials were last written (Unix seconds).
    pub updated_at: i64,
}

impl ConnectorRow {
    /// Which connector this is.
    pub fn key(&self) -> ConnectorKey {
        ConnectorKey {
            app_id: self.app_id.clone(),
            integration_type: self.integration_type.clone(),
            holder: self.holder.clone(),
        }
    }
}

impl CredentialsRow {
    /// Whose credentials these are.
    pub fn key(&self) -> ConnectorKey {
        ConnectorKey {
            app_id: self.app_id.clone(),
            integration_type: self.integration_type.clone(),
            holder: self.holder.clone(),
        }
    }
}

impl std::fmt::Debug for CredentialsRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsRow")
            .field("app_id", &self.app_id)
            .field("integration_type", &self.integration_type)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("version", &self.version)
            .field("refresh_in_flight_since", &self.refresh_in_flight_since)
            .finish_non_exhaustive()
    }
}

/// A consent attempt started by `PUT external-auth/integrations/{type}`.
#[derive(Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// Public id (`connection_id` on the wire).
    pub connection_id: String,
    /// The app.
    pub app_id: String,
    /// The connector type.
    pub integration_type: IntegrationType,
    /// Whose connection it is (the column holds [`ConnectorKey::slot`]).
    pub holder: Holder,
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// The builder who asked.
    pub builder_id: Option<String>,
    /// Current status.
    pub status: AttemptStatus,
    /// Why it failed, if it did.
    pub status_reason: Option<String>,
    /// SHA-256 of the OAuth `state`, once consent started.
    pub state_hash: Option<String>,
    /// Sealed PKCE verifier, once consent started.
    pub pkce_verifier: Option<String>,
    /// SHA-256 of the browser-binding cookie, once consent started.
    pub browser_hash: Option<String>,
    /// Values from the config form.
    pub connection_config: Option<BTreeMap<String, String>>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds after which the attempt cannot complete.
    pub expires_at: i64,
    /// Where an app user's browser goes after consent (an allowed origin's
    /// URL), if anywhere.
    pub return_to: Option<String>,
}

impl AttemptRow {
    /// The connector the attempt authorizes.
    pub fn key(&self) -> ConnectorKey {
        ConnectorKey {
            app_id: self.app_id.clone(),
            integration_type: self.integration_type.clone(),
            holder: self.holder.clone(),
        }
    }

    /// Whether the attempt ended because its connector was removed (see
    /// [`crate::Store::delete_connector`]).
    pub fn was_cancelled_by_removal(&self) -> bool {
        self.status == AttemptStatus::Failed
            && self.status_reason.as_deref() == Some(crate::REMOVED_REASON)
    }
}

impl std::fmt::Debug for AttemptRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttemptRow")
            .field("connection_id", &self.connection_id)
            .field("app_id", &self.app_id)
            .field("integration_type", &self.integration_type)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The outcome of a successful consent, saved in one transaction.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The attempt to mark `ACTIVE`, if the consent came from one.
    pub connection_id: Option<String>,
    /// The builder who consented.
    pub builder_id: Option<String>,
    /// Declared scopes (used when the connector does not exist yet).
    pub scopes: Vec<String>,
    /// Scopes granted.
    pub granted_scopes: Vec<String>,
    /// Values fixed at consent.
    pub connection_config: Option<BTreeMap<String, String>>,
    /// The new credentials (sealed); `version` is ignored.
    pub credentials: CredentialsRow,
    /// Reported with it, written only if it is saved.
    pub events: Vec<crate::NewEvent>,
}

/// The start of consent on an attempt.
#[derive(Clone)]
pub struct BeginConsent {
    /// The attempt.
    pub connection_id: String,
    /// SHA-256 of the new `state`.
    pub state_hash: String,
    /// Sealed PKCE verifier, if the provider takes PKCE.
    pub pkce_verifier: Option<String>,
    /// SHA-256 of the browser-binding cookie.
    pub browser_hash: String,
    /// Values from the config form.
    pub connection_config: Option<BTreeMap<String, String>>,
    /// When the state stops being accepted.
    pub expires_at: i64,
    /// Unix seconds.
    pub now: i64,
}

impl std::fmt::Debug for BeginConsent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeginConsent")
            .field("connection_id", &self.connection_id)
            .finish_non_exhaustive()
    }
}

/// The outcome of a successful refresh.
#[derive(Clone)]
pub struct RefreshedCredentials {
    /// The app.
    pub app_id: String,
    /// The connector type.
    pub integration_type: IntegrationType,
    /// Whose connection it is (the column holds [`ConnectorKey::slot`]).
    pub holder: Holder,
    /// The lease owner.
    pub owner: String,
    /// The version the refresh started from.
    pub expected_version: i64,
    /// Sealed new access token.
    pub access_token: String,
    /// Sealed new refresh token; `None` keeps the stored one.
    pub refresh_token: Option<String>,
    /// Sealed raw response.
    pub token_response: Option<String>,
    /// New expiry (Unix milliseconds).
    pub expires_at_ms: Option<i64>,
    /// Unix seconds.
    pub now: i64,
}

impl RefreshedCredentials {
    /// Whose credentials these are.
    pub fn key(&self) -> ConnectorKey {
        ConnectorKey {
            app_id: self.app_id.clone(),
            integration_type: self.integration_type.clone(),
            holder: self.holder.clone(),
        }
    }
}

impl std::fmt::Debug for RefreshedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshedCredentials")
            .field("app_id", &self.app_id)
            .field("integration_type", &self.integration_type)
            .field("expected_version", &self.expected_version)
            .finish_non_exhaustive()
    }
}

/// An app's provisioned Stripe claimable sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSandboxRow {
    /// The app.
    pub app_id: String,
    /// Stripe's `clmsbx_…` id.
    pub sandbox_id: String,
    /// The sandbox account (`acct_…`).
    pub account_id: Option<String>,
    /// Sealed secret key of the sandbox.
    pub secret_key: Option<String>,
    /// Publishable key of the sandbox (not a secret).
    pub publishable_key: Option<String>,
    /// `unclaimed`, `claimed`, `live` or `expired`, as Stripe last said.
    pub status: String,
    /// The onboarding (claim) link.
    pub claim_url: Option<String>,
    /// When the claim link expires (Unix seconds).
    pub claim_url_expires_at: Option<i64>,
    /// Sealed token of our refresh URL (Stripe sends claimers there when the
    /// link has expired).
    pub refresh_token: String,
    /// SHA-256 of that token.
    pub refresh_token_hash: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// What claiming the provisioning of an app's sandbox found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeClaim {
    /// The caller now provisions; it must finish or abandon.
    Acquired,
    /// Another process is provisioning and its claim has not expired.
    Busy,
    /// A sandbox already exists.
    Installed(Box<StripeSandboxRow>),
}

/// What [`crate::Store::delete_connector`] removed, read in the same
/// transaction, so revoking at the provider uses exactly the deleted grant.
#[derive(Debug, Clone)]
pub struct RemovedConnector {
    /// The connector as it was.
    pub connector: ConnectorRow,
    /// Its credentials, if it had any.
    pub credentials: Option<CredentialsRow>,
}

// Device login: device codes, refresh-token families (#12)

/// Where a device-code request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCodeStatus {
    /// Waiting for a builder to enter the user code.
    Pending,
    /// Approved by `builder_id`; the next poll gets tokens.
    Approved,
    /// Denied: polls answer `access_denied`.
    Denied,
    /// Its tokens were issued: the device code is spent.
    Used,
}

impl DeviceCodeStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Denied => "DENIED",
            Self::Used => "USED",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => Self::Pending,
            "APPROVED" => Self::Approved,
            "DENIED" => Self::Denied,
            "USED" => Self::Used,
            _ => return None,
        })
    }
}

/// A device-code request (`POST /oauth/device/code`). Times in Unix ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeRow {
    /// SHA-256 of the device code (the code itself is never stored).
    pub device_code_hash: String,
    /// The user code, normalized (8 characters, no dash).
    pub user_code: String,
    /// The OAuth client that asked.
    pub client_id: String,
    /// The scopes it asked for, space-separated.
    pub scope: String,
    /// Where it stands.
    pub status: DeviceCodeStatus,
    /// Who approved it (or denied it).
    pub builder_id: Option<String>,
    /// The poll interval handed out, seconds.
    pub interval_secs: i64,
    /// The last poll that was answered (not `slow_down`).
    pub last_poll_at: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
}

/// A builder's decision on a pending device-code request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceDecision<'a> {
    /// Issue tokens for this builder id at the next poll.
    Approve(&'a str),
    /// Refuse (recording who did).
    Deny(&'a str),
}

/// A login: the family of refresh tokens born from one approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFamilyRow {
    /// Opaque id (the access tokens' `sid`).
    pub id: String,
    /// The builder logged in.
    pub builder: Builder,
    /// The OAuth client.
    pub client_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// Unix ms.
    pub created_at: i64,
    /// When it was revoked (Unix ms): its tokens are refused.
    pub revoked_at: Option<i64>,
}

/// A refresh token to store (its hash only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Unix ms.
    pub expires_at: i64,
}

/// What exchanging a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The old token is spent and the new one stored.
    Rotated(LoginFamilyRow),
    /// No such token.
    Unknown,
    /// The token is past its expiry.
    Expired,
    /// Its login was revoked earlier.
    Revoked,
    /// Already rotated, within the grace: refused, but the login stands
    /// (a concurrent duplicate of the same refresh).
    RotatedRecently,
    /// Already rotated, past the grace: a replayed token, so the whole
    /// login was revoked by this call.
    Reused,
}

/// A builder and the argon2id hash of their password (none until they
/// accept an invite), for sign-in.
#[derive(Debug, Clone)]
pub struct BuilderLogin {
    /// The builder.
    pub builder: Builder,
    /// PHC string; never logged or returned beyond the engine.
    pub password_hash: Option<String>,
}

/// A one-time invite to set a password, by its token's hash.
#[derive(Debug, Clone)]
pub struct NewInvite {
    /// SHA-256 of the token in the link.
    pub token_hash: String,
    /// Whose password it sets.
    pub builder_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; unusable from then on.
    pub expires_at: i64,
}

/// A stored session with its builder.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The signed-in builder.
    pub builder: Builder,
    /// Unix seconds (absolute expiry counts from here).
    pub created_at: i64,
    /// Unix seconds (idle expiry counts from here).
    pub last_seen_at: i64,
}

/// A workspace's own OAuth app for one integration type (#13): its apps
/// connect through it, once per app (a builder consents) or per end user.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkspaceConnectorRow {
    /// 24 lowercase hex characters ([`is_workspace_connector_id`]).
    pub id: String,
    /// The workspace it belongs to.
    pub workspace_id: String,
    /// The catalog type whose provider it speaks to.
    pub integration_type: IntegrationType,
    /// Unique in the workspace.
    pub name: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The sealed client secret ([`workspace_connector_context`]); `None`
    /// for a public client.
    pub client_secret: Option<String>,
    /// Scopes new connections ask for.
    pub scopes: Vec<String>,
    /// Values every connection gets (e.g. Snowflake's account).
    pub connection_config: BTreeMap<String, String>,
    /// Whether an app's builder may make the app's shared connection.
    pub builder_enabled: bool,
    /// Whether an app's end users may make their own connections.
    pub per_user_enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl std::fmt::Debug for WorkspaceConnectorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceConnectorRow")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .field("integration_type", &self.integration_type)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The associated-data context binding a workspace connector's sealed
/// client secret to its row.
pub fn workspace_connector_context(id: &str) -> String {
    format!("workspace_connectors:{id}:client_secret")
}
