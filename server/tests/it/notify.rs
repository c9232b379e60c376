//! Notifications by e-mail: deliveries recorded with the change, the mail a real SMTP server
//! receives, retries while the server is down, failures that are visible and audited, and the
//! real job worker.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use app::model::{Channel, RequestState, ReviewDecision, Role};
use chrono::{Duration, Utc};
use server::clock::ManualClock;
use server::domain::actor::Actor;
use server::domain::{requests, reviews};
use server::jobs::worker;
use server::notify::config::{NotifySettings, SlackSettings, SmtpSettings, SmtpTls};
use server::notify::deliver::{self, Attempt};
use server::services::Settings;
use sqlx::PgPool;
use uuid::Uuid;

use crate::harness::{TestApp, request_input};
use crate::loopback::{SlackStub, SmtpSink, closed_port};

/// Notification settings that send e-mail to `smtp_port` on loopback and, when given, use the
/// Slack stand-in.
pub fn settings(smtp_port: Option<u16>, slack: Option<&SlackStub>) -> NotifySettings {
    NotifySettings {
        smtp: smtp_port.map(|port| SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            credentials: None,
            from: "Writ <writ@example.test>".parse().unwrap(),
            timeout: StdDuration::from_secs(5),
        }),
        slack: slack.map(|stub| SlackSettings {
            api_url: stub.api_url(),
            bot_token: Some("xoxb-test-token".into()),
            webhook_url: None,
            signing_secret: Some("slack-signing-secret".into()),
            direct_messages: false,
        }),
        link_only_max: None,
        retry_delay: StdDuration::from_secs(30),
        max_attempts: 4,
    }
}

/// Replaces the app's notification settings.
pub fn use_settings(app: &mut TestApp, notify: NotifySettings) {
    app.svc.settings = Arc::new(Settings {
        notify,
        ..(*app.svc.settings).clone()
    });
}

/// Gives `actor` an e-mail address.
pub async fn set_email(app: &TestApp, actor: &Actor, email: &str) {
    sqlx::query("update users set email = $2 where id = $1")
        .bind(actor.user_id.unwrap())
        .bind(email)
        .execute(&app.svc.pool)
        .await
        .unwrap();
}

/// Returns the ids of pending deliveries, oldest first.
pub async fn pending(app: &TestApp) -> Vec<Uuid> {
    sqlx::query_scalar(
        "select id from notification_deliveries where state = 'pending' order by created_at, id",
    )
    .fetch_all(&app.svc.pool)
    .await
    .unwrap()
}

/// Makes one attempt at every pending delivery and returns the outcomes.
pub async fn deliver_all(app: &TestApp) -> Vec<Attempt> {
    let mut outcomes = Vec::new();
    for id in pending(app).await {
        outcomes.push(deliver::attempt(&app.svc, id).await.unwrap());
    }
    outcomes
}

/// Returns `(channel, destination, state)` of every delivery, by channel and destination.
pub async fn deliveries(app: &TestApp) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "select channel, destination, state from notification_deliveries order by channel, destination, created_at",
    )
    .fetch_all(&app.svc.pool)
    .await
    .unwrap()
}

/// A requester, an approver (with e-mail), and a resource they approve.
pub struct Cast {
    pub requester: Actor,
    pub approver: Actor,
    pub resource: app::model::Resource,
}

/// Creates the usual cast: `carl` requests, `arno` approves `prod-db`.
pub async fn cast(app: &TestApp) -> Cast {
    let approver = app.user("arno", &[Role::Approver]).await;
    set_email(app, &approver, "arno@example.test").await;
    let requester = app.user("carl", &[Role::Requester]).await;
    set_email(app, &requester, "carl@example.test").await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    Cast {
        requester,
        approver,
        resource,
    }
}

#[sqlx::test(migrations = false)]
async fn no_channel_means_no_deliveries(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let cast = cast(&app).await;

    app.request(&cast.requester, &cast.resource, "1h").await;

    assert_eq!(app.count("notification_deliveries").await, 0);
}

