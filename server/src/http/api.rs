//! The JSON API under `/api/v1`, authenticated with bearer API tokens.
//!
//! Errors are JSON objects `{"error": kind, "message": text, "field": name?}` with the status
//! code of `AppError::status_code`.

use app::error::AppError;
use app::model::{Identity, IdentityFilter, IdentityInput, IdentityStatus, Page, Viewer};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use crate::domain::actor::Actor;
use crate::domain::{identities, tokens};

/// Builds the `/api/v1` router.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/identities", get(list_identities).post(create_identity))
        .route("/identities/{id}", get(get_identity).put(update_identity))
        .route("/identities/{id}/disable", post(disable_identity))
        .route("/identities/{id}/enable", post(enable_identity))
        .route("/decisions", post(super::decisions::decide))
        .route("/signals", post(super::decisions::signal))
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// An error as the API returns it.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self(error)
    }
}

impl From<crate::error::Error> for ApiError {
    fn from(error: crate::error::Error) -> Self {
        Self(error.into_app())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self(AppError::TooLarge {
                message: "the request body is too large".into(),
            });
        }
        let message = rejection.body_text();
        let field = app::error::named_field(&message)
            .unwrap_or("body")
            .to_owned();
        Self(AppError::invalid(field, message))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self(AppError::invalid(
            "id",
            format!(
                "{}; use an id such as 0b7c6f7e-52a1-4c1e-9f0e-2b1f3f0b9a51",
                rejection.body_text()
            ),
        ))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self(AppError::invalid("query", rejection.body_text()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let kind = serde_json::to_value(&self.0)
            .ok()
            .and_then(|value| {
                value
                    .get("error")
                    .and_then(|kind| kind.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "internal".into());
        let message = match &self.0 {
            AppError::Unauthenticated => "the bearer token is missing, unknown or disabled; send \
                 Authorization: Bearer with an API token (writ_...) or, for decisions and \
                 signals, a decision client token (writc_...)"
                .to_owned(),
            other => other.to_string(),
        };
        let body = json!({
            "error": kind,
            "message": message,
            "field": self.0.field(),
        });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"writ\""),
            );
        }
        response
    }
}

/// The caller authenticated by `Authorization: Bearer <token>`, acting with the token's roles.
pub struct ApiCaller(pub Viewer);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts, state, rejected_api_token).await?;
        match tokens::authenticate(&state.svc, token).await {
            Ok(viewer) => Ok(Self(viewer)),
            Err(error) => {
                rejected_api_token(Some(token)).record(state, parts).await;
                Err(error.into())
            }
        }
    }
}

/// Returns the token of an `Authorization: Bearer <token>` header, or `Unauthenticated`.
pub fn bearer_token(parts: &Parts) -> Result<&str, AppError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or(AppError::Unauthenticated)?;
    // The scheme name is case-insensitive (RFC 9110, section 11.1).
    header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(AppError::Unauthenticated)
}

/// A bearer token that authenticated no one, as the audit log records it.
pub struct RejectedToken<'a> {
    /// The audit action, such as `api.authenticate`.
    pub action: &'static str,
    pub subject_type: &'static str,
    /// The prefix every genuine token of this kind starts with, such as `writ_`.
    pub token_prefix: &'static str,
    /// How much of a genuine token the console shows.
    pub shown_len: usize,
    pub reason: &'static str,
    /// The actor label, such as `API client`.
    pub label: &'static str,
    /// The token, when the header contained a bearer token.
    pub token: Option<&'a str>,
}

/// Characters a token must have beyond its shown prefix before the prefix is recorded. A
/// shorter string may be most of a secret typed into the wrong field, so only its shape is kept.
const MIN_SECRET_CHARS: usize = 16;

impl RejectedToken<'_> {
    /// Returns the audit subject: the shown prefix of a token of the expected shape, never the
    /// rest of it.
    fn subject(&self) -> String {
        match self.token {
            None => "no bearer token in the Authorization header".to_owned(),
            Some(token) if !token.starts_with(self.token_prefix) => {
                format!("a token not starting with {}", self.token_prefix)
            }
            Some(token) if token.chars().count() < self.shown_len + MIN_SECRET_CHARS => {
                "a token too short to be genuine".to_owned()
            }
            Some(token) => token.chars().take(self.shown_len).collect(),
        }
    }

    /// Appends the rejection to the audit log with the request's path, as an API event.
    pub async fn record(self, state: &AppState, parts: &Parts) {
        // Nested routers see the path without `/api/v1`; the original one is what the caller
        // sent.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path(), |original| original.0.path())
            .to_owned();
        let entry = crate::domain::audit::Entry::refused(
            self.action,
            self.subject_type,
            self.subject(),
            self.reason,
        )
        .details(json!({ "path": path }));
        let mut actor = Actor::signing_in(None, self.label);
        actor.source = app::model::Source::Api;
        crate::domain::audit::append_alone(&state.svc.pool, &actor, state.svc.now(), entry).await;
    }
}

