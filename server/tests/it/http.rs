//! The HTTP surface through the real router on a loopback port: health checks, security headers,
//! console sign-in and sessions, cross-site protection, and the JSON API.

use app::model::{IdentityStatus, Role};
use reqwest::header::{
    ACCEPT, CONTENT_TYPE, LOCATION, ORIGIN, REFERER, SET_COOKIE, WWW_AUTHENTICATE,
};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use server::domain::{page, users};
use sqlx::PgPool;
use uuid::Uuid;

use crate::server::{
    MAX_BODY_BYTES, SESSION_COOKIE, TestServer, form_action, form_body, link_page, new_client,
    session_cookie,
};

/// Text that only the signed-in dashboard shows.
const DASHBOARD_SECTION: &str = "Waiting for my approval";

async fn link_used(server: &TestServer, user_id: Uuid) -> bool {
    sqlx::query_scalar::<_, bool>(
        "select bool_or(used_at is not null) from sign_in_links where user_id = $1",
    )
    .bind(user_id)
    .fetch_one(&server.app.svc.pool)
    .await
    .unwrap()
}

/// Returns every `Set-Cookie` value of a response, attributes included.
fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

fn session_set_cookie(response: &Response) -> String {
    set_cookies(response)
        .into_iter()
        .find(|cookie| cookie.starts_with(&format!("{SESSION_COOKIE}=")))
        .unwrap_or_else(|| panic!("no {SESSION_COOKIE} cookie in {:?}", response.headers()))
}

/// Returns the fields the console's new-identity form sends for a workload named `name`.
fn identity_form(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("input[kind]", "workload".to_owned()),
        ("input[name]", name.to_owned()),
        ("input[owner_id]", String::new()),
        ("input[environment]", "production".to_owned()),
        ("input[criticality]", "medium".to_owned()),
        ("input[description]", String::new()),
        ("input[external_id]", String::new()),
        ("input[attributes]", String::new()),
    ]
}

fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

/// Sends `request` and returns its status and JSON body.
async fn json_of(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("status {status}, body is not JSON ({error}): {text}"));
    (status, body)
}

