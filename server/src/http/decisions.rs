//! `POST /api/v1/decisions` and `POST /api/v1/signals`, authenticated with a decision client's
//! bearer token.

use app::error::AppError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use policy::{FieldError, Query, Signal};
use serde_json::{Value, json};
use std::sync::Arc;

use super::AppState;
use super::api::{ApiError, RejectedToken, presented_token};
use super::strict_json;
use crate::decide::cache::ClientEntry;
use crate::decide::{self, signals};
use crate::domain::clients;

/// The decision client authenticated by `Authorization: Bearer <token>`.
pub struct DecisionCaller(pub Arc<ClientEntry>);

impl FromRequestParts<AppState> for DecisionCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts, state, rejected_client_token).await?;
        let hash = clients::token_hash(token);
        match state.decider.cache.client(&hash).await? {
            Some(client) => {
                clients::note_use(&state.svc, &client);
                Ok(Self(client))
            }
            None => {
                rejected_client_token(Some(token))
                    .record(state, parts)
                    .await;
                Err(AppError::Unauthenticated.into())
            }
        }
    }
}

fn rejected_client_token(token: Option<&str>) -> RejectedToken<'_> {
    RejectedToken {
        action: "decision_client.authenticate",
        subject_type: "decision_client",
        token_prefix: clients::TOKEN_PREFIX,
        shown_len: clients::SHOWN_PREFIX_LEN,
        reason: "unknown or disabled decision client token",
        label: "decision client",
        token,
    }
}

/// Parses a JSON body, naming the problem when it is not JSON.
fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge {
                message: "the request body is over the size limit; send fewer or smaller \
                          requests, or raise WRIT_MAX_BODY_BYTES on the server"
                    .into(),
            }
        } else {
            AppError::invalid("body", rejection.body_text())
        }
    })?;
    strict_json::from_slice(&body).map_err(|error| {
        AppError::invalid(
            "body",
            format!("is not valid JSON ({error}); send one JSON object"),
        )
        .into()
    })
}

fn parse_query(value: &Value, prefix: &str) -> Result<Query, ApiError> {
    Query::from_json(value).map_err(|error| invalid_field(error, prefix))
}

/// Turns a field error into a `400`, with `prefix` (such as `requests[3]`) before its path.
fn invalid_field(error: FieldError, prefix: &str) -> ApiError {
    let field = if prefix.is_empty() && error.field == "$" {
        // Other problems with the whole body are reported as `body` too.
        "body".to_owned()
    } else if prefix.is_empty() {
        error.field
    } else if error.field == "$" {
        prefix.to_owned()
    } else {
        format!("{prefix}.{}", error.field)
    };
    ApiError(AppError::invalid(field, error.message))
}

/// Decides one query (`{"principal", "action", "resource", "context"}`) or a batch
/// (`{"requests": [query, ...]}`).
pub async fn decide(
    State(state): State<AppState>,
    DecisionCaller(client): DecisionCaller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = parse_body(body)?;
    if let Some(requests) = body.get("requests") {
        let requests = requests.as_array().ok_or_else(|| {
            AppError::invalid("requests", "must be an array of decision requests")
        })?;
        if let Some(extra) = body
            .as_object()
            .and_then(|object| object.keys().find(|key| *key != "requests"))
        {
            return Err(AppError::invalid(
                extra.clone(),
                "is not allowed in a batch, whose only field is \"requests\"; remove it",
            )
            .into());
        }
        if requests.is_empty() || requests.len() > decide::MAX_BATCH {
            return Err(AppError::invalid(
                "requests",
                format!(
                    "holds {} requests; send between 1 and {}",
                    requests.len(),
                    decide::MAX_BATCH
                ),
            )
            .into());
        }
        let queries = requests
            .iter()
            .enumerate()
            .map(|(index, value)| parse_query(value, &format!("requests[{index}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let answers = state.decider.decide(&client, queries).await?;
        return Ok(Json(json!({ "decisions": answers })).into_response());
    }
    let query = parse_query(&body, "")?;
    let mut answers = state.decider.decide(&client, vec![query]).await?;
    let answer = answers.pop().ok_or_else(|| {
        crate::error::Error::from(anyhow::anyhow!("a decision returned no result"))
    })?;
    Ok(Json(answer).into_response())
}

/// Records a risk or device-posture signal and re-checks the identity's live grants.
pub async fn signal(
    State(state): State<AppState>,
    DecisionCaller(client): DecisionCaller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<signals::SignalResult>, ApiError> {
    let body = parse_body(body)?;
    let signal = Signal::from_json(&body).map_err(|error| invalid_field(error, ""))?;
    Ok(Json(
        signals::record(&state.svc, &state.decider, &client, signal).await?,
    ))
}
