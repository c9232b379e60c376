//! Denials that do not come from a forbid: evaluation errors, disabled identities and archived
//! resources.

mod common;

use common::{decide, default_engine, human, query, resource};
use policy::{Action, Behaviour, Context, Engine, Sensitivity};
use uuid::Uuid;

/// A permit for everyone and a forbid whose condition overflows when denials_last_hour is 2 or
/// more. Validation accepts it, but evaluation fails, and Cedar alone would skip the forbid and
/// let the permit allow.
const OVERFLOWING_FORBID: &str = r#"
@id("permit-all")
@description("Permits everything.")
permit (principal, action, resource);

@id("overflowing-forbid")
@description("Forbids when the denial count times 2^62 is positive, which overflows.")
forbid (principal, action, resource)
when { context.behaviour.denials_last_hour * 4611686018427387904 > 0 };
"#;

fn overflow_context(denials_last_hour: i64) -> Context {
    Context {
        behaviour: Behaviour {
            denials_last_hour,
            new_country: false,
        },
        ..Context::default()
    }
}

#[test]
fn evaluation_error_denies() {
    let engine = Engine::compile(OVERFLOWING_FORBID).expect("the set passes validation");
    let outcome = decide(
        &engine,
        &human(),
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, overflow_context(2)),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["overflowing-forbid"]);
    assert_eq!(outcome.errors.len(), 1);
    assert!(
        outcome.errors[0].contains("overflow"),
        "{:?}",
        outcome.errors
    );
    assert!(
        outcome.reason.contains("evaluation error"),
        "{}",
        outcome.reason
    );
}

#[test]
fn same_set_without_error_allows() {
    let engine = Engine::compile(OVERFLOWING_FORBID).expect("the set passes validation");
    let outcome = decide(
        &engine,
        &human(),
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, overflow_context(0)),
    );
    assert!(outcome.allow, "{outcome:?}");
}

#[test]
fn missing_owner_entity_denies() {
    // Only the owner's reference is loaded, so reading the owner's attributes fails at run time.
    let source = r#"
@id("permit-all")
@description("Permits everything.")
permit (principal, action, resource);

@id("owner-must-be-active")
@description("Forbids identities whose owner is disabled.")
forbid (principal, action, resource)
when { principal has owner && !principal.owner.active };
"#;
    let engine = Engine::compile(source).expect("the set passes validation");
    let mut principal = human();
    principal.owner = Some(Uuid::from_u128(0x5555));
    let outcome = decide(
        &engine,
        &principal,
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, Context::default()),
    );
    assert!(!outcome.allow);
    assert_eq!(outcome.policies, ["owner-must-be-active"]);
    assert_eq!(outcome.errors.len(), 1);
}

#[test]
fn inactive_identity_denies() {
    let engine = default_engine();
    let mut principal = human();
    principal.active = false;
    let outcome = decide(
        &engine,
        &principal,
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, Context::default()),
    );
    assert!(!outcome.allow);
    assert!(outcome.policies.is_empty());
    assert_eq!(
        outcome.reason,
        "Denied because identity human one is not active."
    );
}

#[test]
fn inactive_identity_denies_even_with_permit_all() {
    let source = r#"
@id("permit-all")
@description("Permits everything.")
permit (principal, action, resource);
"#;
    let engine = Engine::compile(source).expect("the set compiles");
    let mut principal = human();
    principal.active = false;
    let outcome = decide(
        &engine,
        &principal,
        &resource(Sensitivity::Low),
        &[],
        &query(Action::Read, Context::default()),
    );
    assert!(!outcome.allow);
}

#[test]
fn archived_resource_denies() {
    let engine = default_engine();
    let mut target = resource(Sensitivity::Low);
    target.archived = true;
    let outcome = decide(
        &engine,
        &human(),
        &target,
        &[],
        &query(Action::Read, Context::default()),
    );
    assert!(!outcome.allow);
    assert!(outcome.policies.is_empty());
    assert_eq!(
        outcome.reason,
        "Denied because resource payments-db is archived."
    );
}
