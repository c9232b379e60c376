//! Console accounts: the bootstrap admin, sign-in links, passwords, local users, roles and API
//! tokens.

use std::sync::Arc;

use app::error::AppError;
use app::model::{IdentityKind, IssuedLink, NewUserInput, Role};
use chrono::Duration;
use server::clock::ManualClock;
use server::domain::actor::Actor;
use server::domain::{accounts, identities, tokens, users};
use server::error::Error;
use server::services::{Services, Settings};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::harness::{TestApp, start_time};

fn app_error<T: std::fmt::Debug>(result: Result<T, Error>) -> AppError {
    match result {
        Err(Error::App(error)) => error,
        other => panic!("expected a caller-facing error, got {other:?}"),
    }
}

/// Services over a migrated database with no users, as on a first start.
async fn empty_services(pool: PgPool) -> (Services, Arc<ManualClock>) {
    server::db::migrate(&pool).await.expect("migrations apply");
    let clock = Arc::new(ManualClock::new(start_time()));
    let svc = Services {
        pool,
        clock: clock.clone(),
        settings: Arc::new(Settings::with_public_url(
            "http://127.0.0.1:3000".parse().unwrap(),
        )),
    };
    (svc, clock)
}

async fn count(svc: &Services, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&svc.pool)
        .await
        .unwrap()
}

/// Returns the token in a sign-in link's URL.
fn link_token(link: &IssuedLink) -> String {
    let url = url::Url::parse(&link.url).expect("a link is an absolute URL");
    url.query_pairs()
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .expect("a link carries a token")
}

async fn link_used(app: &TestApp, user_id: Uuid) -> bool {
    sqlx::query_scalar::<_, bool>(
        "select bool_or(used_at is not null) from sign_in_links where user_id = $1",
    )
    .bind(user_id)
    .fetch_one(&app.svc.pool)
    .await
    .unwrap()
}

/// Creates a local requester named `login` with `password` and returns the user id.
async fn user_with_password(app: &TestApp, login: &str, password: &str) -> Uuid {
    let (user, _) = users::create_local(
        &app.svc,
        &app.admin,
        &NewUserInput {
            login: login.into(),
            display_name: login.into(),
            password: password.into(),
            roles: vec!["requester".into()],
            ..NewUserInput::default()
        },
    )
    .await
    .expect("user is created");
    user.id
}

fn new_user(login: &str, password: &str, roles: &[&str]) -> NewUserInput {
    NewUserInput {
        login: login.into(),
        display_name: "Ada Lovelace".into(),
        password: password.into(),
        roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        ..NewUserInput::default()
    }
}

fn names(roles: &[&str]) -> Vec<String> {
    roles.iter().map(|role| (*role).to_owned()).collect()
}

async fn stored_roles(app: &TestApp, user_id: Uuid) -> Vec<String> {
    sqlx::query_scalar::<_, Vec<String>>("select roles from users where id = $1")
        .bind(user_id)
        .fetch_one(&app.svc.pool)
        .await
        .unwrap()
}

