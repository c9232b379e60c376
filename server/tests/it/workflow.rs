//! The request workflow's rules: durations, reviews, approvals, grants, cancel, extend, revoke.

use app::error::AppError;
use app::model::{Channel, GrantState, RequestInput, RequestState, ReviewDecision, Role};
use chrono::Duration;
use server::domain::{grants, requests, reviews};
use server::error::Error;
use sqlx::PgPool;

use crate::harness::{TestApp, request_input};

fn app_error<T: std::fmt::Debug>(result: Result<T, Error>) -> AppError {
    match result {
        Err(Error::App(error)) => error,
        other => panic!("expected a caller-facing error, got {other:?}"),
    }
}

#[sqlx::test(migrations = false)]
async fn duration_over_maximum_is_rejected(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;

    let error =
        app_error(requests::create(&app.svc, &requester, &request_input(&resource, "9h")).await);

    assert_eq!(error.field(), Some("duration"));
    assert!(error.to_string().contains("at most 8h"), "{error}");
    assert_eq!(app.count("access_requests").await, 0);
    assert!(app.audited("request.create", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn duration_at_maximum_is_kept_exactly(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;

    let request = app.request(&requester, &resource, "8h").await;

    assert_eq!(request.duration_secs, 8 * 3600);
    assert_eq!(request.state, RequestState::Pending);
    assert!(app.audited("request.created", "success").await);
}

#[sqlx::test(migrations = false)]
async fn request_needs_reason_and_role(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;

    let no_reason = RequestInput {
        reason: "  ".into(),
        ..request_input(&resource, "1h")
    };
    let error = app_error(requests::create(&app.svc, &requester, &no_reason).await);
    assert_eq!(error.field(), Some("reason"));

    let error =
        app_error(requests::create(&app.svc, &approver, &request_input(&resource, "1h")).await);
    assert_eq!(error.status_code(), 403);
    assert_eq!(app.count("access_requests").await, 0);
}

#[sqlx::test(migrations = false)]
async fn pending_deadline_is_separate_from_duration(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;

    let request = app.request(&requester, &resource, "30m").await;

    assert_eq!(request.pending_deadline, app.now() + Duration::hours(24));
}

#[sqlx::test(migrations = false)]
async fn requester_cannot_review_own_request(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // Holds both roles and is named as an approver of the resource.
    let both = app.user("dana", &[Role::Requester, Role::Approver]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&both]).await;
    let request = app.request(&both, &resource, "1h").await;

    for decision in [ReviewDecision::Approve, ReviewDecision::Deny] {
        let error = app_error(
            reviews::review(&app.svc, &both, request.id, decision, "", Channel::Console).await,
        );
        assert_eq!(error.status_code(), 403);
    }

    let mut conn = app.svc.pool.acquire().await.unwrap();
    assert_eq!(
        requests::load(&mut conn, request.id).await.unwrap().state,
        RequestState::Pending
    );
    assert_eq!(app.count("reviews").await, 0);
    assert!(app.audited("request.self_review_blocked", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn only_named_approvers_may_review(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let other_approver = app.user("eve", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let request = app.request(&requester, &resource, "1h").await;

    let error = app_error(
        reviews::review(
            &app.svc,
            &other_approver,
            request.id,
            ReviewDecision::Approve,
            "",
            Channel::Console,
        )
        .await,
    );

    assert_eq!(error.status_code(), 403);
    assert_eq!(app.count("reviews").await, 0);
    assert!(app.audited("request.review", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn deny_ends_the_request(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let first = app.user("bea", &[Role::Approver]).await;
    let second = app.user("fay", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 2, &[&first, &second]).await;
    let request = app.request(&requester, &resource, "1h").await;

    let detail = reviews::review(
        &app.svc,
        &first,
        request.id,
        ReviewDecision::Deny,
        "not this week",
        Channel::Console,
    )
    .await
    .unwrap();
    assert_eq!(detail.request.state, RequestState::Denied);
    assert!(detail.grant.is_none());

    let error = app_error(
        reviews::review(
            &app.svc,
            &second,
            request.id,
            ReviewDecision::Approve,
            "",
            Channel::Console,
        )
        .await,
    );
    assert_eq!(error.status_code(), 409);
    assert_eq!(app.count("grants").await, 0);
}

#[sqlx::test(migrations = false)]
async fn required_approvals_come_from_distinct_approvers(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let first = app.user("bea", &[Role::Approver]).await;
    let second = app.user("fay", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 2, &[&first, &second]).await;
    let request = app.request(&requester, &resource, "1h").await;

    let after_one = reviews::review(
        &app.svc,
        &first,
        request.id,
        ReviewDecision::Approve,
        "",
        Channel::Console,
    )
    .await
    .unwrap();
    assert_eq!(after_one.request.state, RequestState::Pending);
    assert_eq!(after_one.request.approvals, 1);

    let repeat = app_error(
        reviews::review(
            &app.svc,
            &first,
            request.id,
            ReviewDecision::Approve,
            "",
            Channel::Console,
        )
        .await,
    );
    assert_eq!(repeat.status_code(), 409);

    let after_two = reviews::review(
        &app.svc,
        &second,
        request.id,
        ReviewDecision::Approve,
        "",
        Channel::Console,
    )
    .await
    .unwrap();
    assert_eq!(after_two.request.state, RequestState::Approved);
    assert_eq!(
        after_two.grant.map(|grant| grant.state),
        Some(GrantState::Scheduled)
    );
}

#[sqlx::test(migrations = false)]
async fn approvals_of_approvers_who_lost_the_role_do_not_count(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let first = app.user("bea", &[Role::Approver]).await;
    let second = app.user("fay", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 2, &[&first, &second]).await;
    let request = app.request(&requester, &resource, "1h").await;
    reviews::review(
        &app.svc,
        &first,
        request.id,
        ReviewDecision::Approve,
        "",
        Channel::Console,
    )
    .await
    .unwrap();

    sqlx::query!(
        "update users set roles = '{}' where id = $1",
        first.user_id.unwrap()
    )
    .execute(&app.svc.pool)
    .await
    .unwrap();
    let detail = reviews::review(
        &app.svc,
        &second,
        request.id,
        ReviewDecision::Approve,
        "",
        Channel::Console,
    )
    .await
    .unwrap();

    assert_eq!(detail.request.state, RequestState::Pending);
}

#[sqlx::test(migrations = false)]
async fn concurrent_approve_and_deny_end_in_one_outcome(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let first = app.user("bea", &[Role::Approver]).await;
    let second = app.user("fay", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&first, &second]).await;

    for _ in 0..10 {
        let request = app.request(&requester, &resource, "1h").await;
        let (approve, deny) = tokio::join!(
            reviews::review(
                &app.svc,
                &first,
                request.id,
                ReviewDecision::Approve,
                "",
                Channel::Console
            ),
            reviews::review(
                &app.svc,
                &second,
                request.id,
                ReviewDecision::Deny,
                "",
                Channel::Console
            ),
        );
        assert_ne!(approve.is_ok(), deny.is_ok(), "exactly one review must win");
        let mut conn = app.svc.pool.acquire().await.unwrap();
        let state = requests::load(&mut conn, request.id).await.unwrap().state;
        let grant = grants::for_request(&mut conn, request.id).await.unwrap();
        if approve.is_ok() {
            assert_eq!(state, RequestState::Approved);
            assert!(grant.is_some());
        } else {
            assert_eq!(state, RequestState::Denied);
            assert!(grant.is_none());
        }
    }
}

#[sqlx::test(migrations = false)]
async fn grant_clock_starts_at_approval(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let request = app.request(&requester, &resource, "2h").await;

    app.advance(Duration::minutes(45));
    let approved_at = app.now();
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

    let grant = detail.grant.expect("grant is created");
    assert_eq!(grant.starts_at, approved_at);
    assert_eq!(grant.expires_at, approved_at + Duration::hours(2));
}

#[sqlx::test(migrations = false)]
async fn grant_clock_starts_at_later_scheduled_start(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let start = app.now() + Duration::hours(3);
    let input = RequestInput {
        scheduled_start: start.to_rfc3339(),
        ..request_input(&resource, "1h")
    };
    let request = requests::create(&app.svc, &requester, &input)
        .await
        .unwrap();

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

    let grant = detail.grant.expect("grant is created");
    assert_eq!(grant.starts_at, start);
    assert_eq!(grant.expires_at, start + Duration::hours(1));
}

#[sqlx::test(migrations = false)]
async fn review_after_deadline_expires_the_request(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let request = app.request(&requester, &resource, "1h").await;

    app.advance(Duration::hours(24));
    let error = app_error(
        reviews::review(
            &app.svc,
            &approver,
            request.id,
            ReviewDecision::Approve,
            "",
            Channel::Console,
        )
        .await,
    );

    assert_eq!(error.status_code(), 409);
    let mut conn = app.svc.pool.acquire().await.unwrap();
    assert_eq!(
        requests::load(&mut conn, request.id).await.unwrap().state,
        RequestState::Expired
    );
    assert_eq!(app.count("grants").await, 0);
}

#[sqlx::test(migrations = false)]
async fn only_requester_cancels_pending_request(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let request = app.request(&requester, &resource, "1h").await;

    let error = app_error(requests::cancel(&app.svc, &approver, request.id).await);
    assert_eq!(error.status_code(), 403);

    let cancelled = requests::cancel(&app.svc, &requester, request.id)
        .await
        .unwrap();
    assert_eq!(cancelled.state, RequestState::Cancelled);

    let again = app_error(requests::cancel(&app.svc, &requester, request.id).await);
    assert_eq!(again.status_code(), 409);
    let late = app_error(
        reviews::review(
            &app.svc,
            &approver,
            request.id,
            ReviewDecision::Approve,
            "",
            Channel::Console,
        )
        .await,
    );
    assert_eq!(late.status_code(), 409);
}

#[sqlx::test(migrations = false)]
async fn subject_must_be_self_or_owned(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let stranger = app.user("gus", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let owned = app
        .service_account("billing-exporter", Some(&requester))
        .await;
    let foreign = app.service_account("search-indexer", Some(&stranger)).await;

    let mine = RequestInput {
        subject_id: owned.id.to_string(),
        ..request_input(&resource, "1h")
    };
    let request = requests::create(&app.svc, &requester, &mine).await.unwrap();
    assert_eq!(request.subject_id, owned.id);

    for subject in [foreign.id, stranger.identity_id.unwrap()] {
        let input = RequestInput {
            subject_id: subject.to_string(),
            ..request_input(&resource, "1h")
        };
        let error = app_error(requests::create(&app.svc, &requester, &input).await);
        assert_eq!(error.field(), Some("subject_id"));
    }
}

#[sqlx::test(migrations = false)]
async fn requesters_list_limits_who_may_request(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let allowed = app.user("carl", &[Role::Requester]).await;
    let other = app.user("gus", &[Role::Requester]).await;
    let mut resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let input = app::model::ResourceInput {
        name: resource.name.clone(),
        target: resource.target.clone(),
        role: resource.role.clone(),
        sensitivity: "high".into(),
        max_duration: "8h".into(),
        required_approvals: "1".into(),
        requesters: vec![format!("user:{}", allowed.user_id.unwrap())],
        approvers: vec![format!("user:{}", approver.user_id.unwrap())],
        ..Default::default()
    };
    resource = server::domain::resources::update(
        &app.svc.pool,
        &app.admin,
        app.now(),
        resource.id,
        &input,
    )
    .await
    .unwrap();

    assert!(
        requests::create(&app.svc, &allowed, &request_input(&resource, "1h"))
            .await
            .is_ok()
    );
    let error =
        app_error(requests::create(&app.svc, &other, &request_input(&resource, "1h")).await);
    assert_eq!(error.status_code(), 403);
}

/// Approves a fresh 2-hour request on an 8-hour resource and returns the grant id.
async fn approved_grant(
    app: &TestApp,
) -> (
    uuid::Uuid,
    server::domain::actor::Actor,
    server::domain::actor::Actor,
) {
    let approver = app.user("bea", &[Role::Approver]).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let request = app.request(&requester, &resource, "2h").await;
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
    (detail.grant.unwrap().id, requester, approver)
}

#[sqlx::test(migrations = false)]
async fn extension_stays_within_maximum_from_first_start(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (grant_id, requester, _) = approved_grant(&app).await;
    let started = app.now();

    let extended = grants::extend(&app.svc, &requester, grant_id, "4h", "migration runs long")
        .await
        .unwrap();
    assert_eq!(extended.expires_at, started + Duration::hours(6));
    assert_eq!(extended.extensions, 1);

    app.advance(Duration::hours(1));
    let error = app_error(grants::extend(&app.svc, &requester, grant_id, "3h", "more").await);
    assert_eq!(error.field(), Some("by"));
    assert!(error.to_string().contains("at most 2h"), "{error}");

    let last = grants::extend(&app.svc, &requester, grant_id, "2h", "last stretch")
        .await
        .unwrap();
    assert_eq!(last.expires_at, started + Duration::hours(8));
    assert!(app.audited("grant.extend", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn only_requester_extends(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (grant_id, _, approver) = approved_grant(&app).await;

    let error = app_error(grants::extend(&app.svc, &approver, grant_id, "1h", "help").await);

    assert_eq!(error.status_code(), 403);
}

#[sqlx::test(migrations = false)]
async fn expired_grant_cannot_be_extended(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (grant_id, requester, _) = approved_grant(&app).await;

    app.advance(Duration::hours(2));
    let error = app_error(grants::extend(&app.svc, &requester, grant_id, "1h", "late").await);

    assert_eq!(error.status_code(), 409);
}

#[sqlx::test(migrations = false)]
async fn requester_and_admin_may_revoke(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (grant_id, requester, approver) = approved_grant(&app).await;

    let error = app_error(grants::revoke(&app.svc, &approver, grant_id, "not mine").await);
    assert_eq!(error.status_code(), 403);

    let revoked = grants::revoke(&app.svc, &requester, grant_id, "done early")
        .await
        .unwrap();
    assert_eq!(revoked.state, GrantState::Revoked);
    assert_eq!(revoked.ended_at, Some(app.now()));

    let again = app_error(grants::revoke(&app.svc, &app.admin, grant_id, "again").await);
    assert_eq!(again.status_code(), 409);
}

#[sqlx::test(migrations = false)]
async fn admin_revocation_is_marked(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (grant_id, _, _) = approved_grant(&app).await;

    let revoked = grants::revoke(&app.svc, &app.admin, grant_id, "incident 42")
        .await
        .unwrap();

    assert_eq!(revoked.state, GrantState::Revoked);
    assert!(app.audited("grant.revoked_by_admin", "success").await);
}

#[sqlx::test(migrations = false)]
async fn every_state_change_is_audited(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (grant_id, requester, _) = approved_grant(&app).await;
    grants::revoke(&app.svc, &requester, grant_id, "done")
        .await
        .unwrap();

    let actions: Vec<String> = app
        .audit_log()
        .await
        .into_iter()
        .map(|(action, _)| action)
        .collect();

    for expected in [
        "resource.created",
        "request.created",
        "request.approved",
        "grant.revoked",
    ] {
        assert!(
            actions.iter().any(|action| action == expected),
            "{expected} missing from {actions:?}"
        );
    }
}

#[sqlx::test(migrations = false)]
async fn audit_chain_detects_tampering(pool: PgPool) {
    let app = TestApp::new(pool).await;
    approved_grant(&app).await;
    let intact = server::domain::audit::verify(&app.svc.pool).await.unwrap();
    // The default policy set's activation at migration, then three entries of the workflow.
    assert!(
        matches!(
            intact,
            server::domain::audit::Verification::Intact { entries: 4 }
        ),
        "{intact:?}"
    );

    let refused = sqlx::query("update audit_events set reason = 'edited' where seq = 2")
        .execute(&app.svc.pool)
        .await;
    assert!(
        refused.is_err(),
        "the append-only trigger must reject updates"
    );

    // A superuser can bypass the trigger; the chain still shows the edit.
    sqlx::query("alter table audit_events disable trigger audit_events_append_only")
        .execute(&app.svc.pool)
        .await
        .unwrap();
    sqlx::query("update audit_events set reason = 'edited' where seq = 2")
        .execute(&app.svc.pool)
        .await
        .unwrap();
    let broken = server::domain::audit::verify(&app.svc.pool).await.unwrap();
    assert!(
        matches!(
            broken,
            server::domain::audit::Verification::Broken { seq: 2, .. }
        ),
        "{broken:?}"
    );
}
