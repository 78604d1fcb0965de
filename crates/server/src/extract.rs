//! Extractors whose rejections use our error shapes: JSON for the API, the
//! HTML failure page for the browser pages.

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;
use crate::routes::pages::FailurePage;

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

/// `axum::Form` for a browser page, rejecting with the HTML failure page.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(FailurePage))]
pub struct PageForm<T>(pub T);

/// `axum::extract::Query` for a browser page, rejecting with the HTML
/// failure page.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(FailurePage))]
pub struct PageQuery<T>(pub T);

/// `axum::extract::Path` for a browser page, rejecting with the HTML
/// failure page.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(FailurePage))]
pub struct PagePath<T>(pub T);
