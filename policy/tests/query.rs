//! Parsing decision requests from JSON and writing the normalised context back.

use chrono::{TimeZone, Utc};
use policy::{Action, Context, FieldError, Query, Sensitivity, Signal};
use serde_json::{Value, json};

fn rejected(body: Value) -> FieldError {
    match Query::from_json(&body) {
        Ok(query) => panic!("expected a rejection, got {query:?}"),
        Err(error) => error,
    }
}

fn full_body() -> Value {
    json!({
        "principal": "0b8f6a9e-1d2c-4e5f-8a7b-6c5d4e3f2a1b",
        "action": "deploy",
        "resource": "payments-db",
        "context": {
            "device": { "managed": true, "compliant": false, "disk_encrypted": true },
            "risk_score": 42,
            "geo": { "country": "de", "ip": "2001:db8::1" },
            "time": "2026-12-04T11:30:00+01:00",
            "mfa": true,
            "sensitivity": "crown_jewel",
            "intent": {
                "task": "ship release 42",
                "actions": ["deploy", "read"],
                "resources": ["payments-db"]
            }
        }
    })
}

#[test]
fn full_request_parses() {
    let query = Query::from_json(&full_body()).expect("valid request");
    assert_eq!(query.principal, "0b8f6a9e-1d2c-4e5f-8a7b-6c5d4e3f2a1b");
    assert_eq!(query.action, Action::Deploy);
    assert_eq!(query.resource, "payments-db");
    let context = &query.context;
    let device = context.device.expect("device");
    assert!(device.managed);
    assert!(!device.compliant);
    assert_eq!(context.risk_score, Some(42));
    let geo = context.geo.as_ref().expect("geo");
    assert_eq!(geo.country, "DE");
    assert_eq!(geo.ip, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(
        context.time,
        Some(Utc.with_ymd_and_hms(2026, 12, 4, 10, 30, 0).unwrap())
    );
    assert_eq!(context.mfa, Some(true));
    assert_eq!(context.sensitivity, Some(Sensitivity::CrownJewel));
    let intent = context.intent.as_ref().expect("intent");
    assert_eq!(intent.actions, [Action::Deploy, Action::Read]);
    assert_eq!(intent.resources, ["payments-db"]);
    assert_eq!(context.behaviour.denials_last_hour, 0);
}

#[test]
fn minimal_request_parses() {
    let query = Query::from_json(&json!({ "principal": "p", "action": "read", "resource": "r" }))
        .expect("valid request");
    assert_eq!(query.context, Context::default());
}

#[test]
fn null_optional_fields_are_absent() {
    let body = json!({
        "principal": "p", "action": "read", "resource": "r",
        "context": { "geo": null, "risk_score": null }
    });
    let query = Query::from_json(&body).expect("valid request");
    assert_eq!(query.context, Context::default());
}

#[test]
fn field_errors_name_the_path() {
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), "$"),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "extra": 1 }),
            "extra",
        ),
        (json!({ "action": "read", "resource": "r" }), "principal"),
        (
            json!({ "principal": "", "action": "read", "resource": "r" }),
            "principal",
        ),
        (
            json!({ "principal": 7, "action": "read", "resource": "r" }),
            "principal",
        ),
        (
            json!({ "principal": "p", "action": "launch", "resource": "r" }),
            "action",
        ),
        (
            json!({ "principal": "p", "action": "elevated", "resource": "r" }),
            "action",
        ),
        (json!({ "principal": "p", "action": "read" }), "resource"),
        (
            json!({ "principal": "p\u{0}", "action": "read", "resource": "r" }),
            "principal",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r\u{1b}[2J" }),
            "resource",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": "ship\u{0}", "actions": ["read"], "resources": ["r"] } } }),
            "context.intent.task",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": "t", "actions": ["read", "write", "read"], "resources": ["r"] } } }),
            "context.intent.actions[2]",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": "t", "actions": ["read", "read", "read", "read", "read", "read", "read"], "resources": ["r"] } } }),
            "context.intent.actions",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": [] }),
            "context",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "colour": "red" } }),
            "context.colour",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "risk_score": 101 } }),
            "context.risk_score",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "risk_score": -1 } }),
            "context.risk_score",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "risk_score": 12.5 } }),
            "context.risk_score",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "risk_score": "50" } }),
            "context.risk_score",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "device": { "managed": true, "compliant": true } } }),
            "context.device.disk_encrypted",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "device": { "managed": "yes", "compliant": true, "disk_encrypted": true } } }),
            "context.device.managed",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "device": { "managed": true, "compliant": true, "disk_encrypted": true, "jailbroken": false } } }),
            "context.device.jailbroken",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "geo": { "country": "DEU" } } }),
            "context.geo.country",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "geo": { "country": "D1" } } }),
            "context.geo.country",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "geo": { "ip": "1.2.3.4" } } }),
            "context.geo.country",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "geo": { "country": "DE", "ip": "1.2.3.400" } } }),
            "context.geo.ip",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "geo": { "country": "DE", "ip": "10.0.0.0/8" } } }),
            "context.geo.ip",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "time": "2026-12-04 10:00" } }),
            "context.time",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "time": "2026-12-04T10:00:00" } }),
            "context.time",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "time": 1796378400 } }),
            "context.time",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "mfa": "true" } }),
            "context.mfa",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "sensitivity": "secret" } }),
            "context.sensitivity",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "behaviour": { "denials_last_hour": 0, "new_country": false } } }),
            "context.behaviour",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "actions": [], "resources": [] } } }),
            "context.intent.task",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": " ", "actions": [], "resources": [] } } }),
            "context.intent.task",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": "t", "actions": ["read", "fly"], "resources": [] } } }),
            "context.intent.actions[1]",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": "t", "actions": "read", "resources": [] } } }),
            "context.intent.actions",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": "t", "actions": [], "resources": ["db", 3] } } }),
            "context.intent.resources[1]",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": "t", "actions": [], "resources": [""] } } }),
            "context.intent.resources[0]",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": "t", "actions": [] } } }),
            "context.intent.resources",
        ),
        (
            json!({ "principal": "p", "action": "read", "resource": "r", "context": { "intent": { "task": "t", "actions": [], "resources": [], "why": "x" } } }),
            "context.intent.why",
        ),
    ];
    for (body, field) in cases {
        let error = rejected(body.clone());
        assert_eq!(error.field, field, "body {body}: {error}");
        assert!(!error.message.is_empty(), "body {body}");
    }
}

