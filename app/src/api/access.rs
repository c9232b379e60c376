//! Server functions for resources, requests, reviews, grants and the dashboard.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{
    AccessRequest, Choice, Dashboard, Grant, GrantScope, Page, RequestDetail, RequestInput,
    Resource, ResourceInput, ReviewDecision,
};

#[cfg(feature = "ssr")]
use super::context;

/// Collects what the viewer's dashboard shows.
#[server]
pub async fn load_dashboard() -> Result<Dashboard, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.dashboard(&viewer).await
}

/// Lists resources, one page after `cursor`; admins may include archived ones.
#[server]
pub async fn list_resources(
    include_archived: bool,
    cursor: Option<String>,
) -> Result<Page<Resource>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .list_resources(&viewer, include_archived, cursor)
        .await
}

/// Lists the resources the viewer may request.
#[server]
pub async fn requestable_resources() -> Result<Vec<Resource>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.requestable_resources(&viewer).await
}

/// Loads one resource.
#[server]
pub async fn get_resource(id: Uuid) -> Result<Resource, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.get_resource(&viewer, id).await
}

/// Creates a resource and returns to the resource list.
#[server]
pub async fn create_resource(input: ResourceInput) -> Result<Resource, AppError> {
    let viewer = context::viewer().await?;
    let resource = context::backend()?.create_resource(&viewer, input).await?;
    leptos_axum::redirect("/resources");
    Ok(resource)
}

/// Saves a resource and returns to the resource list.
#[server]
pub async fn update_resource(id: Uuid, input: ResourceInput) -> Result<Resource, AppError> {
    let viewer = context::viewer().await?;
    let resource = context::backend()?
        .update_resource(&viewer, id, input)
        .await?;
    leptos_axum::redirect("/resources");
    Ok(resource)
}

/// Archives or restores a resource.
#[server]
pub async fn set_resource_archived(id: Uuid, archived: bool) -> Result<Resource, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .set_resource_archived(&viewer, id, archived)
        .await
}

/// Lists users and groups for the requester and approver pickers.
#[server]
pub async fn principal_choices() -> Result<Vec<Choice>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.principal_choices(&viewer).await
}

/// Lists the identities the viewer may request access for.
#[server]
pub async fn subject_choices() -> Result<Vec<Choice>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.subject_choices(&viewer).await
}

/// Files an access request and opens its page.
#[server]
pub async fn create_request(input: RequestInput) -> Result<AccessRequest, AppError> {
    let viewer = context::viewer().await?;
    let request = context::backend()?.create_request(&viewer, input).await?;
    leptos_axum::redirect(&format!("/requests/{}", request.id));
    Ok(request)
}

/// Lists the viewer's requests.
#[server]
pub async fn list_my_requests(cursor: Option<String>) -> Result<Page<AccessRequest>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.list_my_requests(&viewer, cursor).await
}

/// Lists requests waiting for the viewer's review.
#[server]
pub async fn list_review_queue(cursor: Option<String>) -> Result<Page<AccessRequest>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.list_review_queue(&viewer, cursor).await
}

/// Loads a request with its reviews and grant.
#[server]
pub async fn get_request(id: Uuid) -> Result<RequestDetail, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.get_request(&viewer, id).await
}

/// Approves or denies a request.
#[server]
pub async fn review_request(
    id: Uuid,
    decision: ReviewDecision,
    #[server(default)] comment: String,
) -> Result<RequestDetail, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .review_request(&viewer, id, decision, comment)
        .await
}

/// Cancels the viewer's pending request.
#[server]
pub async fn cancel_request(id: Uuid) -> Result<AccessRequest, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.cancel_request(&viewer, id).await
}

/// Lists grants, live or past.
#[server]
pub async fn list_grants(
    scope: GrantScope,
    cursor: Option<String>,
) -> Result<Page<Grant>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .list_grants(&viewer, scope, cursor)
        .await
}

/// Extends a live grant.
#[server]
pub async fn extend_grant(id: Uuid, by: String, reason: String) -> Result<Grant, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .extend_grant(&viewer, id, by, reason)
        .await
}

/// Ends a live grant early.
#[server]
pub async fn revoke_grant(id: Uuid, reason: String) -> Result<Grant, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.revoke_grant(&viewer, id, reason).await
}
