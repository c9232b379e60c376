//! Requests and policy sets shared by the criterion bench and the callgrind harness: one decision
//! made by the engine and by a bare Cedar call on pre-built request and entities.

#![allow(
    dead_code,
    reason = "each bench binary uses a different part of the fixtures"
)]
#![expect(
    clippy::unwrap_used,
    reason = "the fixtures are constants, so a failure is a bug in them and should stop the run"
)]

use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context as CedarContext, Entities, EntityUid, PolicySet, Request, Response, Schema,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use policy::{
    Action, Context, Device, Engine, Facts, Geo, GrantFact, IdentityKind, Intent, Outcome,
    Principal, Query, Sensitivity, Target,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// Number of policies added to the default set for the large-set case.
pub const FILLER_POLICIES: usize = 54;

/// Returns the default set plus filler policies on actions and identity kinds that the measured
/// requests do not use: write, execute, delete and admin by service accounts, API keys and
/// workloads.
pub fn sixty_policies() -> String {
    let kinds = ["ServiceAccount", "ApiKey", "Workload"];
    let actions = ["write", "execute", "delete", "admin"];
    let mut source = policy::default_policies().to_owned();
    for index in 0..FILLER_POLICIES {
        let kind = kinds[index % kinds.len()];
        let action = actions[(index / kinds.len()) % actions.len()];
        let effect = if index % 2 == 0 { "forbid" } else { "permit" };
        write!(
            source,
            "\n@id(\"filler-{index}\")\n@description(\"Benchmark filler {index}.\")\n\
             {effect} (principal is Writ::{kind}, action == Writ::Action::\"{action}\", resource)\n\
             when {{ resource.name == \"filler-{index}\" && context has mfa && context.mfa }};\n"
        )
        .expect("writing to a String cannot fail");
    }
    source
}

/// The measured decisions.
#[derive(Clone, Copy, Debug)]
pub enum Scenario {
    /// A human deploys to a high-sensitivity resource inside an active grant, with every
    /// context field but intent set.
    HumanDeploy,
    /// An AI agent reads a resource within its declared intent.
    AgentRead,
}

impl Scenario {
    pub const ALL: [Scenario; 2] = [Scenario::HumanDeploy, Scenario::AgentRead];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::HumanDeploy => "human-deploy",
            Scenario::AgentRead => "agent-read",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Self::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
    }
}

/// One decision, ready for both paths.
pub struct Case {
    pub engine: Engine,
    pub principal: Principal,
    pub resource: Target,
    pub grants: Vec<GrantFact>,
    pub query: Query,
    pub now: DateTime<Utc>,
    pub bare: Bare,
}

/// The same decision as pre-built Cedar values, for `Authorizer::is_authorized` alone.
pub struct Bare {
    pub authorizer: Authorizer,
    pub request: Request,
    pub policies: PolicySet,
    pub entities: Entities,
}

impl Case {
    pub fn new(scenario: Scenario, source: &str) -> Case {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap();
        let kind = match scenario {
            Scenario::HumanDeploy => IdentityKind::Human,
            Scenario::AgentRead => IdentityKind::AiAgent,
        };
        let principal = Principal {
            id: Uuid::from_u128(0x0b8f_6a9e_1d2c_4e5f_8a7b_6c5d_4e3f_2a1b),
            name: "release bot".to_owned(),
            kind,
            environment: "production".to_owned(),
            criticality: "high".to_owned(),
            owner: Some(Uuid::from_u128(0x0c9e_7b8f_2e3d_4f60_9b8c_7d6e_5f40_3b2c)),
            active: true,
            risk_score: Some(20),
            posture: None,
        };
        let resource = Target {
            id: Uuid::from_u128(0x1a2b_3c4d_5e6f_4a8b_9c0d_1e2f_3a4b_5c6d),
            name: "payments-api".to_owned(),
            target: "kubernetes-prod".to_owned(),
            role: "deployer".to_owned(),
            sensitivity: Sensitivity::High,
            archived: false,
        };
        let grants = vec![GrantFact {
            id: Uuid::from_u128(0x2b3c_4d5e_6f70_4b9c_8d0e_1f2a_3b4c_5d6e),
            resource: resource.id,
            starts_at: now - Duration::minutes(30),
            expires_at: now + Duration::minutes(30),
        }];
        let query = Query {
            principal: principal.id.to_string(),
            action: match scenario {
                Scenario::HumanDeploy => Action::Deploy,
                Scenario::AgentRead => Action::Read,
            },
            resource: resource.name.clone(),
            context: context(scenario, now),
        };
        let engine = Engine::compile(source).expect("the benchmark policies compile");
        let bare = Bare::new(&principal, &resource, &grants[0], &query, source);
        Case {
            engine,
            principal,
            resource,
            grants,
            query,
            now,
            bare,
        }
    }

