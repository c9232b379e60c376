//! The apalis monitor: the workflow worker on PostgreSQL storage and the cron-driven sweep.

use std::str::FromStr;
use std::time::Duration;

use apalis::layers::retry::RetryPolicy;
use apalis::prelude::{BackendExt, BoxDynError, Data, Monitor, WorkerBuilder, WorkerBuilderExt};
use apalis_cron::{CronScheduler, Tick};
use apalis_postgres::{Config, PostgresStorage};

use super::notify_queue::{self, NotifyJob};
use super::queue::{QUEUE, WorkflowJob};
use super::sweep;
use super::ticker::Ticker;
use crate::domain::actor::Actor;
use crate::domain::{grants, requests};
use crate::services::Services;

/// How often the worker looks for due jobs. Jobs are scheduled for whole seconds, so a grant's
/// state changes at most about a second and a half after its expiry.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Parses the sweep's cron schedule (with seconds, such as `0 * * * * *`).
pub fn parse_schedule(expression: &str) -> Result<cron::Schedule, String> {
    cron::Schedule::from_str(expression).map_err(|error| {
        format!("invalid cron schedule {expression:?} ({error}); use six fields with seconds, such as \"0 * * * * *\"")
    })
}

/// Returns `base` with an id of this process. The job library registers each queue worker by
/// name in PostgreSQL and refuses a second live worker of the same name, so replicas, and a
/// process restarted before its predecessor's registration timed out, need names of their own.
fn worker_name(base: &str) -> String {
    static INSTANCE: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
    format!("{base}-{}", *INSTANCE)
}

/// Builds the monitor that runs the workflow and notification workers and the periodic sweep.
pub fn monitor(svc: Services, sweep_schedule: cron::Schedule) -> Monitor {
    let worker_svc = svc.clone();
    let notify_svc = svc.clone();
    let sweep_svc = svc;
    Monitor::new()
        .register(move |_restarts| {
            let config = Config::default().queue(QUEUE).batch_size(20);
            let storage = PostgresStorage::<WorkflowJob>::new(&worker_svc.pool)
                .with_config(config)
                .poll_with_strategy(Ticker::new(POLL_INTERVAL));
            WorkerBuilder::new(worker_name("writ-workflow"))
                .backend(storage)
                .retry(RetryPolicy::retries(5))
                .data(worker_svc.clone())
                .build(run_job)
        })
        .register(move |_restarts| {
            let config = Config::default().queue(notify_queue::QUEUE).batch_size(20);
            let storage = PostgresStorage::<NotifyJob>::new(&notify_svc.pool)
                .with_config(config)
                .poll_with_interval(POLL_INTERVAL);
            WorkerBuilder::new(worker_name("writ-notify"))
                .backend(storage)
                .retry(RetryPolicy::retries(3))
                .data(notify_svc.clone())
                .build(crate::notify::deliver::run_job)
        })
        .register(move |_restarts| {
            WorkerBuilder::new("writ-sweep")
                .backend(CronScheduler::new(sweep_schedule.clone()))
                .data(sweep_svc.clone())
                .build(run_sweep)
        })
        .shutdown_timeout(Duration::from_secs(10))
}

/// Runs one workflow job. Each job re-checks the state and the injected clock, so a job that
/// runs late, twice, or after the state moved on changes nothing it should not.
pub async fn run_job(job: WorkflowJob, svc: Data<Services>) -> Result<(), BoxDynError> {
    let actor = Actor::job();
    let result = match &job {
        WorkflowJob::ActivateGrant { grant_id } => grants::activate(&svc, &actor, *grant_id).await,
        WorkflowJob::ExpireGrant { grant_id } => grants::expire(&svc, &actor, *grant_id).await,
        WorkflowJob::ExpireRequest { request_id } => {
            requests::expire(&svc, &actor, *request_id).await
        }
    };
    match result {
        Ok(changed) => {
            tracing::debug!(?job, changed, "ran workflow job");
            Ok(())
        }
        Err(error) => {
            tracing::warn!(?job, error = %error, "workflow job failed; it will be retried");
            Err(Box::new(error))
        }
    }
}

/// Performs `job` at the injected clock's time; returns whether it changed anything.
pub async fn perform(svc: &Services, job: &WorkflowJob) -> crate::error::Result<bool> {
    let actor = Actor::job();
    match job {
        WorkflowJob::ActivateGrant { grant_id } => grants::activate(svc, &actor, *grant_id).await,
        WorkflowJob::ExpireGrant { grant_id } => grants::expire(svc, &actor, *grant_id).await,
        WorkflowJob::ExpireRequest { request_id } => {
            requests::expire(svc, &actor, *request_id).await
        }
    }
}

async fn run_sweep(_tick: Tick, svc: Data<Services>) -> Result<(), BoxDynError> {
    let report = sweep::run(&svc).await?;
    if report.changed() > 0 || report.failures > 0 {
        tracing::info!(?report, "sweep caught up on missed work");
    }
    Ok(())
}
