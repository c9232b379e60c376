//! Each default policy, allowing and denying.

mod common;

use common::{
    active_grant, decide, default_engine, human, identity, intent, managed_device, query, resource,
};
use policy::{Action, Context, Geo, IdentityKind, Posture, Sensitivity};

#[test]
fn baseline_permits_active_identity_read() {
    let engine = default_engine();
    let outcome = decide(
        &engine,
        &human(),
        &resource(Sensitivity::Medium),
        &[],
        &query(Action::Read, Context::default()),
    );
    assert!(outcome.allow, "{outcome:?}");
    assert_eq!(outcome.policies, ["baseline-active-identities"]);
    assert!(outcome.errors.is_empty());
    assert_eq!(
        outcome.reason,
        "Allowed by policy baseline-active-identities."
    );
}

#[test]
fn baseline_without_permit_denies() {
    // The same request against a set without the baseline permit: nothing permits, so it denies.
    let source = policy::default_policies().replace(
        "permit (principal, action, resource)",
        "permit (principal, action, resource) when { false }",
    );
    let engine = policy::Engine::compile(&source).expect("the edited set compiles");
    let outcome = decide(
        &engine,
        &human(),
        &resource(Sensitivity::Medium),
        &[],
        &query(Action::Read, Context::default()),
    );
    assert!(!outcome.allow);
    assert!(outcome.policies.is_empty());
    assert_eq!(
        outcome.reason,
        "Denied because no policy permits read on payments-db for human one."
    );
}

#[test]
fn risk_score_at_limit_allows() {
    let engine = default_engine();
    let mut principal = human();
    principal.risk_score = Some(70);
    let context = Context {
        risk_score: Some(70),
        ..Context::default()
    };
    let outcome = decide(
        &engine,
        &principal,
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, context),
    );
    assert!(outcome.allow, "{outcome:?}");
}

#[test]
fn risk_score_in_context_above_limit_denies() {
    let engine = default_engine();
    let mut principal = human();
    principal.risk_score = Some(10);
    let context = Context {
        risk_score: Some(71),
        ..Context::default()
    };
    let outcome = decide(
        &engine,
        &principal,
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, context),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["risk-score-limit"]);
    assert!(
        outcome
            .reason
            .starts_with("Denied by policy risk-score-limit: "),
        "{}",
        outcome.reason
    );
}

#[test]
fn stored_risk_score_above_limit_denies() {
    let engine = default_engine();
    let mut principal = human();
    principal.risk_score = Some(90);
    let context = Context {
        risk_score: Some(5),
        ..Context::default()
    };
    let outcome = decide(
        &engine,
        &principal,
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, context),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["risk-score-limit"]);
}

#[test]
fn crown_jewel_from_managed_compliant_device_allows() {
    let engine = default_engine();
    let context = Context {
        device: Some(managed_device()),
        ..Context::default()
    };
    let outcome = decide(
        &engine,
        &human(),
        &resource(Sensitivity::CrownJewel),
        &[],
        &query(Action::Read, context),
    );
    assert!(outcome.allow, "{outcome:?}");
}

#[test]
fn crown_jewel_from_noncompliant_device_denies() {
    let engine = default_engine();
    let mut device = managed_device();
    device.compliant = false;
    let context = Context {
        device: Some(device),
        ..Context::default()
    };
    let outcome = decide(
        &engine,
        &human(),
        &resource(Sensitivity::CrownJewel),
        &[],
        &query(Action::Read, context),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["crown-jewel-managed-device"]);
}

#[test]
fn crown_jewel_from_unmanaged_device_denies() {
    let engine = default_engine();
    let mut device = managed_device();
    device.managed = false;
    let context = Context {
        device: Some(device),
        ..Context::default()
    };
    let outcome = decide(
        &engine,
        &human(),
        &resource(Sensitivity::CrownJewel),
        &[],
        &query(Action::Read, context),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["crown-jewel-managed-device"]);
}

#[test]
fn crown_jewel_without_device_denies() {
    let engine = default_engine();
    let mut principal = human();
    // A stored posture does not replace the device of the request.
    principal.posture = Some(Posture {
        managed: true,
        compliant: true,
        disk_encrypted: true,
    });
    let outcome = decide(
        &engine,
        &principal,
        &resource(Sensitivity::CrownJewel),
        &[],
        &query(Action::Read, Context::default()),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["crown-jewel-managed-device"]);
}

#[test]
fn elevated_inside_active_grant_allows() {
    let engine = default_engine();
    let target = resource(Sensitivity::High);
    for action in [Action::Delete, Action::Deploy, Action::Admin] {
        let outcome = decide(
            &engine,
            &human(),
            &target,
            &[active_grant(&target)],
            &query(action, Context::default()),
        );
        assert!(outcome.allow, "{action:?}: {outcome:?}");
    }
}

