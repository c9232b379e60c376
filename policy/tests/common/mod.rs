//! Fixtures shared by the integration tests: an identity, a resource, grants and requests.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use policy::{
    Action, Context, Device, Engine, Facts, GrantFact, IdentityKind, Intent, Outcome, Principal,
    Query, Sensitivity, Target,
};
use uuid::Uuid;

/// Returns the server clock of every test: Friday 2026-12-04 10:00:00 UTC.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap()
}

pub fn default_engine() -> Engine {
    Engine::compile(policy::default_policies()).expect("the default policies compile")
}

pub fn human() -> Principal {
    identity(IdentityKind::Human)
}

pub fn identity(kind: IdentityKind) -> Principal {
    Principal {
        id: Uuid::from_u128(0x1111),
        name: format!("{} one", kind.as_str()),
        kind,
        environment: "production".to_owned(),
        criticality: "high".to_owned(),
        owner: None,
        active: true,
        risk_score: None,
        posture: None,
    }
}

pub fn resource(sensitivity: Sensitivity) -> Target {
    Target {
        id: Uuid::from_u128(0x2222),
        name: "payments-db".to_owned(),
        target: "postgres-prod".to_owned(),
        role: "writer".to_owned(),
        sensitivity,
        archived: false,
    }
}

/// Builds a grant on `resource` in force from `starts_at` until `expires_at`.
pub fn grant(resource: &Target, starts_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> GrantFact {
    GrantFact {
        id: Uuid::from_u128(0x3333),
        resource: resource.id,
        starts_at,
        expires_at,
    }
}

/// Builds a grant on `resource` that started an hour ago and ends in an hour.
pub fn active_grant(resource: &Target) -> GrantFact {
    grant(
        resource,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    )
}

pub fn query(action: Action, context: Context) -> Query {
    Query {
        principal: "1111".to_owned(),
        action,
        resource: "payments-db".to_owned(),
        context,
    }
}

pub fn managed_device() -> Device {
    Device {
        managed: true,
        compliant: true,
        disk_encrypted: true,
    }
}

/// Builds an intent that covers `actions` on the fixture resource, named by its name.
pub fn intent(actions: &[Action]) -> Intent {
    Intent {
        task: "rotate the payments database password".to_owned(),
        actions: actions.to_vec(),
        resources: vec!["payments-db".to_owned()],
    }
}

pub fn decide(
    engine: &Engine,
    principal: &Principal,
    target: &Target,
    grants: &[GrantFact],
    query: &Query,
) -> Outcome {
    let facts = Facts {
        principal,
        resource: target,
        grants,
        now: now(),
    };
    engine.decide(query, &facts)
}
