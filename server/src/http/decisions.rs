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
use policy::Query;
use serde_json::{Value, json};
use std::sync::Arc;

use super::AppState;
use super::api::{ApiError, bearer_token};
use crate::decide::cache::ClientEntry;
use crate::decide::{self, signals};
use crate::domain::actor::Actor;
use crate::domain::{audit, clients};

/// The decision client authenticated by `Authorization: Bearer <token>`.
pub struct DecisionCaller(pub Arc<ClientEntry>);

impl FromRequestParts<AppState> for DecisionCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?;
        let hash = clients::token_hash(token);
        match state.decider.cache.client(&hash).await? {
            Some(client) => {
                clients::note_use(&state.svc, &client);
                Ok(Self(client))
            }
            None => {
                let prefix: String = if token.starts_with(clients::TOKEN_PREFIX) {
                    token.chars().take(clients::SHOWN_PREFIX_LEN).collect()
                } else {
                    "not a decision client token".to_owned()
                };
                let entry = audit::Entry::refused(
                    "decision_client.authenticate",
                    "decision_client",
                    prefix,
                    "unknown or disabled decision client token",
                )
                .details(json!({ "path": parts.uri.path() }));
                let actor = Actor::signing_in(None, "decision client");
                audit::append_alone(&state.svc.pool, &actor, state.svc.now(), entry).await;
                Err(AppError::Unauthenticated.into())
            }
        }
    }
}

/// Parses a JSON body, naming the problem when it is not JSON.
fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge {
                message: "the request body is too large".into(),
            }
        } else {
            AppError::invalid("body", rejection.body_text())
        }
    })?;
    serde_json::from_slice(&body).map_err(|error| {
        AppError::invalid(
            "body",
            format!("is not valid JSON ({error}); send one JSON object"),
        )
        .into()
    })
}

fn parse_query(value: &Value, prefix: &str) -> Result<Query, ApiError> {
    Query::from_json(value).map_err(|error| {
        let field = if prefix.is_empty() {
            error.field
        } else if error.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", error.field)
        };
        ApiError(AppError::invalid(field, error.message))
    })
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
        if body.as_object().is_some_and(|object| object.len() > 1) {
            return Err(
                AppError::invalid("body", "a batch has only the field \"requests\"").into(),
            );
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
    let signal: signals::Signal = serde_json::from_value(body).map_err(|error| {
        let message = error.to_string();
        let field = app::error::named_field(&message)
            .unwrap_or("body")
            .to_owned();
        AppError::invalid(field, message)
    })?;
    Ok(Json(
        signals::record(&state.svc, &state.decider, &client, signal).await?,
    ))
}