#[test]
fn elevated_without_grant_denies() {
    let engine = default_engine();
    let target = resource(Sensitivity::High);
    for action in [Action::Delete, Action::Deploy, Action::Admin] {
        let outcome = decide(
            &engine,
            &human(),
            &target,
            &[],
            &query(action, Context::default()),
        );
        assert!(!outcome.allow, "{action:?}");
        assert_eq!(outcome.policies, ["elevated-needs-grant"], "{action:?}");
    }
}

#[test]
fn non_elevated_without_grant_allows() {
    let engine = default_engine();
    let target = resource(Sensitivity::High);
    for action in [Action::Read, Action::Write, Action::Execute] {
        let outcome = decide(
            &engine,
            &human(),
            &target,
            &[],
            &query(action, Context::default()),
        );
        assert!(outcome.allow, "{action:?}: {outcome:?}");
    }
}

#[test]
fn ai_agent_within_intent_allows() {
    let engine = default_engine();
    let context = Context {
        intent: Some(intent(&[Action::Read, Action::Write])),
        ..Context::default()
    };
    let agent = identity(IdentityKind::AiAgent);
    let outcome = decide(
        &engine,
        &agent,
        &resource(Sensitivity::Medium),
        &[],
        &query(Action::Write, context),
    );
    assert!(outcome.allow, "{outcome:?}");
}

#[test]
fn ai_agent_intent_by_resource_id_allows() {
    let engine = default_engine();
    let target = resource(Sensitivity::Medium);
    let mut declared = intent(&[Action::Read]);
    declared.resources = vec![target.id.to_string().to_uppercase()];
    let context = Context {
        intent: Some(declared),
        ..Context::default()
    };
    let agent = identity(IdentityKind::AiAgent);
    let outcome = decide(&engine, &agent, &target, &[], &query(Action::Read, context));
    assert!(outcome.allow, "{outcome:?}");
}

#[test]
fn ai_agent_action_outside_intent_denies() {
    let engine = default_engine();
    let context = Context {
        intent: Some(intent(&[Action::Read])),
        ..Context::default()
    };
    let agent = identity(IdentityKind::AiAgent);
    let outcome = decide(
        &engine,
        &agent,
        &resource(Sensitivity::Medium),
        &[],
        &query(Action::Write, context),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["ai-agent-declared-intent"]);
}

#[test]
fn ai_agent_resource_outside_intent_denies() {
    let engine = default_engine();
    let mut declared = intent(&[Action::Read]);
    declared.resources = vec!["billing-db".to_owned()];
    let context = Context {
        intent: Some(declared),
        ..Context::default()
    };
    let agent = identity(IdentityKind::AiAgent);
    let outcome = decide(
        &engine,
        &agent,
        &resource(Sensitivity::Medium),
        &[],
        &query(Action::Read, context),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["ai-agent-declared-intent"]);
}

#[test]
fn ai_agent_without_intent_denies() {
    let engine = default_engine();
    let agent = identity(IdentityKind::AiAgent);
    let outcome = decide(
        &engine,
        &agent,
        &resource(Sensitivity::Medium),
        &[],
        &query(Action::Read, Context::default()),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["ai-agent-declared-intent"]);
}

#[test]
fn intent_is_not_required_of_other_kinds() {
    let engine = default_engine();
    for kind in [
        IdentityKind::Human,
        IdentityKind::ServiceAccount,
        IdentityKind::ApiKey,
        IdentityKind::Workload,
    ] {
        let outcome = decide(
            &engine,
            &identity(kind),
            &resource(Sensitivity::Medium),
            &[],
            &query(Action::Read, Context::default()),
        );
        assert!(outcome.allow, "{kind:?}: {outcome:?}");
    }
}

#[test]
fn allowed_country_allows() {
    let engine = default_engine();
    let context = Context {
        geo: Some(Geo {
            country: "DE".to_owned(),
            ip: Some("203.0.113.7".parse().unwrap()),
        }),
        ..Context::default()
    };
    let outcome = decide(
        &engine,
        &human(),
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, context),
    );
    assert!(outcome.allow, "{outcome:?}");
}

#[test]
fn other_country_denies() {
    let engine = default_engine();
    let context = Context {
        geo: Some(Geo {
            country: "KP".to_owned(),
            ip: None,
        }),
        ..Context::default()
    };
    let outcome = decide(
        &engine,
        &human(),
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, context),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["geo-allowed-countries"]);
}

#[test]
fn several_forbids_are_all_reported() {
    let engine = default_engine();
    let mut principal = human();
    principal.risk_score = Some(99);
    let context = Context {
        geo: Some(Geo {
            country: "KP".to_owned(),
            ip: None,
        }),
        ..Context::default()
    };
    let outcome = decide(
        &engine,
        &principal,
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, context),
    );
    assert!(!outcome.allow);
    assert_eq!(
        outcome.policies,
        ["risk-score-limit", "geo-allowed-countries"]
    );
    assert_eq!(
        outcome.reason,
        "Denied by policies risk-score-limit, geo-allowed-countries."
    );
}
