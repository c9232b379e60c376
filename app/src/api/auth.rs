//! Server functions for signing in and out and for the viewer's own account.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ApiToken, CreatedToken, SignInMethods, Viewer};

#[cfg(feature = "ssr")]
use super::context;

/// Session key holding the signed-in user's id; the server's session store reads it too.
pub const USER_ID_KEY: &str = "user_id";

/// Returns the signed-in viewer, if any.
#[server]
pub async fn current_viewer() -> Result<Option<Viewer>, AppError> {
    Ok(context::maybe_viewer().await)
}

/// Returns how people may sign in: through the identity provider, with local accounts, or both.
#[server]
pub async fn available_sign_in_methods() -> Result<SignInMethods, AppError> {
    Ok(context::backend()?.sign_in_methods())
}

/// Signs in with a local account's name and password, then opens `return_to` when it is a
/// path on this site.
#[server]
pub async fn sign_in(
    login: String,
    password: String,
    #[server(default)] return_to: String,
) -> Result<(), AppError> {
    let user_id = context::backend()?
        .sign_in_password(login, password)
        .await?;
    // An explicit on-site return path wins; otherwise an approval link remembered before
    // sign-in, otherwise the dashboard. The remembered link is read before the session starts
    // because starting it clears the anonymous session's data.
    let remembered = super::notify::take_return_to().await;
    start_session(user_id).await?;
    let target = crate::return_to::safe_return_to(&return_to).unwrap_or(remembered);
    leptos_axum::redirect(&target);
    Ok(())
}

/// Returns the name of the user a sign-in link is for.
#[server]
pub async fn peek_sign_in_link(token: String) -> Result<String, AppError> {
    context::backend()?.peek_sign_in_link(token).await
}

/// Uses a one-time sign-in link and signs in.
#[server]
pub async fn redeem_sign_in_link(token: String) -> Result<(), AppError> {
    let user_id = context::backend()?.redeem_sign_in_link(token).await?;
    let target = super::notify::take_return_to().await;
    start_session(user_id).await?;
    leptos_axum::redirect(&target);
    Ok(())
}

/// Signs out, deleting the session record on the server.
#[server]
pub async fn sign_out() -> Result<(), AppError> {
    if let Some(viewer) = context::maybe_viewer().await {
        context::backend()?.record_sign_out(&viewer).await?;
    }
    let session = context::session().await?;
    session.flush().await.map_err(|_| AppError::Internal {
        error_id: "session-flush".into(),
    })?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// Changes the viewer's local password.
#[server]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .change_password(&viewer, current_password, new_password)
        .await?;
    // Changing the password ended every session of the user; this browser gets a new one.
    start_session(viewer.user_id).await?;
    super::flash::keep_for_plain_form("password_changed", &()).await
}

/// Lists the viewer's API tokens.
#[server]
pub async fn list_api_tokens() -> Result<Vec<ApiToken>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.list_api_tokens(&viewer).await
}

/// Creates an API token; the secret is in the result and never shown again.
#[server]
pub async fn create_api_token(
    name: String,
    #[server(default)] roles: Vec<String>,
    expires_in: String,
) -> Result<CreatedToken, AppError> {
    let viewer = context::viewer().await?;
    let created = context::backend()?
        .create_api_token(&viewer, name, roles, expires_in)
        .await?;
    super::flash::keep_for_plain_form("api_token", &created).await?;
    Ok(created)
}

/// Revokes one of the viewer's API tokens.
#[server]
pub async fn revoke_api_token(id: uuid::Uuid) -> Result<(), AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.revoke_api_token(&viewer, id).await
}

/// Replaces the session with a new, empty one (a new id, so a fixed id cannot be reused) for
/// `user_id`. The server's session store records the sign-in time when it saves the record.
#[cfg(feature = "ssr")]
async fn start_session(user_id: uuid::Uuid) -> Result<(), AppError> {
    let session = context::session().await?;
    let failed = |_| AppError::Internal {
        error_id: "session-start".into(),
    };
    session.clear().await;
    session.cycle_id().await.map_err(failed)?;
    session.insert(USER_ID_KEY, user_id).await.map_err(failed)?;
    Ok(())
}