#[sqlx::test(migrations = false)]
async fn request_mail_reaches_approver(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let mut smtp = SmtpSink::start();
    use_settings(&mut app, settings(Some(smtp.port), None));
    let cast = cast(&app).await;
    // A name with a line break tries to add a header to the subject line.
    sqlx::query("update resources set name = $2 where id = $1")
        .bind(cast.resource.id)
        .bind("prod-db\r\nBcc: victim@example.test")
        .execute(&app.svc.pool)
        .await
        .unwrap();
    let input = app::model::RequestInput {
        reason: "Fix <b>billing</b> & \"exports\"".into(),
        ..request_input(&cast.resource, "2h")
    };
    let request = requests::create(&app.svc, &cast.requester, &input)
        .await
        .unwrap();

    // Recorded with the request, sent later: only the approver, never the requester.
    assert_eq!(
        deliveries(&app).await,
        vec![("email".into(), "arno@example.test".into(), "pending".into())]
    );
    assert_eq!(deliver_all(&app).await, vec![Attempt::Sent]);

    let mail = smtp.next().await;
    assert_eq!(mail.envelope_to, vec!["arno@example.test".to_owned()]);
    assert_eq!(mail.to, "arno@example.test");
    assert_eq!(
        mail.subject,
        "Approval needed: prod-db  Bcc: victim@example.test for carl"
    );
    let headers = mail.raw.split("\r\n\r\n").next().unwrap().to_lowercase();
    assert!(!headers.contains("\nbcc:"), "{headers}");
    assert!(mail.text.contains("Requester: carl"), "{}", mail.text);
    assert!(mail.text.contains("Duration: 2h"), "{}", mail.text);
    assert!(mail.text.contains("Ticket: OPS-1"), "{}", mail.text);
    assert!(mail.text.contains("Fix <b>billing</b>"), "{}", mail.text);
    assert!(
        mail.html
            .contains("Fix &#60;b&#62;billing&#60;/b&#62; &#38; &#34;exports&#34;"),
        "{}",
        mail.html
    );
    assert!(!mail.html.contains("<b>billing"));
    let approve = mail.link("/approve?token=");
    assert!(
        approve.starts_with("http://127.0.0.1:3000/approve?token="),
        "{approve}"
    );
    assert!(approve.ends_with("&decision=approve"), "{approve}");
    assert!(mail.text.contains(&format!("/requests/{}", request.id)));
    assert!(smtp.try_next().is_none(), "one approver gets one mail");
    assert_eq!(app.count("approval_links").await, 1);
}

#[sqlx::test(migrations = false)]
async fn decision_mail_reaches_requester_and_other_approvers(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let mut smtp = SmtpSink::start();
    use_settings(&mut app, settings(Some(smtp.port), None));
    let cast = cast(&app).await;
    let second = app.user("bea", &[Role::Approver]).await;
    set_email(&app, &second, "bea@example.test").await;
    let resource = app
        .resource("billing", "8h", 1, &[&cast.approver, &second])
        .await;
    let request = app.request(&cast.requester, &resource, "1h").await;
    deliver_all(&app).await;
    let mut first_round = vec![smtp.next().await.to, smtp.next().await.to];
    first_round.sort();
    assert_eq!(first_round, vec!["arno@example.test", "bea@example.test"]);

    reviews::review(
        &app.svc,
        &cast.approver,
        request.id,
        ReviewDecision::Deny,
        "",
        Channel::Console,
    )
    .await
    .unwrap();
    deliver_all(&app).await;

    let mut told = [smtp.next().await, smtp.next().await];
    told.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(told[0].to, "bea@example.test");
    assert_eq!(told[1].to, "carl@example.test");
    assert_eq!(told[1].subject, "Denied: billing for carl");
    assert!(
        smtp.try_next().is_none(),
        "the approver who denied is not told"
    );
}

#[sqlx::test(migrations = false)]
async fn smtp_down_then_back_delivers(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let port = closed_port();
    use_settings(&mut app, settings(Some(port), None));
    let cast = cast(&app).await;

    let request = app.request(&cast.requester, &cast.resource, "1h").await;
    assert_eq!(request.state, RequestState::Pending);

    let outcomes = deliver_all(&app).await;
    let Attempt::Retrying { next_at, .. } = &outcomes[0] else {
        panic!("expected a retry, got {outcomes:?}");
    };
    assert_eq!(*next_at, app.now() + Duration::seconds(30));
    let row: (String, i32, Option<String>) =
        sqlx::query_as("select state, attempts, last_error from notification_deliveries")
            .fetch_one(&app.svc.pool)
            .await
            .unwrap();
    assert_eq!(row.0, "pending");
    assert_eq!(row.1, 1);
    assert!(row.2.unwrap().contains(&format!("127.0.0.1:{port}")));

    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let mut smtp = SmtpSink::start_on(listener);
    let id = pending(&app).await[0];
    assert_eq!(
        deliver::attempt(&app.svc, id).await.unwrap(),
        Attempt::NotDue
    );

    app.advance(Duration::seconds(30));
    assert_eq!(deliver::attempt(&app.svc, id).await.unwrap(), Attempt::Sent);
    assert_eq!(smtp.next().await.to, "arno@example.test");
    assert!(!app.audited("notification.delivery_failed", "failed").await);
}

