//! Server functions for admins (users and groups) and the audit log.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{AuditEvent, AuditFilter, Group, IssuedLink, NewUserInput, Page, User};

#[cfg(feature = "ssr")]
use super::context;

/// Lists console users, one page after `cursor`.
#[server]
pub async fn list_users(cursor: Option<String>) -> Result<Page<User>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.list_users(&viewer, cursor).await
}

/// Creates a local user; returns a sign-in link when no password was set.
#[server]
pub async fn create_local_user(
    input: NewUserInput,
) -> Result<(User, Option<IssuedLink>), AppError> {
    let viewer = context::viewer().await?;
    let created = context::backend()?
        .create_local_user(&viewer, input)
        .await?;
    super::flash::keep_for_plain_form("new_user", &created).await?;
    Ok(created)
}

/// Replaces a user's console roles.
#[server]
pub async fn set_user_roles(
    id: Uuid,
    #[server(default)] roles: Vec<String>,
) -> Result<User, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.set_user_roles(&viewer, id, roles).await
}

/// Disables or re-enables a user.
#[server]
pub async fn set_user_disabled(id: Uuid, disabled: bool) -> Result<User, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .set_user_disabled(&viewer, id, disabled)
        .await
}

/// Issues a one-time sign-in link for a local user.
#[server]
pub async fn issue_sign_in_link(id: Uuid) -> Result<IssuedLink, AppError> {
    let viewer = context::viewer().await?;
    let link = context::backend()?.issue_sign_in_link(&viewer, id).await?;
    super::flash::keep_for_plain_form(&format!("sign_in_link.{id}"), &link).await?;
    Ok(link)
}

/// Lists groups, one page after `cursor`.
#[server]
pub async fn list_groups(cursor: Option<String>) -> Result<Page<Group>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.list_groups(&viewer, cursor).await
}

/// Creates a group.
#[server]
pub async fn create_group(
    name: String,
    #[server(default)] description: String,
) -> Result<Group, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .create_group(&viewer, name, description)
        .await
}

/// Adds a user to a group or removes them.
#[server]
pub async fn set_group_member(
    group_id: Uuid,
    user_id: Uuid,
    member: bool,
) -> Result<Group, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .set_group_member(&viewer, group_id, user_id, member)
        .await
}

/// Lists audit events, newest first.
#[server]
pub async fn list_audit(
    #[server(default)] filter: AuditFilter,
    cursor: Option<String>,
) -> Result<Page<AuditEvent>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .list_audit(&viewer, filter, cursor)
        .await
}
