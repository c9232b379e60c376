//! The notification job queue: sending deliveries and the "access ends soon" check.

use apalis::prelude::TaskBuilder;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

/// Name of the apalis queue that carries notification jobs.
pub const QUEUE: &str = "writ-notify";

/// A notification job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum NotifyJob {
    /// Make one attempt at a delivery; a failed attempt schedules the next one itself.
    Deliver { delivery_id: Uuid },
    /// Tell a grant's holder that it ends soon.
    GrantExpiring { grant_id: Uuid },
}

/// Enqueues `job` to run at `run_at` (rounded up to the next whole second), in the caller's
/// transaction.
pub async fn schedule(
    conn: &mut PgConnection,
    job: &NotifyJob,
    run_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let args = serde_json::to_vec(job)?;
    let mut seconds = run_at.timestamp();
    if run_at.timestamp_subsec_nanos() > 0 {
        seconds += 1;
    }
    // Delivery failures are retried by `deliver::attempt` with its own backoff; apalis retries
    // only jobs that failed on an internal error such as a lost database connection.
    let task = TaskBuilder::new(args)
        .run_at_timestamp(seconds.max(0) as u64)
        .max_attempts(5)
        .build();
    apalis_postgres::queries::push_tasks(conn, QUEUE, vec![task]).await?;
    Ok(())
}
