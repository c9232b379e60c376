//! The compiled policy set and the decisions made with it.

use std::collections::HashMap;
use std::fmt;

use cedar_policy::{Authorizer, Decision, PolicySet};
use sha2::{Digest, Sha256};

use crate::cedar;
use crate::compile;
use crate::facts::{Facts, GrantFact, IdentityKind};
use crate::query::{Action, Context, Device, Intent, Query};

/// A validated policy set, ready to decide. It is immutable, `Send` and `Sync`, so share one
/// behind an `Arc` and replace it whole when the policies change.
pub struct Engine {
    source: String,
    hash: String,
    policies: Vec<PolicyInfo>,
    /// Position of each policy in `policies` by `@id`, for ordering and describing outcomes.
    positions: HashMap<String, usize>,
    /// One policy set per action and identity kind, built by [`compile::partition`].
    slices: Vec<PolicySet>,
    authorizer: Authorizer,
}

/// Whether a policy permits or forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Permit,
    Forbid,
}

/// A policy's annotations and effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// The `@id` annotation, unique in the set.
    pub id: String,
    /// The `@description` annotation.
    pub description: String,
    pub effect: Effect,
}

/// A problem in policy source, at a 1-based line and column (counted in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// The result of one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub allow: bool,
    /// `@id` of the policies that determined the outcome: the permits that allowed, the forbids
    /// that denied, or the policies whose evaluation failed. Empty when no policy applied or when
    /// the engine denied before evaluating policies.
    pub policies: Vec<String>,
    /// Evaluation errors. Any error denies the request.
    pub errors: Vec<String>,
    /// One sentence saying why.
    pub reason: String,
}

impl Engine {
    /// Parses `source` and validates it strictly against the shipped schema. Every policy needs a
    /// unique, non-empty `@id` and a `@description`. Returns every problem found, with positions.
    pub fn compile(source: &str) -> Result<Engine, Vec<Diagnostic>> {
        let compiled = compile::compile(source)?;
        let slices = compile::partition(&compiled.policies);
        let positions = compiled
            .infos
            .iter()
            .enumerate()
            .map(|(position, info)| (info.id.clone(), position))
            .collect();
        Ok(Engine {
            source: source.to_owned(),
            hash: hex::encode(Sha256::digest(source.as_bytes())),
            policies: compiled.infos,
            positions,
            slices,
            authorizer: Authorizer::new(),
        })
    }

    /// Returns the hex SHA-256 of the source text, which identifies the policy version in the
    /// decision log.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Returns the policies in source order.
    pub fn policies(&self) -> &[PolicyInfo] {
        &self.policies
    }

    /// Decides a request. Disabled identities and archived resources are denied without
    /// evaluating policies. Grants count when they are on the requested resource and in force at
    /// `facts.now`.
    pub fn decide(&self, query: &Query, facts: &Facts) -> Outcome {
        if let Some(outcome) = precheck(facts) {
            return outcome;
        }
        let grants = facts
            .grants
            .iter()
            .filter(|grant| grant.resource == facts.resource.id && grant.is_active_at(facts.now));
        self.evaluate(facts, query.action, &query.context, grants)
    }

    /// Re-checks a live grant after a risk or posture signal. Evaluates `admin` on the grant's
    /// resource as if the grant were in force, with the principal's stored risk score and posture
    /// as `context.risk_score` and `context.device` and `facts.now` as `context.time`. For an AI
    /// agent the grant itself serves as the declared intent: `admin` on the grant's resource.
    pub fn decide_grant(&self, facts: &Facts, grant: &GrantFact) -> Outcome {
        if grant.resource != facts.resource.id {
            let message = format!(
                "grant {} is for resource {}, not for {}",
                grant.id, grant.resource, facts.resource.id
            );
            return Outcome {
                allow: false,
                policies: Vec::new(),
                reason: format!("Denied because {message}."),
                errors: vec![message],
            };
        }
        if let Some(outcome) = precheck(facts) {
            return outcome;
        }
        let principal = facts.principal;
        let intent = (principal.kind == IdentityKind::AiAgent).then(|| Intent {
            task: format!("re-check of grant {}", grant.id),
            actions: vec![Action::Admin],
            resources: vec![facts.resource.id.to_string()],
        });
        let context = Context {
            device: principal.posture.map(|posture| Device {
                managed: posture.managed,
                compliant: posture.compliant,
                disk_encrypted: posture.disk_encrypted,
            }),
            risk_score: principal.risk_score,
            time: Some(facts.now),
            intent,
            ..Context::default()
        };
        self.evaluate(facts, Action::Admin, &context, std::iter::once(grant))
    }

