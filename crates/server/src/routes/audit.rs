//! The audit trail, read only (#15.5): `GET /api/apps/{app_id}/audit` (one
//! app's entries) and `GET /api/workspace/{workspace_id}/audit` (the
//! workspace's: its apps' and its workspace-level ones), with builder
//! credentials, oldest first from a cursor. Nothing in the API changes an
//! entry.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use connectors_engine::AuditOf;
use connectors_wire::{AuditLog, MAX_AUDIT_PAGE};

use crate::auth::{BuilderApp, BuilderWorkspace};
use crate::error::ApiError;
use crate::state::AppState;

/// The audit routes, at their full paths.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/apps/{app_id}/audit", get(app_audit))
        .route("/api/workspace/{workspace_id}/audit", get(workspace_audit))
}

/// `?after=&limit=`, read by hand so each mistake gets its own answer.
#[derive(Debug, Default, PartialEq, Eq)]
struct Page {
    after: Option<i64>,
    limit: Option<u32>,
}

fn page(query: Option<&str>) -> Result<Page, ApiError> {
    let mut page = Page::default();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let value = value.trim();
        match name.as_ref() {
            "after" if page.after.is_none() => {
                page.after = Some(value.parse().ok().filter(|n: &i64| *n >= 0).ok_or_else(
                    || {
                        ApiError::bad_request(format!(
                            "`after` is `{}`; it must be a cursor this route answered (`next_cursor`, a whole number, 0 or more), or left out to read from the oldest entry",
                            value.chars().take(40).collect::<String>()
                        ))
                    },
                )?);
            }
            "limit" if page.limit.is_none() => {
                page.limit = Some(value.parse().ok().filter(|n| (1..=MAX_AUDIT_PAGE).contains(n)).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "`limit` is `{}`; it must be a whole number from 1 to {MAX_AUDIT_PAGE} (default {})",
                        value.chars().take(40).collect::<String>(),
                        connectors_wire::DEFAULT_AUDIT_PAGE
                    ))
                })?);
            }
            "after" | "limit" => {
                return Err(ApiError::bad_request(format!(
                    "`{name}` is given twice; give it once"
                )))
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{}`; this route takes `after` (a cursor) and `limit` (1 to {MAX_AUDIT_PAGE})",
                    other.chars().take(40).collect::<String>()
                )))
            }
        }
    }
    Ok(page)
}

async fn app_audit(
    State(state): State<AppState>,
    BuilderApp(app): BuilderApp,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditLog>, ApiError> {
    let page = page(query.as_deref())?;
    Ok(Json(
        state
            .engine
            .read_audit(AuditOf::App(&app), page.after, page.limit)
            .await?,
    ))
}

async fn workspace_audit(
    State(state): State<AppState>,
    BuilderWorkspace(workspace): BuilderWorkspace,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditLog>, ApiError> {
    let page = page(query.as_deref())?;
    Ok(Json(
        state
            .engine
            .read_audit(AuditOf::Workspace(&workspace), page.after, page.limit)
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_read_strictly() {
        assert_eq!(page(None).unwrap(), Page::default());
        assert_eq!(
            page(Some("after=7&limit=200")).unwrap(),
            Page {
                after: Some(7),
                limit: Some(200)
            }
        );
        for bad in [
            "after=-1",
            "after=x",
            "limit=0",
            "limit=201",
            "limit=",
            "limit=1&limit=2",
            "before=3",
        ] {
            assert!(page(Some(bad)).is_err(), "{bad}");
        }
    }
}
