//! The dashboard: what needs the viewer's attention now.

use app::model::{Dashboard, Role};

use super::actor::Actor;
use super::{grants, requests};
use crate::error::Result;
use crate::services::Services;

/// Collects the viewer's pending approvals, pending requests, live grants and those expiring
/// soon, and (for admins) how many non-human identities lack an owner.
pub async fn load(svc: &Services, actor: &Actor) -> Result<Dashboard> {
    let user_id = actor.user()?;
    let pending_approvals = requests::review_queue(svc, actor, None).await?.items;
    let my_pending_requests = requests::list_mine(svc, actor, None)
        .await?
        .items
        .into_iter()
        .filter(|request| request.state == app::model::RequestState::Pending)
        .collect();
    let active_grants = grants::live_for_requester(svc, user_id, None).await?;
    let expiring_soon =
        grants::live_for_requester(svc, user_id, Some(svc.settings.expiring_soon)).await?;
    let unowned_identities = if actor.has(Role::Admin) || actor.has(Role::Auditor) {
        sqlx::query_scalar!(
            r#"select count(*) as "count!" from identities where owner_id is null and kind <> 'human'"#
        )
        .fetch_one(&svc.pool)
        .await?
    } else {
        0
    };
    Ok(Dashboard {
        pending_approvals,
        my_pending_requests,
        active_grants,
        expiring_soon,
        unowned_identities,
    })
}
