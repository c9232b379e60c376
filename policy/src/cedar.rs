//! Translation of Writ's facts and requests into Cedar entities, context and requests.
//!
//! Attribute and context values are built directly as Cedar's core values, which skips both JSON
//! parsing and the evaluation of restricted expressions. Only the entities a decision can reach
//! are built: the principal, the resource, the grants in force on it and the requested action.
//! Their ancestors are filled in here, so Cedar does not compute the transitive closure.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use cedar_policy::{EntityTypeName, EntityUid, Request, Schema};
use cedar_policy_core::ast::{
    self, Eid, EntityType, EntityUID, Name, PartialValue, RestrictedExpr, Value,
};
use cedar_policy_core::entities::{NoEntitiesSchema, TCComputation};
use cedar_policy_core::evaluator::RestrictedEvaluator;
use cedar_policy_core::extensions::Extensions;
use smol_str::SmolStr;
use uuid::Uuid;

use crate::facts::{GrantFact, IdentityKind, Posture, Principal, Target};
use crate::query::{Action, Context, Device, TimeRecord};

/// The parsed shipped schema and the Cedar names that every decision uses.
pub(crate) struct Vocabulary {
    pub schema: Schema,
    identity_types: [EntityTypeName; 5],
    resource_type: EntityTypeName,
    grant_type: EntityTypeName,
    actions: [EntityUid; 6],
    /// The action entities with their groups, so that `action in Writ::Action::"elevated"` holds.
    action_entities: [ast::Entity; 6],
    /// The groups each action belongs to, directly or through other groups.
    action_groups: [Vec<EntityUid>; 6],
    /// The name of Cedar's `ip` extension function, parsed once.
    ip_function: Name,
}

pub(crate) static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(Vocabulary::load);

impl Vocabulary {
    #[expect(
        clippy::expect_used,
        reason = "the shipped schema is a constant that the tests parse and validate"
    )]
    fn load() -> Vocabulary {
        let (schema, _warnings) = Schema::from_cedarschema_str(crate::schema_text())
            .expect("the shipped schema is valid");
        let type_name = |name: &str| {
            EntityTypeName::from_str(&format!("Writ::{name}")).expect("a valid entity type name")
        };
        let action_type = type_name("Action");
        let actions = Action::ALL.map(|action| {
            EntityUid::from_type_name_and_id(
                action_type.clone(),
                cedar_policy::EntityId::new(action.as_str()),
            )
        });
        let schema_actions = schema
            .action_entities()
            .expect("the shipped schema's actions form entities");
        let action_entities = actions.clone().map(|uid| {
            schema_actions
                .get(&uid)
                .expect("every action is declared in the shipped schema")
                .as_ref()
                .clone()
        });
        let action_groups = actions.clone().map(|uid| {
            schema_actions
                .ancestors(&uid)
                .map(|groups| groups.cloned().collect())
                .unwrap_or_default()
        });
        Vocabulary {
            identity_types: IdentityKind::ALL.map(|kind| type_name(kind.cedar_type())),
            resource_type: type_name("Resource"),
            grant_type: type_name("Grant"),
            actions,
            action_entities,
            action_groups,
            ip_function: Name::from_str("ip").expect("a valid function name"),
            schema,
        }
    }

    pub fn action(&self, action: Action) -> &EntityUid {
        &self.actions[action.index()]
    }

    /// Returns whether `action` is `group` or belongs to it, as Cedar's `in` decides.
    pub fn action_in(&self, action: Action, group: &EntityUid) -> bool {
        self.action(action) == group || self.action_groups[action.index()].contains(group)
    }

    pub fn identity_type(&self, kind: IdentityKind) -> &EntityTypeName {
        &self.identity_types[kind.index()]
    }

    #[cfg(test)]
    pub fn principal_uid(&self, principal: &Principal) -> EntityUid {
        uid(self.identity_type(principal.kind), principal.id).into()
    }

    #[cfg(test)]
    pub fn resource_uid(&self, resource: &Target) -> EntityUid {
        uid(&self.resource_type, resource.id).into()
    }
}

/// The Cedar request and entities of one decision.
pub(crate) struct Evaluation {
    pub request: Request,
    pub entities: cedar_policy::Entities,
}

