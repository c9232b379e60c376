//! The append-only, hash-chained audit log.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields, so a
//! changed, removed or reordered row breaks the chain. Appends hold a transaction-scoped advisory
//! lock so that the chain has one order; callers append last in their transaction to keep the
//! lock short.

use app::model::{AuditEvent, AuditFilter, Outcome, Page, Role, Source};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::actor::Actor;
use super::page;
use crate::error::Result;

/// Advisory lock key that serialises appends to the chain.
const CHAIN_LOCK: i64 = 0x5752_4954_4155_4449;

/// The hash that precedes the first entry.
const GENESIS: [u8; 32] = [0; 32];

/// One entry to append.
#[derive(Clone, Debug)]
pub struct Entry {
    pub action: &'static str,
    pub outcome: Outcome,
    pub subject_type: &'static str,
    pub subject_id: String,
    pub reason: String,
    pub details: Value,
}

impl Entry {
    /// Creates an entry for an action that took effect.
    pub fn success(
        action: &'static str,
        subject_type: &'static str,
        subject_id: impl ToString,
    ) -> Self {
        Self {
            action,
            outcome: Outcome::Success,
            subject_type,
            subject_id: subject_id.to_string(),
            reason: String::new(),
            details: json!({}),
        }
    }

    /// Creates an entry for a rejected attempt, with the reason given to the caller.
    pub fn refused(
        action: &'static str,
        subject_type: &'static str,
        subject_id: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            outcome: Outcome::Refused,
            reason: reason.into(),
            ..Self::success(action, subject_type, subject_id)
        }
    }

    /// Sets the reason.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// Sets the details.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Appends `entry` inside the caller's transaction.
