//! Notification events: who hears about each change, recorded as deliveries in the change's own
//! transaction, and the admin's view of deliveries and Slack channels.

use app::error::AppError;
use app::model::{DeliveryRow, NotificationsOverview, RequestState, ResourceChannel, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use crate::error::Result;
use crate::jobs::notify_queue::{self, NotifyJob};
use crate::services::Services;

/// The kind of change, as stored in the deliveries table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    RequestCreated,
    RequestApproved,
    RequestDenied,
    RequestExpired,
    RequestCancelled,
    GrantActivated,
    GrantExpiring,
    GrantExpired,
    GrantRevoked,
    GrantRevokeFailed,
    /// The outcome of a decision made in Slack, shown in place of the Slack message.
    SlackDecision,
}

impl EventKind {
    /// Returns the stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RequestCreated => "request_created",
            EventKind::RequestApproved => "request_approved",
            EventKind::RequestDenied => "request_denied",
            EventKind::RequestExpired => "request_expired",
            EventKind::RequestCancelled => "request_cancelled",
            EventKind::GrantActivated => "grant_activated",
            EventKind::GrantExpiring => "grant_expiring",
            EventKind::GrantExpired => "grant_expired",
            EventKind::GrantRevoked => "grant_revoked",
            EventKind::GrantRevokeFailed => "grant_revoke_failed",
            EventKind::SlackDecision => "slack_decision",
        }
    }

    /// Returns the event that a request's final state reports.
    pub fn for_request_state(state: RequestState) -> Option<Self> {
        match state {
            RequestState::Pending => None,
            RequestState::Approved => Some(EventKind::RequestApproved),
            RequestState::Denied => Some(EventKind::RequestDenied),
            RequestState::Cancelled => Some(EventKind::RequestCancelled),
            RequestState::Expired => Some(EventKind::RequestExpired),
        }
    }
}

/// The kind of destination of one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryChannel {
    /// An e-mail to one user.
    Email,
    /// A Slack direct message to one user, found by e-mail address.
    SlackDm,
    /// A message in the resource's Slack channel.
    SlackChannel,
    /// A message through the incoming webhook.
    SlackWebhook,
    /// A change to a Slack message through its response URL.
    SlackUpdate,
}

impl DeliveryChannel {
    /// Returns the stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Email => "email",
            DeliveryChannel::SlackDm => "slack_dm",
            DeliveryChannel::SlackChannel => "slack_channel",
            DeliveryChannel::SlackWebhook => "slack_webhook",
            DeliveryChannel::SlackUpdate => "slack_update",
        }
    }
}

/// A change that people hear about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A request waits for its approvers.
    RequestCreated { request_id: Uuid },
    /// A request was approved, denied, cancelled or expired; `decided_by` does not hear of it.
    RequestDecided {
        request_id: Uuid,
        kind: EventKind,
        decided_by: Option<Uuid>,
    },
    /// A grant event for its holder (and, for revocations, the admins).
    Grant { grant_id: Uuid, kind: EventKind },
}

/// One delivery to insert.
struct Planned {
    channel: DeliveryChannel,
    recipient_id: Option<Uuid>,
    destination: String,
}

/// Records the deliveries `event` needs and schedules their jobs, inside the caller's
/// transaction. Does nothing when no channel is configured.
pub async fn enqueue(conn: &mut PgConnection, svc: &Services, event: Event) -> Result<()> {
    enqueue_with_payload(conn, svc, event, &json!({})).await?;
    Ok(())
}

