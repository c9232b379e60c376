//! Types for runtime decisions: Cedar policy versions, the decision log and decision clients.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One saved version of the Cedar policy set. At most one version is active.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub id: Uuid,
    pub number: i32,
    /// Hash of the version's source, which each decision it makes records.
    pub hash: String,
    pub author: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub active: bool,
    /// When the version became the active one, or `None` while it is not active.
    pub activated_at: Option<DateTime<Utc>>,
}

/// One rule (Cedar policy) of a policy version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyRule {
    /// The policy id, from its `@id` annotation.
    pub id: String,
    pub description: String,
    /// `permit` or `forbid`.
    pub effect: String,
}

/// The active version, its rules, the version history and the schema, for the policies page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyOverview {
    pub active: PolicyVersion,
    /// The active version's Cedar source.
    pub source: String,
    /// The active version's rules.
    pub rules: Vec<PolicyRule>,
    /// Saved versions, newest first, at most 50.
    pub versions: Vec<PolicyVersion>,
    /// The Cedar schema that policies are validated against.
    pub schema: String,
}

/// Whether a line of a diff is in both versions or in only one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    Same,
    Added,
    Removed,
}

/// One line of a diff between two policy sources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffLine {
    pub kind: DiffKind,
    /// Line number in the old source, counting from 1, or `None` for an added line.
    pub old_line: Option<u32>,
    /// Line number in the new source, counting from 1, or `None` for a removed line.
    pub new_line: Option<u32>,
    pub text: String,
}

/// One policy version with its source, rules and changes, for the version page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersionDetail {
    pub version: PolicyVersion,
    pub source: String,
    pub rules: Vec<PolicyRule>,
    /// Changes from the active version to this one, empty when the sources are identical.
    pub diff: Vec<DiffLine>,
}

/// A recorded decision whose outcome a policy version would change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhatIfChange {
    pub decision_id: Uuid,
    pub decided_at: DateTime<Utc>,
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// The outcome recorded when the decision was made.
    pub recorded_allow: bool,
    /// The outcome under the active version.
    pub active_allow: bool,
    /// The outcome under the version being tried.
    pub draft_allow: bool,
    /// The policies of the tried version that determined its outcome.
    pub draft_policies: Vec<String>,
}

/// The result of replaying recorded decisions against a policy version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    pub version: PolicyVersion,
    /// How many recorded decisions were replayed.
    pub replayed: u32,
    /// The replayed decisions whose outcome differs from the active version's.
    pub changed: Vec<WhatIfChange>,
}

/// Filters for the decision log. Every field is text, and an empty field does not filter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionFilter {
    /// Earliest decision time: an RFC 3339 time or a `YYYY-MM-DD` date.
    pub from: String,
    /// Latest decision time: an RFC 3339 time or a `YYYY-MM-DD` date.
    pub to: String,
    pub principal: String,
    pub resource: String,
    /// `allow` or `deny`.
    pub outcome: String,
    /// A policy id that determined the decision.
    pub policy: String,
    /// A control id that the decision maps to.
    pub control: String,
}

/// One entry of the decision log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionSummary {
    pub id: Uuid,
    pub decided_at: DateTime<Utc>,
    /// Name of the decision client that asked.
    pub client: String,
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub allow: bool,
    /// Ids of the policies that determined the outcome.
    pub policies: Vec<String>,
    /// Ids of the controls the determining policies map to.
    pub controls: Vec<String>,
    /// Time spent evaluating, in microseconds.
    pub latency_us: i64,
}

/// A control from a security framework that a policy maps to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlRef {
    pub id: String,
    /// Such as `OWASP NHI Top 10 (2025)`, `NIST CSF 2.0` or `NIST AI RMF 1.0`.
    pub framework: String,
    pub title: String,
}

/// One decision with everything recorded about it, for the decision page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionDetail {
    pub summary: DecisionSummary,
    /// The request's entities and context as evaluated, as pretty-printed JSON.
    pub context: String,
    pub reason: String,
    /// Errors raised while evaluating policies.
    pub errors: Vec<String>,
    /// Hash of the policy version that decided.
    pub policy_hash: String,
    /// Number of the policy version that decided, when it is still stored.
    pub policy_version: Option<i32>,
    /// The determining policies with their descriptions.
    pub rules: Vec<PolicyRule>,
    pub controls: Vec<ControlRef>,
}

/// A service registered to ask Writ for runtime decisions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionClient {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// The token's first characters, which identify it without revealing it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A decision client with a new token, which is shown once and never again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedClient {
    pub client: DecisionClient,
    pub token: String,
}
