//! Who is acting: a console user, an API token, a background job or the command line.

use app::error::AppError;
use app::model::{Role, Source, Viewer};
use uuid::Uuid;

/// The caller of a domain operation, as the audit log records it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub label: String,
    pub roles: Vec<Role>,
    /// The acting user's own human identity.
    pub identity_id: Option<Uuid>,
    pub source: Source,
}

impl Actor {
    /// A signed-in console user.
    pub fn console(viewer: &Viewer) -> Self {
        Self::from_viewer(viewer, Source::Console)
    }

    /// A user acting through an API token; `viewer.roles` are already limited to the token's.
    pub fn api(viewer: &Viewer) -> Self {
        Self::from_viewer(viewer, Source::Api)
    }

    /// Writ's background jobs.
    pub fn job() -> Self {
        Self::system("writ jobs", Source::Job)
    }

    /// An operator at the `writ` command line.
    pub fn cli() -> Self {
        Self::system("writ command line", Source::Cli)
    }

    /// Someone signing in to the console, before a session exists.
    pub fn signing_in(user_id: Option<Uuid>, label: impl Into<String>) -> Self {
        Self {
            user_id,
            label: label.into(),
            roles: Vec::new(),
            identity_id: None,
            source: Source::Console,
        }
    }

    fn system(label: &str, source: Source) -> Self {
        Self {
            user_id: None,
            label: label.to_owned(),
            roles: Vec::new(),
            identity_id: None,
            source,
        }
    }

    fn from_viewer(viewer: &Viewer, source: Source) -> Self {
        Self {
            user_id: Some(viewer.user_id),
            label: viewer.display_name.clone(),
            roles: viewer.roles.clone(),
            identity_id: viewer.identity_id,
            source,
        }
    }

    /// Whether the actor holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Fails with `Forbidden` unless the actor holds `role`.
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "this action needs the {} role; ask an admin to grant it",
                role.as_str()
            )))
        }
    }

    /// Fails with `Forbidden` unless the actor holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.iter().any(|role| self.has(*role)) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        Err(AppError::forbidden(format!(
            "this action needs one of the roles {}; ask an admin to grant one",
            names.join(", ")
        )))
    }

    /// Returns the acting user's id, or `Forbidden` for system actors.
    pub fn user(&self) -> Result<Uuid, AppError> {
        self.user_id
            .ok_or_else(|| AppError::forbidden("this action needs a signed-in user"))
    }
}
