//! The decision log writer: group commit of decisions with binary `COPY`.
//!
//! Request handlers hand each decision to a channel and, in `durable` mode, wait until the
//! transaction holding it has committed. One writer task takes whatever has queued up, up to
//! `MAX_BATCH` decisions, and writes it with one `COPY` statement, so that concurrent requests
//! share a commit instead of paying one each. While one batch commits the next one gathers, so
//! batches grow with the load and each commit's cost is shared by more decisions. In `buffered` mode handlers respond before the commit, and a
//! crash can lose the decisions still queued. `off` records nothing and exists to measure what
//! logging costs.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use policy::{Action, Context};
use sqlx::error::BoxDynError;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::copy::CopyRows;

/// Most decisions written by one statement.
const MAX_BATCH: usize = 512;
/// Decisions that may wait for the writer before handlers wait for room.
const QUEUE_CAPACITY: usize = 16_384;

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
    pub action: Action,
    pub resource: String,
    pub resource_id: Option<Uuid>,
    /// The context as evaluated, stored as [`Context::to_json`].
    pub context: Context,
    pub allow: bool,
    pub policies: Vec<String>,
    pub errors: Vec<String>,
    pub reason: String,
    pub policy_hash: String,
    pub latency_us: i64,
    pub controls: &'static [String],
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
        tokio::spawn(run_writer(pool, receiver));
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
/// The writer keeps its own connection rather than taking one from the pool per batch, which
/// saves the pool's liveness check, a round trip, on every batch.
async fn run_writer(pool: PgPool, mut receiver: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut connection: Option<PgConnection> = None;
    loop {
        if receiver.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let mut waiting = Vec::with_capacity(batch.len());
        let mut rows = CopyRows::with_capacity(batch.len() * ROW_BYTES);
        let mut encoded = Ok(());
        for queued in batch.drain(..) {
            if encoded.is_ok() {
                encoded = encode(&mut rows, &queued.record);
            }
            waiting.push(queued.committed);
        }
        let count = waiting.len();
        let result = match encoded {
            Ok(()) => write(&pool, &mut connection, rows.finish()).await,
            Err(error) => Err(sqlx::Error::Encode(error)),
        };
        let written = match result {
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
    rows: Vec<u8>,
) -> sqlx::Result<()> {
    if connection.is_none() {
        *connection = Some(PgConnection::connect_with(&pool.connect_options()).await?);
    }
    let Some(connection) = connection else {
        return Ok(());
    };
    // Outside a transaction block the statement commits on its own when the copy ends.
    let mut copy = connection.copy_in_raw(COPY_STATEMENT).await?;
    copy.send(rows).await?;
    copy.finish().await?;
    Ok(())
}

/// The columns [`encode`] writes, in its order.
const COPY_STATEMENT: &str = "copy decisions (
        id, decided_at, client_id, client_label, principal, principal_id, action, resource,
        resource_id, context, allow, policies, errors, reason, policy_hash, latency_us, controls
    ) from stdin (format binary)";
/// The number of columns in [`COPY_STATEMENT`].
const COLUMNS: i16 = 17;
/// A typical decision's size in the copy payload, to size its buffer.
const ROW_BYTES: usize = 768;

/// Appends one decision as a row of [`COPY_STATEMENT`].
fn encode(rows: &mut CopyRows, record: &DecisionRecord) -> Result<(), BoxDynError> {
    rows.row(COLUMNS);
    rows.value(&record.id)?;
    rows.value(&record.decided_at)?;
    rows.value(&record.client_id)?;
    rows.value(&record.client_label)?;
    rows.value(&record.principal)?;
    rows.value(&record.principal_id)?;
    rows.value(&record.action.as_str())?;
    rows.value(&record.resource)?;
    rows.value(&record.resource_id)?;
    rows.json(|out| record.context.write_json(out))?;
    rows.value(&record.allow)?;
    rows.jsonb(&record.policies)?;
    rows.jsonb(&record.errors)?;
    rows.value(&record.reason)?;
    rows.value(&record.policy_hash)?;
    rows.value(&record.latency_us)?;
    rows.jsonb(record.controls)?;
    Ok(())
}
