//! Compilation of policy source: parsing, strict validation against the shipped schema, the
//! `@id` and `@description` rules, and the partition of policies by what can apply.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Policy, PolicyId, PolicySet, PrincipalConstraint, ValidationMode, Validator,
};

use crate::cedar::VOCABULARY;
use crate::engine::{Diagnostic, Effect, PolicyInfo};
use crate::facts::IdentityKind;
use crate::query::Action;

/// A checked policy set: each policy renamed to its `@id`, in source order.
pub(crate) struct Compiled {
    pub infos: Vec<PolicyInfo>,
    pub policies: Vec<Policy>,
}

/// Parses and validates `source`, returning every problem found, ordered by position.
pub(crate) fn compile(source: &str) -> Result<Compiled, Vec<Diagnostic>> {
    let lines = LineIndex::new(source);
    let parsed = PolicySet::from_str(source).map_err(|errors| {
        errors
            .iter()
            .map(|error| lines.diagnostic(error, 0))
            .collect::<Vec<_>>()
    })?;

    let mut diagnostics = Vec::new();
    for template in parsed.templates() {
        let start = template.as_ref().loc().map_or(0, |loc| loc.start());
        diagnostics.push(lines.at(
            start,
            "templates (policies with ?principal or ?resource slots) are not supported. Name the entity in the policy instead",
        ));
    }

    let mut policies: Vec<(usize, &Policy)> = parsed
        .policies()
        .map(|policy| (policy.as_ref().loc().map_or(0, |loc| loc.start()), policy))
        .collect();
    policies.sort_by_key(|(start, _)| *start);
    let starts: HashMap<&PolicyId, usize> = policies
        .iter()
        .map(|(start, policy)| (policy.id(), *start))
        .collect();

    let mut infos = Vec::with_capacity(policies.len());
    let mut renamed = Vec::with_capacity(policies.len());
    let mut first_use: HashMap<String, usize> = HashMap::new();
    for (start, policy) in &policies {
        let id = annotation(policy, "id");
        let description = annotation(policy, "description");
        match id {
            None => diagnostics.push(lines.at(
                *start,
                "policy has no @id annotation. Add @id(\"a-unique-name\") above it",
            )),
            Some(id) => {
                if let Some(first) = first_use.get(id) {
                    let (line, _) = lines.position(*first);
                    diagnostics.push(lines.at(
                        *start,
                        &format!("@id(\"{id}\") is already used by the policy at line {line}. Choose another id"),
                    ));
                } else {
                    first_use.insert(id.to_owned(), *start);
                }
            }
        }
        if description.is_none() {
            diagnostics.push(lines.at(
                *start,
                "policy has no @description annotation. Add @description(\"what it does\") above it",
            ));
        }
        if let (Some(id), Some(description)) = (id, description) {
            infos.push(PolicyInfo {
                id: id.to_owned(),
                description: description.to_owned(),
                effect: match policy.effect() {
                    cedar_policy::Effect::Permit => Effect::Permit,
                    cedar_policy::Effect::Forbid => Effect::Forbid,
                },
            });
            renamed.push(policy.new_id(PolicyId::new(id)));
        }
    }

    let validator = Validator::new(VOCABULARY.schema.clone());
    let result = validator.validate(&parsed, ValidationMode::Strict);
    // Cedar reports a mistake once per action and principal type it checks, at the same
    // position and with the same fix, so only one per position is kept.
    let mut by_position: BTreeMap<(u32, u32), Diagnostic> = BTreeMap::new();
    for error in result.validation_errors() {
        let fallback = starts.get(error.policy_id()).copied().unwrap_or(0);
        let diagnostic = lines.diagnostic(error, fallback);
        match by_position.entry((diagnostic.line, diagnostic.column)) {
            Entry::Vacant(entry) => {
                entry.insert(diagnostic);
            }
            Entry::Occupied(mut entry) => {
                if diagnostic.message < entry.get().message {
                    entry.insert(diagnostic);
                }
            }
        }
    }
    diagnostics.extend(by_position.into_values());

    if diagnostics.is_empty() {
        Ok(Compiled {
            infos,
            policies: renamed,
        })
    } else {
        diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
        Err(diagnostics)
    }
}