/// Builds the request and entities for `action` by `principal` on `resource`. The principal is a
/// member of each grant in `grants`, and each grant of the resource, so `principal in resource`
/// is true exactly when `grants` is not empty. The caller passes only grants in force on the
/// resource.
pub(crate) fn evaluation<'a>(
    principal: &Principal,
    resource: &Target,
    action: Action,
    context: &Context,
    grants: impl Iterator<Item = &'a GrantFact>,
) -> Result<Evaluation, String> {
    let vocabulary = &*VOCABULARY;
    let principal_uid = uid(vocabulary.identity_type(principal.kind), principal.id);
    let resource_uid = uid(&vocabulary.resource_type, resource.id);

    let mut entities = Vec::with_capacity(4);
    let mut grant_uids = HashSet::new();
    for grant in grants {
        let grant_uid = uid(&vocabulary.grant_type, grant.id);
        // Cedar rejects two entities with one UID, so a grant listed twice is built once.
        if grant_uids.insert(grant_uid.clone()) {
            entities.push(grant_entity(grant, grant_uid, &resource_uid));
        }
    }
    // The resource is an ancestor of the principal through any grant.
    let mut indirect = HashSet::new();
    if !grant_uids.is_empty() {
        indirect.insert(resource_uid.clone());
    }
    entities.push(principal_entity(
        principal,
        principal_uid.clone(),
        grant_uids,
        indirect,
    ));
    entities.push(resource_entity(resource, resource_uid.clone()));
    entities.push(vocabulary.action_entities[action.index()].clone());
    let entities = cedar_policy_core::entities::Entities::from_entities(
        entities,
        None::<&NoEntitiesSchema>,
        TCComputation::AssumeAlreadyComputed,
        Extensions::all_available(),
    )
    .map_err(|error| error.to_string())?;

    let context = cedar_context(context, resource, &resource_uid)?;
    let request = Request::new(
        principal_uid.into(),
        vocabulary.action(action).clone(),
        resource_uid.into(),
        context,
        None,
    )
    .map_err(|error| error.to_string())?;
    Ok(Evaluation {
        request,
        entities: entities.into(),
    })
}

fn principal_entity(
    principal: &Principal,
    principal_uid: EntityUID,
    grants: HashSet<EntityUID>,
    indirect_ancestors: HashSet<EntityUID>,
) -> ast::Entity {
    let mut attributes = vec![
        attribute("name", principal.name.as_str()),
        attribute("environment", principal.environment.as_str()),
        attribute("criticality", principal.criticality.as_str()),
        attribute("active", principal.active),
        attribute("risk_score", principal.risk_score.unwrap_or(0)),
    ];
    if let Some(owner) = principal.owner {
        let owner_uid = uid(VOCABULARY.identity_type(IdentityKind::Human), owner);
        attributes.push(attribute("owner", owner_uid));
    }
    if let Some(posture) = principal.posture {
        attributes.push(("posture".into(), posture_record(posture).into()));
    }
    ast::Entity::new_with_attr_partial_value(
        principal_uid,
        attributes,
        indirect_ancestors,
        grants,
        [],
    )
}

fn resource_entity(resource: &Target, resource_uid: EntityUID) -> ast::Entity {
    let attributes = [
        attribute("name", resource.name.as_str()),
        attribute("target", resource.target.as_str()),
        attribute("role", resource.role.as_str()),
        attribute("sensitivity", resource.sensitivity.as_str()),
        attribute("sensitivity_level", resource.sensitivity.level()),
    ];
    ast::Entity::new_with_attr_partial_value(
        resource_uid,
        attributes,
        HashSet::new(),
        HashSet::new(),
        [],
    )
}

fn grant_entity(grant: &GrantFact, grant_uid: EntityUID, resource: &EntityUID) -> ast::Entity {
    let attributes = [
        attribute("starts_at", grant.starts_at.timestamp()),
        attribute("expires_at", grant.expires_at.timestamp()),
        attribute("resource", resource.clone()),
    ];
    ast::Entity::new_with_attr_partial_value(
        grant_uid,
        attributes,
        HashSet::new(),
        HashSet::from([resource.clone()]),
        [],
    )
}

