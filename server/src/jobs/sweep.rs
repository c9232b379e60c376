//! The catch-up sweep: finds everything a job should have done by now (after downtime or a
//! crash) and does it. One failing item is logged and counted; the rest still run.

use app::model::GrantState;
use uuid::Uuid;

use crate::domain::actor::Actor;
use crate::domain::{grants, requests};
use crate::services::Services;

/// Most items of each kind one sweep handles; the next sweep continues.
const BATCH: i64 = 1000;

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub requests_expired: u64,
    pub grants_activated: u64,
    pub grants_expired: u64,
    pub failures: u64,
}

impl SweepReport {
    /// How many items changed state.
    pub fn changed(&self) -> u64 {
        self.requests_expired + self.grants_activated + self.grants_expired
    }
}

/// Runs one sweep at the injected clock's current time.
pub async fn run(svc: &Services) -> anyhow::Result<SweepReport> {
    let now = svc.now();
    let actor = Actor::job();
    let mut report = SweepReport::default();

    let due_requests = sqlx::query_scalar!(
        r#"
        select id from access_requests
        where state = 'pending' and pending_deadline <= $1
        order by pending_deadline limit $2
        "#,
        now,
        BATCH
    )
    .fetch_all(&svc.pool)
    .await?;
    for id in due_requests {
        tally(
            requests::expire(svc, &actor, id).await,
            "expire request",
            id,
            &mut report.requests_expired,
            &mut report.failures,
        );
    }

    // Expiry first: a grant whose whole window has passed goes straight to expired.
    let due_grants = sqlx::query!(
        r#"
        select id, state as "state: GrantState", expires_at <= $1 as "ended!" from grants
        where (state in ('scheduled', 'active', 'suspended') and expires_at <= $1)
            or (state = 'scheduled' and starts_at <= $1)
        order by starts_at limit $2
        "#,
        now,
        BATCH
    )
    .fetch_all(&svc.pool)
    .await?;
    for grant in due_grants {
        if grant.ended {
            tally(
                grants::expire(svc, &actor, grant.id).await,
                "expire grant",
                grant.id,
                &mut report.grants_expired,
                &mut report.failures,
            );
        } else if grant.state == GrantState::Scheduled {
            tally(
                grants::activate(svc, &actor, grant.id).await,
                "activate grant",
                grant.id,
                &mut report.grants_activated,
                &mut report.failures,
            );
        }
    }
    Ok(report)
}

fn tally(
    result: crate::error::Result<bool>,
    what: &str,
    id: Uuid,
    changed: &mut u64,
    failures: &mut u64,
) {
    match result {
        Ok(true) => *changed += 1,
        Ok(false) => {}
        Err(error) => {
            *failures += 1;
            tracing::error!(%id, error = %error, "sweep could not {what}");
        }
    }
}
