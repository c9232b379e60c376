//! A decision request as the caller sends it: the action, the names of the principal and the
//! resource, and the context of the request.

mod parse;

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::facts::Sensitivity;

/// An action that a principal can request. `delete`, `deploy` and `admin` form the Cedar action
/// group `elevated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Write,
    Delete,
    Execute,
    Deploy,
    Admin,
}

impl Action {
    /// Every action, in the order of [`Action::index`].
    pub const ALL: [Action; 6] = [
        Action::Read,
        Action::Write,
        Action::Delete,
        Action::Execute,
        Action::Deploy,
        Action::Admin,
    ];

    /// Parses the API spelling, such as `deploy`.
    pub fn parse(text: &str) -> Option<Action> {
        Self::ALL.into_iter().find(|action| action.as_str() == text)
    }

    /// Returns the API spelling, which is also the Cedar action id.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
            Action::Execute => "execute",
            Action::Deploy => "deploy",
            Action::Admin => "admin",
        }
    }

    /// Returns whether the action is in the `elevated` group: delete, deploy or admin.
    pub fn is_elevated(self) -> bool {
        matches!(self, Action::Delete | Action::Deploy | Action::Admin)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A decision request, checked by [`Query::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The identity's id (UUID text) or its external id, which the server resolves.
    pub principal: String,
    pub action: Action,
    /// The resource's name or id, which the server resolves.
    pub resource: String,
    pub context: Context,
}

/// The context of a request. Every field but `behaviour` comes from the caller.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    pub device: Option<Device>,
    /// The caller's risk score for this request, 0 to 100.
    pub risk_score: Option<i64>,
    pub geo: Option<Geo>,
    /// When the action happens, in UTC.
    pub time: Option<DateTime<Utc>>,
    pub mfa: Option<bool>,
    /// Sensitivity of this transaction.
    pub sensitivity: Option<Sensitivity>,
    /// Recent behaviour of the principal, filled by the server and never by the caller.
    pub behaviour: Behaviour,
    /// An AI agent's declared intent.
    pub intent: Option<Intent>,
}

/// The device that makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Device {
    pub managed: bool,
    pub compliant: bool,
    pub disk_encrypted: bool,
}

/// Location of the request: its country and IP address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Geo {
    /// ISO 3166-1 alpha-2 code, upper case.
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
}

/// The principal's recent behaviour as the server's decision log records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Behaviour {
    /// Denied decisions for the principal in the last hour.
    pub denials_last_hour: i64,
    /// Whether the request's country differs from every country the principal used before.
    pub new_country: bool,
}

/// An AI agent's declaration of the task it is about to perform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Intent {
    pub task: String,
    pub actions: Vec<Action>,
    /// Names or ids of the resources the task touches.
    pub resources: Vec<String>,
}

/// A reported change of an identity's risk score, device posture or both, checked by
/// [`Signal::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// The identity's id (UUID text) or its external id, which the server resolves.
    pub identity: String,
    /// The identity's new risk score, 0 to 100.
    pub risk_score: Option<i64>,
    pub device: Option<Device>,
}

/// A rejected field of a request: its JSON path, such as `context.geo.ip`, and what to fix. The
/// path of the whole body is `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

impl Query {
    /// Parses and checks a request body; see [`Context::from_json`] for the context's rules.
    pub fn from_json(value: &Value) -> Result<Query, FieldError> {
        parse::query(value)
    }
}

impl Signal {
    /// Parses and checks a signal body with the field rules of decision requests. A signal
    /// carries `risk_score`, `device` or both.
    pub fn from_json(value: &Value) -> Result<Signal, FieldError> {
        parse::signal(value)
    }
}

impl Context {
    /// Parses and checks a request's context. Unknown fields, values of the wrong type or out of
    /// range, and `behaviour` (which only the server sets) are rejected with the field's path.
    pub fn from_json(value: &Value) -> Result<Context, FieldError> {
        parse::context(value, "context")
    }

    /// Returns the context in the shape that policies see it, for the decision log. `time` is the
    /// record of `epoch`, `hour_utc` and `weekday`, and absent fields are left out. Intent
    /// resources are the names or ids as the caller sent them.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.logged()).unwrap_or_default()
    }

    /// Appends the JSON text of [`Context::to_json`] to `out`, without building a [`Value`].
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, &self.logged())
    }

    fn logged(&self) -> LoggedContext<'_> {
        LoggedContext {
            device: self.device,
            risk_score: self.risk_score,
            geo: self.geo.as_ref(),
            time: self.time.map(TimeRecord::from),
            mfa: self.mfa,
            sensitivity: self.sensitivity.map(Sensitivity::as_str),
            behaviour: self.behaviour,
            intent: self.intent.as_ref(),
        }
    }
}

/// The context as the decision log records it; see [`Context::to_json`].
#[derive(Serialize)]
struct LoggedContext<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<Device>,
    #[serde(skip_serializing_if = "Option::is_none")]
    risk_score: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    geo: Option<&'a Geo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<TimeRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sensitivity: Option<&'static str>,
    behaviour: Behaviour,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent: Option<&'a Intent>,
}

/// The `time` record that policies see.
#[derive(Serialize)]
pub(crate) struct TimeRecord {
    /// Seconds since the Unix epoch.
    pub epoch: i64,
    /// 0 to 23.
    pub hour_utc: i64,
    /// ISO 8601 weekday: 1 is Monday, 7 is Sunday.
    pub weekday: i64,
}

impl From<DateTime<Utc>> for TimeRecord {
    fn from(time: DateTime<Utc>) -> TimeRecord {
        TimeRecord {
            epoch: time.timestamp(),
            hour_utc: i64::from(time.hour()),
            weekday: i64::from(time.weekday().number_from_monday()),
        }
    }
}