/// Like `enqueue`, storing `payload` with each delivery. Returns how many deliveries it recorded.
async fn enqueue_with_payload(
    conn: &mut PgConnection,
    svc: &Services,
    event: Event,
    payload: &Value,
) -> Result<usize> {
    let notify = &svc.settings.notify;
    if !notify.enabled() {
        return Ok(0);
    }
    let now = svc.now();
    let (kind, request_id, grant_id, recipients) = match event {
        Event::RequestCreated { request_id } => {
            let recipients = approvers(conn, request_id, None).await?;
            (
                EventKind::RequestCreated,
                Some(request_id),
                None,
                recipients,
            )
        }
        Event::RequestDecided {
            request_id,
            kind,
            decided_by,
        } => {
            let mut recipients = approvers(conn, request_id, decided_by).await?;
            let requester = sqlx::query!(
                r#"
                select u.id, u.email from access_requests r join users u on u.id = r.requester_id
                where r.id = $1 and u.disabled_at is null
                "#,
                request_id
            )
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(requester) = requester
                && Some(requester.id) != decided_by
            {
                recipients.push((requester.id, requester.email));
            }
            (kind, Some(request_id), None, recipients)
        }
        Event::Grant { grant_id, kind } => {
            let with_admins =
                matches!(kind, EventKind::GrantRevoked | EventKind::GrantRevokeFailed);
            let rows = sqlx::query!(
                r#"
                select u.id, u.email from users u
                where u.disabled_at is null
                    and (u.id = (select requester_id from grants where id = $1)
                        or ($2 and 'admin' = any(u.roles)))
                order by u.id
                "#,
                grant_id,
                with_admins
            )
            .fetch_all(&mut *conn)
            .await?;
            let recipients = rows.into_iter().map(|row| (row.id, row.email)).collect();
            (kind, None, Some(grant_id), recipients)
        }
    };

    let slack = notify.slack.as_ref();
    let direct_messages =
        slack.is_some_and(|slack| slack.bot_token.is_some() && slack.direct_messages);
    let mut planned = Vec::new();
    for (user_id, email) in recipients {
        let Some(email) = email.filter(|email| !email.trim().is_empty()) else {
            continue;
        };
        if notify.smtp.is_some() {
            planned.push(Planned {
                channel: DeliveryChannel::Email,
                recipient_id: Some(user_id),
                destination: email.clone(),
            });
        }
        if direct_messages {
            planned.push(Planned {
                channel: DeliveryChannel::SlackDm,
                recipient_id: Some(user_id),
                destination: email,
            });
        }
    }
    if let (EventKind::RequestCreated, Some(request_id), Some(slack)) = (kind, request_id, slack) {
        let channel = sqlx::query_scalar!(
            r#"
            select res.slack_channel from access_requests r join resources res on res.id = r.resource_id
            where r.id = $1
            "#,
            request_id
        )
        .fetch_one(&mut *conn)
        .await?;
        match (channel, &slack.bot_token, &slack.webhook_url) {
            (Some(channel), Some(_), _) => planned.push(Planned {
                channel: DeliveryChannel::SlackChannel,
                recipient_id: None,
                destination: channel,
            }),
            (_, _, Some(_)) => planned.push(Planned {
                channel: DeliveryChannel::SlackWebhook,
                recipient_id: None,
                destination: "incoming webhook".to_owned(),
            }),
            _ => {}
        }
    }
    for delivery in &planned {
        insert(conn, kind, request_id, grant_id, delivery, payload, now).await?;
    }
    Ok(planned.len())
}

/// Records a change to a Slack message through its `response_url` (the outcome of an in-Slack
/// decision, or why it was refused), inside the caller's transaction.
pub async fn enqueue_slack_update(
    conn: &mut PgConnection,
    svc: &Services,
    request_id: Uuid,
    payload: &Value,
) -> Result<()> {
    let planned = Planned {
        channel: DeliveryChannel::SlackUpdate,
        recipient_id: None,
        destination: "Slack message".to_owned(),
    };
    insert(
        conn,
        EventKind::SlackDecision,
        Some(request_id),
        None,
        &planned,
        payload,
        svc.now(),
    )
    .await
}

async fn insert(
    conn: &mut PgConnection,
    kind: EventKind,
    request_id: Option<Uuid>,
    grant_id: Option<Uuid>,
    delivery: &Planned,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<()> {
    let id = sqlx::query_scalar!(
        r#"
        insert into notification_deliveries (event, request_id, grant_id, channel, recipient_id,
            destination, payload, created_at, next_attempt_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
        returning id
        "#,
        kind.as_str(),
        request_id,
        grant_id,
        delivery.channel.as_str(),
        delivery.recipient_id,
        delivery.destination,
        payload,
        now
    )
    .fetch_one(&mut *conn)
    .await?;
    notify_queue::schedule(conn, &NotifyJob::Deliver { delivery_id: id }, now).await?;
    Ok(())
}

/// Lists the request's eligible approvers with their e-mail addresses, leaving out the requester
/// and `except`.
async fn approvers(
    conn: &mut PgConnection,
    request_id: Uuid,
    except: Option<Uuid>,
) -> Result<Vec<(Uuid, Option<String>)>> {
    let rows = sqlx::query!(
        r#"
        select distinct u.id, u.email from access_requests r
        join resource_principals p on p.resource_id = r.resource_id and p.relation = 'approver'
        join users u on u.id = p.user_id
            or p.group_id in (select group_id from group_members m where m.user_id = u.id)
        where r.id = $1 and u.disabled_at is null and 'approver' = any(u.roles)
            and u.id <> r.requester_id and ($2::uuid is null or u.id <> $2)
        order by u.id
        "#,
        request_id,
        except
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.email)).collect())
}

/// Loads the admin's notifications page: recent or failing deliveries, and the Slack channel of
/// each resource.
pub async fn overview(
    svc: &Services,
    actor: &Actor,
    failing_only: bool,
) -> Result<NotificationsOverview> {
    actor.require(Role::Admin)?;
    let deliveries = sqlx::query_as!(
        DeliveryRow,
        r#"
        select d.id, d.event, d.channel, d.destination, u.display_name as "recipient_name?",
            d.request_id, d.grant_id, d.state, d.attempts, d.last_error, d.created_at,
            d.last_attempt_at, d.next_attempt_at, d.sent_at
        from notification_deliveries d left join users u on u.id = d.recipient_id
        where not $1 or d.state = 'failed' or (d.state = 'pending' and d.attempts > 0)
        order by d.created_at desc, d.id
        limit 200
        "#,
        failing_only
    )
    .fetch_all(&svc.pool)
    .await?;
    let channels = sqlx::query_as!(
        ResourceChannel,
        r#"
        select id as resource_id, name as resource_name, slack_channel
        from resources where archived_at is null order by name
        "#
    )
    .fetch_all(&svc.pool)
    .await?;
    let notify = &svc.settings.notify;
    Ok(NotificationsOverview {
        email_on: notify.smtp.is_some(),
        slack_on: notify
            .slack
            .as_ref()
            .is_some_and(|slack| slack.bot_token.is_some() || slack.webhook_url.is_some()),
        slack_interactivity_on: notify
            .slack
            .as_ref()
            .is_some_and(|slack| slack.signing_secret.is_some()),
        interactivity_url: svc.url("/integrations/slack/interactions"),
        deliveries,
        channels,
    })
}

