//! Server functions: the console's calls into the backend, one module per area.
//!
//! Each function resolves the signed-in viewer and delegates to the `Backend` in context, which
//! checks the role it needs. Forms post to these functions directly, so they work without
//! JavaScript.

pub mod access;
pub mod admin;
pub mod auth;
pub mod decisions;
pub mod flash;
pub mod inventory;
pub mod notify;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use leptos::prelude::use_context;

    use crate::backend::{CurrentViewer, SharedBackend};
    use crate::error::AppError;
    use crate::model::Viewer;

    /// Returns the signed-in viewer, or sends the browser to the sign-in page.
    pub async fn viewer() -> Result<Viewer, AppError> {
        let viewer = leptos_axum::extract::<axum::Extension<CurrentViewer>>()
            .await
            .ok()
            .and_then(|axum::Extension(CurrentViewer(viewer))| viewer);
        viewer.ok_or_else(|| {
            leptos_axum::redirect(&sign_in_redirect());
            AppError::Unauthenticated
        })
    }

    /// Returns where to send a visitor who is not signed in: straight to the identity
    /// provider when one is configured, else to the sign-in page. A page request (a GET outside
    /// the server-function paths) comes back to its own path afterwards.
    fn sign_in_redirect() -> String {
        let base = match backend() {
            Ok(backend) if backend.sign_in_methods().oidc => "/sign-in/oidc",
            _ => "/sign-in",
        };
        let path = use_context::<http::request::Parts>()
            .filter(|parts| parts.method == http::Method::GET)
            .and_then(|parts| {
                parts
                    .uri
                    .path_and_query()
                    .map(|value| value.as_str().to_owned())
            })
            .unwrap_or_default();
        crate::return_to::sign_in_path(base, &path)
    }

    /// Returns the viewer if one is signed in, without redirecting.
    pub async fn maybe_viewer() -> Option<Viewer> {
        leptos_axum::extract::<axum::Extension<CurrentViewer>>()
            .await
            .ok()
            .and_then(|axum::Extension(CurrentViewer(viewer))| viewer)
    }

    /// Returns the backend the server placed in context.
    pub fn backend() -> Result<SharedBackend, AppError> {
        use_context::<SharedBackend>().ok_or_else(|| AppError::Internal {
            error_id: "backend-missing".into(),
        })
    }

    /// Returns the request's session.
    pub async fn session() -> Result<tower_sessions::Session, AppError> {
        leptos_axum::extract::<tower_sessions::Session>()
            .await
            .map_err(|_| AppError::Internal {
                error_id: "session-missing".into(),
            })
    }
}
