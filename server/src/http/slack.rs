//! Slack's interactivity endpoint: the Approve and Deny buttons of channel messages.
//!
//! Each request is checked against Slack's signature over the raw body, with its timestamp
//! within five minutes of Writ's clock. The Slack user is mapped to a Writ user, and the
//! decision goes through `reviews::review` like any other. Slack sends a request again when it
//! gets no response within three seconds, so each click is handled once, keyed by its action
//! timestamp. The outcome replaces the Slack message through a delivery job, so the answer to
//! Slack never waits on a call back to Slack.

use app::error::AppError;
use app::model::{Channel, ReviewDecision, Source};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use crate::domain::actor::Actor;
use crate::domain::audit::{self, Entry};
use crate::domain::{accounts, notifications, reviews};
use crate::notify::deliver;
use crate::notify::slack::{self, APPROVE_ACTION, DENY_ACTION, SlackClient};
use crate::services::Services;

/// Builds the `/integrations/slack` router.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/interactions", post(interactions))
        .with_state(state)
}

/// The parts of a `block_actions` payload that Writ reads.
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: SlackUser,
    #[serde(default)]
    team: Option<Team>,
    #[serde(default)]
    actions: Vec<Action>,
    #[serde(default)]
    response_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SlackUser {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Team {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
    action_ts: String,
}

async fn interactions(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let svc = &state.svc;
    let Some(secret) = svc
        .settings
        .notify
        .slack
        .as_ref()
        .and_then(|slack| slack.signing_secret.clone())
    else {
        return (
            StatusCode::NOT_FOUND,
            "Slack interactivity is off; set WRIT_SLACK_SIGNING_SECRET to turn it on",
        )
            .into_response();
    };
    let now = svc.now();
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Err(error) = slack::verify_signature(
        &secret,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &body,
        now,
    ) {
        tracing::warn!(error = %error, "rejected a Slack request with a bad signature");
        audit::append_alone(
            &svc.pool,
            &slack_actor(None, "unverified Slack request"),
            now,
            Entry::refused(
                "slack.interaction",
                "slack",
                "interactivity",
                error.to_string(),
            ),
        )
        .await;
        return (StatusCode::UNAUTHORIZED, error.to_string()).into_response();
    }
    let payload = match parse_payload(&body) {
        Ok(payload) => payload,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    match handle(svc, &payload).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => {
            // Slack shows nothing useful for an error status, and would send the request
            // again; the failure is in the log and the audit log.
            let error = error.into_app();
            tracing::warn!(error = %error, "a Slack interaction failed");
            StatusCode::OK.into_response()
        }
    }
}

/// Reads the JSON `payload` field of the form-encoded body.
fn parse_payload(body: &[u8]) -> Result<Payload, String> {
    let payload = url::form_urlencoded::parse(body)
        .find(|(key, _)| key == "payload")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| "the body has no payload field".to_owned())?;
    serde_json::from_str(&payload).map_err(|error| format!("the payload is not valid: {error}"))
}

