//! Reading rows, written once for both backends: the columns and their
//! decoding are the same, only the driver's row type differs.

/// The connector columns, with the authorizing builder's email.
pub(crate) const CONNECTOR_SELECT: &str =
    "SELECT c.app_id, c.integration_type, c.scopes, c.granted_scopes, c.status, \
     c.status_reason, c.authorized_by, b.email AS authorized_by_email, c.connection_config, \
     c.created_at, c.updated_at \
     FROM connectors c LEFT JOIN builders b ON b.id = c.authorized_by";

/// Defines `connector_from_row`, `builder_from_row`, `app_from_row`,
/// `attempt_from_row`, `credentials_from_row` and `stripe_from_row` for a
/// driver's row type.
macro_rules! row_readers {
    ($row:ty) => {
        fn connector_from_row(row: &$row) -> Result<ConnectorRow> {
            let status: String = row.try_get("status")?;
            Ok(ConnectorRow {
                app_id: row.try_get("app_id")?,
                integration_type: row.try_get("integration_type")?,
                scopes: scopes_from_json(&row.try_get::<String, _>("scopes")?)?,
                granted_scopes: scopes_from_json(&row.try_get::<String, _>("granted_scopes")?)?,
                status: ConnectorStatus::parse(&status)
                    .ok_or(StoreError::Corrupt("connectors.status"))?,
                status_reason: row.try_get("status_reason")?,
                authorized_by: row.try_get("authorized_by")?,
                authorized_by_email: row.try_get("authorized_by_email")?,
                connection_config: config_from_json(row.try_get("connection_config")?)?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn builder_from_row(row: &$row) -> Result<Builder> {
            Ok(Builder {
                id: row.try_get("id")?,
                workspace_id: row.try_get("workspace_id")?,
                email: row.try_get("email")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn app_from_row(row: &$row) -> Result<App> {
            Ok(App {
                id: row.try_get("id")?,
                workspace_id: row.try_get("workspace_id")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn attempt_from_row(row: &$row) -> Result<AttemptRow> {
            let status: String = row.try_get("status")?;
            Ok(AttemptRow {
                connection_id: row.try_get("connection_id")?,
                app_id: row.try_get("app_id")?,
                integration_type: row.try_get("integration_type")?,
                scopes: scopes_from_json(&row.try_get::<String, _>("scopes")?)?,
                builder_id: row.try_get("builder_id")?,
                status: AttemptStatus::parse(&status)
                    .ok_or(StoreError::Corrupt("oauth_attempts.status"))?,
                status_reason: row.try_get("status_reason")?,
                state_hash: row.try_get("state_hash")?,
                pkce_verifier: row.try_get("pkce_verifier")?,
                browser_hash: row.try_get("browser_hash")?,
                connection_config: config_from_json(row.try_get("connection_config")?)?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        }

        fn credentials_from_row(row: &$row) -> Result<CredentialsRow> {
            Ok(CredentialsRow {
                app_id: row.try_get("app_id")?,
                integration_type: row.try_get("integration_type")?,
                access_token: row.try_get("access_token")?,
                refresh_token: row.try_get("refresh_token")?,
                token_response: row.try_get("token_response")?,
                expires_at_ms: row.try_get("expires_at_ms")?,
                version: row.try_get("version")?,
                updated_at: row.try_get("updated_at")?,
                refresh_in_flight_since: row.try_get("refresh_in_flight_since")?,
            })
        }

        fn stripe_from_row(row: &$row) -> Result<StripeSandboxRow> {
            let required = |v: Option<String>| v.ok_or(StoreError::Corrupt("stripe_sandboxes"));
            Ok(StripeSandboxRow {
                app_id: row.try_get("app_id")?,
                sandbox_id: required(row.try_get("sandbox_id")?)?,
                account_id: row.try_get("account_id")?,
                secret_key: row.try_get("secret_key")?,
                publishable_key: row.try_get("publishable_key")?,
                status: required(row.try_get("status")?)?,
                claim_url: row.try_get("claim_url")?,
                claim_url_expires_at: row.try_get("claim_url_expires_at")?,
                refresh_token: required(row.try_get("refresh_token")?)?,
                refresh_token_hash: required(row.try_get("refresh_token_hash")?)?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }
    };
}
pub(crate) use row_readers;