#[test]
fn messages_say_what_is_expected() {
    let body = json!({ "principal": "p", "action": "read", "resource": "r", "context": { "risk_score": 140 } });
    assert_eq!(
        rejected(body).message,
        "must be an integer from 0 to 100, got 140"
    );

    let body = json!({ "principal": "p", "action": "launch", "resource": "r" });
    let message = rejected(body).message;
    assert!(
        message.contains("read, write, delete, execute, deploy, admin"),
        "{message}"
    );

    let body = json!({ "principal": "p", "action": "read", "resource": "r", "context": { "behaviour": {} } });
    let message = rejected(body).message;
    assert!(message.contains("set by the server"), "{message}");
}

#[test]
fn intent_resource_list_is_bounded() {
    let resources: Vec<String> = (0..101).map(|index| format!("db-{index}")).collect();
    let body = json!({
        "principal": "p", "action": "read", "resource": "r",
        "context": { "intent": { "task": "t", "actions": ["read"], "resources": resources } }
    });
    assert_eq!(rejected(body).field, "context.intent.resources");
}

#[test]
fn context_from_json_uses_context_paths() {
    let error = Context::from_json(&json!({ "mfa": 1 })).unwrap_err();
    assert_eq!(error.field, "context.mfa");
}

#[test]
fn to_json_is_normalised_context() {
    let query = Query::from_json(&full_body()).unwrap();
    let expected = json!({
        "device": { "managed": true, "compliant": false, "disk_encrypted": true },
        "risk_score": 42,
        "geo": { "country": "DE", "ip": "2001:db8::1" },
        "time": { "epoch": 1796380200, "hour_utc": 10, "weekday": 5 },
        "mfa": true,
        "sensitivity": "crown_jewel",
        "behaviour": { "denials_last_hour": 0, "new_country": false },
        "intent": {
            "task": "ship release 42",
            "actions": ["deploy", "read"],
            "resources": ["payments-db"]
        }
    });
    assert_eq!(query.context.to_json(), expected);
}

#[test]
fn to_json_leaves_out_absent_fields() {
    assert_eq!(
        Context::default().to_json(),
        json!({ "behaviour": { "denials_last_hour": 0, "new_country": false } })
    );
}

#[test]
fn ipv4_mapped_addresses_become_ipv4() {
    let context =
        Context::from_json(&json!({ "geo": { "country": "de", "ip": "::ffff:192.0.2.7" } }))
            .unwrap();
    let geo = context.geo.unwrap();
    assert_eq!(geo.country, "DE");
    assert_eq!(geo.ip, Some("192.0.2.7".parse().unwrap()));
}

#[test]
fn write_json_matches_to_json() {
    let query = Query::from_json(&full_body()).unwrap();
    let mut out = b"prefix:".to_vec();
    query.context.write_json(&mut out).unwrap();
    let text = std::str::from_utf8(&out).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(text.strip_prefix("prefix:").unwrap()).unwrap();
    assert_eq!(written, query.context.to_json());
}

#[test]
fn action_names_round_trip() {
    for action in Action::ALL {
        assert_eq!(Action::parse(action.as_str()), Some(action));
    }
    let elevated: Vec<Action> = Action::ALL
        .into_iter()
        .filter(|action| action.is_elevated())
        .collect();
    assert_eq!(elevated, [Action::Delete, Action::Deploy, Action::Admin]);
}

#[test]
fn kind_and_sensitivity_names_round_trip() {
    for kind in policy::IdentityKind::ALL {
        assert_eq!(policy::IdentityKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(
        policy::IdentityKind::parse("ai_agent"),
        Some(policy::IdentityKind::AiAgent)
    );
    for level in Sensitivity::ALL {
        assert_eq!(Sensitivity::parse(level.as_str()), Some(level));
    }
    assert_eq!(Sensitivity::CrownJewel.level(), 4);
    assert_eq!(Sensitivity::Low.level(), 1);
}

#[test]
fn signal_fields_use_request_rules() {
    let signal = Signal::from_json(&json!({
        "identity": "agent-triage",
        "risk_score": 85,
        "device": { "managed": false, "compliant": true, "disk_encrypted": true }
    }))
    .unwrap();
    assert_eq!(signal.identity, "agent-triage");
    assert_eq!(signal.risk_score, Some(85));
    assert_eq!(signal.device.map(|device| device.managed), Some(false));

    let cases: Vec<(Value, &str)> = vec![
        (json!([]), "$"),
        (json!({ "identity": "a\u{0}", "risk_score": 5 }), "identity"),
        (json!({ "identity": "a", "risk_score": 5.5 }), "risk_score"),
        (json!({ "identity": "a" }), "risk_score"),
        (
            json!({ "identity": "a", "device": { "managed": true } }),
            "device.compliant",
        ),
        (
            json!({ "identity": "a", "risk_score": 5, "mood": "calm" }),
            "mood",
        ),
    ];
    for (body, field) in cases {
        let error = Signal::from_json(&body).unwrap_err();
        assert_eq!(error.field, field, "{body}");
    }
}
