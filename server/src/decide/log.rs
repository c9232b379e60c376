//! The decision log writer: group commit of decisions in multi-row inserts.
//!
//! Request handlers hand each decision to a channel and, in `durable` mode, wait until the
//! transaction holding it has committed. A few writer tasks take whatever has queued up, up to
//! `MAX_BATCH` decisions, and insert it with one statement, so that concurrent requests share a
//! commit instead of paying one each. In `buffered` mode handlers respond before the commit, and a
//! crash can lose the decisions still queued. `off` records nothing and exists to measure what
//! logging costs.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

/// Most decisions written by one statement.
const MAX_BATCH: usize = 512;
/// Decisions that may wait for a writer before handlers wait for room.
const QUEUE_CAPACITY: usize = 16_384;
/// Writer tasks, so that one batch can be built while another commits.
const WRITERS: usize = 2;

/// When the API responds, relative to the decision's commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogMode {
    /// The response is sent after the decision is committed.
    Durable,
    /// The response is sent when the decision is queued for writing.
    Buffered,
    /// Decisions are not recorded. For measurements only.
    Off,
}

impl FromStr for LogMode {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "durable" => Ok(Self::Durable),
            "buffered" => Ok(Self::Buffered),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "unknown decision log mode {other:?}; use durable, buffered or off"
            )),
        }
    }
}

/// One decision as the log stores it.
#[derive(Clone, Debug)]
pub struct DecisionRecord {
    pub id: Uuid,
    pub decided_at: DateTime<Utc>,
    pub client_id: Option<Uuid>,
    pub client_label: String,
    pub principal: String,
    pub principal_id: Option<Uuid>,
    pub action: String,
    pub resource: String,
    pub resource_id: Option<Uuid>,
    pub context: Value,
    pub allow: bool,
    pub policies: Vec<String>,
    pub errors: Vec<String>,
    pub reason: String,
    pub policy_hash: String,
    pub latency_us: i64,
    pub controls: Vec<String>,
}

struct Queued {
    record: DecisionRecord,
    committed: Option<oneshot::Sender<bool>>,
}

/// The failure to record a decision.
#[derive(Debug, thiserror::Error)]
#[error("the decision log could not record the decision; the decision is denied")]
pub struct LogFailed;

/// The handle request handlers record decisions through.
#[derive(Clone, Debug)]
pub struct DecisionLog {
    mode: LogMode,
    sender: Option<mpsc::Sender<Queued>>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Queued")
            .field("id", &self.record.id)
            .finish()
    }
}

impl DecisionLog {
    /// Starts the writer tasks on the current runtime.
    pub fn start(pool: PgPool, mode: LogMode) -> Self {
        if mode == LogMode::Off {
            tracing::warn!("the decision log is off: decisions are not recorded");
            return Self { mode, sender: None };
        }
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..WRITERS {
            tokio::spawn(run_writer(pool.clone(), receiver.clone()));
        }
        Self {
            mode,
            sender: Some(sender),
        }
    }

    /// Returns the mode the log runs in.
    pub fn mode(&self) -> LogMode {
        self.mode
    }

    /// Records decisions. In durable mode this returns once they are committed.
    pub async fn record(&self, records: Vec<DecisionRecord>) -> Result<(), LogFailed> {
        let Some(sender) = &self.sender else {
            return Ok(());
        };
        let mut waits = Vec::with_capacity(records.len());
        for record in records {
            let committed = if self.mode == LogMode::Durable {
                let (done, wait) = oneshot::channel();
                waits.push(wait);
                Some(done)
            } else {
                None
            };
            sender
                .send(Queued { record, committed })
                .await
                .map_err(|_| LogFailed)?;
        }
        for wait in waits {
            if !wait.await.unwrap_or(false) {
                return Err(LogFailed);
            }
        }
        Ok(())
    }
}

