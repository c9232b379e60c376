//! One delivery attempt: build the message from the current state, send it, and record the
//! outcome. A failed attempt schedules the next one with exponential backoff. When the attempts
//! run out, the delivery is marked failed and the failure is audited.

use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};
use app::model::{Channel, Outcome, ReviewDecision};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::SendError;
use super::email;
use super::message::{self, Notice};
use super::slack::{self, Buttons, SlackClient};
use crate::domain::actor::Actor;
use crate::domain::audit::{self, Entry};
use crate::domain::notifications::{self, DeliveryChannel, EventKind};
use crate::domain::{approval_links, grants, requests, resources};
use crate::jobs::notify_queue::{self, NotifyJob};
use crate::services::Services;

/// Maximum wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// The outcome of one call of `attempt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Nothing to send any more, such as a request that is no longer pending.
    Skipped {
        reason: String,
    },
    /// The attempt failed; another is scheduled.
    Retrying {
        error: String,
        next_at: DateTime<Utc>,
    },
    /// The attempt failed and no other will be made.
    Failed {
        error: String,
    },
    /// The delivery is already done, not yet due, or being sent by another worker.
    NotDue,
}

/// Runs a notification job from the queue.
pub async fn run_job(job: NotifyJob, svc: Data<Services>) -> Result<(), BoxDynError> {
    let result = match &job {
        NotifyJob::Deliver { delivery_id } => attempt(&svc, *delivery_id).await.map(|outcome| {
            tracing::debug!(%delivery_id, ?outcome, "ran a delivery attempt");
        }),
        NotifyJob::GrantExpiring { grant_id } => {
            notifications::grant_expiring(&svc, *grant_id).await.map(
                |recorded| tracing::debug!(%grant_id, recorded, "checked a grant's expiry notice"),
            )
        }
    };
    result.map_err(|error| {
        tracing::warn!(?job, error = %error, "notification job failed; it will be retried");
        Box::new(error) as BoxDynError
    })
}

/// A delivery as stored.
struct Delivery {
    id: Uuid,
    event: EventKind,
    channel: DeliveryChannel,
    request_id: Option<Uuid>,
    grant_id: Option<Uuid>,
    recipient_id: Option<Uuid>,
    destination: String,
    payload: Value,
    attempts: i32,
}

