//! Loads the signed-in viewer for each console request from the session and the database.
//!
//! Roles and the disabled flag are read from the database on every request, so a role removed
//! or a user disabled takes effect on the user's next request. A change of roles also gives the
//! session a new id.

use app::backend::CurrentViewer;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tower_sessions::Session;
use uuid::Uuid;

use super::session_store::USER_ID_KEY;
use super::{AppState, sessions};
use crate::domain::accounts;

/// Puts `CurrentViewer` in the request's extensions; a session whose user is gone or disabled
/// is deleted.
pub async fn load_viewer(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let viewer = match session.get::<Uuid>(USER_ID_KEY).await {
        Ok(Some(user_id)) => match accounts::load_viewer(&state.svc.pool, user_id).await {
            Ok(Some(viewer)) => {
                if let Err(error) = sessions::refresh(&session, &viewer, state.svc.now()).await {
                    tracing::warn!(error = %error, "cannot refresh the session");
                }
                Some(viewer)
            }
            Ok(None) => {
                if let Err(error) = session.flush().await {
                    tracing::warn!(error = %error, "cannot delete the session of a disabled user");
                }
                None
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot load the signed-in user");
                None
            }
        },
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(error = %error, "cannot read the session");
            None
        }
    };
    request.extensions_mut().insert(CurrentViewer(viewer));
    next.run(request).await
}
