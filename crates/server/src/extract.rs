//! Extractors whose rejections use our error shapes: JSON for the API, the
//! HTML failure page for the browser pages.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::Uri;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::routes::pages::{FailurePage, PageKind, PageProblem};

/// `axum::Json`, rejecting with [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// `axum::extract::Query`, rejecting with [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path`, rejecting with [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The failure page for `problem` on the page at `uri`: the page's own
/// family decides the wording, so one extractor serves every page.
fn page_failure(uri: &Uri, problem: PageProblem) -> FailurePage {
    // Page extractors sit only on page routes; a consent page is the
    // older, generic default should one ever sit elsewhere.
    let kind = crate::routes::page_kind(uri.path()).unwrap_or(PageKind::Consent);
    FailurePage::new(kind, problem)
}

/// `axum::Form` for a browser page, rejecting with its family's HTML
/// failure page.
pub struct PageForm<T>(pub T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = FailurePage;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let uri = request.uri().clone();
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(PageForm(value)),
            Err(rejection) => Err(page_failure(&uri, PageProblem::of_form(&rejection))),
        }
    }
}

/// `axum::extract::Query` for a browser page, rejecting with its family's
/// HTML failure page.
pub struct PageQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for PageQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = FailurePage;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(PageQuery(value)),
            Err(_) => Err(page_failure(&parts.uri, PageProblem::QueryUnreadable)),
        }
    }
}

/// `axum::extract::Path` for a browser page, rejecting with its family's
/// HTML failure page.
pub struct PagePath<T>(pub T);

impl<T, S> FromRequestParts<S> for PagePath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = FailurePage;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PagePath(value)),
            Err(_) => Err(page_failure(&parts.uri, PageProblem::PathUnreadable)),
        }
    }
}
