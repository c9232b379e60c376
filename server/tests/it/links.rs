//! Approval links through the real router: the mail's link, the confirmation page, the
//! decision, and every refused use.

use app::model::{Channel, RequestState, ReviewDecision, Role, Sensitivity};
use chrono::Duration;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use server::domain::{requests, reviews, users};
use sqlx::PgPool;
use uuid::Uuid;

use crate::harness::TestApp;
use crate::loopback::SmtpSink;
use crate::notify::{Cast, cast, deliver_all, set_email, settings, use_settings};
use crate::server::{TestServer, form_action, new_client};

/// A served app with mail on, the usual cast, and a pending request whose mail was sent.
struct Scene {
    server: TestServer,
    smtp: SmtpSink,
    cast: Cast,
    request_id: Uuid,
}

async fn scene(pool: PgPool, link_only_max: Option<Sensitivity>) -> Scene {
    let mut app = TestApp::new(pool).await;
    let smtp = SmtpSink::start();
    use_settings(
        &mut app,
        server::notify::config::NotifySettings {
            link_only_max,
            ..settings(Some(smtp.port), None)
        },
    );
    let cast = cast(&app).await;
    let request = app.request(&cast.requester, &cast.resource, "1h").await;
    let server = TestServer::serve_app(app).await;
    Scene {
        server,
        smtp,
        cast,
        request_id: request.id,
    }
}

impl Scene {
    /// Sends pending mail and returns the path of the approve link in the next message.
    async fn link_path(&mut self) -> String {
        deliver_all(&self.server.app).await;
        let url = self.smtp.next().await.link("/approve?token=");
        url.strip_prefix("http://127.0.0.1:3000")
            .expect("links start with the public URL")
            .to_owned()
    }

    /// Opens `path` and returns its status and HTML.
    async fn open(&self, path: &str) -> (StatusCode, String) {
        self.server.page_text(path).await
    }

    /// Posts the confirmation form of the page at `path` (as opened before) with `decision`.
    async fn decide(&self, path: &str, html: &str, decision: &str) -> reqwest::Response {
        let token = token_of(path);
        let action = form_action(html, "decide_approval_link");
        self.server
            .submit(
                path,
                &action,
                &[
                    ("token", &token),
                    ("decision", decision),
                    ("comment", "via mail"),
                ],
            )
            .await
    }

    /// Posts a decision straight to the server function, as a second tab or a replay would.
    async fn post_decision(&self, path: &str, decision: &str) -> reqwest::Response {
        let token = token_of(path);
        self.server
            .submit(
                path,
                "/api/decide_approval_link",
                &[("token", &token), ("decision", decision)],
            )
            .await
    }

    async fn state(&self) -> RequestState {
        let mut conn = self.server.app.svc.pool.acquire().await.unwrap();
        requests::load(&mut conn, self.request_id)
            .await
            .unwrap()
            .state
    }

    async fn reviews(&self) -> i64 {
        self.server.app.count("reviews").await
    }
}

fn token_of(path: &str) -> String {
    let url = reqwest::Url::parse(&format!("http://x{path}")).unwrap();
    url.query_pairs()
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .unwrap()
}

fn refused(response: &reqwest::Response) -> bool {
    response.status() == StatusCode::FOUND
        && response.headers()[LOCATION]
            .to_str()
            .unwrap()
            .contains("__err=")
}

#[sqlx::test(migrations = false)]
async fn signed_in_approver_approves_by_link(pool: PgPool) {
    let mut scene = scene(pool, None).await;
    let path = scene.link_path().await;
    scene.server.sign_in(&scene.cast.approver).await;

    let (status, html) = scene.open(&path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("investigate the failing nightly export"),
        "{html}"
    );
    assert!(html.contains("You chose Approve in your message"), "{html}");
    assert!(html.contains(">Approve</button>"), "{html}");
    assert_eq!(scene.reviews().await, 0, "opening the link decides nothing");

    let response = scene.decide(&path, &html, "approve").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], "/approve/done");
    assert_eq!(scene.state().await, RequestState::Approved);
    let channel: String = sqlx::query_scalar("select channel from reviews")
        .fetch_one(&scene.server.app.svc.pool)
        .await
        .unwrap();
    assert_eq!(channel, "email");

    let (_, done) = scene.open("/approve/done").await;
    assert!(
        done.contains("You approved the request for carl on prod-db"),
        "{done}"
    );
    let (_, again) = scene.open("/approve/done").await;
    assert!(again.contains("Nothing to show"), "the outcome shows once");
}