#[sqlx::test(migrations = false)]
async fn failing_delivery_is_visible_and_audited(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    use_settings(
        &mut app,
        NotifySettings {
            max_attempts: 2,
            ..settings(Some(closed_port()), None)
        },
    );
    let cast = cast(&app).await;
    let request = app.request(&cast.requester, &cast.resource, "1h").await;
    let id = pending(&app).await[0];

    assert!(matches!(
        deliver::attempt(&app.svc, id).await.unwrap(),
        Attempt::Retrying { .. }
    ));
    app.advance(Duration::seconds(30));
    assert!(matches!(
        deliver::attempt(&app.svc, id).await.unwrap(),
        Attempt::Failed { .. }
    ));

    assert!(app.audited("notification.delivery_failed", "failed").await);
    let overview = server::domain::notifications::overview(&app.svc, &app.admin, true)
        .await
        .unwrap();
    assert_eq!(overview.deliveries.len(), 1);
    assert_eq!(overview.deliveries[0].state, "failed");
    assert_eq!(overview.deliveries[0].attempts, 2);
    // The request stays actionable in the console.
    let detail = reviews::review(
        &app.svc,
        &cast.approver,
        request.id,
        ReviewDecision::Approve,
        "",
        Channel::Console,
    )
    .await
    .unwrap();
    assert_eq!(detail.request.state, RequestState::Approved);

    // An admin may send it again.
    server::domain::notifications::retry(&app.svc, &app.admin, id)
        .await
        .unwrap();
    assert!(pending(&app).await.contains(&id));
    assert!(app.audited("notification.retried", "success").await);
}

#[sqlx::test(migrations = false)]
async fn stale_request_mail_is_skipped(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let mut smtp = SmtpSink::start();
    use_settings(&mut app, settings(Some(smtp.port), None));
    let cast = cast(&app).await;
    let request = app.request(&cast.requester, &cast.resource, "1h").await;
    requests::cancel(&app.svc, &cast.requester, request.id)
        .await
        .unwrap();

    let outcomes = deliver_all(&app).await;

    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|outcome| matches!(outcome, Attempt::Skipped { .. })),
        "{outcomes:?}"
    );
    // The approver still gets the cancellation.
    assert!(outcomes.contains(&Attempt::Sent), "{outcomes:?}");
    assert_eq!(smtp.next().await.subject, "Cancelled: prod-db for carl");
}

#[sqlx::test(migrations = false)]
async fn grant_events_reach_the_holder(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let mut smtp = SmtpSink::start();
    use_settings(&mut app, settings(Some(smtp.port), None));
    let cast = cast(&app).await;
    let request = app.request(&cast.requester, &cast.resource, "4h").await;
    let detail = reviews::review(
        &app.svc,
        &cast.approver,
        request.id,
        ReviewDecision::Approve,
        "",
        Channel::Console,
    )
    .await
    .unwrap();
    let grant_id = detail.grant.unwrap().id;
    server::domain::grants::activate(&app.svc, &Actor::job(), grant_id)
        .await
        .unwrap();
    // The request mail is skipped because the request was decided before it went out.
    deliver_all(&app).await;
    let mut told = [smtp.next().await, smtp.next().await];
    told.sort_by(|a, b| a.subject.cmp(&b.subject));
    assert_eq!(told[0].subject, "Access active: prod-db for carl");
    assert_eq!(told[0].to, "carl@example.test");
    assert_eq!(told[1].subject, "Approved: prod-db for carl");
    assert_eq!(told[1].to, "carl@example.test");
    assert!(smtp.try_next().is_none());

    // One hour before the end, the holder hears that it ends soon, once.
    app.advance(Duration::hours(3));
    assert!(
        server::domain::notifications::grant_expiring(&app.svc, grant_id)
            .await
            .unwrap()
    );
    assert!(
        !server::domain::notifications::grant_expiring(&app.svc, grant_id)
            .await
            .unwrap()
    );
    deliver_all(&app).await;
    let mail = smtp.next().await;
    assert_eq!(mail.to, "carl@example.test");
    assert_eq!(mail.subject, "Access ends soon: prod-db for carl");
}

#[sqlx::test(migrations = false)]
async fn worker_sends_mail_in_background(pool: PgPool) {
    // The apalis worker runs jobs at their real time, so this clock follows real time.
    let mut app = TestApp::with_clock(pool, ManualClock::new(Utc::now())).await;
    let mut smtp = SmtpSink::start();
    use_settings(&mut app, settings(Some(smtp.port), None));
    let cast = cast(&app).await;
    let monitor = worker::monitor(
        app.svc.clone(),
        worker::parse_schedule("0 0 0 1 1 *").unwrap(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(monitor.run_with_signal(async move {
        let _ = stopped.await;
        Ok(())
    }));

    app.request(&cast.requester, &cast.resource, "1h").await;
    let mail = smtp.next().await;

    assert_eq!(mail.subject, "Approval needed: prod-db for carl");
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}