    pub fn facts(&self) -> Facts<'_> {
        Facts {
            principal: &self.principal,
            resource: &self.resource,
            grants: &self.grants,
            now: self.now,
        }
    }

    /// Decides through the engine: typed query and facts to an outcome with reasons.
    pub fn decide(&self) -> Outcome {
        self.engine.decide(&self.query, &self.facts())
    }

    /// Decides with Cedar alone on the whole policy set, with the request and entities built
    /// beforehand.
    pub fn decide_bare(&self) -> Response {
        let bare = &self.bare;
        bare.authorizer
            .is_authorized(&bare.request, &bare.policies, &bare.entities)
    }
}

fn context(scenario: Scenario, now: DateTime<Utc>) -> Context {
    match scenario {
        Scenario::HumanDeploy => Context {
            device: Some(Device {
                managed: true,
                compliant: true,
                disk_encrypted: true,
            }),
            risk_score: Some(15),
            geo: Some(Geo {
                country: "DE".to_owned(),
                ip: Some("203.0.113.7".parse().unwrap()),
            }),
            time: Some(now),
            mfa: Some(true),
            sensitivity: Some(Sensitivity::High),
            ..Context::default()
        },
        Scenario::AgentRead => Context {
            risk_score: Some(15),
            time: Some(now),
            intent: Some(Intent {
                task: "summarise failed payments".to_owned(),
                actions: vec![Action::Read],
                resources: vec!["payments-api".to_owned()],
            }),
            ..Context::default()
        },
    }
}

impl Bare {
    /// Builds the Cedar request and entities of the same decision from JSON with the schema,
    /// outside any measurement. The schema adds the action entities.
    fn new(
        principal: &Principal,
        resource: &Target,
        grant: &GrantFact,
        query: &Query,
        source: &str,
    ) -> Bare {
        let (schema, _) = Schema::from_cedarschema_str(policy::schema_text()).unwrap();
        let principal_type = format!("Writ::{}", principal.kind.cedar_type());
        let principal_uid = json!({ "type": principal_type, "id": principal.id.to_string() });
        let resource_uid = json!({ "type": "Writ::Resource", "id": resource.id.to_string() });
        let grant_uid = json!({ "type": "Writ::Grant", "id": grant.id.to_string() });
        let owner = principal.owner.unwrap().to_string();
        let entities = json!([
            {
                "uid": principal_uid,
                "attrs": {
                    "name": principal.name,
                    "environment": principal.environment,
                    "criticality": principal.criticality,
                    "active": principal.active,
                    "risk_score": principal.risk_score.unwrap_or(0),
                    "owner": { "__entity": { "type": "Writ::Human", "id": owner } },
                },
                "parents": [grant_uid],
            },
            {
                "uid": resource_uid,
                "attrs": {
                    "name": resource.name,
                    "target": resource.target,
                    "role": resource.role,
                    "sensitivity": resource.sensitivity.as_str(),
                    "sensitivity_level": resource.sensitivity.level(),
                },
                "parents": [],
            },
            {
                "uid": grant_uid,
                "attrs": {
                    "starts_at": grant.starts_at.timestamp(),
                    "expires_at": grant.expires_at.timestamp(),
                    "resource": { "__entity": resource_uid },
                },
                "parents": [resource_uid],
            },
        ]);
        let entities = Entities::from_json_value(entities, Some(&schema)).unwrap();

        let action_uid =
            EntityUid::from_str(&format!("Writ::Action::\"{}\"", query.action.as_str())).unwrap();
        let context = cedar_context_json(query, &resource_uid);
        let context = CedarContext::from_json_value(context, Some((&schema, &action_uid))).unwrap();
        let request = Request::new(
            EntityUid::from_json(principal_uid).unwrap(),
            action_uid,
            EntityUid::from_json(resource_uid).unwrap(),
            context,
            Some(&schema),
        )
        .unwrap();
        Bare {
            authorizer: Authorizer::new(),
            request,
            policies: PolicySet::from_str(source).unwrap(),
            entities,
        }
    }
}

/// Rewrites the normalised context into Cedar's JSON form: entity references and `ip()` calls.
fn cedar_context_json(query: &Query, resource_uid: &Value) -> Value {
    let mut context = query.context.to_json();
    if let (Some(intent), Some(declared)) = (context.get_mut("intent"), &query.context.intent) {
        let actions: Vec<Value> = declared
            .actions
            .iter()
            .map(|action| json!({ "__entity": { "type": "Writ::Action", "id": action.as_str() } }))
            .collect();
        intent["actions"] = json!(actions);
        intent["resources"] = json!([{ "__entity": resource_uid }]);
    }
    if let Some(geo) = context.get_mut("geo")
        && let Some(ip) = geo.get("ip").cloned()
    {
        geo["ip"] = json!({ "__extn": { "fn": "ip", "arg": ip } });
    }
    context
}
