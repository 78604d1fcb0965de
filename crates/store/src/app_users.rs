//! Rows of app users and their per-app settings (migration 0013).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Result, StoreError};

/// An end user of an app, as first seen through a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUserRow {
    /// Opaque, 32 lowercase hex characters.
    pub id: String,
    /// The app the user belongs to.
    pub app_id: String,
    /// Who vouched for the user: this server's public URL (minted tokens)
    /// or the app's identity provider.
    pub issuer: String,
    /// The user's id at the issuer.
    pub subject: String,
    /// Display only, never a key.
    pub email: Option<String>,
    /// Display only.
    pub name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, coarse.
    pub last_seen_at: i64,
}

/// An app's own identity provider, whose tokens name its users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderRow {
    /// `iss` of its tokens.
    pub issuer: String,
    /// Where its public keys are.
    pub jwks_uri: String,
    /// `aud` its tokens must hold.
    pub audience: String,
    /// The claim naming the user.
    pub user_id_claim: String,
    /// The claim with the email.
    pub email_claim: String,
    /// The accepted `alg`s.
    pub algorithms: Vec<String>,
}

/// An app's app-user settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppUserSettingsRow {
    /// The app.
    pub app_id: String,
    /// Exact origins (`scheme://host[:port]`) browsers may call from and be
    /// sent back to.
    pub allowed_origins: Vec<String>,
    /// Where to send a browser back when its page is not on the list.
    pub default_return_url: Option<String>,
    /// The app's identity provider, if it trusts one.
    pub identity_provider: Option<IdentityProviderRow>,
    /// Unix seconds.
    pub updated_at: i64,
}

pub(crate) fn app_user_from_row(row: &AnyRow) -> Result<AppUserRow> {
    Ok(AppUserRow {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        issuer: row.try_get("issuer")?,
        subject: row.try_get("subject")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

fn strings(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt("app_user_settings"))
}

pub(crate) fn settings_from_row(row: &AnyRow) -> Result<AppUserSettingsRow> {
    let origins: String = row.try_get("allowed_origins")?;
    let issuer: Option<String> = row.try_get("idp_issuer")?;
    let identity_provider = match issuer {
        None => None,
        Some(issuer) => {
            let text = |column: &str| -> Result<String> {
                row.try_get::<Option<String>, _>(column)?
                    .ok_or(StoreError::Corrupt("app_user_settings"))
            };
            Some(IdentityProviderRow {
                issuer,
                jwks_uri: text("idp_jwks_uri")?,
                audience: text("idp_audience")?,
                user_id_claim: text("idp_user_id_claim")?,
                email_claim: text("idp_email_claim")?,
                algorithms: strings(&text("idp_algorithms")?)?,
            })
        }
    };
    Ok(AppUserSettingsRow {
        app_id: row.try_get("app_id")?,
        allowed_origins: strings(&origins)?,
        default_return_url: row.try_get("default_return_url")?,
        identity_provider,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) fn json_strings(values: &[String]) -> String {
    serde_json::to_string(values).expect("strings serialize")
}
