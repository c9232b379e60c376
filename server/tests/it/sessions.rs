//! Console sessions: a new id when roles change, the idle and absolute timeouts by the moved
//! clock, and the job that deletes expired records.

use app::model::Role;
use chrono::Duration;
use reqwest::StatusCode;
use server::domain::users;
use server::jobs::sessions;
use sqlx::PgPool;
use uuid::Uuid;

use crate::server::{SESSION_ABSOLUTE_TIMEOUT, SESSION_IDLE_TIMEOUT, TestServer};

/// Text that only the signed-in dashboard shows.
const DASHBOARD_SECTION: &str = "Waiting for my approval";

fn idle() -> Duration {
    Duration::from_std(SESSION_IDLE_TIMEOUT).unwrap()
}

fn absolute() -> Duration {
    Duration::from_std(SESSION_ABSOLUTE_TIMEOUT).unwrap()
}

async fn signed_in(server: &TestServer) -> bool {
    let (status, html) = server.page_text("/").await;
    status == StatusCode::OK && html.contains(DASHBOARD_SECTION)
}

async fn session_rows(server: &TestServer, id: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("select count(*) from sessions where id = $1")
        .bind(id)
        .fetch_one(&server.app.svc.pool)
        .await
        .unwrap()
}

async fn session_of_user(server: &TestServer, user_id: Uuid) -> String {
    sqlx::query_scalar::<_, String>("select id from sessions where user_id = $1")
        .bind(user_id)
        .fetch_one(&server.app.svc.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn role_change_gives_new_session_id(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.signed_in_user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    assert!(signed_in(&server).await);
    let before = server.session_cookie().unwrap();

    users::set_roles(
        &server.app.svc,
        &server.app.admin,
        ada_id,
        &["requester".into(), "approver".into()],
    )
    .await
    .unwrap();
    let (_, html) = server.page_text("/").await;

    let after = server.session_cookie().unwrap();
    assert_ne!(after, before, "the session id changes with the roles");
    assert_eq!(session_rows(&server, &before).await, 0);
    assert_eq!(session_of_user(&server, ada_id).await, after);
    assert!(
        html.contains("To review"),
        "the new role shows at once: {html}"
    );

    // Without a further change the id stays.
    assert!(signed_in(&server).await);
    assert_eq!(server.session_cookie().unwrap(), after);
}

#[sqlx::test(migrations = false)]
async fn idle_session_expires(pool: PgPool) {
    let server = TestServer::start(pool).await;
    server.signed_in_user("ada", &[Role::Requester]).await;

    // Requests a little less than the idle timeout apart keep the session alive.
    for _ in 0..3 {
        server.app.advance(idle() - Duration::minutes(2));
        assert!(signed_in(&server).await);
    }
    server.app.advance(idle() + Duration::seconds(1));

    assert!(!signed_in(&server).await);
}

#[sqlx::test(migrations = false)]
async fn active_session_ends_at_absolute_timeout(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.signed_in_user("ada", &[Role::Requester]).await;
    let step = idle() - Duration::minutes(5);
    let mut elapsed = Duration::zero();

    while elapsed + step < absolute() {
        server.app.advance(step);
        elapsed += step;
        assert!(signed_in(&server).await, "still signed in after {elapsed}");
    }
    server
        .app
        .advance(absolute() - elapsed + Duration::seconds(1));

    assert!(!signed_in(&server).await);
    let (status, _) = server.page_text("/").await;
    assert_eq!(status, StatusCode::FOUND, "sent to sign in again");
    assert!(ada.user_id.is_some());
}

#[sqlx::test(migrations = false)]
async fn cleanup_job_deletes_expired_sessions(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.signed_in_user("ada", &[Role::Requester]).await;
    server.app.advance(Duration::minutes(30));
    let bob = server.app.user("bob", &[Role::Requester]).await;
    let (other, _) = crate::server::new_client();
    let token = server.link_token(bob.user_id.unwrap()).await;
    let page = crate::server::link_page(&token);
    let html = other
        .get(server.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = crate::server::form_action(&html, "redeem_sign_in_link");
    let response = other
        .post(server.url(&action))
        .header("sec-fetch-site", "same-origin")
        .header(reqwest::header::ACCEPT, "text/html")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);

    // Ada's session went idle 31 minutes before Bob's.
    server.app.advance(idle() - Duration::minutes(29));
    assert_eq!(sessions::delete_expired(&server.app.svc).await.unwrap(), 1);

    assert_eq!(server.sessions_of(ada.user_id.unwrap()).await, 0);
    assert_eq!(server.sessions_of(bob.user_id.unwrap()).await, 1);
    assert_eq!(sessions::delete_expired(&server.app.svc).await.unwrap(), 0);
}