#[sqlx::test(migrations = false)]
async fn health_endpoints_return_ok(pool: PgPool) {
    let server = TestServer::start(pool).await;

    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    let health_status = health.status();
    let ready = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    let ready_status = ready.status();

    assert_eq!(health_status, StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok");
    assert_eq!(ready_status, StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[sqlx::test(migrations = false)]
async fn responses_carry_security_headers(pool: PgPool) {
    let server = TestServer::start(pool).await;

    for path in [
        "/sign-in",
        "/healthz",
        "/api/v1/identities",
        "/no-such-page",
    ] {
        let response = server.page(path).await;
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            header("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}: {headers:?}"
        );
        assert!(
            header("content-security-policy").contains("default-src 'self'"),
            "{path}: {headers:?}"
        );
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert!(!header("x-request-id").is_empty(), "{path}");
    }
}

#[sqlx::test(migrations = false)]
async fn link_page_shows_name_and_changes_nothing(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.app.user("Ada Lovelace", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let token = server.link_token(ada_id).await;

    let response = server.page(&link_page(&token)).await;
    let status = response.status();
    let cookies = set_cookies(&response);
    let html = response.text().await.unwrap();

    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ada Lovelace"), "{html}");
    assert!(html.contains("redeem_sign_in_link"), "{html}");
    assert_eq!(cookies, Vec::<String>::new());
    assert!(!link_used(&server, ada_id).await);
    assert_eq!(server.app.count("sessions").await, 0);
    assert!(!server.app.audited("user.signed_in", "success").await);
}

#[sqlx::test(migrations = false)]
async fn link_page_of_bad_token_shows_error(pool: PgPool) {
    let server = TestServer::start(pool).await;

    let (status, html) = server.page_text(&link_page("not-a-token")).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("invalid, used or expired"), "{html}");
    assert!(
        !html.contains("action=\"/api/redeem_sign_in_link"),
        "{html}"
    );
}

#[sqlx::test(migrations = false)]
async fn link_sign_in_sets_session_cookie(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.app.user("Ada Lovelace", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();

    let response = server.sign_in(&ada).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], "/");
    let cookie = session_set_cookie(&response);
    let attributes: Vec<String> = cookie
        .split(';')
        .map(|attribute| attribute.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes.contains(&"httponly".to_owned()), "{cookie}");
    assert!(attributes.contains(&"samesite=lax".to_owned()), "{cookie}");
    assert!(attributes.contains(&"path=/".to_owned()), "{cookie}");
    assert!(link_used(&server, ada_id).await);
    assert_eq!(server.sessions_of(ada_id).await, 1);
    assert!(server.app.audited("user.signed_in", "success").await);

    let (status, html) = server.page_text("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(DASHBOARD_SECTION), "{html}");
    assert!(html.contains("Ada Lovelace"), "{html}");
}

#[sqlx::test(migrations = false)]
async fn sign_in_replaces_planted_session_id(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.app.user("ada", &[Role::Requester]).await;
    // An attacker who planted a session id they know must not share the session after sign-in.
    let planted = tower_sessions::session::Id::default().to_string();
    sqlx::query(
        "insert into sessions (id, data, expiry_date) values ($1, '{}', now() + interval '1 hour')",
    )
    .bind(&planted)
    .execute(&server.app.svc.pool)
    .await
    .unwrap();
    server
        .jar
        .add_cookie_str(&format!("{SESSION_COOKIE}={planted}; Path=/"), &server.base);

    let response = server.sign_in(&ada).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    let after = server
        .session_cookie()
        .expect("a session cookie after sign-in");
    assert_ne!(after, planted);
    let planted_rows = sqlx::query_scalar::<_, i64>("select count(*) from sessions where id = $1")
        .bind(&planted)
        .fetch_one(&server.app.svc.pool)
        .await
        .unwrap();
    assert_eq!(planted_rows, 0);
    assert_eq!(server.sessions_of(ada.user_id.unwrap()).await, 1);
}

#[sqlx::test(migrations = false)]
async fn used_link_does_not_sign_in_again(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.app.user("ada", &[Role::Requester]).await;
    let token = server.link_token(ada.user_id.unwrap()).await;
    let page = link_page(&token);
    let (_, html) = server.page_text(&page).await;
    let action = form_action(&html, "redeem_sign_in_link");
    server.submit(&page, &action, &[("token", &token)]).await;
    let (other, other_jar) = new_client();

    let response = other
        .post(server.url(&action))
        .header(ACCEPT, "text/html")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(REFERER, server.url(&page).as_str())
        .body(form_body(&[("token", &token)]))
        .send()
        .await
        .unwrap();

    // A failed form post goes back to its page with the error in the query.
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.contains("/sign-in/link?"), "{location}");
    assert!(location.contains("__err="), "{location}");
    assert_eq!(session_cookie(&other_jar, &server.base), None);
    assert_eq!(server.sessions_of(ada.user_id.unwrap()).await, 1);
    assert!(server.app.audited("user.sign_in", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn dashboard_needs_sign_in(pool: PgPool) {
    let server = TestServer::start(pool).await;

    let response = server.page("/").await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], "/sign-in");
    let html = response.text().await.unwrap();
    assert!(!html.contains(DASHBOARD_SECTION), "{html}");
}

#[sqlx::test(migrations = false)]
async fn cross_site_post_is_rejected(pool: PgPool) {
    let server = TestServer::start(pool).await;
    server.signed_in_user("root", &[Role::Admin]).await;
    let (_, html) = server.page_text("/identities/new").await;
    let action = form_action(&html, "create_identity");
    let fields = identity_form("forged-job");
    let body = form_body(&pairs(&fields));
    let identities_before = server.app.count("identities").await;

    let fetch_metadata = server
        .client
        .post(server.url(&action))
        .header(ACCEPT, "text/html")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .header(ORIGIN, "https://attacker.example")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let origin_only = server
        .client
        .post(server.url(&action))
        .header(ACCEPT, "text/html")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ORIGIN, "https://attacker.example")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let same_site_subdomain = server
        .client
        .post(server.url(&action))
        .header(ACCEPT, "text/html")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-site")
        .body(body)
        .send()
        .await
        .unwrap();

    assert_eq!(fetch_metadata.status(), StatusCode::FORBIDDEN);
    assert_eq!(origin_only.status(), StatusCode::FORBIDDEN);
    assert_eq!(same_site_subdomain.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.app.count("identities").await, identities_before);
    assert!(!server.app.audited("identity.created", "success").await);
}

#[sqlx::test(migrations = false)]
async fn same_origin_post_creates_identity(pool: PgPool) {
    let server = TestServer::start(pool).await;
    server.signed_in_user("root", &[Role::Admin]).await;
    let (_, html) = server.page_text("/identities/new").await;
    let action = form_action(&html, "create_identity");
    let identities_before = server.app.count("identities").await;

    let response = server
        .submit(
            "/identities/new",
            &action,
            &pairs(&identity_form("billing-job")),
        )
        .await;

    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("/identities/"), "{location}");
    assert_eq!(server.app.count("identities").await, identities_before + 1);
    assert!(server.app.audited("identity.created", "success").await);
}

#[sqlx::test(migrations = false)]
async fn cross_site_post_cannot_redeem_link(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.app.user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let token = server.link_token(ada_id).await;
    let (_, html) = server.page_text(&link_page(&token)).await;
    let action = form_action(&html, "redeem_sign_in_link");

    let response = server
        .client
        .post(server.url(&action))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(form_body(&[("token", &token)]))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!link_used(&server, ada_id).await);
    assert_eq!(server.app.count("sessions").await, 0);
}

