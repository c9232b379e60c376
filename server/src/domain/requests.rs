//! Access requests: filing, cancelling, expiring and listing them.

use std::time::Duration;

use app::error::AppError;
use app::model::{
    AccessRequest, IdentityKind, IdentityStatus, Page, RequestInput, RequestState, Role,
    Sensitivity,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::{optional_text, optional_uuid, required_text};
use super::notifications::{self, Event, EventKind};
use super::page;
use super::resources;
use crate::error::Result;
use crate::jobs::queue::{self, WorkflowJob};
use crate::services::Services;

/// Shortest grant a request may ask for.
pub const MIN_DURATION: Duration = Duration::from_secs(60);
/// Longest accepted reason, in characters.
pub const MAX_REASON: usize = 2000;
/// Longest accepted ticket reference, in characters.
pub const MAX_TICKET: usize = 200;
/// How far ahead a scheduled start may be (90 days).
pub const MAX_SCHEDULE_AHEAD: Duration = Duration::from_secs(90 * 24 * 3600);

/// Files an access request for the actor or a non-human identity they own.
pub async fn create(svc: &Services, actor: &Actor, input: &RequestInput) -> Result<AccessRequest> {
    let now = svc.now();
    let result = create_checked(svc, actor, now, input).await;
    let subject = input.resource_id.trim().to_owned();
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "request.create",
        "resource",
        subject,
        result,
    )
    .await
}

