//! Versioned Cedar policy sets: saving a validated version, activating or rolling back, the
//! diff to the active version, and the what-if replay of recorded decisions against a version.

use std::collections::HashMap;
use std::sync::Arc;

use app::error::AppError;
use app::model::{
    DiffKind, DiffLine, PolicyOverview, PolicyRule, PolicyVersion, PolicyVersionDetail, Role,
    WhatIf, WhatIfChange,
};
use chrono::{DateTime, Utc};
use policy::{Action, Behaviour, Context, Effect, Engine, Facts, Query};
use serde_json::{Value, json};
use similar::{ChangeTag, TextDiff};
use sqlx::PgPool;
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::required_text;
use crate::decide::cache::{PrincipalEntry, load_principal, load_target};
use crate::error::Result;
use crate::services::Services;

/// Largest policy source accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
/// Recorded decisions the what-if replays, newest first.
pub const WHAT_IF_DECISIONS: i64 = 500;
/// Versions the overview lists.
const OVERVIEW_VERSIONS: i64 = 50;

/// Installs the shipped default policy set as version 1 and activates it, when no version is
/// active yet. Safe to run from several processes at once.
pub async fn install_default(pool: &PgPool, now: DateTime<Utc>) -> Result<()> {
    let mut tx = pool.begin().await?;
    // One installer at a time; the lock is released at commit.
    sqlx::query!("select pg_advisory_xact_lock(hashtext('writ.policy.install'))")
        .execute(&mut *tx)
        .await?;
    let active = sqlx::query_scalar!("select version_id from policy_active")
        .fetch_optional(&mut *tx)
        .await?;
    if active.is_some() {
        return Ok(());
    }
    let source = policy::default_policies();
    let engine = Engine::compile(source).map_err(|problems| {
        anyhow::anyhow!("the shipped default policy set does not compile: {problems:?}")
    })?;
    let reason = "the default policy set shipped with Writ";
    let id = sqlx::query_scalar!(
        r#"
        insert into policy_versions (source, hash, author_label, reason, created_at)
        values ($1, $2, 'Writ', $3, $4)
        returning id
        "#,
        source,
        engine.hash(),
        reason,
        now
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into policy_active (version_id, activated_at) values ($1, $2)",
        id,
        now
    )
    .execute(&mut *tx)
    .await?;
    let actor = Actor::cli();
    audit::append(
        &mut tx,
        &actor,
        now,
        Entry::success("policy.activated", "policy_version", id)
            .reason(reason)
            .details(json!({ "number": 1, "hash": engine.hash() })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

struct VersionRow {
    id: Uuid,
    number: i32,
    hash: String,
    author_label: String,
    reason: String,
    created_at: DateTime<Utc>,
    source: String,
    active_since: Option<DateTime<Utc>>,
}

impl VersionRow {
    fn version(&self) -> PolicyVersion {
        PolicyVersion {
            id: self.id,
            number: self.number,
            hash: self.hash.clone(),
            author: self.author_label.clone(),
            reason: self.reason.clone(),
            created_at: self.created_at,
            active: self.active_since.is_some(),
            activated_at: self.active_since,
        }
    }
}

async fn load_version(pool: &PgPool, id: Option<Uuid>) -> Result<VersionRow> {
    let row = sqlx::query_as!(
        VersionRow,
        r#"
        select v.id as "id!", v.number as "number!", v.hash as "hash!",
               v.author_label as "author_label!", v.reason as "reason!",
               v.created_at as "created_at!", v.source as "source!",
               a.activated_at as "active_since?"
        from policy_versions v left join policy_active a on a.version_id = v.id
        where ($1::uuid is not null and v.id = $1) or ($1::uuid is null and a.version_id is not null)
        "#,
        id
    )
    .fetch_optional(pool)
    .await?;
    row.ok_or_else(|| AppError::not_found("no policy version has this id").into())
}

/// Returns the rules of a compiled set for display.
pub fn rules(engine: &Engine) -> Vec<PolicyRule> {
    engine
        .policies()
        .iter()
        .map(|info| PolicyRule {
            id: info.id.clone(),
            description: info.description.clone(),
            effect: match info.effect {
                Effect::Permit => "permit".into(),
                Effect::Forbid => "forbid".into(),
            },
        })
        .collect()
}

fn compile_stored(row: &VersionRow) -> Result<Engine> {
    Engine::compile(&row.source).map_err(|problems| {
        anyhow::anyhow!(
            "stored policy version {} does not compile: {problems:?}",
            row.number
        )
        .into()
    })
}

/// Returns the active version with its rules, the version history and the schema.
pub async fn overview(svc: &Services, actor: &Actor) -> Result<PolicyOverview> {
    actor.require_any(&[Role::Admin, Role::Auditor])?;
    let active = load_version(&svc.pool, None).await?;
    let engine = compile_stored(&active)?;
    let versions = sqlx::query_as!(
        VersionRow,
        r#"
        select v.id, v.number, v.hash, v.author_label, v.reason, v.created_at,
               '' as "source!", a.activated_at as "active_since?"
        from policy_versions v left join policy_active a on a.version_id = v.id
        order by v.number desc
        limit $1
        "#,
        OVERVIEW_VERSIONS
    )
    .fetch_all(&svc.pool)
    .await?;
    Ok(PolicyOverview {
        active: active.version(),
        rules: rules(&engine),
        source: active.source,
        versions: versions.iter().map(VersionRow::version).collect(),
        schema: policy::schema_text().to_owned(),
    })
}

/// Returns a version with its rules and its diff to the active version.
pub async fn version(svc: &Services, actor: &Actor, id: Uuid) -> Result<PolicyVersionDetail> {
    actor.require_any(&[Role::Admin, Role::Auditor])?;
    let row = load_version(&svc.pool, Some(id)).await?;
    let active = load_version(&svc.pool, None).await?;
    let engine = compile_stored(&row)?;
    Ok(PolicyVersionDetail {
        version: row.version(),
        rules: rules(&engine),
        diff: diff(&active.source, &row.source),
        source: row.source,
    })
}

/// Returns the line diff from `old` to `new`, empty when they are equal.
pub fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    if old == new {
        return Vec::new();
    }
    TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|change| DiffLine {
            kind: match change.tag() {
                ChangeTag::Equal => DiffKind::Same,
                ChangeTag::Insert => DiffKind::Added,
                ChangeTag::Delete => DiffKind::Removed,
            },
            old_line: change.old_index().map(|index| index as u32 + 1),
            new_line: change.new_index().map(|index| index as u32 + 1),
            text: change.value().trim_end_matches(['\r', '\n']).to_owned(),
        })
        .collect()
}

/// Validates `source` against the schema and saves it as a new, inactive version.
pub async fn save_draft(
    svc: &Services,
    actor: &Actor,
    source: &str,
    reason: &str,
) -> Result<PolicyVersion> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let reason = required_text("reason", reason, 2000)?;
        // Browsers send textarea text with CRLF line ends; stored versions use LF so that diffs
        // and hashes compare the text, not the line ends.
        let source = source.replace("\r\n", "\n");
        let source = source.as_str();
        if source.trim().is_empty() {
            return Err(
                AppError::invalid("source", "is required; write at least one policy").into(),
            );
        }
        if source.len() > MAX_SOURCE_BYTES {
            return Err(AppError::invalid(
                "source",
                format!(
                    "is {} bytes; the maximum is {MAX_SOURCE_BYTES}",
                    source.len()
                ),
            )
            .into());
        }
        let engine = Engine::compile(source).map_err(|problems| {
            let lines: Vec<String> = problems
                .iter()
                .map(|problem| {
                    format!(
                        "line {}, column {}: {}",
                        problem.line, problem.column, problem.message
                    )
                })
                .collect();
            AppError::invalid("source", lines.join("\n"))
        })?;
        let mut tx = svc.pool.begin().await?;
        let row = sqlx::query_as!(
            VersionRow,
            r#"
            insert into policy_versions (source, hash, author_id, author_label, reason, created_at)
            values ($1, $2, $3, $4, $5, $6)
            returning id, number, hash, author_label, reason, created_at, '' as "source!",
                null::timestamptz as "active_since?"
            "#,
            source,
            engine.hash(),
            actor.user_id,
            actor.label,
            reason,
            now
        )
        .fetch_one(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("policy.saved", "policy_version", row.id)
                .reason(reason)
                .details(json!({ "number": row.number, "hash": row.hash })),
        )
        .await?;
        tx.commit().await?;
        Ok(row.version())
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "policy.save",
        "policy_version",
        "draft",
        result,
    )
    .await
}

