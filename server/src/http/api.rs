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
        let body = json!({
            "error": kind,
            "message": self.0.to_string(),
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
        let token = bearer_token(parts)?;
        match tokens::authenticate(&state.svc, token).await {
            Ok(viewer) => Ok(Self(viewer)),
            Err(error) => {
                record_failed_authentication(state, token, &parts.uri).await;
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

/// Records a rejected API token in the audit log. Only the token's shown prefix is kept, the
/// part the console displays, never the secret.
async fn record_failed_authentication(state: &AppState, token: &str, uri: &axum::http::Uri) {
    let prefix: String = if token.starts_with(tokens::TOKEN_PREFIX) {
        token.chars().take(12).collect()
    } else {
        "not a Writ token".to_owned()
    };
    let entry = crate::domain::audit::Entry::refused(
        "api.authenticate",
        "api_token",
        prefix,
        "unknown, revoked or expired API token, or its user is disabled",
    )
    .details(json!({ "path": uri.path() }));
    let actor = Actor::signing_in(None, "API client");
    crate::domain::audit::append_alone(&state.svc.pool, &actor, state.svc.now(), entry).await;
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