async fn handle(svc: &Services, payload: &Payload) -> crate::error::Result<()> {
    if payload.kind != "block_actions" {
        return Ok(());
    }
    let Some(action) = payload.actions.first() else {
        return Ok(());
    };
    let decision = match action.action_id.as_str() {
        APPROVE_ACTION => ReviewDecision::Approve,
        DENY_ACTION => ReviewDecision::Deny,
        // Link buttons also report their clicks; the page they open does the rest.
        _ => return Ok(()),
    };
    let now = svc.now();
    let team = payload
        .team
        .as_ref()
        .map(|team| team.id.as_str())
        .unwrap_or("-");
    let key = format!("{team}:{}:{}", payload.user.id, action.action_ts);
    let first_time = sqlx::query!(
        r#"
        insert into slack_interactions (interaction_key, received_at) values ($1, $2)
        on conflict (interaction_key) do nothing
        "#,
        key,
        now
    )
    .execute(&svc.pool)
    .await?
    .rows_affected()
        == 1;
    // Slack repeats a request within minutes, so a day of keys is plenty.
    sqlx::query!(
        "delete from slack_interactions where received_at < $1",
        now - chrono::Duration::days(1)
    )
    .execute(&svc.pool)
    .await?;
    if !first_time {
        tracing::info!(interaction = %key, "ignored a repeated Slack interaction");
        return Ok(());
    }
    let request_id = action
        .value
        .as_deref()
        .and_then(|value| Uuid::parse_str(value).ok())
        .ok_or_else(|| AppError::invalid("value", "the button carries no request id"))?;

    let user_id = match writ_user(svc, &payload.user.id).await? {
        Some(user_id) => user_id,
        None => {
            let reason = "your Slack account is not linked to a Writ user with the same e-mail address; use the link in your e-mail or the console";
            audit::append_alone(
                &svc.pool,
                &slack_actor(None, &format!("Slack user {}", payload.user.id)),
                now,
                Entry::refused("request.review", "access_request", request_id, reason).details(
                    json!({ "channel": Channel::Slack, "slack_user_id": payload.user.id }),
                ),
            )
            .await;
            return respond(svc, payload, request_id, Err(reason.to_owned())).await;
        }
    };
    let Some(viewer) = accounts::load_viewer(&svc.pool, user_id).await? else {
        let reason = "your Writ account is disabled";
        audit::append_alone(
            &svc.pool,
            &slack_actor(Some(user_id), &format!("Slack user {}", payload.user.id)),
            now,
            Entry::refused("request.review", "access_request", request_id, reason),
        )
        .await;
        return respond(svc, payload, request_id, Err(reason.to_owned())).await;
    };
    let actor = Actor {
        source: Source::Slack,
        ..Actor::console(&viewer)
    };
    // The same review as in the console: its rules, its refusals, its audit entries.
    let result = reviews::review(svc, &actor, request_id, decision, "", Channel::Slack).await;
    let outcome = match result {
        Ok(detail) => Ok(match (decision, detail.request.state) {
            (ReviewDecision::Deny, _) => format!("Denied by {} in Slack.", viewer.display_name),
            (ReviewDecision::Approve, app::model::RequestState::Approved) => {
                format!("Approved by {} in Slack.", viewer.display_name)
            }
            (ReviewDecision::Approve, _) => format!(
                "Approval recorded from {} in Slack ({} of {}).",
                viewer.display_name, detail.request.approvals, detail.request.required_approvals
            ),
        }),
        Err(crate::error::Error::App(error)) => Err(error.to_string()),
        Err(error) => return Err(error),
    };
    respond(svc, payload, request_id, outcome).await
}

/// Queues the change to the Slack message: the outcome for everyone, or an error for the
/// clicking user only.
async fn respond(
    svc: &Services,
    payload: &Payload,
    request_id: Uuid,
    outcome: Result<String, String>,
) -> crate::error::Result<()> {
    let Some(response_url) = &payload.response_url else {
        return Ok(());
    };
    let body = match outcome {
        Ok(outcome) => json!({ "response_url": response_url, "outcome": outcome }),
        Err(error) => json!({ "response_url": response_url, "error": error }),
    };
    let mut tx = svc.pool.begin().await?;
    notifications::enqueue_slack_update(&mut tx, svc, request_id, &body).await?;
    tx.commit().await?;
    Ok(())
}

/// Finds the Writ user of a Slack user: the stored mapping, or the enabled Writ user whose
/// e-mail address matches the one on the Slack profile (then stored).
async fn writ_user(svc: &Services, slack_user_id: &str) -> crate::error::Result<Option<Uuid>> {
    let known = sqlx::query_scalar!(
        "select user_id from slack_accounts where slack_user_id = $1",
        slack_user_id
    )
    .fetch_optional(&svc.pool)
    .await?;
    if known.is_some() {
        return Ok(known);
    }

    let Some(settings) = &svc.settings.notify.slack else {
        return Ok(None);
    };
    if settings.bot_token.is_none() {
        return Ok(None);
    }
    let client = SlackClient::new(settings).map_err(|error| anyhow::anyhow!(error))?;
    let email = match client.user_email(slack_user_id).await {
        Ok(Some(email)) => email,
        Ok(None) => return Ok(None),
        Err(error) => {
            tracing::warn!(slack_user_id, error = %error, "cannot read a Slack user's profile");
            return Ok(None);
        }
    };

    let matches = sqlx::query_scalar!(
        "select id from users where lower(email) = lower($1) and disabled_at is null",
        email
    )
    .fetch_all(&svc.pool)
    .await?;
    // Only an unambiguous match links the accounts.
    let [user_id] = matches.as_slice() else {
        return Ok(None);
    };
    let mut conn = svc.pool.acquire().await?;
    deliver::link_slack_user(&mut conn, slack_user_id, *user_id, "users_info", svc.now()).await?;
    Ok(Some(*user_id))
}

fn slack_actor(user_id: Option<Uuid>, label: &str) -> Actor {
    Actor {
        source: Source::Slack,
        ..Actor::signing_in(user_id, label)
    }
}