async fn create_checked(
    svc: &Services,
    actor: &Actor,
    now: DateTime<Utc>,
    input: &RequestInput,
) -> Result<AccessRequest> {
    actor.require(Role::Requester)?;
    let user_id = actor.user()?;
    let resource_id = optional_uuid("resource_id", &input.resource_id)?
        .ok_or_else(|| AppError::invalid("resource_id", "choose a resource to request"))?;
    let mut tx = svc.pool.begin().await?;
    let resource = resources::load(&mut tx, resource_id)
        .await
        .map_err(|_| AppError::invalid("resource_id", "no resource has this id"))?;
    if resource.archived_at.is_some() {
        return Err(AppError::invalid(
            "resource_id",
            "this resource is archived and cannot be requested",
        )
        .into());
    }
    if !resources::may_request(&mut tx, user_id, &actor.roles, resource_id).await? {
        return Err(AppError::forbidden(format!(
            "you are not among those who may request {}",
            resource.name
        ))
        .into());
    }
    let subject_id = check_subject(&mut tx, actor, &input.subject_id).await?;

    let duration = crate::config::parse_duration(&input.duration)
        .map_err(|message| AppError::invalid("duration", message))?;
    let maximum = Duration::from_secs(resource.max_duration_secs as u64);
    if duration < MIN_DURATION {
        return Err(AppError::invalid("duration", "must be at least 1m").into());
    }
    if duration > maximum {
        return Err(AppError::invalid(
            "duration",
            format!(
                "must be at most {}, the maximum for {}; ask for less",
                humantime::format_duration(maximum),
                resource.name
            ),
        )
        .into());
    }
    let reason = required_text("reason", &input.reason, MAX_REASON)?;
    let ticket = optional_text("ticket", &input.ticket, MAX_TICKET)?;
    let scheduled_start = parse_scheduled_start(&input.scheduled_start, now)?;

    let deadline = now
        + chrono::Duration::from_std(svc.settings.request_deadline).map_err(anyhow::Error::from)?;
    let id = sqlx::query_scalar!(
        r#"
        insert into access_requests (requester_id, subject_id, resource_id, reason, ticket,
            duration_secs, scheduled_start, required_approvals, pending_deadline, created_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        returning id
        "#,
        user_id,
        subject_id,
        resource_id,
        reason,
        ticket,
        duration.as_secs() as i32,
        scheduled_start,
        resource.required_approvals,
        deadline,
        now,
    )
    .fetch_one(&mut *tx)
    .await?;
    queue::schedule(
        &mut tx,
        &WorkflowJob::ExpireRequest { request_id: id },
        deadline,
    )
    .await?;
    notifications::enqueue(&mut tx, svc, Event::RequestCreated { request_id: id }).await?;
    let request = load(&mut tx, id).await?;
    audit::append(
        &mut tx,
        actor,
        now,
        Entry::success("request.created", "access_request", id)
            .reason(request.reason.clone())
            .details(json!({
                "resource": request.resource_name,
                "resource_id": request.resource_id,
                "subject": request.subject_name,
                "subject_id": request.subject_id,
                "duration_secs": request.duration_secs,
                "ticket": request.ticket,
                "scheduled_start": request.scheduled_start,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(request)
}

/// Resolves the request's subject: the actor's own identity when empty, otherwise an active
/// non-human identity the actor owns.
async fn check_subject(conn: &mut PgConnection, actor: &Actor, subject: &str) -> Result<Uuid> {
    let own = actor.identity_id;
    let Some(subject_id) = optional_uuid("subject_id", subject)? else {
        return own.ok_or_else(|| {
            AppError::invalid(
                "subject_id",
                "your account has no identity in the inventory; ask an admin",
            )
            .into()
        });
    };
    let row = sqlx::query!(
        r#"
        select kind as "kind: IdentityKind", owner_id, status as "status: IdentityStatus"
        from identities where id = $1
        "#,
        subject_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::invalid("subject_id", "no identity has this id"))?;
    let is_self = Some(subject_id) == own;
    let owns_it = row.kind != IdentityKind::Human && row.owner_id.is_some() && row.owner_id == own;
    if !is_self && !owns_it {
        return Err(AppError::invalid(
            "subject_id",
            "you may request access only for yourself or for a non-human identity you own",
        )
        .into());
    }
    if row.status == IdentityStatus::Disabled {
        return Err(AppError::invalid("subject_id", "this identity is disabled").into());
    }
    Ok(subject_id)
}

/// Parses the optional scheduled start: an RFC 3339 time, or a `datetime-local` value taken as
/// UTC. It must lie in the future and at most 90 days ahead.
pub fn parse_scheduled_start(
    text: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let at = DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
                .map(|naive| naive.and_utc())
        })
        .map_err(|_| {
            AppError::invalid(
                "scheduled_start",
                "must be a time such as 2026-12-24T09:00:00Z, or 2026-12-24T09:00 in UTC",
            )
        })?;
    if at <= now {
        return Err(AppError::invalid(
            "scheduled_start",
            "must be in the future; leave it empty to start on approval",
        ));
    }
    if at - now > chrono::Duration::from_std(MAX_SCHEDULE_AHEAD).unwrap_or(chrono::Duration::MAX) {
        return Err(AppError::invalid(
            "scheduled_start",
            "must be at most 90 days ahead",
        ));
    }
    Ok(Some(crate::clock::to_micros(at)))
}

/// Cancels a pending request; only its requester may.
pub async fn cancel(svc: &Services, actor: &Actor, id: Uuid) -> Result<AccessRequest> {
    let now = svc.now();
    let result = async {
        let user_id = actor.user()?;
        let mut tx = svc.pool.begin().await?;
        let request = load(&mut tx, id).await?;
        if request.requester_id != user_id {
            return Err(AppError::forbidden("only the requester may cancel a request").into());
        }
        let changed = sqlx::query!(
            r#"
            update access_requests set state = 'cancelled', decided_at = $2
            where id = $1 and state = 'pending'
            "#,
            id,
            now
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let state = load(&mut tx, id).await?.state;
            return Err(AppError::conflict(format!(
                "the request is already {}; only pending requests can be cancelled",
                state.as_str()
            ))
            .into());
        }
        notifications::enqueue(
            &mut tx,
            svc,
            Event::RequestDecided {
                request_id: id,
                kind: EventKind::RequestCancelled,
                decided_by: Some(user_id),
            },
        )
        .await?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("request.cancelled", "access_request", id),
        )
        .await?;
        let request = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(request)
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "request.cancel",
        "access_request",
        id,
        result,
    )
    .await
}

/// Expires a pending request whose deadline has passed. Returns whether it changed.
pub async fn expire(svc: &Services, actor: &Actor, id: Uuid) -> Result<bool> {
    let now = svc.now();
    let mut tx = svc.pool.begin().await?;
    let changed = sqlx::query!(
        r#"
        update access_requests set state = 'expired', decided_at = $2
        where id = $1 and state = 'pending' and pending_deadline <= $2
        "#,
        id,
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 1 {
        notifications::enqueue(
            &mut tx,
            svc,
            Event::RequestDecided {
                request_id: id,
                kind: EventKind::RequestExpired,
                decided_by: None,
            },
        )
        .await?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("request.expired", "access_request", id)
                .reason("no decision before the pending deadline"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed == 1)
}

/// Loads one request, or `NotFound`.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<AccessRequest> {
    load_many(conn, &[id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found(format!("request {id} does not exist")).into())
}

/// Loads requests by id, in the order given.
pub async fn load_many(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<AccessRequest>> {
    let mut rows = sqlx::query_as!(
        AccessRequest,
        r#"
        select r.id, r.requester_id, u.display_name as requester_name, r.subject_id,
            s.name as subject_name, s.kind as "subject_kind: IdentityKind", r.resource_id,
            res.name as resource_name, res.sensitivity as "sensitivity: Sensitivity", r.reason,
            r.ticket, r.duration_secs, r.scheduled_start, r.state as "state: RequestState",
            r.required_approvals,
            (select count(*) from reviews v
                where v.request_id = r.id and v.decision = 'approve') as "approvals!",
            r.pending_deadline, r.created_at, r.decided_at
        from access_requests r
        join users u on u.id = r.requester_id
        join identities s on s.id = r.subject_id
        join resources res on res.id = r.resource_id
        where r.id = any($1)
        "#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.id));
    Ok(rows)
}

/// Lists the actor's own requests, newest first.
pub async fn list_mine(
    svc: &Services,
    actor: &Actor,
    cursor: Option<&str>,
) -> Result<Page<AccessRequest>> {
    let user_id = actor.user()?;
    let (after_at, after_id) = page::decode_time_key(cursor)?;
    let keys = sqlx::query!(
        r#"
        select id, created_at from access_requests
        where requester_id = $1
            and ($2::timestamptz is null or (created_at, id) < ($2, $3::uuid))
        order by created_at desc, id desc
        limit $4
        "#,
        user_id,
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

/// Lists pending requests the actor may review and has not yet reviewed, oldest first.
pub async fn review_queue(
    svc: &Services,
    actor: &Actor,
    cursor: Option<&str>,
) -> Result<Page<AccessRequest>> {
    let user_id = actor.user()?;
    if !actor.has(Role::Approver) {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    }
    let (after_at, after_id) = page::decode_time_key(cursor)?;
    let keys = sqlx::query!(
        r#"
        select r.id, r.created_at from access_requests r
        where r.state = 'pending' and r.pending_deadline > $2 and r.requester_id <> $1
            and not exists (select 1 from reviews v where v.request_id = r.id and v.reviewer_id = $1)
            and exists (select 1 from resource_principals p
                where p.resource_id = r.resource_id and p.relation = 'approver'
                    and (p.user_id = $1 or p.group_id in
                        (select group_id from group_members where user_id = $1)))
            and ($3::timestamptz is null or (r.created_at, r.id) > ($3, $4::uuid))
        order by r.created_at, r.id
        limit $5
        "#,
        user_id,
        svc.now(),
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

/// Whether `actor` may see request `request`: its requester, an approver of its resource, an
/// admin or an auditor.
pub async fn may_view(
    conn: &mut PgConnection,
    actor: &Actor,
    request: &AccessRequest,
) -> Result<bool> {
    let user_id = actor.user()?;
    if request.requester_id == user_id || actor.has(Role::Admin) || actor.has(Role::Auditor) {
        return Ok(true);
    }
    resources::is_approver(conn, user_id, request.resource_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
    }

    #[test]
    fn scheduled_start_accepts_rfc3339_and_local() {
        let expected = Some(Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap());
        assert_eq!(
            parse_scheduled_start("2026-12-05T09:00:00Z", now()),
            Ok(expected)
        );
        assert_eq!(
            parse_scheduled_start("2026-12-05T09:00", now()),
            Ok(expected)
        );
        assert_eq!(parse_scheduled_start("", now()), Ok(None));
    }

    #[test]
    fn scheduled_start_rejects_past_and_far() {
        let past = parse_scheduled_start("2026-12-04T11:00:00Z", now()).unwrap_err();
        assert!(past.to_string().contains("in the future"), "{past}");
        let far = parse_scheduled_start("2027-06-01T00:00:00Z", now()).unwrap_err();
        assert!(far.to_string().contains("90 days"), "{far}");
        let garbage = parse_scheduled_start("tomorrow", now()).unwrap_err();
        assert_eq!(garbage.field(), Some("scheduled_start"));
    }
}