/// Builds one policy set per action and identity kind, holding only the policies whose scope
/// can match such a request, indexed by `action.index() * 5 + kind.index()`. A policy set costs
/// Cedar time for every policy in it, matching or not.
pub(crate) fn partition(policies: &[Policy]) -> Vec<PolicySet> {
    let mut slices = Vec::with_capacity(Action::ALL.len() * IdentityKind::ALL.len());
    for action in Action::ALL {
        for kind in IdentityKind::ALL {
            let mut slice = PolicySet::new();
            for policy in policies
                .iter()
                .filter(|policy| can_apply(policy, action, kind))
            {
                // Ids are unique because compile() rejected duplicates.
                let _ = slice.add(policy.clone());
            }
            slices.push(slice);
        }
    }
    slices
}

/// Returns the index of a slice built by [`partition`].
pub(crate) fn slice_index(action: Action, kind: IdentityKind) -> usize {
    action.index() * IdentityKind::ALL.len() + kind.index()
}

/// Returns whether the policy's scope can match a request for `action` by an identity of `kind`.
/// Scopes the check cannot decide from types alone, such as `principal in Writ::Grant::"…"`,
/// count as matching.
fn can_apply(policy: &Policy, action: Action, kind: IdentityKind) -> bool {
    let action_matches = match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(uid) => VOCABULARY.action(action) == &uid,
        ActionConstraint::In(groups) => groups
            .iter()
            .any(|group| VOCABULARY.action_in(action, group)),
    };
    let principal_type = VOCABULARY.identity_type(kind);
    let kind_matches = match policy.principal_constraint() {
        PrincipalConstraint::Any | PrincipalConstraint::In(_) => true,
        PrincipalConstraint::Eq(uid) => uid.type_name() == principal_type,
        PrincipalConstraint::Is(name) | PrincipalConstraint::IsIn(name, _) => {
            &name == principal_type
        }
    };
    action_matches && kind_matches
}

/// Returns a non-empty annotation value.
fn annotation<'a>(policy: &'a Policy, key: &str) -> Option<&'a str> {
    policy
        .annotation(key)
        .filter(|value| !value.trim().is_empty())
}

