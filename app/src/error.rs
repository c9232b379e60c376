//! The one error type that reaches the browser and the JSON API, and its HTTP status codes.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// An error a caller can act on. Internal causes are logged on the server and never carried here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum AppError {
    #[error("sign in to continue")]
    Unauthenticated,
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{message}")]
    Conflict { message: String },
    #[error("{message}")]
    TooLarge { message: String },
    #[error("{message}")]
    RateLimited { message: String },
    #[error("internal error {error_id}; the server log has the cause under this id")]
    Internal { error_id: String },
    #[error("the request could not reach the server: {message}")]
    Transport { message: String },
}

impl AppError {
    /// A caller lacks the role or relationship an action needs.
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden {
            message: message.into(),
        }
    }

    /// A named thing does not exist or is not visible to the caller.
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::NotFound {
            message: message.into(),
        }
    }

    /// A field's value is unusable; `message` says why and what to do instead.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The action clashes with the current state (a duplicate, or a request already decided).
    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict {
            message: message.into(),
        }
    }

    /// The HTTP status code for this error.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden { .. } => 403,
            AppError::NotFound { .. } => 404,
            AppError::Invalid { .. } => 400,
            AppError::Conflict { .. } => 409,
            AppError::TooLarge { .. } => 413,
            AppError::RateLimited { .. } => 429,
            AppError::Internal { .. } => 500,
            AppError::Transport { .. } => 502,
        }
    }

    /// The field an `Invalid` error names.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message)
            | ServerFnErrorErr::Deserialization(message)
            | ServerFnErrorErr::MissingArg(message) => {
                let field = named_field(&message).unwrap_or("form");
                AppError::invalid(field, format!("the submitted form is invalid: {message}"))
            }
            other => AppError::Transport {
                message: other.to_string(),
            },
        }
    }
}

/// Returns the field a serde error message names in backticks, as in "missing field `reason`".
pub fn named_field(message: &str) -> Option<&str> {
    ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|marker| {
            let start = message.find(marker)? + marker.len();
            let length = message[start..].find('`')?;
            Some(&message[start..start + length])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_cover_every_variant() {
        let cases = [
            (AppError::Unauthenticated, 401),
            (AppError::forbidden("x"), 403),
            (AppError::not_found("x"), 404),
            (AppError::invalid("f", "x"), 400),
            (AppError::conflict("x"), 409),
            (
                AppError::TooLarge {
                    message: "x".into(),
                },
                413,
            ),
            (
                AppError::RateLimited {
                    message: "x".into(),
                },
                429,
            ),
            (
                AppError::Internal {
                    error_id: "e".into(),
                },
                500,
            ),
            (
                AppError::Transport {
                    message: "x".into(),
                },
                502,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.status_code(), status, "{error:?}");
        }
    }

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            named_field("missing field `reason` at line 1"),
            Some("reason")
        );
        assert_eq!(
            named_field("unknown field `colour`, expected one of"),
            Some("colour")
        );
        assert_eq!(named_field("expected a string"), None);
    }

    #[test]
    fn invalid_names_the_field() {
        let error = AppError::invalid("duration", "must be at most 8h");
        assert_eq!(error.to_string(), "duration: must be at most 8h");
        assert_eq!(error.field(), Some("duration"));
    }
}
