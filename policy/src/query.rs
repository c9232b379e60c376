//! A decision request as the caller sends it: the action, the names of the principal and the
//! resource, and the context of the request.

mod parse;

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::{Map, Value, json};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub managed: bool,
    pub compliant: bool,
    pub disk_encrypted: bool,
}

/// Location of the request: its country and IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geo {
    /// ISO 3166-1 alpha-2 code, upper case.
    pub country: String,
    pub ip: Option<IpAddr>,
}

/// The principal's recent behaviour as the server's decision log records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// Denied decisions for the principal in the last hour.
    pub denials_last_hour: i64,
    /// Whether the request's country differs from every country the principal used before.
    pub new_country: bool,
}

/// An AI agent's declaration of the task it is about to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub task: String,
    pub actions: Vec<Action>,
    /// Names or ids of the resources the task touches.
    pub resources: Vec<String>,
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
        let mut object = Map::new();
        if let Some(device) = self.device {
            object.insert(
                "device".into(),
                json!({
                    "managed": device.managed,
                    "compliant": device.compliant,
                    "disk_encrypted": device.disk_encrypted,
                }),
            );
        }
        if let Some(risk_score) = self.risk_score {
            object.insert("risk_score".into(), json!(risk_score));
        }
        if let Some(geo) = &self.geo {
            let mut record = Map::new();
            record.insert("country".into(), json!(geo.country));
            if let Some(ip) = geo.ip {
                record.insert("ip".into(), json!(ip.to_string()));
            }
            object.insert("geo".into(), Value::Object(record));
        }
        if let Some(time) = self.time {
            let time = TimeRecord::from(time);
            object.insert(
                "time".into(),
                json!({ "epoch": time.epoch, "hour_utc": time.hour_utc, "weekday": time.weekday }),
            );
        }
        if let Some(mfa) = self.mfa {
            object.insert("mfa".into(), json!(mfa));
        }
        if let Some(sensitivity) = self.sensitivity {
            object.insert("sensitivity".into(), json!(sensitivity.as_str()));
        }
        object.insert(
            "behaviour".into(),
            json!({
                "denials_last_hour": self.behaviour.denials_last_hour,
                "new_country": self.behaviour.new_country,
            }),
        );
        if let Some(intent) = &self.intent {
            let actions: Vec<&str> = intent
                .actions
                .iter()
                .map(|action| action.as_str())
                .collect();
            object.insert(
                "intent".into(),
                json!({ "task": intent.task, "actions": actions, "resources": intent.resources }),
            );
        }
        Value::Object(object)
    }
}

/// The `time` record that policies see.
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