/// Makes version `id` the active one. Activating an older version than the active one is a
/// rollback and is audited as such.
pub async fn activate(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> Result<PolicyVersion> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let reason = required_text("reason", reason, 2000)?;
        let row = load_version(&svc.pool, Some(id)).await?;
        // Saved versions were validated, but the schema ships with the binary and may have
        // changed since; a version that no longer compiles is never activated.
        Engine::compile(&row.source).map_err(|problems| {
            AppError::invalid(
                "id",
                format!(
                    "version {} no longer validates against this Writ's schema ({} problems); \
                     save a corrected version instead",
                    row.number,
                    problems.len()
                ),
            )
        })?;
        let mut tx = svc.pool.begin().await?;
        let previous = sqlx::query!(
            r#"
            select v.id, v.number from policy_active a join policy_versions v on v.id = a.version_id
            for update of a
            "#
        )
        .fetch_one(&mut *tx)
        .await?;
        if previous.id == id {
            return Err(AppError::conflict(format!(
                "version {} is already active; nothing was changed",
                row.number
            ))
            .into());
        }
        sqlx::query!(
            "update policy_active set version_id = $1, activated_at = $2",
            id,
            now
        )
        .execute(&mut *tx)
        .await?;
        let action = if row.number < previous.number {
            "policy.rolled_back"
        } else {
            "policy.activated"
        };
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success(action, "policy_version", id)
                .reason(reason)
                .details(json!({
                    "number": row.number,
                    "hash": row.hash,
                    "previous_number": previous.number,
                })),
        )
        .await?;
        tx.commit().await?;
        Ok(PolicyVersion {
            active: true,
            activated_at: Some(now),
            ..row.version()
        })
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "policy.activate",
        "policy_version",
        id,
        result,
    )
    .await
}

