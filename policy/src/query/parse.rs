//! Parsing of decision requests from JSON, rejecting each invalid field with its path.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Action, Behaviour, Context, Device, FieldError, Geo, Intent, Query, Signal};
use crate::facts::Sensitivity;

/// Maximum length in characters of the principal, the resource and each intent resource.
const MAX_NAME_CHARS: usize = 256;
/// Maximum length in characters of an intent's task.
const MAX_TASK_CHARS: usize = 1024;
/// Maximum number of resources in an intent.
const MAX_INTENT_RESOURCES: usize = 100;

const QUERY_FIELDS: &[&str] = &["principal", "action", "resource", "context"];
const CONTEXT_FIELDS: &[&str] = &[
    "device",
    "risk_score",
    "geo",
    "time",
    "mfa",
    "sensitivity",
    "intent",
];
const DEVICE_FIELDS: &[&str] = &["managed", "compliant", "disk_encrypted"];
const GEO_FIELDS: &[&str] = &["country", "ip"];
const INTENT_FIELDS: &[&str] = &["task", "actions", "resources"];
const SIGNAL_FIELDS: &[&str] = &["identity", "risk_score", "device"];

pub(super) fn query(value: &Value) -> Result<Query, FieldError> {
    let body = Object::new(value, "$", "the request body must be a JSON object")?;
    body.reject_unknown(QUERY_FIELDS)?;
    let principal = body.name("principal", "the identity's id or external id")?;
    let action = action(body.required("action")?, &body.path("action"))?;
    let resource = body.name("resource", "the resource's name or id")?;
    let context = match body.optional("context") {
        Some(value) => context(value, "context")?,
        None => Context::default(),
    };
    Ok(Query {
        principal,
        action,
        resource,
        context,
    })
}

pub(super) fn signal(value: &Value) -> Result<Signal, FieldError> {
    let body = Object::new(value, "$", "the signal must be a JSON object")?;
    body.reject_unknown(SIGNAL_FIELDS)?;
    let identity = body.name("identity", "the identity's id or external id")?;
    let risk_score = body
        .optional("risk_score")
        .map(|value| risk_score(value, &body.path("risk_score")))
        .transpose()?;
    let device = body
        .optional("device")
        .map(|value| device(value, &body.path("device")))
        .transpose()?;
    if risk_score.is_none() && device.is_none() {
        return Err(error(
            body.path("risk_score"),
            "is missing, and so is device. A signal needs risk_score, device, or both",
        ));
    }
    Ok(Signal {
        identity,
        risk_score,
        device,
    })
}

pub(super) fn context(value: &Value, path: &str) -> Result<Context, FieldError> {
    let object = Object::new(value, path, "must be a JSON object")?;
    if object.map.contains_key("behaviour") {
        return Err(error(
            object.path("behaviour"),
            "is set by the server from the decision log. Remove it from the request",
        ));
    }
    object.reject_unknown(CONTEXT_FIELDS)?;
    let device = object
        .optional("device")
        .map(|value| device(value, &object.path("device")))
        .transpose()?;
    let risk_score = object
        .optional("risk_score")
        .map(|value| risk_score(value, &object.path("risk_score")))
        .transpose()?;
    let geo = object
        .optional("geo")
        .map(|value| geo(value, &object.path("geo")))
        .transpose()?;
    let time = object
        .optional("time")
        .map(|value| time(value, &object.path("time")))
        .transpose()?;
    let mfa = object
        .optional("mfa")
        .map(|value| boolean(value, &object.path("mfa")))
        .transpose()?;
    let sensitivity = object
        .optional("sensitivity")
        .map(|value| sensitivity(value, &object.path("sensitivity")))
        .transpose()?;
    let intent = object
        .optional("intent")
        .map(|value| intent(value, &object.path("intent")))
        .transpose()?;
    Ok(Context {
        device,
        risk_score,
        geo,
        time,
        mfa,
        sensitivity,
        behaviour: Behaviour::default(),
        intent,
    })
}

fn device(value: &Value, path: &str) -> Result<Device, FieldError> {
    let object = Object::new(
        value,
        path,
        "must be an object with managed, compliant and disk_encrypted",
    )?;
    object.reject_unknown(DEVICE_FIELDS)?;
    Ok(Device {
        managed: boolean(object.required("managed")?, &object.path("managed"))?,
        compliant: boolean(object.required("compliant")?, &object.path("compliant"))?,
        disk_encrypted: boolean(
            object.required("disk_encrypted")?,
            &object.path("disk_encrypted"),
        )?,
    })
}

fn risk_score(value: &Value, path: &str) -> Result<i64, FieldError> {
    match value.as_i64() {
        Some(score @ 0..=100) => Ok(score),
        _ => Err(error(
            path,
            format!("must be an integer from 0 to 100, got {value}"),
        )),
    }
}

fn geo(value: &Value, path: &str) -> Result<Geo, FieldError> {
    let object = Object::new(
        value,
        path,
        "must be an object with country and optionally ip",
    )?;
    object.reject_unknown(GEO_FIELDS)?;
    let country_path = object.path("country");
    let country = string(object.required("country")?, &country_path)?;
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(error(
            country_path,
            format!("must be a two-letter ISO 3166-1 alpha-2 code such as \"DE\", got {country:?}"),
        ));
    }
    let ip = match object.optional("ip") {
        Some(value) => {
            let ip_path = object.path("ip");
            let text = string(value, &ip_path)?;
            let ip = text.parse::<IpAddr>().map_err(|_| {
                error(
                    &ip_path,
                    format!(
                        "must be an IPv4 or IPv6 address such as \"203.0.113.7\", got {text:?}"
                    ),
                )
            })?;
            // An IPv4 address written as IPv6 (`::ffff:192.0.2.7`) is the IPv4 address, so
            // that policies on IPv4 ranges see it as one.
            Some(ip.to_canonical())
        }
        None => None,
    };
    Ok(Geo {
        country: country.to_ascii_uppercase(),
        ip,
    })
}