#[sqlx::test(migrations = false)]
async fn sign_out_deletes_session_row(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.signed_in_user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let cookie = server.session_cookie().unwrap();
    let (_, html) = server.page_text("/").await;
    let action = form_action(&html, "sign_out");

    let response = server.submit("/", &action, &[]).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], "/sign-in");
    assert_eq!(server.sessions_of(ada_id).await, 0);
    let rows = sqlx::query_scalar::<_, i64>("select count(*) from sessions where id = $1")
        .bind(&cookie)
        .fetch_one(&server.app.svc.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert!(server.app.audited("user.signed_out", "success").await);

    // A copy of the old cookie no longer signs anyone in.
    let (replay, replay_jar) = new_client();
    replay_jar.add_cookie_str(&format!("{SESSION_COOKIE}={cookie}; Path=/"), &server.base);
    let html = replay
        .get(server.url("/"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(DASHBOARD_SECTION), "{html}");
}

#[sqlx::test(migrations = false)]
async fn disabled_user_is_signed_out(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.signed_in_user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let (_, before) = server.page_text("/").await;

    users::set_disabled(&server.app.svc, &server.app.admin, ada_id, true)
        .await
        .unwrap();
    let (_, after) = server.page_text("/").await;

    assert!(before.contains(DASHBOARD_SECTION), "{before}");
    assert!(!after.contains(DASHBOARD_SECTION), "{after}");
    assert_eq!(server.sessions_of(ada_id).await, 0);
}

#[sqlx::test(migrations = false)]
async fn disabled_users_session_is_dropped_on_next_request(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let ada = server.signed_in_user("ada", &[Role::Requester]).await;
    let ada_id = ada.user_id.unwrap();
    let cookie = server.session_cookie().unwrap();
    // Disabled behind the domain's back, so the session row survives until the next request.
    sqlx::query("update users set disabled_at = now() where id = $1")
        .bind(ada_id)
        .execute(&server.app.svc.pool)
        .await
        .unwrap();

    let (_, html) = server.page_text("/").await;

    assert!(!html.contains(DASHBOARD_SECTION), "{html}");
    let rows = sqlx::query_scalar::<_, i64>("select count(*) from sessions where id = $1")
        .bind(&cookie)
        .fetch_one(&server.app.svc.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[sqlx::test(migrations = false)]
async fn password_form_error_redirects_back(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let (_, html) = server.page_text("/sign-in").await;
    let action = form_action(&html, "sign_in");

    let response = server
        .submit(
            "/sign-in",
            &action,
            &[("login", "nobody"), ("password", "not the password")],
        )
        .await;

    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.contains("/sign-in?"), "{location}");
    assert!(location.contains("__err="), "{location}");
    assert_eq!(server.session_cookie(), None);
    assert!(server.app.audited("user.sign_in", "refused").await);
}

/// Calls the `sign_in` server function as a hydrated page does: with fetch, so without
/// `Accept: text/html`, and with the form's fields as the body.
async fn call_sign_in(server: &TestServer, fields: &[(&str, &str)]) -> Response {
    let (_, html) = server.page_text("/sign-in").await;
    let action = form_action(&html, "sign_in");
    server
        .client
        .post(server.url(&action))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ORIGIN, server.origin())
        .body(form_body(fields))
        .send()
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn server_function_rejection_is_not_500(pool: PgPool) {
    let server = TestServer::start(pool).await;

    let response = call_sign_in(&server, &[("login", "nobody"), ("password", "wrong")]).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["field"], "password");
}

#[sqlx::test(migrations = false)]
async fn server_function_bad_form_is_not_500(pool: PgPool) {
    let server = TestServer::start(pool).await;

    let response = call_sign_in(&server, &[("login", "nobody")]).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["field"], "password");
}