/// Replays the most recent recorded decisions against version `id` and against the active
/// version, on the same inputs, and lists those whose outcome differs.
///
/// Both sets see today's inventory and grants at each decision's recorded time, so that the
/// list shows what the policy change alone would alter.
pub async fn what_if(svc: &Services, actor: &Actor, id: Uuid) -> Result<WhatIf> {
    actor.require(Role::Admin)?;
    let row = load_version(&svc.pool, Some(id)).await?;
    let draft = compile_stored(&row)?;
    let active = compile_stored(&load_version(&svc.pool, None).await?)?;
    let decisions = sqlx::query!(
        r#"
        select id, decided_at, principal, action, resource, context, allow
        from decisions
        order by decided_at desc, id desc
        limit $1
        "#,
        WHAT_IF_DECISIONS
    )
    .fetch_all(&svc.pool)
    .await?;
    let mut principals: HashMap<String, Option<Arc<PrincipalEntry>>> = HashMap::new();
    let mut targets = HashMap::new();
    let mut replayed = 0;
    let mut changed = Vec::new();
    for decision in decisions {
        let Some(query) = recorded_query(
            &decision.principal,
            &decision.action,
            &decision.resource,
            &decision.context,
        ) else {
            continue;
        };
        if !principals.contains_key(&decision.principal) {
            let entry = load_principal(&svc.pool, &decision.principal).await?;
            principals.insert(decision.principal.clone(), entry.map(Arc::new));
        }
        if !targets.contains_key(&decision.resource) {
            let target = load_target(&svc.pool, &decision.resource).await?;
            targets.insert(decision.resource.clone(), target);
        }
        let (Some(Some(entry)), Some(Some(target))) = (
            principals.get(&decision.principal),
            targets.get(&decision.resource),
        ) else {
            continue;
        };
        let facts = Facts {
            principal: &entry.principal,
            resource: target,
            grants: &entry.grants,
            now: decision.decided_at,
        };
        replayed += 1;
        let before = active.decide(&query, &facts);
        let after = draft.decide(&query, &facts);
        if before.allow != after.allow {
            changed.push(WhatIfChange {
                decision_id: decision.id,
                decided_at: decision.decided_at,
                principal: decision.principal,
                action: decision.action,
                resource: decision.resource,
                recorded_allow: decision.allow,
                active_allow: before.allow,
                draft_allow: after.allow,
                draft_policies: after.policies,
            });
        }
    }
    Ok(WhatIf {
        version: row.version(),
        replayed,
        changed,
    })
}

/// Rebuilds the query of a recorded decision. The recorded context contains the behaviour the
/// server filled in, which callers may not send, so it is taken out and put back after parsing.
fn recorded_query(principal: &str, action: &str, resource: &str, context: &Value) -> Option<Query> {
    let mut context = context.clone();
    let behaviour = context
        .as_object_mut()
        .and_then(|object| object.remove("behaviour"))
        .unwrap_or(Value::Null);
    let mut parsed = Context::from_json(&context).ok()?;
    parsed.behaviour = Behaviour {
        denials_last_hour: behaviour
            .get("denials_last_hour")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        new_country: behaviour
            .get("new_country")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    Some(Query {
        principal: principal.to_owned(),
        action: Action::parse(action)?,
        resource: resource.to_owned(),
        context: parsed,
    })
}