fn time(value: &Value, path: &str) -> Result<DateTime<Utc>, FieldError> {
    let text = string(value, path)?;
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| {
            error(
                path,
                format!(
                    "must be an RFC 3339 timestamp with an offset such as \"2026-12-04T09:30:00Z\", got {text:?}"
                ),
            )
        })
}

fn sensitivity(value: &Value, path: &str) -> Result<Sensitivity, FieldError> {
    let text = string(value, path)?;
    Sensitivity::parse(text).ok_or_else(|| {
        error(
            path,
            format!("must be one of low, medium, high, crown_jewel, got {text:?}"),
        )
    })
}

fn intent(value: &Value, path: &str) -> Result<Intent, FieldError> {
    let object = Object::new(
        value,
        path,
        "must be an object with task, actions and resources",
    )?;
    object.reject_unknown(INTENT_FIELDS)?;

    let task_path = object.path("task");
    let task = string(object.required("task")?, &task_path)?;
    if task.trim().is_empty() || task.chars().count() > MAX_TASK_CHARS {
        return Err(error(
            task_path,
            format!("must describe the task in 1 to {MAX_TASK_CHARS} characters"),
        ));
    }
    // Line breaks and tabs are fine in a description. NUL cannot be stored in PostgreSQL text,
    // and other control characters could rewrite the terminal of someone reading the log.
    if task
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(error(
            task_path,
            "must not contain control characters other than line breaks and tabs",
        ));
    }

    let actions_path = object.path("actions");
    let action_values = array(object.required("actions")?, &actions_path)?;
    if action_values.len() > Action::ALL.len() {
        return Err(error(
            actions_path,
            format!(
                "must list each action at most once, so at most {} entries",
                Action::ALL.len()
            ),
        ));
    }
    let mut actions = Vec::with_capacity(action_values.len());
    for (index, value) in action_values.iter().enumerate() {
        let path = format!("{actions_path}[{index}]");
        let parsed = action(value, &path)?;
        if actions.contains(&parsed) {
            return Err(error(
                path,
                format!("repeats {:?}; list each action once", parsed.as_str()),
            ));
        }
        actions.push(parsed);
    }

    let resources_path = object.path("resources");
    let resource_values = array(object.required("resources")?, &resources_path)?;
    if resource_values.len() > MAX_INTENT_RESOURCES {
        return Err(error(
            resources_path,
            format!("must list at most {MAX_INTENT_RESOURCES} resources"),
        ));
    }
    let resources = resource_values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let path = format!("{resources_path}[{index}]");
            name(value, &path, "a resource's name or id").map(str::to_owned)
        })
        .collect::<Result<Vec<String>, FieldError>>()?;

    Ok(Intent {
        task: task.to_owned(),
        actions,
        resources,
    })
}

fn action(value: &Value, path: &str) -> Result<Action, FieldError> {
    let text = string(value, path)?;
    Action::parse(text).ok_or_else(|| {
        error(
            path,
            format!("must be one of read, write, delete, execute, deploy, admin, got {text:?}"),
        )
    })
}

fn name<'a>(value: &'a Value, path: &str, expected: &str) -> Result<&'a str, FieldError> {
    let text = value
        .as_str()
        .ok_or_else(|| error(path, format!("must be a string: {expected}")))?;
    if text.trim().is_empty() || text.chars().count() > MAX_NAME_CHARS {
        return Err(error(
            path,
            format!("must be {expected}, 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(error(
            path,
            format!("must be {expected} without control characters"),
        ));
    }
    Ok(text)
}

fn string<'a>(value: &'a Value, path: &str) -> Result<&'a str, FieldError> {
    value
        .as_str()
        .ok_or_else(|| error(path, format!("must be a string, got {value}")))
}

fn boolean(value: &Value, path: &str) -> Result<bool, FieldError> {
    value
        .as_bool()
        .ok_or_else(|| error(path, format!("must be true or false, got {value}")))
}

fn array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, FieldError> {
    value
        .as_array()
        .ok_or_else(|| error(path, format!("must be an array, got {value}")))
}

fn error(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// A JSON object at a known path, for field look-ups that report that path.
struct Object<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Object<'a> {
    fn new(value: &'a Value, path: &'a str, message: &str) -> Result<Object<'a>, FieldError> {
        match value {
            Value::Object(map) => Ok(Object { map, path }),
            _ => Err(error(path, message)),
        }
    }

    /// Returns the path of a field, leaving out the `$` of the body.
    fn path(&self, key: &str) -> String {
        if self.path == "$" {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn reject_unknown(&self, allowed: &[&str]) -> Result<(), FieldError> {
        match self.map.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => Err(error(
                self.path(key),
                format!(
                    "is not a known field. The known fields are {}",
                    allowed.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// Returns a field's value, treating `null` as absent.
    fn optional(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    fn required(&self, key: &str) -> Result<&'a Value, FieldError> {
        self.optional(key)
            .ok_or_else(|| error(self.path(key), "is missing. Add it to the request"))
    }

    fn name(&self, key: &str, expected: &str) -> Result<String, FieldError> {
        let path = self.path(key);
        let value = self
            .optional(key)
            .ok_or_else(|| error(&path, format!("is missing. Send {expected}")))?;
        name(value, &path, expected).map(str::to_owned)
    }
}
