//! Policies scoped to actions, action groups and identity kinds apply exactly where their scope
//! states, through the engine's per-action and per-kind partition.

mod common;

use common::{active_grant, decide, human, identity, query, resource};
use policy::{Action, Context, Engine, Geo, IdentityKind, Sensitivity};

const SCOPED: &str = r#"
@id("permit-active")
@description("Permits active identities.")
permit (principal, action, resource) when { principal.active };

@id("no-workload-writes")
@description("Forbids workloads to write.")
forbid (principal is Writ::Workload, action == Writ::Action::"write", resource);

@id("elevated-in-grant")
@description("Forbids elevated actions outside a grant.")
forbid (principal, action in Writ::Action::"elevated", resource) unless { principal in resource };

@id("mfa-for-write-and-execute")
@description("Forbids write and execute without MFA.")
forbid (principal, action in [Writ::Action::"write", Writ::Action::"execute"], resource)
unless { context has mfa && context.mfa };
"#;

fn engine() -> Engine {
    Engine::compile(SCOPED).expect("the scoped set compiles")
}

fn with_mfa() -> Context {
    Context {
        mfa: Some(true),
        ..Context::default()
    }
}

#[test]
fn kind_scope_applies_to_that_kind() {
    let outcome = decide(
        &engine(),
        &identity(IdentityKind::Workload),
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Write, with_mfa()),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["no-workload-writes"]);
}

#[test]
fn kind_scope_skips_other_kinds() {
    for kind in [
        IdentityKind::Human,
        IdentityKind::ServiceAccount,
        IdentityKind::ApiKey,
        IdentityKind::AiAgent,
    ] {
        let outcome = decide(
            &engine(),
            &identity(kind),
            &resource(Sensitivity::Low),
            &[],
            &query(Action::Write, with_mfa()),
        );
        assert!(outcome.allow, "{kind:?}: {outcome:?}");
    }
}

#[test]
fn action_scope_skips_other_actions() {
    let outcome = decide(
        &engine(),
        &identity(IdentityKind::Workload),
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, Context::default()),
    );
    assert!(outcome.allow, "{outcome:?}");
}

#[test]
fn action_group_scope_covers_its_members() {
    let target = resource(Sensitivity::Low);
    for action in [Action::Delete, Action::Deploy, Action::Admin] {
        let denied = decide(
            &engine(),
            &human(),
            &target,
            &[],
            &query(action, Context::default()),
        );
        assert_eq!(denied.policies, ["elevated-in-grant"], "{action:?}");
        let allowed = decide(
            &engine(),
            &human(),
            &target,
            &[active_grant(&target)],
            &query(action, Context::default()),
        );
        assert!(allowed.allow, "{action:?}: {allowed:?}");
    }
}

#[test]
fn action_list_scope_covers_each_listed_action() {
    for action in [Action::Write, Action::Execute] {
        let outcome = decide(
            &engine(),
            &human(),
            &resource(Sensitivity::Low),
            &[],
            &query(action, Context::default()),
        );
        assert_eq!(
            outcome.policies,
            ["mfa-for-write-and-execute"],
            "{action:?}"
        );
    }
}

#[test]
fn ipv4_mapped_ipv6_address_evaluates() {
    let policies = r#"
@id("permit-documentation-range")
@description("Permits requests from the IPv4-mapped documentation range.")
permit (principal, action, resource)
when { context has geo && context.geo has ip && context.geo.ip.isInRange(ip("::ffff:c000:200/120")) };
"#;
    let engine = Engine::compile(policies).expect("the set compiles");
    let context = Context {
        geo: Some(Geo {
            country: "NL".to_owned(),
            ip: Some("::ffff:192.0.2.1".parse().unwrap()),
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
    assert!(outcome.errors.is_empty(), "{outcome:?}");
    assert!(outcome.allow, "{outcome:?}");
}