/// Takes batches off the queue and writes them until the queue closes.
///
/// Each writer keeps its own connection rather than taking one from the pool per batch, which
/// saves the pool's liveness check, a round trip, on every batch.
async fn run_writer(pool: PgPool, receiver: Arc<Mutex<mpsc::Receiver<Queued>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut connection: Option<PgConnection> = None;
    loop {
        {
            let mut receiver = receiver.lock().await;
            if receiver.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
        }
        let mut waiting = Vec::with_capacity(batch.len());
        let mut columns = Columns::with_capacity(batch.len());
        for queued in batch.drain(..) {
            columns.push(queued.record);
            waiting.push(queued.committed);
        }
        let count = waiting.len();
        let written = match write(&pool, &mut connection, columns).await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(
                    error = %error,
                    decisions = count,
                    "writing decisions to the log failed"
                );
                // The connection may be broken; the next batch opens a new one.
                connection = None;
                false
            }
        };
        for committed in waiting.into_iter().flatten() {
            // A handler that gave up waiting has dropped its receiver; nothing to tell it.
            let _ = committed.send(written);
        }
    }
}

async fn write(
    pool: &PgPool,
    connection: &mut Option<PgConnection>,
    columns: Columns,
) -> sqlx::Result<()> {
    if connection.is_none() {
        *connection = Some(PgConnection::connect_with(&pool.connect_options()).await?);
    }
    match connection {
        Some(connection) => columns.insert(connection).await,
        None => Ok(()),
    }
}

/// A batch of decisions, one vector per column, as the insert binds them.
#[derive(Default)]
struct Columns {
    ids: Vec<Uuid>,
    times: Vec<DateTime<Utc>>,
    client_ids: Vec<Option<Uuid>>,
    client_labels: Vec<String>,
    principals: Vec<String>,
    principal_ids: Vec<Option<Uuid>>,
    actions: Vec<String>,
    resources: Vec<String>,
    resource_ids: Vec<Option<Uuid>>,
    contexts: Vec<Value>,
    allows: Vec<bool>,
    policies: Vec<Value>,
    errors: Vec<Value>,
    reasons: Vec<String>,
    hashes: Vec<String>,
    latencies: Vec<i64>,
    controls: Vec<Value>,
}

impl Columns {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            ids: Vec::with_capacity(capacity),
            times: Vec::with_capacity(capacity),
            contexts: Vec::with_capacity(capacity),
            ..Self::default()
        }
    }

    fn push(&mut self, record: DecisionRecord) {
        self.ids.push(record.id);
        self.times.push(record.decided_at);
        self.client_ids.push(record.client_id);
        self.client_labels.push(record.client_label);
        self.principals.push(record.principal);
        self.principal_ids.push(record.principal_id);
        self.actions.push(record.action);
        self.resources.push(record.resource);
        self.resource_ids.push(record.resource_id);
        self.contexts.push(record.context);
        self.allows.push(record.allow);
        self.policies.push(Value::from(record.policies));
        self.errors.push(Value::from(record.errors));
        self.reasons.push(record.reason);
        self.hashes.push(record.policy_hash);
        self.latencies.push(record.latency_us);
        self.controls.push(Value::from(record.controls));
    }

    /// Inserts the batch with one statement that unnests an array per column.
    async fn insert(self, connection: &mut PgConnection) -> sqlx::Result<()> {
        sqlx::query(
            r#"
            insert into decisions (
                id, decided_at, client_id, client_label, principal, principal_id, action,
                resource, resource_id, context, allow, policies, errors, reason, policy_hash,
                latency_us, controls
            )
            select * from unnest(
                $1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::uuid[],
                $7::text[], $8::text[], $9::uuid[], $10::jsonb[], $11::boolean[], $12::jsonb[],
                $13::jsonb[], $14::text[], $15::text[], $16::bigint[], $17::jsonb[]
            )
            "#,
        )
        .bind(self.ids)
        .bind(self.times)
        .bind(self.client_ids)
        .bind(self.client_labels)
        .bind(self.principals)
        .bind(self.principal_ids)
        .bind(self.actions)
        .bind(self.resources)
        .bind(self.resource_ids)
        .bind(self.contexts)
        .bind(self.allows)
        .bind(self.policies)
        .bind(self.errors)
        .bind(self.reasons)
        .bind(self.hashes)
        .bind(self.latencies)
        .bind(self.controls)
        .execute(connection)
        .await?;
        Ok(())
    }
}
