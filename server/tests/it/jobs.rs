//! The jobs: the real apalis worker, job handlers at a moved clock, and the catch-up sweep.

use std::time::Duration as StdDuration;

use app::model::{Channel, GrantState, RequestState, ReviewDecision, Role};
use chrono::{Duration, Utc};
use server::clock::ManualClock;
use server::domain::{grants, requests, reviews};
use server::jobs::queue::WorkflowJob;
use server::jobs::{sweep, worker};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::harness::TestApp;

/// Files and approves a request for `duration`; returns the request and grant ids.
async fn approve(app: &TestApp, duration: &str) -> (Uuid, Uuid) {
    let approver = app
        .user(
            &format!("approver-{}", Uuid::new_v4().simple()),
            &[Role::Approver],
        )
        .await;
    let requester = app
        .user(
            &format!("requester-{}", Uuid::new_v4().simple()),
            &[Role::Requester],
        )
        .await;
    let resource = app
        .resource(
            &format!("db-{}", Uuid::new_v4().simple()),
            "8h",
            1,
            &[&approver],
        )
        .await;
    let request = app.request(&requester, &resource, duration).await;
    let detail = reviews::review(
        &app.svc,
        &approver,
        request.id,
        ReviewDecision::Approve,
        "",
        Channel::Console,
    )
    .await
    .unwrap();
    (request.id, detail.grant.unwrap().id)
}

async fn grant_state(app: &TestApp, id: Uuid) -> GrantState {
    let mut conn = app.svc.pool.acquire().await.unwrap();
    grants::load(&mut conn, id).await.unwrap().state
}

async fn request_state(app: &TestApp, id: Uuid) -> RequestState {
    let mut conn = app.svc.pool.acquire().await.unwrap();
    requests::load(&mut conn, id).await.unwrap().state
}