/// Sets or clears the Slack channel id that hears about a resource's requests.
pub async fn set_resource_channel(
    svc: &Services,
    actor: &Actor,
    resource_id: Uuid,
    channel: &str,
) -> Result<()> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let channel = channel.trim();
        let channel = if channel.is_empty() {
            None
        } else if (2..=40).contains(&channel.len())
            && channel
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            Some(channel.to_owned())
        } else {
            return Err(AppError::invalid(
                "slack_channel",
                "must be a Slack channel id such as C0123456789 (capital letters and digits); find it under the channel's details in Slack",
            )
            .into());
        };
        let mut tx = svc.pool.begin().await?;
        let changed = sqlx::query!(
            "update resources set slack_channel = $2, updated_at = $3 where id = $1",
            resource_id,
            channel,
            now
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(AppError::not_found(format!("resource {resource_id} does not exist")).into());
        }
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("resource.slack_channel_set", "resource", resource_id)
                .details(json!({ "slack_channel": channel })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "resource.slack_channel_set",
        "resource",
        resource_id,
        result,
    )
    .await
}

/// Sends a failed delivery again: resets its attempts and schedules it now.
pub async fn retry(svc: &Services, actor: &Actor, id: Uuid) -> Result<()> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let mut tx = svc.pool.begin().await?;
        let changed = sqlx::query!(
            r#"
            update notification_deliveries set state = 'pending', attempts = 0, next_attempt_at = $2
            where id = $1 and state = 'failed'
            "#,
            id,
            now
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(AppError::conflict(
                "only a failed delivery can be retried; this one is not failed or does not exist",
            )
            .into());
        }
        notify_queue::schedule(&mut tx, &NotifyJob::Deliver { delivery_id: id }, now).await?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("notification.retried", "notification_delivery", id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "notification.retry",
        "notification_delivery",
        id,
        result,
    )
    .await
}

/// Schedules the "access ends soon" notice of a live grant at `expiring_soon` before its
/// expiry. Grants no longer than twice that window get none, because the start notice already
/// states when they end.
pub async fn schedule_expiring_notice(
    conn: &mut PgConnection,
    svc: &Services,
    grant_id: Uuid,
) -> Result<()> {
    if !svc.settings.notify.enabled() {
        return Ok(());
    }
    let window =
        chrono::Duration::from_std(svc.settings.expiring_soon).map_err(anyhow::Error::from)?;
    let grant = sqlx::query!(
        "select starts_at, expires_at from grants where id = $1",
        grant_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if grant.expires_at - grant.starts_at <= window * 2 {
        return Ok(());
    }
    notify_queue::schedule(
        conn,
        &NotifyJob::GrantExpiring { grant_id },
        grant.expires_at - window,
    )
    .await?;
    Ok(())
}

/// Sends the "access ends soon" notice if the grant is live, ends within the window, and has
/// not had a notice for its current expiry. Returns whether it recorded deliveries.
pub async fn grant_expiring(svc: &Services, grant_id: Uuid) -> Result<bool> {
    let now = svc.now();
    let window =
        chrono::Duration::from_std(svc.settings.expiring_soon).map_err(anyhow::Error::from)?;
    let mut tx = svc.pool.begin().await?;
    let grant = sqlx::query!(
        r#"
        select expires_at from grants
        where id = $1 and state in ('scheduled', 'active', 'suspended') and expires_at > $2
        for update
        "#,
        grant_id,
        now
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(grant) = grant else {
        return Ok(false);
    };

    if grant.expires_at - now > window {
        // The grant was extended after this notice was scheduled; its own notice comes later.
        return Ok(false);
    }

    let expiry = json!(grant.expires_at);
    let already = sqlx::query_scalar!(
        r#"
        select exists (select 1 from notification_deliveries
            where grant_id = $1 and event = 'grant_expiring' and payload -> 'expires_at' = $2)
            as "already!"
        "#,
        grant_id,
        expiry
    )
    .fetch_one(&mut *tx)
    .await?;
    if already {
        return Ok(false);
    }
    let recorded = enqueue_with_payload(
        &mut tx,
        svc,
        Event::Grant {
            grant_id,
            kind: EventKind::GrantExpiring,
        },
        &json!({ "expires_at": grant.expires_at }),
    )
    .await?;
    tx.commit().await?;
    Ok(recorded > 0)
}
