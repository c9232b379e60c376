//! Notifications: settings, the content of each message, and sending it by e-mail or Slack.
//!
//! Domain functions record deliveries in their own transactions
//! (`domain::notifications::enqueue`); jobs send them later (`deliver::attempt`), retrying with
//! backoff, so that no change waits on SMTP or Slack.

pub mod config;
pub mod deliver;
pub mod email;
pub mod message;
pub mod slack;

/// Why one attempt to send a message failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    /// Whether retrying cannot help (an invalid address, a rejected token).
    pub permanent: bool,
}

impl SendError {
    /// A failure that may pass: a timeout, a refused connection, a server error.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}