pub async fn append(
    conn: &mut PgConnection,
    actor: &Actor,
    at: DateTime<Utc>,
    entry: Entry,
) -> Result<i64> {
    sqlx::query!("select pg_advisory_xact_lock($1)", CHAIN_LOCK)
        .execute(&mut *conn)
        .await?;
    let previous = sqlx::query_scalar!("select hash from audit_events order by seq desc limit 1")
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_else(|| GENESIS.to_vec());
    let fields = ChainFields {
        occurred_at: at,
        actor_id: actor.user_id,
        actor_label: &actor.label,
        action: entry.action,
        outcome: entry.outcome,
        subject_type: entry.subject_type,
        subject_id: &entry.subject_id,
        reason: &entry.reason,
        source: actor.source,
        details: &entry.details,
    };
    let hash = fields.hash(&previous);
    let seq = sqlx::query_scalar!(
        r#"
        insert into audit_events (occurred_at, actor_id, actor_label, action, outcome,
            subject_type, subject_id, reason, source, details, prev_hash, hash)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        returning seq
        "#,
        at,
        actor.user_id,
        actor.label,
        entry.action,
        entry.outcome.as_str(),
        entry.subject_type,
        entry.subject_id,
        entry.reason,
        actor.source.as_str(),
        entry.details,
        previous,
        hash.to_vec(),
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(seq)
}

/// Appends `entries` in order inside the caller's transaction, with one lock and multi-row
/// inserts, for bulk changes such as a CSV import.
pub async fn append_many(
    conn: &mut PgConnection,
    actor: &Actor,
    at: DateTime<Utc>,
    entries: Vec<Entry>,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    sqlx::query!("select pg_advisory_xact_lock($1)", CHAIN_LOCK)
        .execute(&mut *conn)
        .await?;
    let mut previous =
        sqlx::query_scalar!("select hash from audit_events order by seq desc limit 1")
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or_else(|| GENESIS.to_vec());
    for chunk in entries.chunks(5_000) {
        let mut actions = Vec::with_capacity(chunk.len());
        let mut outcomes = Vec::with_capacity(chunk.len());
        let mut subject_types = Vec::with_capacity(chunk.len());
        let mut subject_ids = Vec::with_capacity(chunk.len());
        let mut reasons = Vec::with_capacity(chunk.len());
        let mut details = Vec::with_capacity(chunk.len());
        let mut previous_hashes = Vec::with_capacity(chunk.len());
        let mut hashes = Vec::with_capacity(chunk.len());
        for entry in chunk {
            let fields = ChainFields {
                occurred_at: at,
                actor_id: actor.user_id,
                actor_label: &actor.label,
                action: entry.action,
                outcome: entry.outcome,
                subject_type: entry.subject_type,
                subject_id: &entry.subject_id,
                reason: &entry.reason,
                source: actor.source,
                details: &entry.details,
            };
            let hash = fields.hash(&previous).to_vec();
            actions.push(entry.action.to_owned());
            outcomes.push(entry.outcome.as_str().to_owned());
            subject_types.push(entry.subject_type.to_owned());
            subject_ids.push(entry.subject_id.clone());
            reasons.push(entry.reason.clone());
            details.push(entry.details.clone());
            previous_hashes.push(previous);
            previous = hash.clone();
            hashes.push(hash);
        }
        // Rows are inserted in array order, so their sequence numbers follow the chain.
        sqlx::query!(
            r#"
            insert into audit_events (occurred_at, actor_id, actor_label, action, outcome,
                subject_type, subject_id, reason, source, details, prev_hash, hash)
            select $1, $2, $3, action, outcome, subject_type, subject_id, reason, $4, details,
                prev_hash, hash
            from unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[],
                $11::bytea[], $12::bytea[]) with ordinality
                as t(action, outcome, subject_type, subject_id, reason, details, prev_hash, hash, position)
            order by position
            "#,
            at,
            actor.user_id,
            actor.label,
            actor.source.as_str(),
            &actions,
            &outcomes,
            &subject_types,
            &subject_ids,
            &reasons,
            &details,
            &previous_hashes,
            &hashes,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Appends `entry` in a transaction of its own, for refusals whose main transaction was rolled
/// back. A failure here is logged, not returned, so the caller still sees the original refusal.
pub async fn append_alone(pool: &PgPool, actor: &Actor, at: DateTime<Utc>, entry: Entry) {
    let action = entry.action;
    let result: Result<()> = async {
        let mut tx = pool.begin().await?;
        append(&mut tx, actor, at, entry).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(error) = result {
        tracing::error!(action, error = %error, "cannot write an audit entry");
    }
}

/// The fields a chain hash covers, in a fixed order.
struct ChainFields<'a> {
    occurred_at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor_label: &'a str,
    action: &'a str,
    outcome: Outcome,
    subject_type: &'a str,
    subject_id: &'a str,
    reason: &'a str,
    source: Source,
    details: &'a Value,
}

impl ChainFields<'_> {
    fn hash(&self, previous: &[u8]) -> [u8; 32] {
        // A JSON array gives each field an unambiguous boundary. jsonb reorders object keys, so
        // the details are hashed with their keys sorted, the same before and after storage.
        let canonical = json!([
            self.occurred_at.timestamp_micros(),
            self.actor_id,
            self.actor_label,
            self.action,
            self.outcome.as_str(),
            self.subject_type,
            self.subject_id,
            self.reason,
            self.source.as_str(),
            sorted_keys(self.details),
        ]);
        let mut hasher = Sha256::new();
        hasher.update(previous);
        hasher.update(canonical.to_string().as_bytes());
        hasher.finalize().into()
    }
}

/// Returns `value` with every object's keys in sorted order.
fn sorted_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut sorted = serde_json::Map::new();
            for key in keys {
                sorted.insert(key.clone(), sorted_keys(&map[key]));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

/// Result of checking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    /// Every entry links to the one before it and matches its hash.
    Intact { entries: u64 },
    /// The first entry whose stored hash or link does not match.
    Broken { seq: i64, problem: String },
}

/// Walks the whole chain in order and reports the first break.
pub async fn verify(pool: &PgPool) -> Result<Verification> {
    let mut previous = GENESIS.to_vec();
    let mut after = 0_i64;
    let mut entries = 0_u64;
    loop {
        let rows = sqlx::query!(
            r#"
            select seq, occurred_at, actor_id, actor_label, action,
                outcome as "outcome: Outcome", subject_type, subject_id, reason,
                source as "source: Source", details, prev_hash, hash
            from audit_events where seq > $1 order by seq limit 1000
            "#,
            after
        )
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            return Ok(Verification::Intact { entries });
        }
        for row in rows {
            if row.prev_hash != previous {
                return Ok(Verification::Broken {
                    seq: row.seq,
                    problem: "its previous-hash does not match the entry before it (an entry was removed or reordered)".into(),
                });
            }
            let fields = ChainFields {
                occurred_at: row.occurred_at,
                actor_id: row.actor_id,
                actor_label: &row.actor_label,
                action: &row.action,
                outcome: row.outcome,
                subject_type: &row.subject_type,
                subject_id: &row.subject_id,
                reason: &row.reason,
                source: row.source,
                details: &row.details,
            };
            if fields.hash(&previous).as_slice() != row.hash.as_slice() {
                return Ok(Verification::Broken {
                    seq: row.seq,
                    problem: "its fields do not match its hash (the entry was changed)".into(),
                });
            }
            previous = row.hash;
            after = row.seq;
            entries += 1;
        }
    }
}

/// Lists entries matching `filter`, newest first. Admins and auditors see every entry; others
/// see the entries they caused.
pub async fn list(
    pool: &PgPool,
    actor: &Actor,
    filter: &AuditFilter,
    cursor: Option<&str>,
) -> Result<Page<AuditEvent>> {
    let user_id = actor.user()?;
    let sees_all = actor.has(Role::Admin) || actor.has(Role::Auditor);
    let only_actor = if sees_all {
        filter.actor_id
    } else {
        Some(user_id)
    };
    let before = page::decode::<i64>(cursor)?.unwrap_or(i64::MAX);
    let action = filter.action.as_deref().filter(|action| !action.is_empty());
    let subject_id = filter
        .subject_id
        .as_deref()
        .filter(|subject| !subject.is_empty());
    let rows = sqlx::query_as!(
        AuditEvent,
        r#"
        select seq, occurred_at, actor_id, actor_label, action,
            outcome as "outcome: Outcome", subject_type, subject_id, reason,
            source as "source: Source", details, array[]::text[] as "controls!"
        from audit_events
        where seq < $1
            and ($2::uuid is null or actor_id = $2)
            and ($3::text is null or action = $3)
            and ($4::text is null or subject_id = $4)
            and ($5::text is null or outcome = $5)
        order by seq desc
        limit $6
        "#,
        before,
        only_actor,
        action,
        subject_id,
        filter.outcome.map(Outcome::as_str),
        page::PAGE_SIZE + 1,
    )
    .fetch_all(pool)
    .await?;
    let catalogue = crate::controls::catalogue();
    let rows = rows
        .into_iter()
        .map(|event| AuditEvent {
            controls: catalogue.for_audit(&event.action, event.outcome.as_str(), &event.reason),
            ..event
        })
        .collect();
    Ok(page::split(rows, |event| event.seq))
}

/// Passes `result` through, first recording an `App` error (the caller's mistake or a refusal)
/// as a refused attempt at `action` on the given subject.
pub async fn refusals<T>(
    pool: &PgPool,
    actor: &Actor,
    at: DateTime<Utc>,
    action: &'static str,
    subject_type: &'static str,
    subject_id: impl ToString,
    result: Result<T>,
) -> Result<T> {
    if let Err(crate::error::Error::App(error)) = &result {
        let entry = Entry::refused(action, subject_type, subject_id, error.to_string());
        append_alone(pool, actor, at, entry).await;
    }
    result
}