/// Returns the request's bearer token. A request whose `Authorization` header has no bearer
/// token is rejected and audited with `rejected`; one without the header is only rejected.
pub async fn presented_token<'a>(
    parts: &'a Parts,
    state: &AppState,
    rejected: fn(Option<&str>) -> RejectedToken<'_>,
) -> Result<&'a str, ApiError> {
    match bearer_token(parts) {
        Ok(token) => Ok(token),
        Err(error) => {
            if parts
                .headers
                .contains_key(axum::http::header::AUTHORIZATION)
            {
                rejected(None).record(state, parts).await;
            }
            Err(error.into())
        }
    }
}

fn rejected_api_token(token: Option<&str>) -> RejectedToken<'_> {
    RejectedToken {
        action: "api.authenticate",
        subject_type: "api_token",
        token_prefix: tokens::TOKEN_PREFIX,
        shown_len: tokens::SHOWN_PREFIX_LEN,
        reason: "unknown, revoked or expired API token, or its user is disabled",
        label: "API client",
        token,
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Query string of the identity list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    q: Option<String>,
    kind: Option<String>,
    environment: Option<String>,
    status: Option<String>,
    owner_id: Option<Uuid>,
    #[serde(default)]
    unowned: bool,
    cursor: Option<String>,
}

async fn list_identities(
    State(state): State<AppState>,
    ApiCaller(viewer): ApiCaller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Page<Identity>>> {
    let Query(query) = query?;
    let kind = match query.kind.as_deref() {
        None | Some("") => None,
        Some(kind) => Some(
            kind.parse()
                .map_err(|message| AppError::invalid("kind", message))?,
        ),
    };
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(status) => Some(
            status
                .parse()
                .map_err(|message| AppError::invalid("status", message))?,
        ),
    };
    let filter = IdentityFilter {
        q: query.q,
        kind,
        environment: query.environment,
        status,
        owner_id: query.owner_id,
        unowned: query.unowned,
    };
    let page = identities::list(
        &state.svc.pool,
        &Actor::api(&viewer),
        &filter,
        query.cursor.as_deref(),
    )
    .await?;
    Ok(Json(page))
}

async fn get_identity(
    State(state): State<AppState>,
    ApiCaller(viewer): ApiCaller,
    id: Result<Path<Uuid>, PathRejection>,
) -> ApiResult<Json<Identity>> {
    let Path(id) = id?;
    Ok(Json(
        identities::get(&state.svc.pool, &Actor::api(&viewer), id).await?,
    ))
}

/// Body of identity create and update; absent fields are empty.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityBody {
    kind: String,
    name: String,
    owner_id: Option<Uuid>,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    criticality: String,
    #[serde(default)]
    description: String,
    external_id: Option<String>,
    attributes: Option<serde_json::Value>,
}

impl From<IdentityBody> for IdentityInput {
    fn from(body: IdentityBody) -> Self {
        IdentityInput {
            kind: body.kind,
            name: body.name,
            owner_id: body.owner_id.map(|id| id.to_string()).unwrap_or_default(),
            environment: body.environment,
            criticality: body.criticality,
            description: body.description,
            external_id: body.external_id.unwrap_or_default(),
            attributes: body
                .attributes
                .map(|value| value.to_string())
                .unwrap_or_default(),
        }
    }
}

async fn create_identity(
    State(state): State<AppState>,
    ApiCaller(viewer): ApiCaller,
    body: Result<Json<IdentityBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Identity>)> {
    let Json(body) = body?;
    let identity = identities::create(
        &state.svc.pool,
        &Actor::api(&viewer),
        state.svc.now(),
        &body.into(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(identity)))
}

async fn update_identity(
    State(state): State<AppState>,
    ApiCaller(viewer): ApiCaller,
    id: Result<Path<Uuid>, PathRejection>,
    body: Result<Json<IdentityBody>, JsonRejection>,
) -> ApiResult<Json<Identity>> {
    let Path(id) = id?;
    let Json(body) = body?;
    let identity = identities::update(
        &state.svc.pool,
        &Actor::api(&viewer),
        state.svc.now(),
        id,
        &body.into(),
    )
    .await?;
    Ok(Json(identity))
}

async fn disable_identity(
    State(state): State<AppState>,
    ApiCaller(viewer): ApiCaller,
    id: Result<Path<Uuid>, PathRejection>,
) -> ApiResult<Json<Identity>> {
    let Path(id) = id?;
    let identity = identities::set_status(
        &state.svc.pool,
        &Actor::api(&viewer),
        state.svc.now(),
        id,
        IdentityStatus::Disabled,
    )
    .await?;
    Ok(Json(identity))
}

async fn enable_identity(
    State(state): State<AppState>,
    ApiCaller(viewer): ApiCaller,
    id: Result<Path<Uuid>, PathRejection>,
) -> ApiResult<Json<Identity>> {
    let Path(id) = id?;
    let identity = identities::set_status(
        &state.svc.pool,
        &Actor::api(&viewer),
        state.svc.now(),
        id,
        IdentityStatus::Active,
    )
    .await?;
    Ok(Json(identity))
}

async fn method_not_allowed() -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({
            "error": "method_not_allowed",
            "message": "this endpoint does not accept that method; see docs/api.md",
            "field": null,
        })),
    )
}

async fn unknown_endpoint() -> ApiError {
    ApiError(AppError::not_found(
        "no API endpoint at this path; see docs/api.md",
    ))
}
