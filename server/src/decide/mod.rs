//! Runtime decisions: resolves the principal and resource of a query from the cached inventory,
//! evaluates the active policy set, records the decision and returns it with its reasons.

pub mod behaviour;
pub mod cache;
mod copy;
pub mod listener;
pub mod log;
pub mod signals;

use std::sync::Arc;
use std::time::Instant;

use policy::{Facts, IdentityKind, Outcome, Query};
use serde::Serialize;
use uuid::Uuid;

use self::behaviour::BehaviourTracker;
use self::cache::{Cache, ClientEntry};
use self::log::{DecisionLog, DecisionRecord, LogFailed, LogMode};
use crate::clock::Clock;
use crate::controls;
use crate::error::Result;

/// Most queries one batch call may carry.
pub const MAX_BATCH: usize = 100;

/// A determining policy with its description.
#[derive(Clone, Debug, Serialize)]
pub struct Reason {
    pub id: String,
    pub description: String,
}

/// The decision API's result for one query.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    pub decision_id: Uuid,
    pub decision: &'static str,
    pub allow: bool,
    pub reason: String,
    pub policies: Vec<Reason>,
    pub errors: Vec<String>,
    pub controls: &'static [String],
    pub policy_version: i32,
    pub policy_hash: String,
    /// Time from the parsed query to the outcome, in microseconds.
    pub latency_us: i64,
}

/// The decision service of one Writ process.
#[derive(Debug)]
pub struct Decider {
    pub cache: Cache,
    pub log: DecisionLog,
    behaviour: BehaviourTracker,
    clock: Arc<dyn Clock>,
}

impl Decider {
    /// Loads the caches and starts the decision log writer.
    pub async fn start(
        pool: sqlx::PgPool,
        clock: Arc<dyn Clock>,
        mode: LogMode,
    ) -> Result<Arc<Self>> {
        let cache = Cache::load(pool.clone()).await?;
        Ok(Arc::new(Self {
            cache,
            behaviour: BehaviourTracker::new(pool.clone()),
            log: DecisionLog::start(pool, mode),
            clock,
        }))
    }

    /// Decides every query, records all of them, and returns the answers in order. When the
    /// log cannot record them, every answer is a deny.
    pub async fn decide(&self, client: &ClientEntry, queries: Vec<Query>) -> Result<Vec<Answer>> {
        let mut answers = Vec::with_capacity(queries.len());
        let mut records = Vec::with_capacity(queries.len());
        for query in queries {
            let (answer, record) = self.decide_one(client, query).await?;
            answers.push(answer);
            records.push(record);
        }
        if let Err(LogFailed) = self.log.record(records).await {
            for answer in &mut answers {
                answer.allow = false;
                answer.decision = "deny";
                answer.reason = LogFailed.to_string();
            }
        }
        Ok(answers)
    }

    async fn decide_one(
        &self,
        client: &ClientEntry,
        mut query: Query,
    ) -> Result<(Answer, DecisionRecord)> {
        let started = Instant::now();
        let now = self.clock.now();
        let active = self.cache.policy();
        let principal = self.cache.principal(&query.principal).await?;
        let target = self.cache.target(&query.resource).await?;
        let country = query.context.geo.as_ref().map(|geo| geo.country.clone());
        let outcome = match (&principal, &target) {
            (None, _) => denied(format!(
                "unknown principal {:?}: no identity has this id or external id",
                query.principal
            )),
            (_, None) => denied(format!(
                "unknown resource {:?}: no resource has this name or id",
                query.resource
            )),
            (Some(entry), Some(target)) => {
                query.context.behaviour = self
                    .behaviour
                    .recent(entry.principal.id, country.as_deref(), now)
                    .await?;
                let facts = Facts {
                    principal: &entry.principal,
                    resource: target,
                    grants: &entry.grants,
                    now,
                };
                active.engine.decide(&query, &facts)
            }
        };
        let latency_us = started.elapsed().as_micros() as i64;
        if let Some(entry) = &principal {
            self.behaviour
                .note(entry.principal.id, country.as_deref(), outcome.allow, now)
                .await;
        }
        let ai_agent = principal
            .as_ref()
            .is_some_and(|entry| entry.principal.kind == IdentityKind::AiAgent);
        let controls = controls::catalogue().for_decision(outcome.allow, ai_agent);
        let reasons = outcome
            .policies
            .iter()
            .map(|id| Reason {
                id: id.clone(),
                description: active
                    .engine
                    .policies()
                    .iter()
                    .find(|info| &info.id == id)
                    .map(|info| info.description.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let id = Uuid::now_v7();
        let record = DecisionRecord {
            id,
            decided_at: now,
            client_id: Some(client.id),
            client_label: client.name.clone(),
            principal: query.principal,
            principal_id: principal.as_ref().map(|entry| entry.principal.id),
            action: query.action,
            resource: query.resource,
            resource_id: target.as_ref().map(|target| target.id),
            context: query.context,
            allow: outcome.allow,
            policies: outcome.policies.clone(),
            errors: outcome.errors.clone(),
            reason: outcome.reason.clone(),
            policy_hash: active.engine.hash().to_owned(),
            latency_us,
            controls,
        };
        let answer = Answer {
            decision_id: id,
            decision: if outcome.allow { "allow" } else { "deny" },
            allow: outcome.allow,
            reason: outcome.reason,
            policies: reasons,
            errors: outcome.errors,
            controls,
            policy_version: active.number,
            policy_hash: active.engine.hash().to_owned(),
            latency_us,
        };
        Ok((answer, record))
    }
}

fn denied(reason: String) -> Outcome {
    Outcome {
        allow: false,
        policies: Vec::new(),
        errors: Vec::new(),
        reason,
    }
}
