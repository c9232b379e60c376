//! Single-use approval links: issued per approver, request and channel when a message is sent,
//! opened on a confirmation page (which changes nothing), and used by that page's form.
//!
//! The link's own rules live here: the token must match, be unused and unexpired, and belong to
//! the signed-in user (or, where the settings allow it for low and medium sensitivity, stand in
//! for sign-in). Whether the user may review the request at all is decided by
//! `reviews::review`, which also uses the link up in the same transaction as the review.

use app::error::AppError;
use app::model::{
    AccessRequest, ApprovalLinkOutcome, ApprovalLinkView, Channel, LinkState, ReviewDecision,
    Viewer,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::{accounts, requests, reviews, secrets};
use crate::error::{Error, Result};
use crate::services::Services;

/// Path of the confirmation page; the token follows in the query.
pub const PAGE: &str = "/approve";

/// Creates (or replaces) `approver_id`'s link to `request_id` for `channel` and returns its
/// token, or `None` when that link was already used. The link expires at `expires_at`, the
/// request's pending deadline.
pub async fn issue(
    conn: &mut PgConnection,
    request_id: Uuid,
    approver_id: Uuid,
    channel: Channel,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let token = secrets::new_token("");
    let issued = sqlx::query_scalar!(
        r#"
        insert into approval_links (token_hash, request_id, approver_id, channel, created_at, expires_at)
        values ($1, $2, $3, $4, $5, $6)
        on conflict (request_id, approver_id, channel) do update
            set token_hash = excluded.token_hash, created_at = excluded.created_at,
                expires_at = excluded.expires_at
            where approval_links.used_at is null
        returning id
        "#,
        secrets::token_hash(&token),
        request_id,
        approver_id,
        channel.as_str(),
        now,
        expires_at
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(issued.map(|_| token))
}

/// Returns the confirmation page's URL for `token`, with the decision the message's button chose.
pub fn url(svc: &Services, token: &str, decision: Option<ReviewDecision>) -> String {
    match decision {
        Some(decision) => svc.url(&format!("{PAGE}?token={token}&decision={decision}")),
        None => svc.url(&format!("{PAGE}?token={token}")),
    }
}

/// A link found by its token.
struct Link {
    id: Uuid,
    request_id: Uuid,
    approver_id: Uuid,
    approver_name: String,
    channel: Channel,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

/// Who will act through a link that passed its own checks.
enum Acting {
    Approver(Actor),
    SignInRequired,
}

/// Loads what the confirmation page shows. A link that cannot be used gives a `Refused` view
/// with the reason, and the attempt is audited.
pub async fn open(
    svc: &Services,
    viewer: Option<&Viewer>,
    token: &str,
) -> Result<ApprovalLinkView> {
    let now = svc.now();
    let Some(link) = find(svc, token).await? else {
        let reason =
            "this approval link is not valid: it is mistyped, or a newer message replaced it";
        refuse(svc, viewer, now, "approval_link.open", None, reason).await;
        return Ok(refused_view(String::new(), reason));
    };
    let request = {
        let mut conn = svc.pool.acquire().await?;
        requests::load(&mut conn, link.request_id).await?
    };
    let acting = match check_link(svc, viewer, &link, &request, now).await {
        Ok(acting) => acting,
        Err(reason) => {
            refuse(svc, viewer, now, "approval_link.open", Some(&link), &reason).await;
            return Ok(refused_view(link.approver_name, &reason));
        }
    };
    let actor = match acting {
        Acting::SignInRequired => {
            return Ok(ApprovalLinkView {
                state: LinkState::SignInRequired,
                message: format!(
                    "this link is for {}; sign in as {} and you will come back here",
                    link.approver_name, link.approver_name
                ),
                approver_name: link.approver_name,
                request: None,
                link_only: false,
            });
        }
        Acting::Approver(actor) => actor,
    };
    // The review's own rules say whether this approver may decide now.
    let blocked = match reviews::detail(svc, &actor, link.request_id).await {
        Ok(detail) if detail.can_review => None,
        Ok(detail) => Some(
            detail
                .review_blocked_reason
                .unwrap_or_else(|| "you cannot review this request".to_owned()),
        ),
        Err(Error::App(AppError::NotFound { .. })) => {
            Some("you are no longer an approver of this request's resource".to_owned())
        }
        Err(error) => return Err(error),
    };
    if let Some(reason) = blocked {
        refuse(svc, viewer, now, "approval_link.open", Some(&link), &reason).await;
        return Ok(refused_view(link.approver_name, &reason));
    }
    Ok(ApprovalLinkView {
        state: LinkState::Ready,
        message: String::new(),
        approver_name: link.approver_name,
        request: Some(request),
        link_only: viewer.is_none(),
    })
}

/// Approves or denies through the link as its approver. Every refusal is audited and changes
/// nothing.
pub async fn decide(
    svc: &Services,
    viewer: Option<&Viewer>,
    token: &str,
    decision: ReviewDecision,
    comment: &str,
) -> Result<ApprovalLinkOutcome> {
    let now = svc.now();
    let Some(link) = find(svc, token).await? else {
        let reason =
            "this approval link is not valid: it is mistyped, or a newer message replaced it";
        refuse(svc, viewer, now, "approval_link.use", None, reason).await;
        return Err(AppError::not_found(reason).into());
    };
    let request = {
        let mut conn = svc.pool.acquire().await?;
        requests::load(&mut conn, link.request_id).await?
    };
    let actor = match check_link(svc, viewer, &link, &request, now).await {
        Ok(Acting::Approver(actor)) => actor,
        Ok(Acting::SignInRequired) => {
            let reason = format!("sign in as {} to use this link", link.approver_name);
            refuse(svc, viewer, now, "approval_link.use", Some(&link), &reason).await;
            return Err(AppError::Unauthenticated.into());
        }
        Err(reason) => {
            refuse(svc, viewer, now, "approval_link.use", Some(&link), &reason).await;
            return Err(AppError::conflict(reason).into());
        }
    };
    // `review` applies every review rule, audits its own refusals, and uses the link up in
    // the same transaction as the review.
    reviews::review_with_link(
        svc,
        &actor,
        link.request_id,
        decision,
        comment,
        link.channel,
        link.id,
    )
    .await?;
    let mut conn = svc.pool.acquire().await?;
    Ok(ApprovalLinkOutcome {
        decision,
        request: requests::load(&mut conn, link.request_id).await?,
    })
}

async fn find(svc: &Services, token: &str) -> Result<Option<Link>> {
    let token = token.trim();
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"
        select l.id, l.request_id, l.approver_id, u.display_name as approver_name,
            l.channel as "channel: Channel", l.expires_at, l.used_at
        from approval_links l join users u on u.id = l.approver_id
        where l.token_hash = $1
        "#,
        secrets::token_hash(token)
    )
    .fetch_optional(&svc.pool)
    .await?;
    Ok(row.map(|row| Link {
        id: row.id,
        request_id: row.request_id,
        approver_id: row.approver_id,
        approver_name: row.approver_name,
        channel: row.channel,
        expires_at: row.expires_at,
        used_at: row.used_at,
    }))
}

/// Applies the link's own rules and returns who acts, or the reason the link cannot be used.
async fn check_link(
    svc: &Services,
    viewer: Option<&Viewer>,
    link: &Link,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<Acting, String> {
    if let Some(used_at) = link.used_at {
        return Err(format!(
            "this approval link was already used at {}; each link works once",
            app::format::time(used_at)
        ));
    }
    if link.expires_at <= now {
        return Err(format!(
            "this approval link expired at {} with the request's deadline",
            app::format::time(link.expires_at)
        ));
    }
    match viewer {
        Some(viewer) if viewer.user_id == link.approver_id => {
            Ok(Acting::Approver(Actor::console(viewer)))
        }
        Some(viewer) => Err(format!(
            "this approval link was made for {}, but you are signed in as {}; sign out and sign in as {} to use it",
            link.approver_name, viewer.display_name, link.approver_name
        )),
        None if svc.settings.notify.link_only_allows(request.sensitivity) => {
            match accounts::load_viewer(&svc.pool, link.approver_id).await {
                Ok(Some(approver)) => Ok(Acting::Approver(Actor::console(&approver))),
                Ok(None) => Err(format!(
                    "{}'s account is disabled, so this link no longer works",
                    link.approver_name
                )),
                Err(error) => {
                    tracing::error!(error = %error, link_id = %link.id, "cannot load a link's approver");
                    Err("the link's approver cannot be loaded; try again later".to_owned())
                }
            }
        }
        None => Ok(Acting::SignInRequired),
    }
}

fn refused_view(approver_name: String, reason: &str) -> ApprovalLinkView {
    ApprovalLinkView {
        state: LinkState::Refused,
        message: reason.to_owned(),
        approver_name,
        request: None,
        link_only: false,
    }
}

/// Audits a refused use of a link. The actor is the signed-in user, or the link's approver when
/// nobody is signed in (whoever holds the link acts in their name).
async fn refuse(
    svc: &Services,
    viewer: Option<&Viewer>,
    now: DateTime<Utc>,
    action: &'static str,
    link: Option<&Link>,
    reason: &str,
) {
    let actor = match (viewer, link) {
        (Some(viewer), _) => Actor::console(viewer),
        (None, Some(link)) => Actor::signing_in(
            Some(link.approver_id),
            format!("approval link of {}", link.approver_name),
        ),
        (None, None) => Actor::signing_in(None, "holder of an unknown approval link"),
    };
    let (subject_type, subject_id, details) = match link {
        Some(link) => (
            "access_request",
            link.request_id.to_string(),
            json!({ "link_id": link.id, "approver_id": link.approver_id, "channel": link.channel }),
        ),
        None => ("approval_link", "unknown".to_owned(), json!({})),
    };
    audit::append_alone(
        &svc.pool,
        &actor,
        now,
        Entry::refused(action, subject_type, subject_id, reason).details(details),
    )
    .await;
}
