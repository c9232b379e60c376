//! Which grants count: by the server clock, from `starts_at` inclusive until `expires_at`
//! exclusive, and only on the requested resource. Also the re-check of a live grant.

mod common;

use chrono::Duration;
use common::{
    decide, default_engine, grant, human, identity, managed_device, now, query, resource,
};
use policy::{Action, Context, Facts, GrantFact, IdentityKind, Posture, Sensitivity};
use uuid::Uuid;

fn admin_allowed(grants: &[GrantFact], context: Context) -> bool {
    let engine = default_engine();
    let target = resource(Sensitivity::High);
    decide(
        &engine,
        &human(),
        &target,
        grants,
        &query(Action::Admin, context),
    )
    .allow
}

#[test]
fn grant_counts_from_starts_at() {
    let target = resource(Sensitivity::High);
    let starting_now = grant(&target, now(), now() + Duration::hours(1));
    assert!(admin_allowed(&[starting_now], Context::default()));
}

#[test]
fn grant_before_starts_at_does_not_count() {
    let target = resource(Sensitivity::High);
    let scheduled = grant(
        &target,
        now() + Duration::seconds(1),
        now() + Duration::hours(1),
    );
    assert!(!admin_allowed(&[scheduled], Context::default()));
}

#[test]
fn grant_one_second_before_expiry_counts() {
    let target = resource(Sensitivity::High);
    let ending = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::seconds(1),
    );
    assert!(admin_allowed(&[ending], Context::default()));
}

#[test]
fn grant_at_expires_at_does_not_count() {
    let target = resource(Sensitivity::High);
    let expiring = grant(&target, now() - Duration::hours(1), now());
    assert!(!admin_allowed(&[expiring], Context::default()));
}

#[test]
fn grant_uses_server_clock_not_context_time() {
    let target = resource(Sensitivity::High);
    let expired = grant(
        &target,
        now() - Duration::hours(2),
        now() - Duration::hours(1),
    );
    let claims_earlier = Context {
        time: Some(now() - Duration::minutes(90)),
        ..Context::default()
    };
    assert!(!admin_allowed(&[expired], claims_earlier));

    let live = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );
    let claims_later = Context {
        time: Some(now() + Duration::hours(5)),
        ..Context::default()
    };
    assert!(admin_allowed(&[live], claims_later));
}

#[test]
fn grant_on_other_resource_does_not_count() {
    let target = resource(Sensitivity::High);
    let mut elsewhere = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );
    elsewhere.resource = Uuid::from_u128(0x9999);
    assert!(!admin_allowed(&[elsewhere], Context::default()));
}

#[test]
fn one_live_grant_among_expired_counts() {
    let target = resource(Sensitivity::High);
    let mut expired = grant(
        &target,
        now() - Duration::hours(3),
        now() - Duration::hours(2),
    );
    expired.id = Uuid::from_u128(0x4444);
    let live = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );
    assert!(admin_allowed(&[expired, live], Context::default()));
}

#[test]
fn recheck_allows_grant_with_low_risk() {
    let engine = default_engine();
    let mut principal = human();
    principal.risk_score = Some(20);
    let target = resource(Sensitivity::High);
    let live = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );
    let facts = Facts {
        principal: &principal,
        resource: &target,
        grants: &[],
        now: now(),
    };
    let outcome = engine.decide_grant(&facts, &live);
    assert!(outcome.allow, "{outcome:?}");
}

#[test]
fn recheck_counts_scheduled_grant_as_active() {
    let engine = default_engine();
    let principal = human();
    let target = resource(Sensitivity::High);
    let scheduled = grant(
        &target,
        now() + Duration::hours(1),
        now() + Duration::hours(2),
    );
    let facts = Facts {
        principal: &principal,
        resource: &target,
        grants: &[],
        now: now(),
    };
    assert!(engine.decide_grant(&facts, &scheduled).allow);
}

#[test]
fn recheck_denies_on_stored_high_risk() {
    let engine = default_engine();
    let mut principal = human();
    principal.risk_score = Some(85);
    let target = resource(Sensitivity::High);
    let live = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );
    let facts = Facts {
        principal: &principal,
        resource: &target,
        grants: &[live],
        now: now(),
    };
    let outcome = engine.decide_grant(&facts, &live);
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["risk-score-limit"]);
}

#[test]
fn recheck_uses_stored_posture_for_crown_jewel() {
    let engine = default_engine();
    let target = resource(Sensitivity::CrownJewel);
    let live = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );

    let mut compliant = human();
    let device = managed_device();
    compliant.posture = Some(Posture {
        managed: device.managed,
        compliant: device.compliant,
        disk_encrypted: device.disk_encrypted,
    });
    let facts = Facts {
        principal: &compliant,
        resource: &target,
        grants: &[],
        now: now(),
    };
    assert!(engine.decide_grant(&facts, &live).allow);

    let mut drifted = compliant.clone();
    drifted.posture = Some(Posture {
        managed: true,
        compliant: false,
        disk_encrypted: true,
    });
    let facts = Facts {
        principal: &drifted,
        ..facts
    };
    let outcome = engine.decide_grant(&facts, &live);
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["crown-jewel-managed-device"]);
}

#[test]
fn recheck_allows_ai_agent_grant() {
    let engine = default_engine();
    let agent = identity(IdentityKind::AiAgent);
    let target = resource(Sensitivity::High);
    let live = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );
    let facts = Facts {
        principal: &agent,
        resource: &target,
        grants: &[],
        now: now(),
    };
    let outcome = engine.decide_grant(&facts, &live);
    assert!(outcome.allow, "{outcome:?}");
}

#[test]
fn recheck_rejects_grant_of_other_resource() {
    let engine = default_engine();
    let principal = human();
    let target = resource(Sensitivity::High);
    let mut elsewhere = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );
    elsewhere.resource = Uuid::from_u128(0x9999);
    let facts = Facts {
        principal: &principal,
        resource: &target,
        grants: &[],
        now: now(),
    };
    let outcome = engine.decide_grant(&facts, &elsewhere);
    assert!(!outcome.allow);
    assert_eq!(outcome.errors.len(), 1);
}

#[test]
fn grant_listed_twice_counts_once() {
    let target = resource(Sensitivity::High);
    let live = grant(
        &target,
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );
    assert!(admin_allowed(&[live, live], Context::default()));
}
