//! Server functions for approval links and the admin's notifications page.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{ApprovalLinkOutcome, ApprovalLinkView, NotificationsOverview, ReviewDecision};

#[cfg(feature = "ssr")]
use super::context;

/// Key under which the outcome of a link decision is kept for the page after it.
pub const OUTCOME_KEY: &str = "approval_outcome";

/// Session key of the page to return to after signing in.
#[cfg(feature = "ssr")]
pub const RETURN_TO_KEY: &str = "return_to";

/// Loads an approval link's confirmation page. Opening it changes nothing. When the link needs
/// a signed-in approver, the page (with the `decision` the message's button chose, if any) is
/// remembered so that signing in comes back to it.
#[server]
pub async fn open_approval_link(
    token: String,
    #[server(default)] decision: String,
) -> Result<ApprovalLinkView, AppError> {
    let viewer = context::maybe_viewer().await;
    let view = context::backend()?
        .open_approval_link(viewer.as_ref(), token.clone())
        .await?;
    if view.state == crate::model::LinkState::SignInRequired {
        let session = context::session().await?;
        let mut page = format!("/approve?token={}", token.trim());
        if let Ok(decision) = decision.parse::<ReviewDecision>() {
            page.push_str(&format!("&decision={decision}"));
        }
        session
            .insert(RETURN_TO_KEY, page)
            .await
            .map_err(|_| AppError::Internal {
                error_id: "session-write".into(),
            })?;
    }
    Ok(view)
}

/// Approves or denies through an approval link, then shows the outcome on its own page.
#[server(endpoint = "decide_approval_link")]
pub async fn decide_approval_link(
    token: String,
    decision: ReviewDecision,
    #[server(default)] comment: String,
) -> Result<ApprovalLinkOutcome, AppError> {
    let viewer = context::maybe_viewer().await;
    let outcome = context::backend()?
        .decide_approval_link(viewer.as_ref(), token, decision, comment)
        .await?;
    super::flash::keep_result(OUTCOME_KEY, &outcome).await?;
    leptos_axum::redirect("/approve/done");
    Ok(outcome)
}

/// Returns the page to open after signing in: a remembered approval link, or the dashboard.
#[cfg(feature = "ssr")]
pub async fn take_return_to() -> String {
    let Ok(session) = context::session().await else {
        return "/".to_owned();
    };
    match session.remove::<String>(RETURN_TO_KEY).await {
        // Only Writ's own approval pages, so that the value cannot send anyone elsewhere.
        Ok(Some(page)) if page.starts_with("/approve?") => page,
        _ => "/".to_owned(),
    }
}

/// Loads the admin's notifications page.
#[server]
pub async fn load_notifications(
    #[server(default)] failing_only: bool,
) -> Result<NotificationsOverview, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .notifications_overview(&viewer, failing_only)
        .await
}

/// Sets or clears the Slack channel id of a resource.
#[server]
pub async fn set_resource_slack_channel(
    resource_id: Uuid,
    #[server(default)] slack_channel: String,
) -> Result<(), AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .set_resource_slack_channel(&viewer, resource_id, slack_channel)
        .await
}

/// Sends a failed delivery again.
#[server]
pub async fn retry_delivery(id: Uuid) -> Result<(), AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.retry_delivery(&viewer, id).await
}