/// Makes one attempt at delivery `id` at the injected clock's time.
pub async fn attempt(svc: &Services, id: Uuid) -> crate::error::Result<Attempt> {
    let now = svc.now();
    let mut tx = svc.pool.begin().await?;
    // The row stays locked while the message is sent, so that two workers never send it twice.
    let row = sqlx::query!(
        r#"
        select id, event as "event: EventKind", channel as "channel: DeliveryChannel", request_id,
            grant_id, recipient_id, destination, payload, attempts
        from notification_deliveries
        where id = $1 and state = 'pending' and (next_attempt_at is null or next_attempt_at <= $2)
        for update skip locked
        "#,
        id,
        now
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Attempt::NotDue);
    };

    let delivery = Delivery {
        id: row.id,
        event: row.event,
        channel: row.channel,
        request_id: row.request_id,
        grant_id: row.grant_id,
        recipient_id: row.recipient_id,
        destination: row.destination,
        payload: row.payload,
        attempts: row.attempts,
    };

    let result = send(svc, &mut tx, &delivery, now).await?;
    let attempts = delivery.attempts + 1;
    let outcome = match result {
        Ok(Sent::Sent) => {
            sqlx::query!(
                r#"
                update notification_deliveries
                set state = 'sent', attempts = $2, last_attempt_at = $3, sent_at = $3,
                    next_attempt_at = null, last_error = null
                where id = $1
                "#,
                id,
                attempts,
                now
            )
            .execute(&mut *tx)
            .await?;
            tracing::info!(delivery_id = %id, channel = delivery.channel.as_str(), event = delivery.event.as_str(), "sent a notification");
            Attempt::Sent
        }
        Ok(Sent::Skipped(reason)) => {
            sqlx::query!(
                r#"
                update notification_deliveries
                set state = 'skipped', last_attempt_at = $2, next_attempt_at = null, last_error = $3
                where id = $1
                "#,
                id,
                now,
                reason
            )
            .execute(&mut *tx)
            .await?;
            Attempt::Skipped { reason }
        }
        Err(error) => failed(svc, &mut tx, &delivery, attempts, error, now).await?,
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Records a failed attempt: schedules the next one, or marks the delivery failed and audits it.
async fn failed(
    svc: &Services,
    conn: &mut PgConnection,
    delivery: &Delivery,
    attempts: i32,
    error: SendError,
    now: DateTime<Utc>,
) -> crate::error::Result<Attempt> {
    let settings = &svc.settings.notify;
    let out_of_attempts = attempts as u32 >= settings.max_attempts;
    if error.permanent || out_of_attempts {
        sqlx::query!(
            r#"
            update notification_deliveries
            set state = 'failed', attempts = $2, last_attempt_at = $3, next_attempt_at = null,
                last_error = $4
            where id = $1
            "#,
            delivery.id,
            attempts,
            now,
            error.message
        )
        .execute(&mut *conn)
        .await?;

        tracing::error!(
            delivery_id = %delivery.id,
            channel = delivery.channel.as_str(),
            attempts,
            error = %error,
            "a notification could not be delivered; it is marked failed"
        );
        let entry = Entry {
            outcome: Outcome::Failed,
            ..Entry::success(
                "notification.delivery_failed",
                "notification_delivery",
                delivery.id,
            )
        }
        .reason(error.message.clone())
        .details(json!({
            "event": delivery.event,
            "channel": delivery.channel,
            "destination": delivery.destination,
            "request_id": delivery.request_id,
            "grant_id": delivery.grant_id,
            "attempts": attempts,
            "permanent": error.permanent,
        }));
        audit::append(conn, &Actor::job(), now, entry).await?;
        return Ok(Attempt::Failed {
            error: error.message,
        });
    }

    let wait = backoff(settings.retry_delay, attempts);
    let next_at = now + chrono::Duration::from_std(wait).map_err(anyhow::Error::from)?;
    sqlx::query!(
        r#"
        update notification_deliveries
        set attempts = $2, last_attempt_at = $3, next_attempt_at = $4, last_error = $5
        where id = $1
        "#,
        delivery.id,
        attempts,
        now,
        next_at,
        error.message
    )
    .execute(&mut *conn)
    .await?;
    notify_queue::schedule(
        conn,
        &NotifyJob::Deliver {
            delivery_id: delivery.id,
        },
        next_at,
    )
    .await?;
    tracing::warn!(
        delivery_id = %delivery.id,
        channel = delivery.channel.as_str(),
        attempts,
        next_at = %next_at.to_rfc3339(),
        error = %error,
        "a notification attempt failed; retrying later"
    );
    Ok(Attempt::Retrying {
        error: error.message,
        next_at,
    })
}

/// Returns the wait after attempt number `attempts`: `first`, then doubling, at most six hours.
pub fn backoff(first: Duration, attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    first.saturating_mul(1_u32 << doublings).min(MAX_BACKOFF)
}

/// The outcome of building and sending a message.
enum Sent {
    Sent,
    Skipped(String),
}

type SendResult = Result<Sent, SendError>;

async fn send(
    svc: &Services,
    conn: &mut PgConnection,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> crate::error::Result<SendResult> {
    let notice = match build_notice(svc, conn, delivery, now).await? {
        Ok(notice) => notice,
        Err(skipped) => return Ok(Ok(skipped)),
    };
    let notify = &svc.settings.notify;
    let result = match delivery.channel {
        DeliveryChannel::Email => match &notify.smtp {
            Some(smtp) => match email::render(smtp, &delivery.destination, &notice) {
                Ok(message) => email::send(smtp, message).await.map(|()| Sent::Sent),
                Err(error) => Err(error),
            },
            None => Err(SendError::permanent(
                "e-mail is off: WRIT_SMTP_HOST is not set",
            )),
        },
        channel => match slack_client(svc) {
            Ok(client) => send_slack(conn, &client, delivery, channel, &notice, now).await?,
            Err(error) => Err(error),
        },
    };
    Ok(result)
}

fn slack_client(svc: &Services) -> Result<SlackClient, SendError> {
    match &svc.settings.notify.slack {
        Some(slack) => SlackClient::new(slack),
        None => Err(SendError::permanent(
            "Slack is off: set WRIT_SLACK_BOT_TOKEN or WRIT_SLACK_WEBHOOK_URL",
        )),
    }
}

async fn send_slack(
    conn: &mut PgConnection,
    client: &SlackClient,
    delivery: &Delivery,
    channel: DeliveryChannel,
    notice: &Notice,
    now: DateTime<Utc>,
) -> crate::error::Result<SendResult> {
    let result = match channel {
        DeliveryChannel::SlackDm => {
            let Some(user_id) = delivery.recipient_id else {
                return Ok(Ok(Sent::Skipped(
                    "the recipient's account was removed".to_owned(),
                )));
            };
            match slack_user(conn, client, user_id, &delivery.destination, now).await? {
                Ok(Some(slack_user)) => client
                    .post_message(&slack_user, &slack::message(notice, Buttons::Links, None))
                    .await
                    .map(|()| Sent::Sent),
                Ok(None) => Err(SendError::permanent(format!(
                    "no Slack user has the e-mail address {}",
                    delivery.destination
                ))),
                Err(error) => Err(error),
            }
        }
        DeliveryChannel::SlackChannel | DeliveryChannel::SlackWebhook => {
            let buttons = match (delivery.event, delivery.request_id) {
                (EventKind::RequestCreated, Some(request_id)) => Buttons::Decide { request_id },
                _ => Buttons::Links,
            };
            let message = slack::message(notice, buttons, None);
            if channel == DeliveryChannel::SlackChannel {
                client.post_message(&delivery.destination, &message).await
            } else {
                client.post_webhook(&message).await
            }
            .map(|()| Sent::Sent)
        }
        DeliveryChannel::SlackUpdate => {
            let Some(response_url) = delivery.payload["response_url"].as_str() else {
                return Ok(Err(SendError::permanent("the update has no response URL")));
            };
            let message = match delivery.payload["error"].as_str() {
                Some(error) => json!({
                    "response_type": "ephemeral",
                    "replace_original": false,
                    "text": slack::escape(&format!("Writ did not record your decision: {error}")),
                }),
                None => {
                    let outcome = delivery.payload["outcome"].as_str().unwrap_or_default();
                    let buttons = match (
                        notice_is_pending(delivery, conn).await?,
                        delivery.request_id,
                    ) {
                        (true, Some(request_id)) => Buttons::Decide { request_id },
                        _ => Buttons::Links,
                    };
                    let mut message = slack::message(notice, buttons, Some(outcome));
                    message["replace_original"] = json!(true);
                    message
                }
            };
            client
                .respond(response_url, &message)
                .await
                .map(|()| Sent::Sent)
        }
        DeliveryChannel::Email => Err(SendError::permanent("not a Slack delivery")),
    };
    Ok(result)
}

async fn notice_is_pending(
    delivery: &Delivery,
    conn: &mut PgConnection,
) -> crate::error::Result<bool> {
    let Some(request_id) = delivery.request_id else {
        return Ok(false);
    };
    let request = requests::load(conn, request_id).await?;
    Ok(request.state == app::model::RequestState::Pending)
}

/// Finds the Slack user of a Writ user: the stored mapping, or Slack's user with the same
/// e-mail address, which is then stored.
async fn slack_user(
    conn: &mut PgConnection,
    client: &SlackClient,
    user_id: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> crate::error::Result<Result<Option<String>, SendError>> {
    let known = sqlx::query_scalar!(
        "select slack_user_id from slack_accounts where user_id = $1 order by linked_at desc limit 1",
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(known) = known {
        return Ok(Ok(Some(known)));
    }
    let found = match client.lookup_by_email(email).await {
        Ok(found) => found,
        Err(error) => return Ok(Err(error)),
    };
    if let Some(slack_user_id) = &found {
        link_slack_user(conn, slack_user_id, user_id, "lookup_by_email", now).await?;
    }
    Ok(Ok(found))
}

/// Stores that Slack user `slack_user_id` is Writ user `user_id`.
pub async fn link_slack_user(
    conn: &mut PgConnection,
    slack_user_id: &str,
    user_id: Uuid,
    found_by: &str,
    now: DateTime<Utc>,
) -> crate::error::Result<()> {
    sqlx::query!(
        r#"
        insert into slack_accounts (slack_user_id, user_id, found_by, linked_at)
        values ($1, $2, $3, $4)
        on conflict (slack_user_id) do update
            set user_id = excluded.user_id, found_by = excluded.found_by, linked_at = excluded.linked_at
        "#,
        slack_user_id,
        user_id,
        found_by,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Builds the delivery's notice from the current state, or returns why nothing is sent.
async fn build_notice(
    svc: &Services,
    conn: &mut PgConnection,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> crate::error::Result<Result<Notice, Sent>> {
    if let Some(grant_id) = delivery.grant_id {
        let grant = grants::load(conn, grant_id).await?;
        return Ok(Ok(message::grant_notice(svc, delivery.event, &grant)));
    }
    let Some(request_id) = delivery.request_id else {
        return Ok(Err(Sent::Skipped(
            "the delivery names no request or grant".to_owned(),
        )));
    };
    let request = requests::load(conn, request_id).await?;
    let pending =
        request.state == app::model::RequestState::Pending && request.pending_deadline > now;
    match delivery.event {
        EventKind::RequestCreated => {
            if !pending {
                return Ok(Err(Sent::Skipped(format!(
                    "the request is no longer pending (it is {})",
                    request.state.as_str()
                ))));
            }
            let mut actions = Vec::new();
            let link_channel = match delivery.channel {
                DeliveryChannel::Email => Some(Channel::Email),
                DeliveryChannel::SlackDm => Some(Channel::Slack),
                _ => None,
            };
            if let (Some(channel), Some(approver_id)) = (link_channel, delivery.recipient_id) {
                if !resources::is_approver(conn, approver_id, request.resource_id).await? {
                    return Ok(Err(Sent::Skipped(
                        "the recipient is no longer an approver of the resource".to_owned(),
                    )));
                }
                let token = approval_links::issue(
                    conn,
                    request_id,
                    approver_id,
                    channel,
                    request.pending_deadline,
                    now,
                )
                .await?;
                let Some(token) = token else {
                    return Ok(Err(Sent::Skipped(
                        "the recipient already used their link to this request".to_owned(),
                    )));
                };
                actions.push((
                    "Approve…".to_owned(),
                    approval_links::url(svc, &token, Some(ReviewDecision::Approve)),
                ));
                actions.push((
                    "Deny…".to_owned(),
                    approval_links::url(svc, &token, Some(ReviewDecision::Deny)),
                ));
            }
            Ok(Ok(message::request_notice(
                svc,
                delivery.event,
                &request,
                actions,
            )))
        }
        EventKind::SlackDecision => {
            let kind =
                EventKind::for_request_state(request.state).unwrap_or(EventKind::RequestCreated);
            Ok(Ok(message::request_notice(svc, kind, &request, Vec::new())))
        }
        kind => Ok(Ok(message::request_notice(svc, kind, &request, Vec::new()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let first = Duration::from_secs(30);
        assert_eq!(backoff(first, 1), Duration::from_secs(30));
        assert_eq!(backoff(first, 2), Duration::from_secs(60));
        assert_eq!(backoff(first, 4), Duration::from_secs(240));
        assert_eq!(backoff(first, 40), MAX_BACKOFF);
    }
}
