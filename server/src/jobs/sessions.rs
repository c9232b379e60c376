//! The cron job that deletes expired console sessions.

use apalis::prelude::{BoxDynError, Data, Monitor, WorkerBuilder};
use apalis_cron::{CronScheduler, Tick};

use crate::http::session_store;
use crate::services::Services;

/// Adds the session cleanup worker, run at `schedule`, to `monitor`.
pub fn register(monitor: Monitor, svc: Services, schedule: cron::Schedule) -> Monitor {
    monitor.register(move |_restarts| {
        WorkerBuilder::new("writ-session-cleanup")
            .backend(CronScheduler::new(schedule.clone()))
            .data(svc.clone())
            .build(run_cleanup)
    })
}

/// Deletes the sessions that expired by the injected clock's time; returns how many.
pub async fn delete_expired(svc: &Services) -> sqlx::Result<u64> {
    session_store::delete_expired(&svc.pool, svc.now()).await
}

async fn run_cleanup(_tick: Tick, svc: Data<Services>) -> Result<(), BoxDynError> {
    match delete_expired(&svc).await {
        Ok(deleted) => {
            if deleted > 0 {
                tracing::info!(deleted, "deleted expired sessions");
            }
            Ok(())
        }
        Err(error) => {
            tracing::warn!(error = %error, "cannot delete expired sessions; the next run retries");
            Err(Box::new(error))
        }
    }
}
