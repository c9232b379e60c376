//! Server functions for the identity inventory.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{
    Choice, Identity, IdentityFilter, IdentityInput, IdentityStatus, ImportMode, ImportReport, Page,
};

#[cfg(feature = "ssr")]
use super::context;

/// Lists identities matching `filter`, one page after `cursor`.
#[server]
pub async fn list_identities(
    #[server(default)] filter: IdentityFilter,
    cursor: Option<String>,
) -> Result<Page<Identity>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .list_identities(&viewer, filter, cursor)
        .await
}

/// Loads one identity.
#[server]
pub async fn get_identity(id: Uuid) -> Result<Identity, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.get_identity(&viewer, id).await
}

/// Adds an identity and opens its page.
#[server]
pub async fn create_identity(input: IdentityInput) -> Result<Identity, AppError> {
    let viewer = context::viewer().await?;
    let identity = context::backend()?.create_identity(&viewer, input).await?;
    leptos_axum::redirect(&format!("/identities/{}", identity.id));
    Ok(identity)
}

/// Saves an identity's fields and returns to its page.
#[server]
pub async fn update_identity(id: Uuid, input: IdentityInput) -> Result<Identity, AppError> {
    let viewer = context::viewer().await?;
    let identity = context::backend()?
        .update_identity(&viewer, id, input)
        .await?;
    leptos_axum::redirect(&format!("/identities/{id}"));
    Ok(identity)
}

/// Disables or re-enables an identity.
#[server]
pub async fn set_identity_status(id: Uuid, status: IdentityStatus) -> Result<Identity, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .set_identity_status(&viewer, id, status)
        .await
}

/// Imports identities from CSV text.
#[server]
pub async fn import_identities(csv: String, mode: ImportMode) -> Result<ImportReport, AppError> {
    let viewer = context::viewer().await?;
    let report = context::backend()?
        .import_identities(&viewer, csv, mode)
        .await?;
    super::flash::keep_for_plain_form("import_report", &report).await?;
    Ok(report)
}

/// Lists human identities that can own others.
#[server]
pub async fn owner_choices() -> Result<Vec<Choice>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.owner_choices(&viewer).await
}
