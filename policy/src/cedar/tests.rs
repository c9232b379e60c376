//! Checks that the built entities and context match the shipped schema and the grant model.

use cedar_policy::{Entities, Request};
use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;

use super::{VOCABULARY, evaluation};
use crate::facts::{GrantFact, IdentityKind, Posture, Principal, Sensitivity, Target};
use crate::query::{Action, Behaviour, Context, Device, Geo, Intent};

fn principal(kind: IdentityKind) -> Principal {
    Principal {
        id: Uuid::from_u128(1),
        name: "deploy bot".to_owned(),
        kind,
        environment: "production".to_owned(),
        criticality: "critical".to_owned(),
        owner: Some(Uuid::from_u128(2)),
        active: true,
        risk_score: Some(30),
        posture: Some(Posture {
            managed: true,
            compliant: false,
            disk_encrypted: true,
        }),
    }
}

fn full_context() -> Context {
    Context {
        device: Some(Device {
            managed: true,
            compliant: true,
            disk_encrypted: false,
        }),
        risk_score: Some(12),
        geo: Some(Geo {
            country: "NL".to_owned(),
            ip: Some("::ffff:192.0.2.1".parse().unwrap()),
        }),
        time: Some(Utc.with_ymd_and_hms(2026, 12, 6, 23, 59, 0).unwrap()),
        mfa: Some(false),
        sensitivity: Some(Sensitivity::High),
        behaviour: Behaviour {
            denials_last_hour: 3,
            new_country: true,
        },
        intent: Some(Intent {
            task: "deploy".to_owned(),
            actions: vec![Action::Deploy, Action::Read],
            resources: vec!["api".to_owned(), "other".to_owned()],
        }),
    }
}

/// Every entity and context the engine builds conforms to the shipped schema, for every
/// identity kind and action, with every optional attribute present.
#[test]
fn built_entities_and_context_conform_to_schema() {
    let now = Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap();
    let resource = Target {
        id: Uuid::from_u128(3),
        name: "api".to_owned(),
        target: "kubernetes".to_owned(),
        role: "deployer".to_owned(),
        sensitivity: Sensitivity::CrownJewel,
        archived: false,
    };
    let grant = GrantFact {
        id: Uuid::from_u128(4),
        resource: resource.id,
        starts_at: now - Duration::hours(1),
        expires_at: now + Duration::hours(1),
    };
    let schema = &VOCABULARY.schema;
    for kind in IdentityKind::ALL {
        for action in Action::ALL {
            let built = evaluation(
                &principal(kind),
                &resource,
                action,
                &full_context(),
                std::iter::once(&grant),
            )
            .expect("the evaluation builds");
            let checked = Entities::from_entities(built.entities.iter().cloned(), Some(schema));
            assert!(checked.is_ok(), "{kind:?} {action:?}: {checked:?}");

            let request = &built.request;
            let checked = Request::new(
                request.principal().unwrap().clone(),
                request.action().unwrap().clone(),
                request.resource().unwrap().clone(),
                request.context().unwrap().clone(),
                Some(schema),
            );
            assert!(checked.is_ok(), "{kind:?} {action:?}: {checked:?}");
        }
    }
}

#[test]
fn principal_is_in_resource_only_through_grant() {
    let now = Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap();
    let resource = Target {
        id: Uuid::from_u128(3),
        name: "api".to_owned(),
        target: "kubernetes".to_owned(),
        role: "deployer".to_owned(),
        sensitivity: Sensitivity::Low,
        archived: false,
    };
    let grant = GrantFact {
        id: Uuid::from_u128(4),
        resource: resource.id,
        starts_at: now,
        expires_at: now + Duration::hours(1),
    };
    let identity = principal(IdentityKind::Human);
    let principal_uid = VOCABULARY.principal_uid(&identity);
    let resource_uid = VOCABULARY.resource_uid(&resource);

    let with_grant = evaluation(
        &identity,
        &resource,
        Action::Admin,
        &Context::default(),
        std::iter::once(&grant),
    )
    .unwrap();
    assert!(
        with_grant
            .entities
            .is_ancestor_of(&resource_uid, &principal_uid)
    );

    let without = evaluation(
        &identity,
        &resource,
        Action::Admin,
        &Context::default(),
        std::iter::empty(),
    )
    .unwrap();
    assert!(
        !without
            .entities
            .is_ancestor_of(&resource_uid, &principal_uid)
    );
}