/// Builds the Cedar context. An intent entry that is the requested resource's name or id becomes
/// the resource's entity. Any other entry becomes a `Writ::Resource` whose id is the entry text,
/// which never equals the requested resource.
fn cedar_context(
    context: &Context,
    resource: &Target,
    resource_uid: &EntityUID,
) -> Result<cedar_policy::Context, String> {
    let mut record: BTreeMap<_, Value> = BTreeMap::new();
    if let Some(device) = context.device {
        record.insert("device".into(), device_record(device));
    }
    if let Some(risk_score) = context.risk_score {
        record.insert("risk_score".into(), risk_score.into());
    }
    if let Some(geo) = &context.geo {
        let mut fields = vec![("country", Value::from(geo.country.as_str()))];
        if let Some(ip) = geo.ip {
            fields.push(("ip", ip_value(ip)?));
        }
        record.insert("geo".into(), Value::record(fields, None));
    }
    if let Some(time) = context.time {
        let time = TimeRecord::from(time);
        let fields = [
            ("epoch", time.epoch),
            ("hour_utc", time.hour_utc),
            ("weekday", time.weekday),
        ];
        record.insert("time".into(), Value::record(fields, None));
    }
    if let Some(mfa) = context.mfa {
        record.insert("mfa".into(), mfa.into());
    }
    if let Some(sensitivity) = context.sensitivity {
        record.insert("sensitivity".into(), sensitivity.as_str().into());
    }
    let behaviour = [
        (
            "denials_last_hour",
            Value::from(context.behaviour.denials_last_hour),
        ),
        ("new_country", Value::from(context.behaviour.new_country)),
    ];
    record.insert("behaviour".into(), Value::record(behaviour, None));
    if let Some(intent) = &context.intent {
        let actions = intent
            .actions
            .iter()
            .map(|action| Value::from(EntityUID::from(VOCABULARY.action(*action).clone())));
        let resources = intent.resources.iter().map(|entry| {
            if names_resource(entry, resource) {
                Value::from(resource_uid.clone())
            } else {
                let entity_type: &EntityType = VOCABULARY.resource_type.as_ref();
                Value::from(EntityUID::from_components(
                    entity_type.clone(),
                    Eid::new(entry.as_str()),
                    None,
                ))
            }
        });
        let fields = [
            ("task", Value::from(intent.task.as_str())),
            ("actions", Value::set(actions, None)),
            ("resources", Value::set(resources, None)),
        ];
        record.insert("intent".into(), Value::record(fields, None));
    }
    Ok(ast::Context::Value(Arc::new(record)).into())
}

/// Returns whether an intent entry is the resource's name or its id.
fn names_resource(entry: &str, resource: &Target) -> bool {
    entry == resource.name || Uuid::parse_str(entry).is_ok_and(|id| id == resource.id)
}

/// Builds an `ipaddr` value through Cedar's `ip()` extension function.
fn ip_value(ip: IpAddr) -> Result<Value, String> {
    let call = RestrictedExpr::call_extension_fn(
        VOCABULARY.ip_function.clone(),
        [RestrictedExpr::val(cedar_ip(ip))],
    );
    RestrictedEvaluator::new(Extensions::all_available())
        .interpret(call.as_borrowed())
        .map_err(|error| format!("invalid IP address {ip}: {error}"))
}

/// Formats an address for Cedar's `ip()`, which does not accept the dotted IPv4 tail that Rust
/// prints for IPv4-mapped IPv6 addresses, so IPv6 is written as eight hexadecimal groups.
fn cedar_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => {
            let groups: Vec<String> = ip
                .segments()
                .iter()
                .map(|group| format!("{group:x}"))
                .collect();
            groups.join(":")
        }
    }
}

fn device_record(device: Device) -> Value {
    posture_record(Posture {
        managed: device.managed,
        compliant: device.compliant,
        disk_encrypted: device.disk_encrypted,
    })
}

fn posture_record(posture: Posture) -> Value {
    let fields = [
        ("managed", posture.managed),
        ("compliant", posture.compliant),
        ("disk_encrypted", posture.disk_encrypted),
    ];
    Value::record(fields, None)
}

fn attribute(key: &str, value: impl Into<Value>) -> (SmolStr, PartialValue) {
    (key.into(), PartialValue::Value(value.into()))
}

/// Returns the entity UID of an inventory row, whose id is its UUID in lower-case hyphenated
/// form.
fn uid(entity_type: &EntityTypeName, id: Uuid) -> EntityUID {
    let mut buffer = Uuid::encode_buffer();
    let text = id.hyphenated().encode_lower(&mut buffer);
    let entity_type: &EntityType = entity_type.as_ref();
    EntityUID::from_components(entity_type.clone(), Eid::new(&*text), None)
}

#[cfg(test)]
mod tests;