    fn evaluate<'a>(
        &self,
        facts: &Facts,
        action: Action,
        context: &Context,
        grants: impl Iterator<Item = &'a GrantFact>,
    ) -> Outcome {
        let evaluation = match cedar::evaluation(
            facts.principal,
            facts.resource,
            action,
            context,
            grants,
        ) {
            Ok(evaluation) => evaluation,
            Err(error) => {
                return Outcome {
                    allow: false,
                    policies: Vec::new(),
                    reason: format!(
                        "Denied because the request could not be prepared for evaluation: {error}."
                    ),
                    errors: vec![error],
                };
            }
        };
        let slice = &self.slices[compile::slice_index(action, facts.principal.kind)];
        let response =
            self.authorizer
                .is_authorized(&evaluation.request, slice, &evaluation.entities);
        let diagnostics = response.diagnostics();

        let errors: Vec<String> = diagnostics.errors().map(ToString::to_string).collect();
        if !errors.is_empty() {
            let failed = self.in_source_order(diagnostics.errors().map(|error| match error {
                cedar_policy::AuthorizationError::PolicyEvaluationError(error) => {
                    error.policy_id().to_string()
                }
            }));
            return Outcome {
                allow: false,
                reason: format!(
                    "Denied because an evaluation error occurred in {}, and any evaluation error denies.",
                    policy_list(&failed)
                ),
                policies: failed,
                errors,
            };
        }

        let determining = self.in_source_order(diagnostics.reason().map(ToString::to_string));
        let allow = response.decision() == Decision::Allow;
        Outcome {
            allow,
            reason: self.explain(allow, &determining, action, facts),
            policies: determining,
            errors: Vec::new(),
        }
    }

    /// Writes the reason of an evaluated decision from its determining policies.
    fn explain(
        &self,
        allow: bool,
        determining: &[String],
        action: Action,
        facts: &Facts,
    ) -> String {
        if allow {
            return format!("Allowed by {}.", policy_list(determining));
        }
        match determining {
            [] => format!(
                "Denied because no policy permits {} on {} for {}.",
                action.as_str(),
                facts.resource.name,
                facts.principal.name
            ),
            [only] => {
                let description = self
                    .positions
                    .get(only)
                    .map_or("", |position| self.policies[*position].description.as_str());
                format!("Denied by policy {only}: {}", sentence(description))
            }
            _ => format!("Denied by {}.", policy_list(determining)),
        }
    }

    /// Sorts policy ids by their position in the source, dropping repeats.
    fn in_source_order(&self, ids: impl Iterator<Item = String>) -> Vec<String> {
        let mut ids: Vec<String> = ids.collect();
        ids.sort_by_key(|id| self.positions.get(id).copied().unwrap_or(usize::MAX));
        ids.dedup();
        ids
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Engine")
            .field("hash", &self.hash)
            .field("policies", &self.policies.len())
            .finish_non_exhaustive()
    }
}

/// Denies inactive identities and archived resources before any policy is evaluated.
fn precheck(facts: &Facts) -> Option<Outcome> {
    let reason = if !facts.principal.active {
        format!(
            "Denied because identity {} is not active.",
            facts.principal.name
        )
    } else if facts.resource.archived {
        format!(
            "Denied because resource {} is archived.",
            facts.resource.name
        )
    } else {
        return None;
    };
    Some(Outcome {
        allow: false,
        policies: Vec::new(),
        errors: Vec::new(),
        reason,
    })
}

/// Formats "policy a" or "policies a, b".
fn policy_list(ids: &[String]) -> String {
    match ids {
        [only] => format!("policy {only}"),
        _ => format!("policies {}", ids.join(", ")),
    }
}

/// Ends a description with a full stop unless it has one.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with('.') {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}