/// Byte offsets of line starts, to turn offsets into 1-based lines and columns.
struct LineIndex<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(source: &'a str) -> LineIndex<'a> {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(offset, _)| offset + 1))
            .collect();
        LineIndex { source, starts }
    }

    /// Returns the 1-based line and column, counting columns in characters.
    fn position(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.source.len());
        let line = self.starts.partition_point(|start| *start <= offset) - 1;
        let line_start = self.starts[line];
        let column = self
            .source
            .get(line_start..offset)
            .map_or(0, |text| text.chars().count());
        (to_u32(line + 1), to_u32(column + 1))
    }

    fn at(&self, offset: usize, message: &str) -> Diagnostic {
        let (line, column) = self.position(offset);
        Diagnostic {
            line,
            column,
            message: message.to_owned(),
        }
    }

    /// Converts a Cedar error, placed at its first labelled span or else at `fallback`.
    fn diagnostic(
        &self,
        error: &(dyn miette::Diagnostic + Send + Sync),
        fallback: usize,
    ) -> Diagnostic {
        let label = error.labels().and_then(|mut labels| labels.next());
        let offset = label.as_ref().map_or(fallback, |label| label.offset());
        // Positions replace Cedar's generated policy names, which the author never wrote.
        let mut message = error.to_string();
        if let Some(rest) = message
            .strip_prefix("for policy `")
            .and_then(|rest| rest.split_once("`, "))
            .map(|(_, rest)| rest.to_owned())
        {
            message = rest;
        }
        if let Some(text) = label.as_ref().and_then(|label| label.label()) {
            message.push_str(": ");
            message.push_str(text);
        }
        if let Some(help) = error.help() {
            message.push_str(". ");
            message.push_str(&help.to_string());
        }
        self.at(offset, &message)
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use cedar_policy::{Authorizer, PolicySet};
    use chrono::{Duration, TimeZone, Utc};
    use uuid::Uuid;

    use super::{compile, partition, slice_index};
    use crate::cedar::evaluation;
    use crate::facts::{GrantFact, IdentityKind, Principal, Sensitivity, Target};
    use crate::query::{Action, Context};

    /// Scopes of every form the partition handles, each with an effect a request can observe.
    const SCOPES: &str = r#"
@id("all") @description("d") permit (principal, action, resource) when { principal.active };
@id("workload-read") @description("d") forbid (principal is Writ::Workload, action == Writ::Action::"read", resource);
@id("elevated") @description("d") forbid (principal, action in Writ::Action::"elevated", resource) unless { principal in resource };
@id("write-execute") @description("d") forbid (principal, action in [Writ::Action::"write", Writ::Action::"execute"], resource) when { context has mfa && !context.mfa };
@id("one-human") @description("d") forbid (principal == Writ::Human::"00000000-0000-0000-0000-000000000001", action == Writ::Action::"deploy", resource);
@id("agent-in-grant") @description("d") forbid (principal is Writ::AiAgent in Writ::Grant::"00000000-0000-0000-0000-000000000004", action, resource);
@id("grant-delete") @description("d") permit (principal in Writ::Grant::"00000000-0000-0000-0000-000000000004", action == Writ::Action::"delete", resource);
@id("group-eq") @description("d") forbid (principal, action == Writ::Action::"elevated", resource);
"#;

    /// A slice decides exactly as the whole set does, for every action, identity kind, with and
    /// without a grant, and with MFA on and off.
    #[test]
    fn slices_decide_like_whole_set() {
        let compiled = compile(SCOPES).expect("the scopes compile");
        let slices = partition(&compiled.policies);
        let whole = PolicySet::from_policies(compiled.policies.clone()).unwrap();
        let authorizer = Authorizer::new();
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
        let mut checked = 0;
        for kind in IdentityKind::ALL {
            let principal = Principal {
                id: Uuid::from_u128(1),
                name: "someone".to_owned(),
                kind,
                environment: "production".to_owned(),
                criticality: "low".to_owned(),
                owner: None,
                active: true,
                risk_score: None,
                posture: None,
            };
            for action in Action::ALL {
                for grants in [&[][..], std::slice::from_ref(&grant)] {
                    for mfa in [true, false] {
                        let context = Context {
                            mfa: Some(mfa),
                            ..Context::default()
                        };
                        let built =
                            evaluation(&principal, &resource, action, &context, grants.iter())
                                .unwrap();
                        let sliced = authorizer.is_authorized(
                            &built.request,
                            &slices[slice_index(action, kind)],
                            &built.entities,
                        );
                        let full =
                            authorizer.is_authorized(&built.request, &whole, &built.entities);
                        let case = format!("{kind:?} {action:?} grants={} mfa={mfa}", grants.len());
                        assert_eq!(sliced.decision(), full.decision(), "{case}");
                        let mut sliced_reason: Vec<_> = sliced.diagnostics().reason().collect();
                        let mut full_reason: Vec<_> = full.diagnostics().reason().collect();
                        sliced_reason.sort();
                        full_reason.sort();
                        assert_eq!(sliced_reason, full_reason, "{case}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 5 * 6 * 2 * 2);
    }

    #[test]
    fn slices_leave_out_policies_that_cannot_apply() {
        let compiled = compile(SCOPES).expect("the scopes compile");
        let slices = partition(&compiled.policies);
        let ids = |action, kind| {
            let mut ids: Vec<String> = slices[slice_index(action, kind)]
                .policies()
                .map(|policy| policy.id().to_string())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(Action::Read, IdentityKind::Human), ["all"]);
        assert_eq!(
            ids(Action::Read, IdentityKind::Workload),
            ["all", "workload-read"]
        );
        assert_eq!(
            ids(Action::Write, IdentityKind::ApiKey),
            ["all", "write-execute"]
        );
        assert_eq!(
            ids(Action::Deploy, IdentityKind::Human),
            ["all", "elevated", "one-human"]
        );
        assert_eq!(
            ids(Action::Deploy, IdentityKind::ServiceAccount),
            ["all", "elevated"]
        );
        assert_eq!(
            ids(Action::Delete, IdentityKind::AiAgent),
            ["agent-in-grant", "all", "elevated", "grant-delete"]
        );
    }
}
