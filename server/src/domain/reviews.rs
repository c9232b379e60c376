//! Approving and denying requests, and the request page's view of them.
//!
//! A review runs in one transaction that locks the request row, so concurrent reviews of the
//! same request are applied one after another and a concurrent approve and deny end in exactly
//! one outcome.

use app::error::AppError;
use app::model::{Channel, RequestDetail, RequestState, Review, ReviewDecision, Role};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::optional_text;
use super::notifications::{self, Event, EventKind};
use super::{grants, requests, resources};
use crate::error::Result;
use crate::services::Services;

/// The refusal given when a requester tries to review their own request.
pub const SELF_REVIEW: &str = "you cannot review your own request; another approver must decide";

/// Longest accepted review comment, in characters.
pub const MAX_COMMENT: usize = 2000;

/// Records `actor`'s approve or deny on request `id` and applies its outcome.
pub async fn review(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    decision: ReviewDecision,
    comment: &str,
    channel: Channel,
) -> Result<RequestDetail> {
    review_audited(svc, actor, id, decision, comment, channel, None).await?;
    detail(svc, actor, id).await
}

/// Like `review`, through approval link `link_id`. The link is used up in the review's own
/// transaction, so a link that was already used makes the review fail and changes nothing.
pub async fn review_with_link(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    decision: ReviewDecision,
    comment: &str,
    channel: Channel,
    link_id: Uuid,
) -> Result<()> {
    review_audited(svc, actor, id, decision, comment, channel, Some(link_id)).await
}

async fn review_audited(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    decision: ReviewDecision,
    comment: &str,
    channel: Channel,
    link_id: Option<Uuid>,
) -> Result<()> {
    let now = svc.now();
    let result = review_checked(svc, actor, now, id, decision, comment, channel, link_id).await;
    let action = match &result {
        Err(crate::error::Error::App(AppError::Forbidden { message }))
            if message == SELF_REVIEW =>
        {
            "request.self_review_blocked"
        }
        _ => "request.review",
    };
    audit::refusals(&svc.pool, actor, now, action, "access_request", id, result).await
}

