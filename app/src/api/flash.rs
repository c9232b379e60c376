//! One-time results for pages used without JavaScript.
//!
//! A plain form post is answered with a redirect back to the page, so the result of the server
//! function (a new token's secret, a sign-in link, an import report) would be lost. The server
//! function keeps such a result in the session, and the page takes it out once when it renders.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
use super::context;

/// Results taken from the session while rendering one request.
///
/// Server-side rendering may build a component, and so call its resource's fetcher, more than
/// once per request; the first call removes the result from the session and later calls in the
/// same request get it from here. The server provides a fresh one for each request.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, Default)]
pub struct TakenResults(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Option<String>>>>,
);

/// Takes the result kept under `key`, as JSON, removing it from the session.
#[server]
pub async fn take_kept_result(key: String) -> Result<Option<String>, AppError> {
    let taken = use_context::<TakenResults>().unwrap_or_default();
    if let Some(value) = taken
        .0
        .lock()
        .ok()
        .and_then(|cache| cache.get(&key).cloned())
    {
        return Ok(value);
    }
    let session = context::session().await?;
    let kept = session
        .remove::<Kept>(&session_key(&key))
        .await
        .map_err(|_| AppError::Internal {
            error_id: "session-read".into(),
        })?;
    let now = chrono::Utc::now().timestamp();
    let value = kept
        .filter(|kept| now - kept.kept_at <= MAX_KEPT_SECONDS)
        .map(|kept| kept.json);
    if let Ok(mut cache) = taken.0.lock() {
        cache.insert(key, value.clone());
    }
    Ok(value)
}

/// Keeps `value` under `key` when the current request is a plain form post (no JavaScript),
/// which is the only case in which the page cannot receive the function's result.
#[cfg(feature = "ssr")]
pub async fn keep_for_plain_form<T: serde::Serialize>(
    key: &str,
    value: &T,
) -> Result<(), AppError> {
    let headers = leptos_axum::extract::<http::HeaderMap>()
        .await
        .map_err(|_| AppError::Internal {
            error_id: "headers-missing".into(),
        })?;
    let plain_form = headers
        .get(http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !plain_form {
        return Ok(());
    }
    keep_result(key, value).await
}

/// Keeps `value` under `key` for the next page that takes it, whatever the client.
#[cfg(feature = "ssr")]
pub async fn keep_result<T: serde::Serialize>(key: &str, value: &T) -> Result<(), AppError> {
    let json = serde_json::to_string(value).map_err(|_| AppError::Internal {
        error_id: "result-encode".into(),
    })?;
    let kept = Kept {
        json,
        kept_at: chrono::Utc::now().timestamp(),
    };
    let session = context::session().await?;
    session
        .insert(&session_key(key), kept)
        .await
        .map_err(|_| AppError::Internal {
            error_id: "session-write".into(),
        })
}

/// How long a kept result waits for its page, in seconds. The redirect back to the page follows
/// at once, so a result older than this was never shown and is dropped.
#[cfg(feature = "ssr")]
const MAX_KEPT_SECONDS: i64 = 300;

/// A result kept in the session, with when it was kept (Unix seconds).
#[cfg(feature = "ssr")]
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    json: String,
    kept_at: i64,
}

#[cfg(feature = "ssr")]
fn session_key(key: &str) -> String {
    format!("kept_result.{key}")
}