async fn insert_session(app: &TestApp, user_id: Uuid) {
    sqlx::query(
        "insert into sessions (id, data, expiry_date, user_id)
        values ($1, jsonb_build_object('user_id', $2::uuid), now() + interval '1 hour', $2)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(user_id)
    .execute(&app.svc.pool)
    .await
    .unwrap();
}

async fn sessions_of(app: &TestApp, user_id: Uuid) -> i64 {
    sqlx::query_scalar::<_, i64>("select count(*) from sessions where user_id = $1")
        .bind(user_id)
        .fetch_one(&app.svc.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn bootstrap_creates_one_admin(pool: PgPool) {
    let (svc, _) = empty_services(pool).await;

    let link = accounts::bootstrap(&svc)
        .await
        .unwrap()
        .expect("a link while the admin never signed in");

    assert!(
        link.url
            .starts_with("http://127.0.0.1:3000/sign-in/link?token="),
        "{}",
        link.url
    );
    assert_eq!(link.expires_at, start_time() + Duration::hours(1));
    assert_eq!(count(&svc, "select count(*) from users").await, 1);
    let user = sqlx::query_as::<_, (Uuid, Vec<String>, bool, Option<String>)>(
        "select id, roles, is_bootstrap, password_hash from users",
    )
    .fetch_one(&svc.pool)
    .await
    .unwrap();
    let mut roles = user.1.clone();
    roles.sort();
    assert_eq!(roles, names(&["admin", "approver", "auditor", "requester"]));
    assert!(user.2);
    assert_eq!(user.3, None);
    let kind = sqlx::query_scalar::<_, String>("select kind from identities where user_id = $1")
        .bind(user.0)
        .fetch_one(&svc.pool)
        .await
        .unwrap();
    assert_eq!(kind, IdentityKind::Human.as_str());
    assert_eq!(
        count(
            &svc,
            "select count(*) from audit_events where action = 'user.created'"
        )
        .await,
        1
    );
}

#[sqlx::test(migrations = false)]
async fn bootstrap_twice_creates_no_second_admin(pool: PgPool) {
    let (svc, _) = empty_services(pool).await;

    let first = accounts::bootstrap(&svc).await.unwrap();
    let second = accounts::bootstrap(&svc).await.unwrap();

    assert!(first.is_some());
    // The admin has not signed in yet, so the second start prints a fresh link.
    let second = second.expect("a fresh link while the admin never signed in");
    assert_ne!(Some(&second.url), first.as_ref().map(|link| &link.url));
    assert_eq!(count(&svc, "select count(*) from users").await, 1);
    assert_eq!(count(&svc, "select count(*) from identities").await, 1);
    // The fresh link replaces the first, so only one link is valid.
    assert_eq!(count(&svc, "select count(*) from sign_in_links").await, 1);
    let first_token = first
        .unwrap()
        .url
        .rsplit_once("token=")
        .unwrap()
        .1
        .to_owned();
    assert!(accounts::peek_link(&svc, &first_token).await.is_err());
}

#[sqlx::test(migrations = false)]
async fn bootstrap_race_creates_one_admin(pool: PgPool) {
    let (svc, _) = empty_services(pool).await;

    let (first, second) = tokio::join!(accounts::bootstrap(&svc), accounts::bootstrap(&svc));

    assert!(first.unwrap().is_some());
    assert!(second.unwrap().is_some());
    assert_eq!(count(&svc, "select count(*) from users").await, 1);
    assert_eq!(
        count(&svc, "select count(*) from users where is_bootstrap").await,
        1
    );
}

#[sqlx::test(migrations = false)]
async fn bootstrap_stops_linking_after_sign_in(pool: PgPool) {
    let (svc, _) = empty_services(pool).await;
    let link = accounts::bootstrap(&svc).await.unwrap().unwrap();

    let user_id = accounts::redeem_link(&svc, &link_token(&link))
        .await
        .unwrap();
    let after = accounts::bootstrap(&svc).await.unwrap();

    assert_eq!(after, None);
    assert_eq!(count(&svc, "select count(*) from users").await, 1);
    let signed_in = sqlx::query_scalar::<_, bool>(
        "select last_sign_in_at is not null from users where id = $1",
    )
    .bind(user_id)
    .fetch_one(&svc.pool)
    .await
    .unwrap();
    assert!(signed_in);
}

#[sqlx::test(migrations = false)]
async fn bootstrap_skips_database_with_users(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let link = accounts::bootstrap(&app.svc).await.unwrap();

    assert_eq!(link, None);
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("sign_in_links").await, 0);
}

#[sqlx::test(migrations = false)]
async fn sign_in_link_is_single_use(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ada = app.user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let link = users::issue_link(&app.svc, &app.admin, ada_id)
        .await
        .unwrap();
    let token = link_token(&link);

    let first = accounts::redeem_link(&app.svc, &token).await.unwrap();
    let second = app_error(accounts::redeem_link(&app.svc, &token).await);

    assert_eq!(first, ada_id);
    assert_eq!(second.field(), Some("token"));
    assert!(app.audited("user.signed_in", "success").await);
    assert!(app.audited("user.sign_in", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn sign_in_link_peek_changes_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ada = app.user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let link = users::issue_link(&app.svc, &app.admin, ada_id)
        .await
        .unwrap();

    let name = accounts::peek_link(&app.svc, &link_token(&link))
        .await
        .unwrap();

    assert_eq!(name, "ada");
    assert!(!link_used(&app, ada_id).await);
    assert!(!app.audited("user.signed_in", "success").await);
}

#[sqlx::test(migrations = false)]
async fn sign_in_link_expires_after_an_hour(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ada = app.user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let link = users::issue_link(&app.svc, &app.admin, ada_id)
        .await
        .unwrap();
    let token = link_token(&link);

    app.advance(Duration::minutes(59));
    let before_expiry = accounts::peek_link(&app.svc, &token).await;
    app.advance(Duration::minutes(1));
    let at_expiry = app_error(accounts::redeem_link(&app.svc, &token).await);

    assert!(before_expiry.is_ok(), "{before_expiry:?}");
    assert_eq!(at_expiry.field(), Some("token"));
    assert!(!link_used(&app, ada_id).await);
}

#[sqlx::test(migrations = false)]
async fn disabled_users_link_is_rejected(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ada = app.user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let link = users::issue_link(&app.svc, &app.admin, ada_id)
        .await
        .unwrap();
    let token = link_token(&link);
    users::set_disabled(&app.svc, &app.admin, ada_id, true)
        .await
        .unwrap();

    let peek = app_error(accounts::peek_link(&app.svc, &token).await);
    let redeem = app_error(accounts::redeem_link(&app.svc, &token).await);

    assert_eq!(peek.field(), Some("token"));
    assert_eq!(redeem.field(), Some("token"));
    assert!(!link_used(&app, ada_id).await);
}

#[sqlx::test(migrations = false)]
async fn disabled_user_gets_no_new_link(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ada = app.user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    users::set_disabled(&app.svc, &app.admin, ada_id, true)
        .await
        .unwrap();

    let error = app_error(users::issue_link(&app.svc, &app.admin, ada_id).await);

    assert_eq!(error.status_code(), 409);
    assert_eq!(app.count("sign_in_links").await, 0);
}

#[sqlx::test(migrations = false)]
async fn password_errors_do_not_reveal_account(pool: PgPool) {
    let app = TestApp::new(pool).await;
    user_with_password(&app, "ada", "correct horse battery").await;

    let wrong_password =
        app_error(accounts::sign_in_password(&app.svc, "ada", "incorrect horse battery").await);
    let unknown_login =
        app_error(accounts::sign_in_password(&app.svc, "nobody", "correct horse battery").await);

    assert_eq!(wrong_password, unknown_login);
    assert_eq!(wrong_password.field(), Some("password"));
    let refused = sqlx::query_scalar::<_, String>(
        "select subject_id from audit_events
        where action = 'user.sign_in' and outcome = 'refused' order by seq",
    )
    .fetch_all(&app.svc.pool)
    .await
    .unwrap();
    assert_eq!(refused, vec!["ada".to_owned(), "nobody".to_owned()]);
    assert!(!app.audited("user.signed_in", "success").await);
}

#[sqlx::test(migrations = false)]
async fn password_sign_in_accepts_right_password(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ada_id = user_with_password(&app, "ada", "correct horse battery").await;

    let signed_in = accounts::sign_in_password(&app.svc, " ADA ", "correct horse battery")
        .await
        .unwrap();

    assert_eq!(signed_in, ada_id);
    assert!(app.audited("user.signed_in", "success").await);
}

#[sqlx::test(migrations = false)]
async fn disabled_user_password_is_rejected(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ada_id = user_with_password(&app, "ada", "correct horse battery").await;
    users::set_disabled(&app.svc, &app.admin, ada_id, true)
        .await
        .unwrap();

    let error =
        app_error(accounts::sign_in_password(&app.svc, "ada", "correct horse battery").await);

    assert_eq!(error.field(), Some("password"));
    assert!(app.audited("user.sign_in", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn create_local_validates_fields(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let cases = [
        (new_user("ada lovelace", "", &["requester"]), "login"),
        (new_user("", "", &["requester"]), "login"),
        (new_user("ada/1", "", &["requester"]), "login"),
        (new_user("ada", "elevenchars", &["requester"]), "password"),
        (new_user("ada", "", &["root"]), "roles"),
        (
            NewUserInput {
                email: "not-an-address".into(),
                ..new_user("ada", "", &[])
            },
            "email",
        ),
        (
            NewUserInput {
                display_name: " ".into(),
                ..new_user("ada", "", &[])
            },
            "display_name",
        ),
    ];

    for (input, field) in cases {
        let error = app_error(users::create_local(&app.svc, &app.admin, &input).await);
        assert_eq!(error.field(), Some(field), "{input:?}");
    }
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("identities").await, 1);
    assert!(app.audited("user.create", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn create_local_accepts_twelve_character_password(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let (user, link) = users::create_local(
        &app.svc,
        &app.admin,
        &new_user(" Ada ", "twelve-chars", &["requester", "approver"]),
    )
    .await
    .unwrap();

    assert_eq!(user.subject, "ada");
    assert!(user.has_password);
    assert_eq!(user.roles, vec![Role::Approver, Role::Requester]);
    assert_eq!(link, None);
    let identities = sqlx::query_scalar::<_, i64>(
        "select count(*) from identities where user_id = $1 and kind = 'human'",
    )
    .bind(user.id)
    .fetch_one(&app.svc.pool)
    .await
    .unwrap();
    assert_eq!(identities, 1);
    assert!(app.audited("user.created", "success").await);
}

#[sqlx::test(migrations = false)]
async fn create_local_without_password_issues_link(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let (user, link) = users::create_local(&app.svc, &app.admin, &new_user("ada", "", &[]))
        .await
        .unwrap();

    assert!(!user.has_password);
    let link = link.expect("a sign-in link instead of a password");
    assert_eq!(
        accounts::peek_link(&app.svc, &link_token(&link))
            .await
            .unwrap(),
        "Ada Lovelace"
    );
}

#[sqlx::test(migrations = false)]
async fn create_local_rejects_taken_login(pool: PgPool) {
    let app = TestApp::new(pool).await;
    users::create_local(&app.svc, &app.admin, &new_user("ada", "", &[]))
        .await
        .unwrap();

    let error =
        app_error(users::create_local(&app.svc, &app.admin, &new_user("ADA", "", &[])).await);

    assert_eq!(error.status_code(), 409);
    assert!(error.to_string().contains("login"), "{error}");
    assert_eq!(app.count("users").await, 2);
    assert_eq!(app.count("identities").await, 2);
}

#[sqlx::test(migrations = false)]
async fn non_admin_cannot_create_user(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;

    let error =
        app_error(users::create_local(&app.svc, &approver, &new_user("ada", "", &["admin"])).await);

    assert_eq!(error.status_code(), 403);
    assert_eq!(app.count("users").await, 2);
    assert!(app.audited("user.create", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn last_admin_keeps_admin_role(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin_id = app.admin.user_id.unwrap();

    let error =
        app_error(users::set_roles(&app.svc, &app.admin, admin_id, &names(&["approver"])).await);

    assert_eq!(error.status_code(), 409);
    assert_eq!(stored_roles(&app, admin_id).await, names(&["admin"]));
    assert!(app.audited("user.set_roles", "refused").await);
    assert!(!app.audited("user.roles_changed", "success").await);
}

#[sqlx::test(migrations = false)]
async fn admin_role_moves_when_another_admin_remains(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin_id = app.admin.user_id.unwrap();
    app.user("second-admin", &[Role::Admin]).await;

    let user = users::set_roles(&app.svc, &app.admin, admin_id, &names(&["approver"]))
        .await
        .unwrap();

    assert_eq!(user.roles, vec![Role::Approver]);
    assert!(app.audited("user.roles_changed", "success").await);
}

#[sqlx::test(migrations = false)]
async fn disabled_admins_do_not_count(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin_id = app.admin.user_id.unwrap();
    let second = app.user("second-admin", &[Role::Admin]).await;
    users::set_disabled(&app.svc, &app.admin, second.user_id.unwrap(), true)
        .await
        .unwrap();

    let error =
        app_error(users::set_roles(&app.svc, &app.admin, admin_id, &names(&["auditor"])).await);

    assert_eq!(error.status_code(), 409);
    assert_eq!(stored_roles(&app, admin_id).await, names(&["admin"]));
}

#[sqlx::test(migrations = false)]
async fn admin_cannot_disable_self(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin_id = app.admin.user_id.unwrap();

    let error = app_error(users::set_disabled(&app.svc, &app.admin, admin_id, true).await);

    assert_eq!(error.status_code(), 409);
    assert!(
        accounts::load_viewer(&app.svc.pool, admin_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(app.audited("user.set_disabled", "refused").await);
    assert!(!app.audited("user.disabled", "success").await);
}

#[sqlx::test(migrations = false)]
async fn disabling_user_deletes_their_sessions(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ada = app.user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let bea = app.user("bea", &[Role::Requester]).await;
    let bea_id = bea.user_id.unwrap();
    insert_session(&app, ada_id).await;
    insert_session(&app, ada_id).await;
    insert_session(&app, bea_id).await;

    let user = users::set_disabled(&app.svc, &app.admin, ada_id, true)
        .await
        .unwrap();

    assert!(user.disabled_at.is_some());
    assert_eq!(sessions_of(&app, ada_id).await, 0);
    assert_eq!(sessions_of(&app, bea_id).await, 1);
    let status =
        sqlx::query_scalar::<_, String>("select status from identities where user_id = $1")
            .bind(ada_id)
            .fetch_one(&app.svc.pool)
            .await
            .unwrap();
    assert_eq!(status, "disabled");
    assert!(
        accounts::load_viewer(&app.svc.pool, ada_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(app.audited("user.disabled", "success").await);
}

#[sqlx::test(migrations = false)]
async fn token_roles_must_be_held_by_creator(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;

    let beyond = app_error(
        tokens::create(
            &app.svc,
            &approver,
            "ci",
            &names(&["approver", "admin"]),
            "",
        )
        .await,
    );
    let none = app_error(tokens::create(&app.svc, &approver, "ci", &[], "").await);
    let unknown = app_error(tokens::create(&app.svc, &approver, "ci", &names(&["root"]), "").await);

    assert_eq!(beyond.field(), Some("roles"));
    assert_eq!(none.field(), Some("roles"));
    assert_eq!(unknown.field(), Some("roles"));
    assert_eq!(app.count("api_tokens").await, 0);
    assert!(app.audited("api_token.create", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn token_lifetime_is_bounded(pool: PgPool) {
    let app = TestApp::new(pool).await;

    for expires_in in ["30s", "366d", "soon"] {
        let error = app_error(
            tokens::create(&app.svc, &app.admin, "ci", &names(&["admin"]), expires_in).await,
        );
        assert_eq!(error.field(), Some("expires_in"), "{expires_in}");
    }
    assert_eq!(app.count("api_tokens").await, 0);
}

#[sqlx::test(migrations = false)]
async fn token_secret_is_stored_only_hashed(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let created = tokens::create(&app.svc, &app.admin, "ci", &names(&["admin"]), "30d")
        .await
        .unwrap();

    let secret = &created.secret;
    assert!(secret.starts_with(tokens::TOKEN_PREFIX), "{secret}");
    assert!(secret.starts_with(&created.token.prefix));
    assert!(created.token.prefix.len() < secret.len());
    assert_eq!(
        created.token.expires_at,
        Some(app.now() + Duration::days(30))
    );
    let stored_hash =
        sqlx::query_scalar::<_, Vec<u8>>("select token_hash from api_tokens where id = $1")
            .bind(created.token.id)
            .fetch_one(&app.svc.pool)
            .await
            .unwrap();
    assert_eq!(stored_hash, Sha256::digest(secret.as_bytes()).to_vec());
    // Every column of every row, as text, and the audit log leave the secret out.
    let rows = sqlx::query_scalar::<_, String>("select row_to_json(t)::text from api_tokens t")
        .fetch_all(&app.svc.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].contains(secret.as_str()), "{}", rows[0]);
    let audit = sqlx::query_scalar::<_, String>(
        "select coalesce(string_agg(row_to_json(a)::text, ''), '') from audit_events a",
    )
    .fetch_one(&app.svc.pool)
    .await
    .unwrap();
    assert!(!audit.contains(secret.as_str()));
    assert!(app.audited("api_token.created", "success").await);
}

#[sqlx::test(migrations = false)]
async fn token_authenticates_until_revoked(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let created = tokens::create(&app.svc, &app.admin, "ci", &names(&["admin"]), "")
        .await
        .unwrap();

    let before = tokens::authenticate(&app.svc, &created.secret).await;
    tokens::revoke(&app.svc, &app.admin, created.token.id)
        .await
        .unwrap();
    let after = app_error(tokens::authenticate(&app.svc, &created.secret).await);

    assert_eq!(before.unwrap().user_id, app.admin.user_id.unwrap());
    assert_eq!(after, AppError::Unauthenticated);
    assert!(app.audited("api_token.revoked", "success").await);
}

#[sqlx::test(migrations = false)]
async fn token_expires_at_its_time(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let created = tokens::create(&app.svc, &app.admin, "ci", &names(&["admin"]), "1h")
        .await
        .unwrap();

    app.advance(Duration::minutes(59));
    let before = tokens::authenticate(&app.svc, &created.secret).await;
    app.advance(Duration::minutes(1));
    let at_expiry = app_error(tokens::authenticate(&app.svc, &created.secret).await);

    assert!(before.is_ok(), "{before:?}");
    assert_eq!(at_expiry, AppError::Unauthenticated);
}

#[sqlx::test(migrations = false)]
async fn unknown_token_fails_authentication(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let error = app_error(tokens::authenticate(&app.svc, "writ_not-a-real-token").await);

    assert_eq!(error, AppError::Unauthenticated);
}

#[sqlx::test(migrations = false)]
async fn disabled_users_token_fails_authentication(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let bea = app.user("bea", &[Role::Approver]).await;
    let created = tokens::create(&app.svc, &bea, "ci", &names(&["approver"]), "")
        .await
        .unwrap();
    users::set_disabled(&app.svc, &app.admin, bea.user_id.unwrap(), true)
        .await
        .unwrap();

    let error = app_error(tokens::authenticate(&app.svc, &created.secret).await);

    assert_eq!(error, AppError::Unauthenticated);
}

#[sqlx::test(migrations = false)]
async fn token_acts_with_only_its_roles(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let both = app.user("dana", &[Role::Admin, Role::Approver]).await;
    let created = tokens::create(&app.svc, &both, "reviewer-bot", &names(&["approver"]), "")
        .await
        .unwrap();

    let viewer = tokens::authenticate(&app.svc, &created.secret)
        .await
        .unwrap();
    let error = app_error(
        identities::create(
            &app.svc.pool,
            &Actor::api(&viewer),
            app.now(),
            &app::model::IdentityInput {
                kind: "workload".into(),
                name: "made-by-token".into(),
                ..app::model::IdentityInput::default()
            },
        )
        .await,
    );

    assert_eq!(viewer.roles, vec![Role::Approver]);
    assert_eq!(error.status_code(), 403);
    assert_eq!(app.count("identities").await, 2);
}

#[sqlx::test(migrations = false)]
async fn token_loses_roles_its_owner_loses(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let bea = app.user("bea", &[Role::Approver, Role::Requester]).await;
    let bea_id = bea.user_id.unwrap();
    let created = tokens::create(&app.svc, &bea, "ci", &names(&["approver", "requester"]), "")
        .await
        .unwrap();

    users::set_roles(&app.svc, &app.admin, bea_id, &names(&["requester"]))
        .await
        .unwrap();
    let viewer = tokens::authenticate(&app.svc, &created.secret)
        .await
        .unwrap();

    assert_eq!(viewer.roles, vec![Role::Requester]);
}

#[sqlx::test(migrations = false)]
async fn only_owner_or_admin_revokes_token(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let bea = app.user("bea", &[Role::Approver]).await;
    let carl = app.user("carl", &[Role::Approver]).await;
    let created = tokens::create(&app.svc, &bea, "ci", &names(&["approver"]), "")
        .await
        .unwrap();

    let error = app_error(tokens::revoke(&app.svc, &carl, created.token.id).await);

    assert_eq!(error.status_code(), 404);
    assert!(
        tokens::authenticate(&app.svc, &created.secret)
            .await
            .is_ok()
    );
    assert!(app.audited("api_token.revoke", "refused").await);
}