#[expect(
    clippy::too_many_arguments,
    reason = "the review's inputs, passed through once"
)]
async fn review_checked(
    svc: &Services,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    decision: ReviewDecision,
    comment: &str,
    channel: Channel,
    link_id: Option<Uuid>,
) -> Result<()> {
    let user_id = actor.user()?;
    let comment = optional_text("comment", comment, MAX_COMMENT)?.unwrap_or_default();
    let mut tx = svc.pool.begin().await?;
    let request = sqlx::query!(
        r#"
        select requester_id, resource_id, state as "state: RequestState", pending_deadline
        from access_requests where id = $1 for update
        "#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found(format!("request {id} does not exist")))?;

    if request.requester_id == user_id {
        return Err(AppError::forbidden(SELF_REVIEW).into());
    }
    actor.require(Role::Approver)?;
    if request.state != RequestState::Pending {
        return Err(AppError::conflict(format!(
            "the request is already {}; nothing was changed",
            request.state.as_str()
        ))
        .into());
    }
    if request.pending_deadline <= now {
        tx.rollback().await?;
        requests::expire(svc, &Actor::job(), id).await?;
        return Err(AppError::conflict(format!(
            "the request expired at {}; nothing was changed",
            request.pending_deadline.to_rfc3339()
        ))
        .into());
    }
    let archived = sqlx::query_scalar!(
        "select archived_at is not null as \"archived!\" from resources where id = $1",
        request.resource_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if archived {
        return Err(AppError::conflict(
            "the resource is archived, so its requests can no longer be approved",
        )
        .into());
    }
    if !resources::is_approver(&mut tx, user_id, request.resource_id).await? {
        return Err(
            AppError::forbidden("you are not an approver of this request's resource").into(),
        );
    }

    if let Some(link_id) = link_id {
        let used = sqlx::query!(
            r#"
            update approval_links set used_at = $3
            where id = $1 and approver_id = $2 and request_id = $4 and used_at is null
                and expires_at > $3
            "#,
            link_id,
            user_id,
            now,
            id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used != 1 {
            return Err(AppError::conflict(
                "this approval link was already used or has expired; nothing was changed",
            )
            .into());
        }
    }

    sqlx::query!(
        r#"
        insert into reviews (request_id, reviewer_id, decision, comment, channel, created_at)
        values ($1, $2, $3, $4, $5, $6)
        "#,
        id,
        user_id,
        decision.as_str(),
        comment,
        channel.as_str(),
        now
    )
    .execute(&mut *tx)
    .await
    .map_err(crate::error::conflict_on(
        "reviews_request_reviewer_key",
        "you have already reviewed this request",
    ))?;

    let details = json!({ "decision": decision, "channel": channel, "comment": comment });
    match decision {
        ReviewDecision::Deny => {
            decide(&mut tx, id, RequestState::Denied, now).await?;
            notifications::enqueue(
                &mut tx,
                svc,
                Event::RequestDecided {
                    request_id: id,
                    kind: EventKind::RequestDenied,
                    decided_by: Some(user_id),
                },
            )
            .await?;
            audit::append(
                &mut tx,
                actor,
                now,
                Entry::success("request.denied", "access_request", id)
                    .reason(comment.clone())
                    .details(details),
            )
            .await?;
        }
        ReviewDecision::Approve => {
            let approvals =
                count_approvals(&mut tx, id, request.requester_id, request.resource_id).await?;
            let required = sqlx::query_scalar!(
                "select required_approvals from access_requests where id = $1",
                id
            )
            .fetch_one(&mut *tx)
            .await?;
            if i64::from(required) <= approvals {
                decide(&mut tx, id, RequestState::Approved, now).await?;
                let grant_id = grants::create_for_request(&mut tx, id, now).await?;
                notifications::enqueue(
                    &mut tx,
                    svc,
                    Event::RequestDecided {
                        request_id: id,
                        kind: EventKind::RequestApproved,
                        decided_by: Some(user_id),
                    },
                )
                .await?;
                audit::append(
                    &mut tx,
                    actor,
                    now,
                    Entry::success("request.approved", "access_request", id)
                        .reason(comment.clone())
                        .details(json!({
                            "decision": decision,
                            "channel": channel,
                            "approvals": approvals,
                            "required": required,
                            "grant_id": grant_id,
                        })),
                )
                .await?;
            } else {
                audit::append(
                    &mut tx,
                    actor,
                    now,
                    Entry::success("request.approval_recorded", "access_request", id)
                        .reason(comment.clone())
                        .details(json!({
                            "channel": channel,
                            "approvals": approvals,
                            "required": required,
                        })),
                )
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn decide(
    conn: &mut PgConnection,
    id: Uuid,
    state: RequestState,
    now: DateTime<Utc>,
) -> Result<()> {
    let changed = sqlx::query!(
        "update access_requests set state = $2, decided_at = $3 where id = $1 and state = 'pending'",
        id,
        state.as_str(),
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(AppError::conflict(
            "the request was decided by someone else first; nothing was changed",
        )
        .into());
    }
    Ok(())
}

/// Counts approvals from distinct reviewers who are still eligible approvers and are not the
/// requester.
async fn count_approvals(
    conn: &mut PgConnection,
    id: Uuid,
    requester_id: Uuid,
    resource_id: Uuid,
) -> Result<i64> {
    let reviewers = sqlx::query_scalar!(
        "select distinct reviewer_id from reviews where request_id = $1 and decision = 'approve'",
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut count = 0;
    for reviewer in reviewers {
        if reviewer != requester_id && resources::is_approver(conn, reviewer, resource_id).await? {
            count += 1;
        }
    }
    Ok(count)
}

/// Loads the request page's view: the request, its reviews and grant, and what the actor may do.
pub async fn detail(svc: &Services, actor: &Actor, id: Uuid) -> Result<RequestDetail> {
    let user_id = actor.user()?;
    let mut conn = svc.pool.acquire().await?;
    let request = requests::load(&mut conn, id).await?;
    if !requests::may_view(&mut conn, actor, &request).await? {
        return Err(AppError::not_found(format!("request {id} does not exist")).into());
    }
    let reviews = sqlx::query_as!(
        Review,
        r#"
        select v.reviewer_id, u.display_name as reviewer_name,
            v.decision as "decision: ReviewDecision", v.comment,
            v.channel as "channel: Channel", v.created_at
        from reviews v join users u on u.id = v.reviewer_id
        where v.request_id = $1
        order by v.created_at
        "#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let grant = grants::for_request(&mut conn, id).await?;
    let pending = request.state == RequestState::Pending && request.pending_deadline > svc.now();
    let review_blocked_reason = if !pending {
        Some(format!("the request is {}", request.state.as_str()))
    } else if request.requester_id == user_id {
        Some(SELF_REVIEW.to_owned())
    } else if !actor.has(Role::Approver)
        || !resources::is_approver(&mut conn, user_id, request.resource_id).await?
    {
        Some("you are not an approver of this request's resource".to_owned())
    } else if reviews.iter().any(|review| review.reviewer_id == user_id) {
        Some("you have already reviewed this request".to_owned())
    } else {
        None
    };
    let live_grant = grant
        .as_ref()
        .is_some_and(|grant| grant.state.is_live() && grant.expires_at > svc.now());
    let is_requester = request.requester_id == user_id;
    Ok(RequestDetail {
        can_cancel: pending && is_requester,
        can_extend_grant: live_grant && is_requester,
        can_revoke_grant: live_grant && (is_requester || actor.has(Role::Admin)),
        can_review: review_blocked_reason.is_none(),
        review_blocked_reason,
        request,
        reviews,
        grant,
    })
}
