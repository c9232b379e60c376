//! The workflow job queue: job kinds and scheduling inside a caller's transaction.

use apalis::prelude::TaskBuilder;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

/// Name of the apalis queue that carries workflow jobs.
pub const QUEUE: &str = "writ-workflow";

/// A job that moves a request or grant along at a given time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum WorkflowJob {
    /// Start a scheduled grant at its `starts_at`.
    ActivateGrant { grant_id: Uuid },
    /// End a grant at its `expires_at`.
    ExpireGrant { grant_id: Uuid },
    /// Expire a pending request at its deadline.
    ExpireRequest { request_id: Uuid },
}

/// Enqueues `job` to run at `run_at` (rounded up to the next whole second), in the caller's
/// transaction so that the job exists exactly when the change that needs it commits.
pub async fn schedule(
    conn: &mut PgConnection,
    job: &WorkflowJob,
    run_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let args = serde_json::to_vec(job)?;
    let mut seconds = run_at.timestamp();
    if run_at.timestamp_subsec_nanos() > 0 {
        seconds += 1;
    }
    let task = TaskBuilder::new(args)
        .run_at_timestamp(seconds.max(0) as u64)
        .max_attempts(10)
        .build();
    apalis_postgres::queries::push_tasks(conn, QUEUE, vec![task]).await?;
    Ok(())
}