#[sqlx::test(migrations = false)]
async fn worker_activates_approved_grant(pool: PgPool) {
    // The apalis worker runs jobs when their real time comes, so this clock follows real time.
    let app = TestApp::with_clock(pool, ManualClock::new(Utc::now())).await;
    let mut listener = PgListener::connect_with(&app.svc.pool).await.unwrap();
    listener.listen("writ_grant_changed").await.unwrap();
    let monitor = worker::monitor(
        app.svc.clone(),
        worker::parse_schedule("0 0 0 1 1 *").unwrap(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(monitor.run_with_signal(async move {
        let _ = stopped.await;
        Ok(())
    }));

    let (_, grant_id) = approve(&app, "1h").await;
    let activated = tokio::time::timeout(StdDuration::from_secs(30), async {
        loop {
            let notification = listener.recv().await.unwrap();
            let change: serde_json::Value = serde_json::from_str(notification.payload()).unwrap();
            if change["id"] == grant_id.to_string() && change["state"] == "active" {
                return;
            }
        }
    })
    .await;

    let _ = stop.send(());
    running.await.unwrap().unwrap();
    assert!(
        activated.is_ok(),
        "the worker did not activate the grant within 30 s"
    );
    assert_eq!(grant_state(&app, grant_id).await, GrantState::Active);
    assert!(app.audited("grant.activated", "success").await);
}

#[sqlx::test(migrations = false)]
async fn approval_schedules_activation_and_expiry_jobs(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, grant_id) = approve(&app, "2h").await;

    let jobs = sqlx::query!(
        r#"select convert_from(job, 'UTF8') as "job!", run_at from apalis.jobs where job_type = 'writ-workflow'"#
    )
    .fetch_all(&app.svc.pool)
    .await
    .unwrap();
    let scheduled: Vec<(WorkflowJob, chrono::DateTime<Utc>)> = jobs
        .into_iter()
        .map(|row| (serde_json::from_str(&row.job).unwrap(), row.run_at))
        .collect();

    let expires = app.now() + Duration::hours(2);
    assert!(
        scheduled.contains(&(WorkflowJob::ActivateGrant { grant_id }, app.now())),
        "{scheduled:?}"
    );
    assert!(
        scheduled.contains(&(WorkflowJob::ExpireGrant { grant_id }, expires)),
        "{scheduled:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn expiry_job_acts_only_once_due(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, grant_id) = approve(&app, "1h").await;
    let activate = WorkflowJob::ActivateGrant { grant_id };
    let expire = WorkflowJob::ExpireGrant { grant_id };
    assert!(worker::perform(&app.svc, &activate).await.unwrap());

    app.advance(Duration::minutes(59));
    assert!(
        !worker::perform(&app.svc, &expire).await.unwrap(),
        "an early run must change nothing"
    );
    assert_eq!(grant_state(&app, grant_id).await, GrantState::Active);

    app.advance(Duration::minutes(1));
    assert!(worker::perform(&app.svc, &expire).await.unwrap());
    assert_eq!(grant_state(&app, grant_id).await, GrantState::Expired);
    assert!(
        !worker::perform(&app.svc, &expire).await.unwrap(),
        "a second run must change nothing"
    );
}

#[sqlx::test(migrations = false)]
async fn extension_outlives_the_old_expiry_job(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (request_id, grant_id) = approve(&app, "1h").await;
    worker::perform(&app.svc, &WorkflowJob::ActivateGrant { grant_id })
        .await
        .unwrap();
    let requester = {
        let mut conn = app.svc.pool.acquire().await.unwrap();
        let request = requests::load(&mut conn, request_id).await.unwrap();
        server::domain::actor::Actor::console(&app.viewer(request.requester_id).await)
    };
    grants::extend(&app.svc, &requester, grant_id, "1h", "more time")
        .await
        .unwrap();

    app.advance(Duration::hours(1));
    assert!(
        !worker::perform(&app.svc, &WorkflowJob::ExpireGrant { grant_id })
            .await
            .unwrap()
    );
    assert_eq!(grant_state(&app, grant_id).await, GrantState::Active);
}

#[sqlx::test(migrations = false)]
async fn request_expiry_job_expires_pending_request(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let request = app.request(&requester, &resource, "1h").await;
    let job = WorkflowJob::ExpireRequest {
        request_id: request.id,
    };

    assert!(!worker::perform(&app.svc, &job).await.unwrap());
    app.advance(Duration::hours(24));
    assert!(worker::perform(&app.svc, &job).await.unwrap());

    assert_eq!(request_state(&app, request.id).await, RequestState::Expired);
    assert!(app.audited("request.expired", "success").await);
}

#[sqlx::test(migrations = false)]
async fn sweep_catches_up_after_downtime(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, ended) = approve(&app, "1h").await;
    let (_, running) = approve(&app, "8h").await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let pending = app.request(&requester, &resource, "1h").await;

    // No worker ran for 25 hours.
    app.advance(Duration::hours(25));
    let report = sweep::run(&app.svc).await.unwrap();

    assert_eq!(report.requests_expired, 1);
    assert_eq!(report.grants_expired, 2);
    assert_eq!(report.failures, 0);
    assert_eq!(grant_state(&app, ended).await, GrantState::Expired);
    assert_eq!(grant_state(&app, running).await, GrantState::Expired);
    assert_eq!(request_state(&app, pending.id).await, RequestState::Expired);
    assert_eq!(
        sweep::run(&app.svc).await.unwrap().changed(),
        0,
        "a second sweep finds nothing"
    );
}

#[sqlx::test(migrations = false)]
async fn sweep_activates_due_grants(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, grant_id) = approve(&app, "2h").await;

    app.advance(Duration::minutes(5));
    let report = sweep::run(&app.svc).await.unwrap();

    assert_eq!(report.grants_activated, 1);
    assert_eq!(grant_state(&app, grant_id).await, GrantState::Active);
}

#[sqlx::test(migrations = false)]
async fn sweep_continues_past_a_failing_item(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, broken) = approve(&app, "1h").await;
    let (_, healthy) = approve(&app, "1h").await;
    // A trigger that fails every update of one grant stands in for a fault on that item.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "create function fail_one() returns trigger language plpgsql as $$ \
         begin if new.id = '{broken}' then raise exception 'injected fault'; end if; return new; end $$; \
         create trigger fail_one before update on grants for each row execute function fail_one();"
    )))
    .execute(&app.svc.pool)
    .await
    .unwrap();

    app.advance(Duration::hours(2));
    let report = sweep::run(&app.svc).await.unwrap();

    assert_eq!(report.failures, 1);
    assert_eq!(report.grants_expired, 1);
    assert_eq!(grant_state(&app, healthy).await, GrantState::Expired);
    assert_eq!(grant_state(&app, broken).await, GrantState::Scheduled);
}
