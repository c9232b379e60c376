//! Server functions for runtime decisions: policy versions, the decision log and decision
//! clients.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{
    CreatedClient, DecisionClient, DecisionDetail, DecisionFilter, DecisionSummary, Page,
    PolicyOverview, PolicyVersion, PolicyVersionDetail, WhatIf,
};

#[cfg(feature = "ssr")]
use super::context;

/// Session key of a draft that failed to save from a plain form, so the editor can show it again.
pub const REJECTED_DRAFT_KEY: &str = "policy_draft";
/// Session key of the version that a plain form activated.
pub const ACTIVATED_KEY: &str = "policy_activated";
/// Session key of a newly registered client's token.
pub const CREATED_CLIENT_KEY: &str = "client_token.created";
/// Session key of a rotated client token.
pub const ROTATED_CLIENT_KEY: &str = "client_token.rotated";

/// Session key of a what-if replay of the version `id`.
pub fn what_if_key(id: Uuid) -> String {
    format!("what_if.{id}")
}

/// The text of a draft that failed to save, kept so that a page without JavaScript loses none of
/// it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectedDraft {
    pub source: String,
    pub reason: String,
}

/// Loads the active policy version, the version history and the Cedar schema.
// Named apart from the model type of the same name; the URL stays /api/policy_overview.
#[server(name = LoadPolicyOverview)]
pub async fn policy_overview() -> Result<PolicyOverview, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.policy_overview(&viewer).await
}

/// Loads one policy version with its diff from the active version.
#[server(name = LoadPolicyVersion)]
pub async fn policy_version(id: Uuid) -> Result<PolicyVersionDetail, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.policy_version(&viewer, id).await
}

/// Saves Cedar source as a new, inactive policy version and opens that version's page.
#[server]
pub async fn save_policy_draft(
    source: String,
    #[server(default)] reason: String,
) -> Result<PolicyVersion, AppError> {
    let viewer = context::viewer().await?;
    // Browsers submit a textarea's line breaks as CRLF. Without this, a draft saved from the
    // console would differ from an LF source on every line and get a different hash.
    let source = source.replace("\r\n", "\n");
    let saved = context::backend()?
        .save_policy_draft(&viewer, source.clone(), reason.clone())
        .await;
    match saved {
        Ok(version) => {
            leptos_axum::redirect(&format!("/policies/{}", version.id));
            Ok(version)
        }
        Err(error) => {
            let draft = RejectedDraft { source, reason };
            super::flash::keep_for_plain_form(REJECTED_DRAFT_KEY, &draft).await?;
            Err(error)
        }
    }
}

/// Makes a policy version the active one. Activating an older version rolls back to it.
#[server]
pub async fn activate_policy(
    id: Uuid,
    #[server(default)] reason: String,
) -> Result<PolicyVersion, AppError> {
    let viewer = context::viewer().await?;
    let version = context::backend()?
        .activate_policy(&viewer, id, reason)
        .await?;
    super::flash::keep_for_plain_form(ACTIVATED_KEY, &version).await?;
    Ok(version)
}

/// Replays recorded decisions against a policy version.
#[server]
pub async fn policy_what_if(id: Uuid) -> Result<WhatIf, AppError> {
    let viewer = context::viewer().await?;
    let what_if = context::backend()?.policy_what_if(&viewer, id).await?;
    super::flash::keep_for_plain_form(&what_if_key(id), &what_if).await?;
    Ok(what_if)
}

/// Lists recorded decisions matching `filter`, newest first.
#[server]
pub async fn list_decisions(
    #[server(default)] filter: DecisionFilter,
    cursor: Option<String>,
) -> Result<Page<DecisionSummary>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?
        .list_decisions(&viewer, filter, cursor)
        .await
}

/// Loads one recorded decision.
#[server]
pub async fn get_decision(id: Uuid) -> Result<DecisionDetail, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.get_decision(&viewer, id).await
}

/// Lists the registered decision clients.
#[server]
pub async fn list_clients() -> Result<Vec<DecisionClient>, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.list_clients(&viewer).await
}

/// Registers a decision client. The page shows its token once.
#[server]
pub async fn create_client(
    name: String,
    #[server(default)] description: String,
) -> Result<CreatedClient, AppError> {
    let viewer = context::viewer().await?;
    let created = context::backend()?
        .create_client(&viewer, name, description)
        .await?;
    super::flash::keep_for_plain_form(CREATED_CLIENT_KEY, &created).await?;
    Ok(created)
}

/// Replaces a decision client's token. The page shows the new token once.
#[server]
pub async fn rotate_client_token(id: Uuid) -> Result<CreatedClient, AppError> {
    let viewer = context::viewer().await?;
    let rotated = context::backend()?.rotate_client_token(&viewer, id).await?;
    super::flash::keep_for_plain_form(ROTATED_CLIENT_KEY, &rotated).await?;
    Ok(rotated)
}

/// Disables a decision client.
#[server]
pub async fn disable_client(id: Uuid) -> Result<DecisionClient, AppError> {
    let viewer = context::viewer().await?;
    context::backend()?.disable_client(&viewer, id).await
}
