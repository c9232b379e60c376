//! Gives failed server-function calls the status code of their error.
//!
//! server_fn 0.8 returns every error of a `fetch` call with status 500 and the encoded error in the body.
//! This layer reads that body and sets the error's own status, so that a caller's mistake is a
//! 4xx. The browser client decodes any status from 400 to 599 as the error, so hydrated pages
//! behave the same. Plain form posts are redirected back to the page and pass unchanged.

use app::error::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use server_fn::error::SERVER_FN_ERROR_HEADER;

/// Largest error body read back; encoded `AppError`s are a few hundred bytes.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Replaces a server function's 500 with its error's status code.
pub async fn set_error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(error = %error, "cannot read a server function's error body");
            return Response::from_parts(parts, Body::empty());
        }
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}
