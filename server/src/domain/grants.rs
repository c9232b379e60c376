//! Grants: creation on approval, activation and expiry by jobs, extension and early revocation.

use std::time::Duration;

use app::error::AppError;
use app::model::GrantScope;
use app::model::{Grant, GrantState, Page, Role};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::optional_text;
use super::notifications::{self, Event, EventKind};
use super::page;
use crate::error::Result;
use crate::jobs::queue::{self, WorkflowJob};
use crate::services::Services;

/// Shortest extension accepted.
pub const MIN_EXTENSION: Duration = Duration::from_secs(60);

/// Creates the grant for approved request `request_id` and schedules its activation and
/// expiry. The clock starts at `now`, or at the scheduled start when that is later.
pub async fn create_for_request(
    conn: &mut PgConnection,
    request_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let request = sqlx::query!(
        r#"
        select requester_id, subject_id, resource_id, duration_secs, scheduled_start
        from access_requests where id = $1
        "#,
        request_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let starts_at = request
        .scheduled_start
        .filter(|start| *start > now)
        .unwrap_or(now);
    let expires_at = starts_at + chrono::Duration::seconds(i64::from(request.duration_secs));
    let grant_id = sqlx::query_scalar!(
        r#"
        insert into grants (request_id, requester_id, subject_id, resource_id, state, starts_at,
            expires_at, created_at)
        values ($1, $2, $3, $4, 'scheduled', $5, $6, $7)
        returning id
        "#,
        request_id,
        request.requester_id,
        request.subject_id,
        request.resource_id,
        starts_at,
        expires_at,
        now
    )
    .fetch_one(&mut *conn)
    .await?;
    queue::schedule(conn, &WorkflowJob::ActivateGrant { grant_id }, starts_at).await?;
    queue::schedule(conn, &WorkflowJob::ExpireGrant { grant_id }, expires_at).await?;
    Ok(grant_id)
}

/// Activates a scheduled grant whose start has come. Returns whether it changed.
pub async fn activate(svc: &Services, actor: &Actor, id: Uuid) -> Result<bool> {
    let now = svc.now();
    let mut tx = svc.pool.begin().await?;
    let activated = sqlx::query!(
        r#"
        update grants set state = 'active', activated_at = $2
        where id = $1 and state = 'scheduled' and starts_at <= $2 and expires_at > $2
        "#,
        id,
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if activated {
        notifications::enqueue(
            &mut tx,
            svc,
            Event::Grant {
                grant_id: id,
                kind: EventKind::GrantActivated,
            },
        )
        .await?;
        notifications::schedule_expiring_notice(&mut tx, svc, id).await?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("grant.activated", "grant", id),
        )
        .await?;
    }
    tx.commit().await?;
    if !activated {
        // A grant whose whole window passed while Writ was down goes straight to expired.
        return expire(svc, actor, id).await;
    }
    Ok(true)
}

/// Expires a live grant whose `expires_at` has passed. Returns whether it changed.
pub async fn expire(svc: &Services, actor: &Actor, id: Uuid) -> Result<bool> {
    let now = svc.now();
    let mut tx = svc.pool.begin().await?;
    let expired = sqlx::query!(
        r#"
        update grants set state = 'expired', ended_at = $2, end_reason = 'reached its expiry'
        where id = $1 and state in ('scheduled', 'active', 'suspended') and expires_at <= $2
        returning expires_at
        "#,
        id,
        now
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = &expired {
        notifications::enqueue(
            &mut tx,
            svc,
            Event::Grant {
                grant_id: id,
                kind: EventKind::GrantExpired,
            },
        )
        .await?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("grant.expired", "grant", id).details(json!({
                "expires_at": row.expires_at,
                "lag_ms": (now - row.expires_at).num_milliseconds(),
            })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(expired.is_some())
}

/// Extends a live grant by `by`; only its requester may, and only while the whole grant stays
/// within the resource's maximum measured from the grant's start.
pub async fn extend(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    by: &str,
    reason: &str,
) -> Result<Grant> {
    let now = svc.now();
    let result = async {
        let user_id = actor.user()?;
        let reason = optional_text("reason", reason, 2000)?
            .ok_or_else(|| AppError::invalid("reason", "is required; say why more time is needed"))?;
        let by = crate::config::parse_duration(by).map_err(|message| AppError::invalid("by", message))?;
        if by < MIN_EXTENSION {
            return Err(AppError::invalid("by", "must be at least 1m").into());
        }
        if by > super::resources::MAX_MAX_DURATION {
            return Err(AppError::invalid("by", "must be at most 365d, the longest any resource allows").into());
        }
        let mut tx = svc.pool.begin().await?;
        let grant = sqlx::query!(
            r#"
            select g.requester_id, g.state as "state: GrantState", g.starts_at, g.expires_at,
                r.max_duration_secs, r.name as resource_name
            from grants g join resources r on r.id = g.resource_id
            where g.id = $1 for update of g
            "#,
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::not_found(format!("grant {id} does not exist")))?;
        if grant.requester_id != user_id {
            return Err(AppError::forbidden("only the grant's requester may extend it").into());
        }
        if !matches!(grant.state, GrantState::Scheduled | GrantState::Active) || grant.expires_at <= now {
            return Err(AppError::conflict("only a scheduled or active grant that has not expired can be extended").into());
        }
        let by_chrono = chrono::Duration::from_std(by).map_err(anyhow::Error::from)?;
        let new_expiry = grant.expires_at + by_chrono;
        let maximum = chrono::Duration::seconds(i64::from(grant.max_duration_secs));
        if new_expiry - grant.starts_at > maximum {
            let room = (grant.starts_at + maximum - grant.expires_at).num_seconds().max(0) as u64;
            if room < MIN_EXTENSION.as_secs() {
                return Err(AppError::invalid(
                    "by",
                    format!(
                        "the grant already lasts the maximum for {} measured from its start, so it cannot be extended further; request access again",
                        grant.resource_name
                    ),
                )
                .into());
            }
            return Err(AppError::invalid(
                "by",
                format!(
                    "the grant may last at most {} from its start, the maximum for {}; extend by at most {}",
                    humantime::format_duration(Duration::from_secs(grant.max_duration_secs as u64)),
                    grant.resource_name,
                    humantime::format_duration(Duration::from_secs(room)),
                ),
            )
            .into());
        }
        sqlx::query!(
            "update grants set expires_at = $2, extensions = extensions + 1 where id = $1",
            id,
            new_expiry
        )
        .execute(&mut *tx)
        .await?;
        queue::schedule(&mut tx, &WorkflowJob::ExpireGrant { grant_id: id }, new_expiry).await?;
        notifications::schedule_expiring_notice(&mut tx, svc, id).await?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("grant.extended", "grant", id).reason(reason).details(json!({
                "from": grant.expires_at,
                "to": new_expiry,
            })),
        )
        .await?;
        let grant = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(grant)
    }
    .await;
    audit::refusals(&svc.pool, actor, now, "grant.extend", "grant", id, result).await
}

/// Ends a live grant early; its requester or an admin may.
pub async fn revoke(svc: &Services, actor: &Actor, id: Uuid, reason: &str) -> Result<Grant> {
    let now = svc.now();
    let result = async {
        let user_id = actor.user()?;
        let reason = optional_text("reason", reason, 2000)?.ok_or_else(|| {
            AppError::invalid("reason", "is required; say why the grant ends early")
        })?;
        let mut tx = svc.pool.begin().await?;
        let grant = load(&mut tx, id).await?;
        if grant.requester_id != user_id && !actor.has(Role::Admin) {
            return Err(AppError::forbidden(
                "only the grant's requester or an admin may revoke it",
            )
            .into());
        }
        let changed = sqlx::query!(
            r#"
            update grants set state = 'revoked', ended_at = $2, ended_by = $3, end_reason = $4
            where id = $1 and state in ('scheduled', 'active', 'suspended') and expires_at > $2
            "#,
            id,
            now,
            user_id,
            reason
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(AppError::conflict(format!(
                "the grant is already {}; nothing was changed",
                if grant.state.is_live() {
                    "past its expiry"
                } else {
                    grant.state.as_str()
                }
            ))
            .into());
        }
        notifications::enqueue(
            &mut tx,
            svc,
            Event::Grant {
                grant_id: id,
                kind: EventKind::GrantRevoked,
            },
        )
        .await?;
        let action = if actor.has(Role::Admin) && grant.requester_id != user_id {
            "grant.revoked_by_admin"
        } else {
            "grant.revoked"
        };
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success(action, "grant", id).reason(reason),
        )
        .await?;
        let grant = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(grant)
    }
    .await;
    audit::refusals(&svc.pool, actor, now, "grant.revoke", "grant", id, result).await
}

/// Loads one grant, or `NotFound`.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Grant> {
    load_many(conn, &[id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found(format!("grant {id} does not exist")).into())
}

/// Loads the grant an approved request produced, if any.
pub async fn for_request(conn: &mut PgConnection, request_id: Uuid) -> Result<Option<Grant>> {
    let id = sqlx::query_scalar!("select id from grants where request_id = $1", request_id)
        .fetch_optional(&mut *conn)
        .await?;
    match id {
        Some(id) => load(conn, id).await.map(Some),
        None => Ok(None),
    }
}

/// Loads grants by id, in the order given.
pub async fn load_many(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Grant>> {
    let mut rows = sqlx::query_as!(
        Grant,
        r#"
        select g.id, g.request_id, g.requester_id, u.display_name as requester_name, g.subject_id,
            s.name as subject_name, g.resource_id, r.name as resource_name, r.max_duration_secs,
            g.state as "state: GrantState", g.starts_at, g.expires_at, g.activated_at,
            g.ended_at, g.end_reason, g.extensions
        from grants g
        join users u on u.id = g.requester_id
        join identities s on s.id = g.subject_id
        join resources r on r.id = g.resource_id
        where g.id = any($1)
        "#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.id));
    Ok(rows)
}

/// Lists grants newest first. Admins and auditors see all; others see the grants they requested.
pub async fn list(
    svc: &Services,
    actor: &Actor,
    scope: GrantScope,
    cursor: Option<&str>,
) -> Result<Page<Grant>> {
    let user_id = actor.user()?;
    let only_requester = if actor.has(Role::Admin) || actor.has(Role::Auditor) {
        None
    } else {
        Some(user_id)
    };
    let live = scope == GrantScope::Live;
    let (after_at, after_id) = page::decode_time_key(cursor)?;
    let keys = sqlx::query!(
        r#"
        select id, created_at from grants
        where ($1::uuid is null or requester_id = $1)
            and (state in ('scheduled', 'active', 'suspended')) = $2
            and ($3::timestamptz is null or (created_at, id) < ($3, $4::uuid))
        order by created_at desc, id desc
        limit $5
        "#,
        only_requester,
        live,
        after_at,
        after_id,
        page::PAGE_SIZE + 1
    )
    .fetch_all(&svc.pool)
    .await?;
    let keyed: Vec<(DateTime<Utc>, Uuid)> =
        keys.iter().map(|key| (key.created_at, key.id)).collect();
    let page = page::split(keyed, |key| *key);
    let ids: Vec<Uuid> = page.items.iter().map(|key| key.1).collect();
    let mut conn = svc.pool.acquire().await?;
    Ok(Page {
        items: load_many(&mut conn, &ids).await?,
        next: page.next,
    })
}

/// Lists the actor's live grants that the requester holds, soonest expiry first.
pub async fn live_for_requester(
    svc: &Services,
    user_id: Uuid,
    within: Option<Duration>,
) -> Result<Vec<Grant>> {
    let until = match within {
        Some(within) => {
            Some(svc.now() + chrono::Duration::from_std(within).map_err(anyhow::Error::from)?)
        }
        None => None,
    };
    let ids = sqlx::query_scalar!(
        r#"
        select id from grants
        where requester_id = $1 and state in ('scheduled', 'active', 'suspended')
            and expires_at > $2 and ($3::timestamptz is null or expires_at <= $3)
        order by expires_at
        limit 20
        "#,
        user_id,
        svc.now(),
        until
    )
    .fetch_all(&svc.pool)
    .await?;
    let mut conn = svc.pool.acquire().await?;
    load_many(&mut conn, &ids).await
}