#[sqlx::test(migrations = false)]
async fn api_without_token_is_unauthorized(pool: PgPool) {
    let server = TestServer::start(pool).await;

    let response = server
        .client
        .get(server.url("/api/v1/identities"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
}

#[sqlx::test(migrations = false)]
async fn api_bad_token_is_unauthorized(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.token(&server.app.admin, &[Role::Admin]).await;

    for header in [
        "Bearer writ_not-a-real-token".to_owned(),
        "Bearer ".to_owned(),
        format!("Basic {secret}"),
        secret.clone(),
    ] {
        let response = server
            .client
            .get(server.url("/api/v1/identities"))
            .header("authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
        assert!(
            response.headers().contains_key(WWW_AUTHENTICATE),
            "{header}"
        );
    }

    // Each attempt is audited as an API event with the path the caller sent. The wrong token
    // is too short to be genuine, so none of it is kept.
    let rejected: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select subject_id, source, details->>'path' from audit_events
         where action = 'api.authenticate' and outcome = 'refused' order by seq",
    )
    .fetch_all(&server.app.svc.pool)
    .await
    .unwrap();
    let subjects: Vec<&str> = rejected.iter().map(|row| row.0.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "a token too short to be genuine",
            "no bearer token in the Authorization header",
            "no bearer token in the Authorization header",
            "no bearer token in the Authorization header",
        ]
    );
    for (_, source, path) in &rejected {
        assert_eq!(source, "api");
        assert_eq!(path.as_deref(), Some("/api/v1/identities"));
    }
}

#[sqlx::test(migrations = false)]
async fn api_token_without_admin_cannot_create(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let carl = server.app.user("carl", &[Role::Requester]).await;
    let secret = server.token(&carl, &[Role::Requester]).await;
    let identities_before = server.app.count("identities").await;

    let (status, body) = json_of(
        server
            .client
            .post(server.url("/api/v1/identities"))
            .bearer_auth(&secret)
            .json(&json!({"kind": "workload", "name": "sneaky-job"})),
    )
    .await;

    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "forbidden");
    assert!(
        body["message"].as_str().unwrap().contains("admin"),
        "{body}"
    );
    assert_eq!(server.app.count("identities").await, identities_before);
    assert!(server.app.audited("identity.create", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn api_identity_lifecycle(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.token(&server.app.admin, &[Role::Admin]).await;
    let owner_id = server.app.admin.identity_id.unwrap();
    let api = |path: &str| server.url(&format!("/api/v1{path}"));

    let (status, created) = json_of(
        server
            .client
            .post(api("/identities"))
            .bearer_auth(&secret)
            .json(&json!({
                "kind": "service_account",
                "name": "billing-exporter",
                "owner_id": owner_id,
                "environment": "production",
                "external_id": "aws:billing",
                "attributes": {"team": "billing"},
            })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["owner_id"], json!(owner_id));
    assert_eq!(created["attributes"]["team"], "billing");
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, fetched) = json_of(
        server
            .client
            .get(api(&format!("/identities/{id}")))
            .bearer_auth(&secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["name"], "billing-exporter");

    let (status, listed) = json_of(
        server
            .client
            .get(api(
                "/identities?kind=service_account&q=billing&environment=production",
            ))
            .bearer_auth(&secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], json!(id));
    assert_eq!(listed["next"], Value::Null);

    let (status, updated) = json_of(
        server
            .client
            .put(api(&format!("/identities/{id}")))
            .bearer_auth(&secret)
            .json(&json!({
                "kind": "service_account",
                "name": "billing-exporter",
                "environment": "staging",
                "criticality": "high",
            })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["environment"], "staging");
    assert_eq!(updated["owner_id"], Value::Null);

    let (status, disabled) = json_of(
        server
            .client
            .post(api(&format!("/identities/{id}/disable")))
            .bearer_auth(&secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(disabled["status"], json!(IdentityStatus::Disabled));

    let (status, enabled) = json_of(
        server
            .client
            .post(api(&format!("/identities/{id}/enable")))
            .bearer_auth(&secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(enabled["status"], json!(IdentityStatus::Active));

    let sources = sqlx::query_scalar::<_, String>(
        "select action from audit_events where source = 'api' order by seq",
    )
    .fetch_all(&server.app.svc.pool)
    .await
    .unwrap();
    assert_eq!(
        sources,
        vec![
            "identity.created",
            "identity.updated",
            "identity.owner_assigned",
            "identity.disabled",
            "identity.enabled",
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn api_list_pages_with_cursor(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.token(&server.app.admin, &[Role::Admin]).await;
    for i in 0..60 {
        server
            .app
            .service_account(&format!("sa-{i:02}"), None)
            .await;
    }
    server.app.user("bea", &[Role::Requester]).await;

    let mut names = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut request = server
            .client
            .get(server.url("/api/v1/identities"))
            .bearer_auth(&secret)
            .query(&[("unowned", "true"), ("kind", "service_account")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let (status, page) = json_of(request).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            names.push(item["name"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    let expected: Vec<String> = (0..60).map(|i| format!("sa-{i:02}")).collect();
    assert_eq!(pages, 2);
    assert_eq!(names, expected);
}

#[sqlx::test(migrations = false)]
async fn api_rejects_bad_input(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.token(&server.app.admin, &[Role::Admin]).await;
    let existing = server.app.service_account("existing", None).await;
    let identities = server.url("/api/v1/identities");
    let one = server.url(&format!("/api/v1/identities/{}", existing.id));
    let post_text = |url: reqwest::Url, body: &str| {
        server
            .client
            .post(url)
            .bearer_auth(&secret)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned())
    };
    let cases: Vec<(&str, RequestBuilder, &str)> = vec![
        (
            "malformed JSON",
            post_text(identities.clone(), r#"{"kind": "workload", "name": "#),
            "body",
        ),
        (
            "unknown field",
            server
                .client
                .post(identities.clone())
                .bearer_auth(&secret)
                .json(&json!({"kind": "workload", "name": "x", "colour": "red"})),
            "colour",
        ),
        (
            "missing name",
            server
                .client
                .post(identities.clone())
                .bearer_auth(&secret)
                .json(&json!({"kind": "workload"})),
            "name",
        ),
        (
            "bad kind",
            server
                .client
                .post(identities.clone())
                .bearer_auth(&secret)
                .json(&json!({"kind": "robot", "name": "x"})),
            "kind",
        ),
        (
            "blank name",
            server
                .client
                .post(identities.clone())
                .bearer_auth(&secret)
                .json(&json!({"kind": "workload", "name": "  "})),
            "name",
        ),
        (
            "bad owner id",
            server
                .client
                .post(identities.clone())
                .bearer_auth(&secret)
                .json(&json!({"kind": "workload", "name": "x", "owner_id": "admin"})),
            "body",
        ),
        (
            "unknown owner",
            server
                .client
                .post(identities.clone())
                .bearer_auth(&secret)
                .json(&json!({"kind": "workload", "name": "x", "owner_id": Uuid::new_v4()})),
            "owner_id",
        ),
        (
            "attributes not an object",
            server
                .client
                .post(identities.clone())
                .bearer_auth(&secret)
                .json(&json!({"kind": "workload", "name": "x", "attributes": [1]})),
            "attributes",
        ),
        (
            "no content type",
            server
                .client
                .post(identities.clone())
                .bearer_auth(&secret)
                .body(r#"{"kind": "workload", "name": "x"}"#),
            "body",
        ),
        (
            "bad id in path",
            server
                .client
                .get(server.url("/api/v1/identities/not-a-uuid"))
                .bearer_auth(&secret),
            "id",
        ),
        (
            "bad id in update path",
            server
                .client
                .put(server.url("/api/v1/identities/42"))
                .bearer_auth(&secret)
                .json(&json!({"kind": "workload", "name": "x"})),
            "id",
        ),
        (
            "bad kind filter",
            server
                .client
                .get(identities.clone())
                .bearer_auth(&secret)
                .query(&[("kind", "robot")]),
            "kind",
        ),
        (
            "bad status filter",
            server
                .client
                .get(identities.clone())
                .bearer_auth(&secret)
                .query(&[("status", "gone")]),
            "status",
        ),
        (
            "unknown query parameter",
            server
                .client
                .get(identities.clone())
                .bearer_auth(&secret)
                .query(&[("colour", "red")]),
            "query",
        ),
        (
            "damaged cursor",
            server
                .client
                .get(identities.clone())
                .bearer_auth(&secret)
                .query(&[("cursor", "not*a*cursor")]),
            "cursor",
        ),
        (
            "bad kind on update",
            server
                .client
                .put(one.clone())
                .bearer_auth(&secret)
                .json(&json!({"kind": "robot", "name": "existing"})),
            "kind",
        ),
    ];
    let identities_before = server.app.count("identities").await;

    for (case, request, field) in cases {
        let (status, body) = json_of(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert_eq!(body["error"], "invalid", "{case}: {body}");
        assert_eq!(body["field"], field, "{case}: {body}");
        assert!(
            !body["message"].as_str().unwrap_or_default().is_empty(),
            "{case}"
        );
    }
    assert_eq!(server.app.count("identities").await, identities_before);
    assert!(!server.app.audited("identity.updated", "success").await);
}

#[sqlx::test(migrations = false)]
async fn api_unknown_identity_and_endpoint_are_404(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.token(&server.app.admin, &[Role::Admin]).await;

    let (identity_status, identity) = json_of(
        server
            .client
            .get(server.url(&format!("/api/v1/identities/{}", Uuid::new_v4())))
            .bearer_auth(&secret),
    )
    .await;
    let (endpoint_status, endpoint) = json_of(
        server
            .client
            .get(server.url("/api/v1/no-such-thing"))
            .bearer_auth(&secret),
    )
    .await;

    assert_eq!(identity_status, StatusCode::NOT_FOUND);
    assert_eq!(identity["error"], "not_found");
    assert_eq!(endpoint_status, StatusCode::NOT_FOUND);
    assert_eq!(endpoint["error"], "not_found");
}

#[sqlx::test(migrations = false)]
async fn api_duplicate_external_id_is_409(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.token(&server.app.admin, &[Role::Admin]).await;
    let body = json!({"kind": "workload", "name": "job", "external_id": "k8s:job"});
    let create = || {
        server
            .client
            .post(server.url("/api/v1/identities"))
            .bearer_auth(&secret)
            .json(&body)
    };

    let (first, _) = json_of(create()).await;
    let (second, error) = json_of(create()).await;

    assert_eq!(first, StatusCode::CREATED);
    assert_eq!(second, StatusCode::CONFLICT);
    assert_eq!(error["error"], "conflict");
    assert!(
        error["message"].as_str().unwrap().contains("external_id"),
        "{error}"
    );
    assert_eq!(server.app.count("identities").await, 2);
}

#[sqlx::test(migrations = false)]
async fn api_body_over_limit_is_413(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.token(&server.app.admin, &[Role::Admin]).await;
    let description = "x".repeat(MAX_BODY_BYTES);
    let identities_before = server.app.count("identities").await;

    let response = server
        .client
        .post(server.url("/api/v1/identities"))
        .bearer_auth(&secret)
        .json(&json!({"kind": "workload", "name": "big", "description": description}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(server.app.count("identities").await, identities_before);
}

#[sqlx::test(migrations = false)]
async fn api_ignores_session_cookie(pool: PgPool) {
    let server = TestServer::start(pool).await;
    server.signed_in_user("root", &[Role::Admin]).await;

    let response = server
        .client
        .get(server.url("/api/v1/identities"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrations = false)]
async fn api_body_over_limit_error_is_json(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.token(&server.app.admin, &[Role::Admin]).await;
    let description = "x".repeat(MAX_BODY_BYTES);

    let (status, body) = json_of(
        server
            .client
            .post(server.url("/api/v1/identities"))
            .bearer_auth(&secret)
            .json(&json!({"kind": "workload", "name": "big", "description": description})),
    )
    .await;

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "too_large");
}

#[sqlx::test(migrations = false)]
async fn api_nul_characters_are_400(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.token(&server.app.admin, &[Role::Admin]).await;
    let identities = server.url("/api/v1/identities");
    // PostgreSQL text and jsonb cannot store U+0000, so it must be rejected before a query.
    let nul_cursor = page::encode(&("job\u{0}".to_owned(), Uuid::nil()));
    let cases: Vec<(&str, RequestBuilder)> = vec![
        (
            "attributes",
            server
                .client
                .post(identities.clone())
                .bearer_auth(&secret)
                .json(&json!({"kind": "workload", "name": "job", "attributes": {"a": "x\u{0}"}})),
        ),
        (
            "q",
            server
                .client
                .get(identities.clone())
                .bearer_auth(&secret)
                .query(&[("q", "job\u{0}")]),
        ),
        (
            "environment",
            server
                .client
                .get(identities.clone())
                .bearer_auth(&secret)
                .query(&[("environment", "prod\u{0}")]),
        ),
        (
            "cursor",
            server
                .client
                .get(identities.clone())
                .bearer_auth(&secret)
                .query(&[("cursor", nul_cursor)]),
        ),
    ];
    let identities_before = server.app.count("identities").await;

    let mut answers = Vec::new();
    let mut expected = Vec::new();
    for (field, request) in cases {
        let (status, body) = json_of(request).await;
        answers.push((status.as_u16(), body["field"].clone()));
        expected.push((400, json!(field)));
    }

    // All cases are compared at once, so a failure shows the status and field of every case.
    assert_eq!(answers, expected);
    assert_eq!(server.app.count("identities").await, identities_before);
}
