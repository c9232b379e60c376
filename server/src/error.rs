//! The domain layer's error type and its conversion into the caller-facing `AppError`.

use app::error::AppError;

/// An error from domain or database code.
///
/// `App` errors are the caller's to fix and pass through unchanged; the others are internal
/// faults that are logged once with an id and reach the caller only as that id.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Result type of domain functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Converts into the caller-facing error, logging internal causes under a fresh id.
    pub fn into_app(self) -> AppError {
        match self {
            Error::App(error) => error,
            Error::Database(error) => log_internal(&error),
            Error::Internal(error) => log_internal(&*error),
        }
    }
}

impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        error.into_app()
    }
}

fn log_internal(cause: &dyn std::fmt::Display) -> AppError {
    let error_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    tracing::error!(error_id, error = %cause, "internal error");
    AppError::Internal { error_id }
}

/// Returns the name of the constraint a database error violated, if any.
pub fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    error
        .as_database_error()
        .and_then(|database_error| database_error.constraint())
}

/// Maps a violation of `constraint` to `AppError::Conflict` with `message`; other errors pass.
pub fn conflict_on(
    constraint: &str,
    message: impl Into<String>,
) -> impl FnOnce(sqlx::Error) -> Error {
    let message = message.into();
    let constraint = constraint.to_owned();
    move |error| {
        if violated_constraint(&error) == Some(constraint.as_str()) {
            Error::App(AppError::conflict(message))
        } else {
            Error::Database(error)
        }
    }
}