#[sqlx::test(migrations = false)]
async fn link_used_twice_is_refused(pool: PgPool) {
    let mut scene = scene(pool, None).await;
    let path = scene.link_path().await;
    scene.server.sign_in(&scene.cast.approver).await;
    let (_, html) = scene.open(&path).await;
    scene.decide(&path, &html, "deny").await;
    assert_eq!(scene.state().await, RequestState::Denied);

    let response = scene.post_decision(&path, "approve").await;
    assert!(refused(&response), "{:?}", response.headers());
    let (status, html) = scene.open(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("This link cannot be used"), "{html}");
    assert!(html.contains("already used"), "{html}");

    assert_eq!(scene.state().await, RequestState::Denied);
    assert_eq!(scene.reviews().await, 1);
    assert!(
        scene
            .server
            .app
            .audited("approval_link.use", "refused")
            .await
    );
    assert!(
        scene
            .server
            .app
            .audited("approval_link.open", "refused")
            .await
    );
}

#[sqlx::test(migrations = false)]
async fn link_after_decision_is_refused(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let mut smtp = SmtpSink::start();
    use_settings(&mut app, settings(Some(smtp.port), None));
    let cast = cast(&app).await;
    let bea = app.user("bea", &[Role::Approver]).await;
    set_email(&app, &bea, "bea@example.test").await;
    let resource = app
        .resource("billing", "8h", 1, &[&cast.approver, &bea])
        .await;
    let request = app.request(&cast.requester, &resource, "1h").await;
    deliver_all(&app).await;
    let mut mails = [smtp.next().await, smtp.next().await];
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    let bea_link = mails[1].link("/approve?token=");
    let path = bea_link
        .strip_prefix("http://127.0.0.1:3000")
        .unwrap()
        .to_owned();
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
    let server = TestServer::serve_app(app).await;
    server.sign_in(&bea).await;

    let (_, html) = server.page_text(&path).await;
    assert!(html.contains("This link cannot be used"), "{html}");
    assert!(html.contains("The request is denied"), "{html}");
    let response = server
        .submit(
            &path,
            "/api/decide_approval_link",
            &[("token", &token_of(&path)), ("decision", "approve")],
        )
        .await;
    assert!(refused(&response));

    assert_eq!(server.app.count("reviews").await, 1);
    assert!(server.app.audited("approval_link.open", "refused").await);
    assert!(server.app.audited("request.review", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn link_after_expiry_is_refused(pool: PgPool) {
    let mut scene = scene(pool, None).await;
    let path = scene.link_path().await;
    scene.server.sign_in(&scene.cast.approver).await;
    scene.server.app.advance(Duration::hours(25));

    let (_, html) = scene.open(&path).await;
    assert!(html.contains("This link cannot be used"), "{html}");
    assert!(html.contains("expired"), "{html}");
    let response = scene.post_decision(&path, "approve").await;
    assert!(refused(&response));

    assert_eq!(scene.reviews().await, 0);
    assert!(
        scene
            .server
            .app
            .audited("approval_link.use", "refused")
            .await
    );
}

#[sqlx::test(migrations = false)]
async fn link_of_another_user_is_refused(pool: PgPool) {
    let mut scene = scene(pool, None).await;
    let path = scene.link_path().await;
    let bea = scene.server.signed_in_user("bea", &[Role::Approver]).await;
    assert!(bea.user_id.is_some());

    let (_, html) = scene.open(&path).await;
    assert!(html.contains("This link cannot be used"), "{html}");
    assert!(
        html.contains("was made for arno, but you are signed in as bea"),
        "{html}"
    );
    let response = scene.post_decision(&path, "approve").await;
    assert!(refused(&response));

    assert_eq!(scene.reviews().await, 0);
    assert_eq!(scene.state().await, RequestState::Pending);
    assert!(
        scene
            .server
            .app
            .audited("approval_link.open", "refused")
            .await
    );
    assert!(
        scene
            .server
            .app
            .audited("approval_link.use", "refused")
            .await
    );
}

#[sqlx::test(migrations = false)]
async fn former_approver_link_is_refused(pool: PgPool) {
    let mut scene = scene(pool, None).await;
    let path = scene.link_path().await;
    scene.server.sign_in(&scene.cast.approver).await;
    users::set_roles(
        &scene.server.app.svc,
        &scene.server.app.admin,
        scene.cast.approver.user_id.unwrap(),
        &["requester".to_owned()],
    )
    .await
    .unwrap();

    let (_, html) = scene.open(&path).await;
    assert!(html.contains("This link cannot be used"), "{html}");
    assert!(html.contains("approver"), "{html}");
    let response = scene.post_decision(&path, "approve").await;
    assert!(refused(&response));

    assert_eq!(scene.reviews().await, 0);
    assert!(
        scene
            .server
            .app
            .audited("approval_link.open", "refused")
            .await
    );
    assert!(scene.server.app.audited("request.review", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn opening_without_sign_in_decides_nothing(pool: PgPool) {
    let mut scene = scene(pool, None).await;
    let path = scene.link_path().await;

    // A mail scanner opens the link. It gets no request details and changes nothing.
    let (scanner, _) = new_client();
    let html = scanner
        .get(scene.server.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in to review this request"), "{html}");
    assert!(!html.contains("nightly export"), "{html}");
    let response = scene.post_decision(&path, "approve").await;
    assert!(refused(&response));
    assert_eq!(scene.reviews().await, 0);

    // The approver opens it, signs in, and comes back to it.
    let (_, html) = scene.open(&path).await;
    assert!(html.contains("Sign in to review this request"), "{html}");
    let response = scene.server.sign_in(&scene.cast.approver).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], path.as_str());
    let (_, html) = scene.open(&path).await;
    assert!(html.contains("nightly export"), "{html}");
}

#[sqlx::test(migrations = false)]
async fn link_only_decides_medium_but_never_high(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let mut smtp = SmtpSink::start();
    use_settings(
        &mut app,
        server::notify::config::NotifySettings {
            link_only_max: Some(Sensitivity::Medium),
            ..settings(Some(smtp.port), None)
        },
    );
    let cast = cast(&app).await;
    sqlx::query("update resources set sensitivity = 'medium' where id = $1")
        .bind(cast.resource.id)
        .execute(&app.svc.pool)
        .await
        .unwrap();
    let high = app.resource("vault", "8h", 1, &[&cast.approver]).await;
    let medium_request = app.request(&cast.requester, &cast.resource, "1h").await;
    deliver_all(&app).await;
    let medium_link = smtp.next().await.link("/approve?token=");
    app.request(&cast.requester, &high, "1h").await;
    deliver_all(&app).await;
    let high_link = smtp.next().await.link("/approve?token=");
    let server = TestServer::serve_app(app).await;
    let path_of = |link: &str| {
        link.strip_prefix("http://127.0.0.1:3000")
            .unwrap()
            .to_owned()
    };

    let high_path = path_of(&high_link);
    let (_, html) = server.page_text(&high_path).await;
    assert!(html.contains("Sign in to review this request"), "{html}");
    let response = server
        .submit(
            &high_path,
            "/api/decide_approval_link",
            &[("token", &token_of(&high_path)), ("decision", "approve")],
        )
        .await;
    assert!(refused(&response));

    let medium_path = path_of(&medium_link);
    let (_, html) = server.page_text(&medium_path).await;
    assert!(
        html.contains("You are not signed in. This link decides in the name of arno."),
        "{html}"
    );
    let action = form_action(&html, "decide_approval_link");
    let response = server
        .submit(
            &medium_path,
            &action,
            &[("token", &token_of(&medium_path)), ("decision", "approve")],
        )
        .await;
    assert_eq!(response.headers()[LOCATION], "/approve/done");

    let mut conn = server.app.svc.pool.acquire().await.unwrap();
    let request = requests::load(&mut conn, medium_request.id).await.unwrap();
    assert_eq!(request.state, RequestState::Approved);
    assert_eq!(server.app.count("reviews").await, 1);
}

#[sqlx::test(migrations = false)]
async fn unknown_link_is_refused_and_audited(pool: PgPool) {
    let server = TestServer::start(pool).await;

    let (status, html) = server.page_text("/approve?token=not-a-real-token").await;

    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("This link cannot be used"), "{html}");
    assert!(server.app.audited("approval_link.open", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn notifications_page_shows_failures_to_admins(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    use_settings(
        &mut app,
        server::notify::config::NotifySettings {
            max_attempts: 1,
            ..settings(Some(crate::loopback::closed_port()), None)
        },
    );
    let cast = cast(&app).await;
    app.request(&cast.requester, &cast.resource, "1h").await;
    deliver_all(&app).await;
    let server = TestServer::serve_app(app).await;

    server.sign_in(&server.app.admin).await;
    let (status, html) = server.page_text("/admin/notifications?failing=1").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("arno@example.test"), "{html}");
    assert!(html.contains(">failed<"), "{html}");
    assert!(html.contains(">Retry</button>"), "{html}");
    assert!(html.contains("/integrations/slack/interactions"), "{html}");

    let (other, _) = new_client();
    let response = other
        .get(server.url("/admin/notifications"))
        .header(reqwest::header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "signed-out visitors go to sign-in"
    );
}
