//! The OpenID Connect sign-in routes: the start, which sends the browser to the provider, and
//! the callback, which checks the provider's response and signs the user in.

use std::sync::Arc;

use app::return_to::safe_return_to;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

use super::sessions;
use crate::domain::actor::Actor;
use crate::domain::audit::{self, Entry};
use crate::domain::oidc_users;
use crate::error::Error;
use crate::oidc::{CALLBACK_PATH, Callback, OidcProvider, PendingSignIn, START_PATH};
use crate::services::Services;

/// Session key of the sign-in in progress.
const PENDING_KEY: &str = "oidc_pending";

#[derive(Clone)]
struct OidcState {
    svc: Services,
    provider: Arc<OidcProvider>,
}

/// Builds the sign-in routes, for the part of the router that has sessions.
pub fn routes<S: Clone + Send + Sync + 'static>(
    svc: Services,
    provider: Arc<OidcProvider>,
) -> Router<S> {
    Router::new()
        .route(START_PATH, get(start))
        .route(CALLBACK_PATH, get(callback))
        .with_state(OidcState { svc, provider })
}

#[derive(Deserialize)]
struct StartQuery {
    return_to: Option<String>,
}

/// Keeps a fresh `state`, `nonce` and PKCE verifier in the session and redirects to the
/// provider's authorization endpoint.
async fn start(
    State(state): State<OidcState>,
    session: Session,
    Query(query): Query<StartQuery>,
) -> Response {
    let return_to = query
        .return_to
        .as_deref()
        .and_then(safe_return_to)
        .unwrap_or_else(|| "/".to_owned());
    let (url, pending) = state.provider.begin(return_to);
    if let Err(error) = session.insert(PENDING_KEY, &pending).await {
        tracing::error!(error = %error, "cannot keep the sign-in state in the session");
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "Writ could not start the sign-in. Try again; the server log has the cause.",
        );
    }
    Redirect::to(url.as_str()).into_response()
}

/// Checks the provider's redirect back, signs the user in and opens the page first requested.
async fn callback(
    State(state): State<OidcState>,
    session: Session,
    Query(callback): Query<Callback>,
) -> Response {
    // Taken out of the session first, so a replayed callback finds no sign-in to finish. Two
    // callbacks at once still get one token at most, because the provider's code is single-use.
    let pending = match session.remove::<PendingSignIn>(PENDING_KEY).await {
        Ok(pending) => pending,
        Err(error) => {
            tracing::warn!(error = %error, "cannot read the sign-in state from the session");
            None
        }
    };
    let return_to = pending
        .as_ref()
        .map(|pending| pending.return_to.clone())
        .unwrap_or_else(|| "/".to_owned());
    let identity = match state.provider.finish(pending, callback).await {
        Ok(identity) => identity,
        Err(failure) => {
            tracing::warn!(reason = %failure, "rejected an OpenID Connect sign-in");
            audit::append_alone(
                &state.svc.pool,
                &Actor::signing_in(None, "unknown"),
                state.svc.now(),
                Entry::refused("user.sign_in", "oidc", "callback", failure.to_string())
                    .details(json!({ "method": "oidc" })),
            )
            .await;
            let status = if failure.is_provider_fault() {
                StatusCode::BAD_GATEWAY
            } else {
                StatusCode::BAD_REQUEST
            };
            return page(
                status,
                "Sign-in failed",
                &format!("Sign-in through the identity provider failed: {failure}."),
            );
        }
    };
    let user_id = match oidc_users::sign_in(&state.svc, &identity).await {
        Ok(user_id) => user_id,
        Err(Error::App(error)) => {
            return page(StatusCode::FORBIDDEN, "Sign-in refused", &error.to_string());
        }
        Err(error) => {
            tracing::error!(error = %error, "cannot record an OpenID Connect sign-in");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                "Writ could not record the sign-in. Try again; the server log has the cause.",
            );
        }
    };
    if let Err(error) = sessions::start(&session, user_id).await {
        tracing::error!(error = %error, "cannot start a session after an OpenID Connect sign-in");
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "Writ could not start the session. Try again; the server log has the cause.",
        );
    }
    // An approval link opened before signing in is remembered in the session; go back to it
    // unless the sign-in itself was started for another page.
    let remembered = session
        .remove::<String>(app::api::notify::RETURN_TO_KEY)
        .await
        .ok()
        .flatten()
        .filter(|page| page.starts_with("/approve?"));
    let target = match remembered {
        Some(page) if return_to == "/" => page,
        _ => return_to,
    };
    Redirect::to(&target).into_response()
}

/// Renders a small HTML page for the outcomes that do not end on a console page.
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title} · Writ</title>\
         <link rel=\"stylesheet\" href=\"/writ.css\"></head>\n<body><main class=\"content\">\
         <h1>{title}</h1><p class=\"error\">{message}</p><p><a href=\"/sign-in\">Back to sign-in</a></p>\
         </main></body>\n</html>\n",
        title = escape(title),
        message = escape(message),
    );
    (status, Html(html)).into_response()
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}
