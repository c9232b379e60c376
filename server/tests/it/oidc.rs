//! Sign-in through a real OpenID provider on loopback: the happy path, every rejected
//! callback, ID token time checks against the moved clock, return paths, group-to-role
//! mapping, and the session rules around an OpenID sign-in.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use app::model::Role;
use chrono::{Duration, Utc};
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode, Url};
use serde_json::{Value, json};
use server::clock::ManualClock;
use server::domain::role_map::RoleMap;
use server::domain::users;
use server::oidc::{OidcProvider, OidcSettings};
use server::services::SignInSettings;
use sqlx::PgPool;
use uuid::Uuid;

use crate::harness::TestApp;
use crate::oidc_provider::{CLIENT_ID, CLIENT_SECRET, TestProvider, authorize};
use crate::server::{SESSION_COOKIE, TestServer, form_action, new_client};

/// Text that only the signed-in dashboard shows.
const DASHBOARD_SECTION: &str = "Waiting for my approval";
const ADA_PASSWORD: &str = "ada-provider-password";
const ROLE_MAP: &str = "writ-approvers=approver;writ-requesters=requester";

/// How the provider and Writ are set up for one test.
struct Setup {
    /// Claims of the account `ada` at the provider.
    ada: Value,
    /// `false` keeps profile and group claims out of the ID token (userinfo only).
    id_token_claims: bool,
    userinfo: bool,
    /// Also start the mix-up front and point Writ at it.
    mixup: bool,
    local_sign_in: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            ada: json!({
                "email": "ada@example.test",
                "email_verified": true,
                "name": "Ada Lovelace",
                "groups": ["writ-approvers"],
            }),
            id_token_claims: true,
            userinfo: false,
            mixup: false,
            local_sign_in: true,
        }
    }
}

struct Fixture {
    server: TestServer,
    provider: TestProvider,
}

/// Starts a provider with the account `ada` and a Writ pointed at it. Writ's clock starts at
/// the real time, because the provider stamps its tokens with the real time.
async fn fixture(pool: PgPool, setup: Setup) -> Fixture {
    let mut app = TestApp::with_clock(pool, ManualClock::new(Utc::now())).await;
    app.set_sign_in(SignInSettings {
        local: setup.local_sign_in,
        oidc: true,
        role_map: RoleMap::parse(ROLE_MAP).unwrap(),
    });
    let listener = TestServer::listener().await;
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect_url = format!("{base}/sign-in/oidc/callback");
    let provider = TestProvider::start(json!({
        "clients": [{
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [redirect_url],
        }],
        "accounts": { "ada": { "password": ADA_PASSWORD, "claims": setup.ada } },
        "idTokenClaims": setup.id_token_claims,
        "mixup": setup.mixup,
    }))
    .await;
    let issuer = if setup.mixup {
        provider.mixup_issuer.clone().unwrap()
    } else {
        provider.issuer.clone()
    };
    let oidc = OidcProvider::discover(
        settings(issuer, &redirect_url, setup.userinfo),
        app.clock.clone(),
    )
    .await
    .expect("the provider is discovered");
    let server = TestServer::serve(app, listener, Some(Arc::new(oidc))).await;
    let fixture = Fixture { server, provider };
    fixture.sync_clock();
    fixture
}

fn settings(issuer: String, redirect_url: &str, userinfo: bool) -> OidcSettings {
    OidcSettings {
        issuer,
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        scopes: vec!["email".into(), "profile".into(), "groups".into()],
        redirect_url: redirect_url.parse().unwrap(),
        groups_claim: "groups".into(),
        userinfo,
        clock_leeway: StdDuration::from_secs(30),
    }
}

impl Fixture {
    /// Starts a sign-in at Writ for `return_to` and returns the provider URL Writ redirects to.
    async fn begin(&self, return_to: Option<&str>) -> Url {
        let mut start = self.server.url("/sign-in/oidc");
        if let Some(path) = return_to {
            start.query_pairs_mut().append_pair("return_to", path);
        }
        let response = self.server.client.get(start).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        Url::parse(location(&response)).unwrap()
    }

    /// Signs in at the provider as `ada` and returns the callback URL it sends back. Writ's
    /// clock is then set to the real time, close to the time the provider will stamp on the ID
    /// token when Writ redeems the code.
    async fn callback_url(&self, authorization_url: &Url) -> Url {
        let callback = authorize(&self.server.client, authorization_url, "ada", ADA_PASSWORD).await;
        assert_eq!(callback.path(), "/sign-in/oidc/callback", "{callback}");
        self.sync_clock();
        callback
    }

    /// Like `callback_url`, for a browser other than the test server's own client.
    async fn callback_url_in(&self, browser: &reqwest::Client, authorization_url: &Url) -> Url {
        let callback = authorize(browser, authorization_url, "ada", ADA_PASSWORD).await;
        self.sync_clock();
        callback
    }

    /// Sets Writ's clock to the real time, which the provider stamps its tokens with. Setting
    /// up a test can take long on a busy machine, so a clock set once at the start may lag.
    fn sync_clock(&self) {
        self.server.app.clock.set(Utc::now());
    }

    /// Opens a callback URL at Writ.
    async fn finish(&self, callback: &Url) -> Response {
        self.server
            .client
            .get(callback.clone())
            .send()
            .await
            .unwrap()
    }

    /// Runs a whole sign-in as `ada` and returns Writ's response to the callback.
    async fn sign_in(&self, return_to: Option<&str>) -> Response {
        let authorization = self.begin(return_to).await;
        let callback = self.callback_url(&authorization).await;
        self.finish(&callback).await
    }

    /// Returns the id of the user with the provider's issuer and `subject`, if any.
    async fn user_id(&self, subject: &str) -> Option<Uuid> {
        sqlx::query_scalar::<_, Uuid>("select id from users where issuer = $1 and subject = $2")
            .bind(&self.provider.issuer)
            .bind(subject)
            .fetch_optional(&self.server.app.svc.pool)
            .await
            .unwrap()
    }

    async fn roles_of(&self, user_id: Uuid) -> Vec<String> {
        sqlx::query_scalar::<_, Vec<String>>("select roles from users where id = $1")
            .bind(user_id)
            .fetch_one(&self.server.app.svc.pool)
            .await
            .unwrap()
    }

    async fn dashboard_shown(&self) -> bool {
        let (_, html) = self.server.page_text("/").await;
        html.contains(DASHBOARD_SECTION)
    }

    /// Asserts that a callback was rejected with `status`, naming `reason`, signed no one in,
    /// and was audited.
    async fn assert_rejected(&self, response: Response, status: StatusCode, reason: &str) {
        assert_eq!(response.status(), status);
        let html = response.text().await.unwrap();
        assert!(html.contains(reason), "expected {reason:?} in:\n{html}");
        assert!(!self.dashboard_shown().await, "no one is signed in");
        assert!(self.server.app.audited("user.sign_in", "refused").await);
    }
}

fn location(response: &Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}

/// Returns `url` with query parameter `name` set to `value`, or removed when `value` is None.
fn with_param(url: &Url, name: &str, value: Option<&str>) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let mut changed = url.clone();
    {
        let mut query = changed.query_pairs_mut();
        query.clear();
        for (key, value) in &pairs {
            query.append_pair(key, value);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    changed
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[sqlx::test(migrations = false)]
async fn first_sign_in_creates_user(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;

    let response = fx.sign_in(None).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let user_id = fx.user_id("ada").await.expect("the user is created");
    let user = sqlx::query_as::<_, (String, Option<String>, bool, Option<String>)>(
        "select display_name, email, email_verified, password_hash from users where id = $1",
    )
    .bind(user_id)
    .fetch_one(&fx.server.app.svc.pool)
    .await
    .unwrap();
    assert_eq!(user.0, "Ada Lovelace");
    assert_eq!(user.1.as_deref(), Some("ada@example.test"));
    assert!(user.2);
    assert_eq!(user.3, None, "no local password");
    assert_eq!(fx.roles_of(user_id).await, vec!["approver"]);
    let identity = sqlx::query_as::<_, (String, String, Option<Uuid>)>(
        "select kind, name, owner_id from identities where user_id = $1",
    )
    .bind(user_id)
    .fetch_one(&fx.server.app.svc.pool)
    .await
    .unwrap();
    assert_eq!(identity.0, "human");
    assert_eq!(identity.1, "Ada Lovelace");
    assert_eq!(fx.server.sessions_of(user_id).await, 1);
    assert!(fx.server.app.audited("user.created", "success").await);
    assert!(fx.server.app.audited("user.signed_in", "success").await);
    assert!(fx.dashboard_shown().await);
}

#[sqlx::test(migrations = false)]
async fn second_sign_in_reuses_user(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    fx.sign_in(None).await;
    let users_before = fx.server.app.count("users").await;
    let (fresh, _) = new_client();

    // Another browser: the provider requests the password again and Writ finds the same user.
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url_in(&fresh, &authorization).await;
    let response = fx.finish(&callback).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(fx.server.app.count("users").await, users_before);
    assert_eq!(
        fx.server
            .app
            .count("identities where user_id is not null")
            .await,
        users_before
    );
}

#[sqlx::test(migrations = false)]
async fn wrong_state_is_rejected(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url(&authorization).await;

    let forged = with_param(&callback, "state", Some("forged-state"));
    let response = fx.finish(&forged).await;

    fx.assert_rejected(
        response,
        StatusCode::BAD_REQUEST,
        "state parameter does not match",
    )
    .await;
    assert_eq!(fx.user_id("ada").await, None);
}

#[sqlx::test(migrations = false)]
async fn callback_without_sign_in_is_rejected(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url(&authorization).await;

    // A browser that never started this sign-in (another session) opens the callback.
    let (other, _) = new_client();
    let response = other.get(callback).send().await.unwrap();

    fx.assert_rejected(response, StatusCode::BAD_REQUEST, "no sign-in was started")
        .await;
}

#[sqlx::test(migrations = false)]
async fn replayed_callback_is_rejected(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url(&authorization).await;
    assert_eq!(fx.finish(&callback).await.status(), StatusCode::SEE_OTHER);
    let cookie = fx.server.session_cookie();

    let response = fx.finish(&callback).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("no sign-in was started"), "{html}");
    assert!(fx.server.app.audited("user.sign_in", "refused").await);
    assert_eq!(
        fx.server.session_cookie(),
        cookie,
        "the signed-in session stays"
    );
}

#[sqlx::test(migrations = false)]
async fn replayed_code_is_rejected(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let first = fx.begin(None).await;
    let used = fx.callback_url(&first).await;
    assert_eq!(fx.finish(&used).await.status(), StatusCode::SEE_OTHER);
    fx.server
        .jar
        .add_cookie_str(&format!("{SESSION_COOKIE}=gone; Path=/"), &fx.server.base);

    // A new sign-in in the same browser, completed with the code already used.
    let second = fx.begin(None).await;
    let replay = with_param(&used, "state", Some(&param(&second, "state")));
    let response = fx.finish(&replay).await;

    fx.assert_rejected(
        response,
        StatusCode::BAD_REQUEST,
        "did not accept the authorization code",
    )
    .await;
}

#[sqlx::test(migrations = false)]
async fn nonce_mismatch_is_rejected(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let authorization = fx.begin(None).await;

    // The provider is asked for a token with another nonce than the one Writ keeps.
    let tampered = with_param(&authorization, "nonce", Some("not-the-nonce-writ-sent"));
    let callback = fx.callback_url(&tampered).await;
    let response = fx.finish(&callback).await;

    fx.assert_rejected(response, StatusCode::BAD_REQUEST, "nonce mismatch")
        .await;
    assert_eq!(fx.user_id("ada").await, None);
}

#[sqlx::test(migrations = false)]
async fn discovered_issuer_must_match_exactly(pool: PgPool) {
    let app = TestApp::with_clock(pool, ManualClock::new(Utc::now())).await;
    let provider = TestProvider::start(json!({})).await;
    let issuer = format!("{}/", provider.issuer);

    let error = OidcProvider::discover(
        settings(
            issuer.clone(),
            "http://127.0.0.1:1/sign-in/oidc/callback",
            false,
        ),
        app.clock.clone(),
    )
    .await
    .unwrap_err()
    .to_string();

    assert!(error.contains("WRIT_OIDC_ISSUER"), "{error}");
    assert!(
        error.contains(&format!("`{issuer}`")),
        "names the configured issuer: {error}"
    );
    let discovered = &provider.issuer;
    assert!(
        error.contains(&format!("`{discovered}`")),
        "names the discovered issuer: {error}"
    );
}

#[sqlx::test(migrations = false)]
async fn mixed_up_issuer_is_rejected(pool: PgPool) {
    let fx = fixture(
        pool,
        Setup {
            mixup: true,
            ..Setup::default()
        },
    )
    .await;
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url(&authorization).await;

    let response = fx.finish(&callback).await;

    fx.assert_rejected(
        response,
        StatusCode::BAD_REQUEST,
        "authorization response names issuer",
    )
    .await;
}

#[sqlx::test(migrations = false)]
async fn id_token_issuer_must_match(pool: PgPool) {
    let fx = fixture(
        pool,
        Setup {
            mixup: true,
            ..Setup::default()
        },
    )
    .await;
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url(&authorization).await;

    // Without the `iss` parameter the mix-up reaches the ID token, whose issuer is checked.
    let stripped = with_param(&callback, "iss", None);
    let response = fx.finish(&stripped).await;

    fx.assert_rejected(response, StatusCode::BAD_REQUEST, "Invalid issuer")
        .await;
}

#[sqlx::test(migrations = false)]
async fn expired_id_token_is_rejected(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url(&authorization).await;

    // The provider's ID tokens last 300 s and the leeway is 30 s. The extra minute covers the
    // time between setting the clock and the provider issuing the token on a busy machine.
    fx.server.app.advance(Duration::seconds(300 + 30 + 60));
    let response = fx.finish(&callback).await;

    fx.assert_rejected(response, StatusCode::BAD_REQUEST, "expired")
        .await;
}

#[sqlx::test(migrations = false)]
async fn token_from_near_future_is_accepted(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url(&authorization).await;

    // Writ's clock runs 5 s behind the provider's: within the 30 s leeway.
    fx.server.app.clock.set(Utc::now() - Duration::seconds(5));
    let response = fx.finish(&callback).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(fx.dashboard_shown().await);
}

#[sqlx::test(migrations = false)]
async fn token_from_far_future_is_rejected(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url(&authorization).await;

    fx.server.app.clock.set(Utc::now() - Duration::seconds(120));
    let response = fx.finish(&callback).await;

    fx.assert_rejected(response, StatusCode::BAD_REQUEST, "allowed clock skew")
        .await;
}

#[sqlx::test(migrations = false)]
async fn returns_to_requested_page(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;

    // An anonymous visit to a console page goes straight to the provider, keeping the path.
    let response = fx.server.page("/grants?scope=history").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let start = location(&response).to_owned();
    assert_eq!(start, "/sign-in/oidc?return_to=/grants%3Fscope%3Dhistory");
    let response = fx
        .server
        .client
        .get(fx.server.url(&start))
        .send()
        .await
        .unwrap();
    let authorization = Url::parse(location(&response)).unwrap();
    let callback = fx.callback_url(&authorization).await;
    let response = fx.finish(&callback).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/grants?scope=history");
}

#[sqlx::test(migrations = false)]
async fn off_site_return_to_is_ignored(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    for target in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        fx.server
            .jar
            .add_cookie_str(&format!("{SESSION_COOKIE}=gone; Path=/"), &fx.server.base);

        let response = fx.sign_in(Some(target)).await;

        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{target}");
        assert_eq!(location(&response), "/", "{target}");
    }
}

#[sqlx::test(migrations = false)]
async fn groups_map_to_roles_each_sign_in(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    fx.sign_in(None).await;
    let ada = fx.user_id("ada").await.unwrap();
    assert_eq!(fx.roles_of(ada).await, vec!["approver"]);

    fx.provider
        .set_account(
            "ada",
            ADA_PASSWORD,
            json!({ "name": "Ada Lovelace", "groups": ["writ-approvers", "writ-requesters", "unmapped"] }),
        )
        .await;
    let (second_browser, _) = new_client();
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url_in(&second_browser, &authorization).await;
    fx.finish(&callback).await;
    assert_eq!(fx.roles_of(ada).await, vec!["approver", "requester"]);

    // Removed from every mapped group at the provider: the next sign-in removes the roles.
    fx.provider
        .set_account(
            "ada",
            ADA_PASSWORD,
            json!({ "name": "Ada Lovelace", "groups": ["unmapped"] }),
        )
        .await;
    let (third_browser, _) = new_client();
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url_in(&third_browser, &authorization).await;
    fx.finish(&callback).await;
    assert!(fx.roles_of(ada).await.is_empty());
    assert!(fx.server.app.audited("user.roles_changed", "success").await);
}

#[sqlx::test(migrations = false)]
async fn userinfo_supplies_groups(pool: PgPool) {
    let fx = fixture(
        pool,
        Setup {
            id_token_claims: false,
            userinfo: true,
            ..Setup::default()
        },
    )
    .await;

    let response = fx.sign_in(None).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let ada = fx.user_id("ada").await.unwrap();
    assert_eq!(fx.roles_of(ada).await, vec!["approver"]);
    let email = sqlx::query_scalar::<_, Option<String>>("select email from users where id = $1")
        .bind(ada)
        .fetch_one(&fx.server.app.svc.pool)
        .await
        .unwrap();
    assert_eq!(email.as_deref(), Some("ada@example.test"));
}

#[sqlx::test(migrations = false)]
async fn unverified_email_never_links(pool: PgPool) {
    let fx = fixture(
        pool,
        Setup {
            ada: json!({
                "email": "root@example.test",
                "email_verified": false,
                "name": "Not the admin",
                "groups": [],
            }),
            ..Setup::default()
        },
    )
    .await;
    let admin = fx.server.app.admin.user_id.unwrap();
    sqlx::query(
        "update users set email = 'root@example.test', email_verified = true where id = $1",
    )
    .bind(admin)
    .execute(&fx.server.app.svc.pool)
    .await
    .unwrap();

    fx.sign_in(None).await;

    let ada = fx.user_id("ada").await.expect("a new user is created");
    assert_ne!(ada, admin);
    assert_eq!(fx.server.sessions_of(admin).await, 0);
    assert_eq!(fx.server.sessions_of(ada).await, 1);
    assert!(fx.roles_of(ada).await.is_empty());
}

#[sqlx::test(migrations = false)]
async fn sign_in_replaces_session_id(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let authorization = fx.begin(None).await;
    // The session that carried the sign-in state has an id an attacker may have planted.
    let before = fx
        .server
        .session_cookie()
        .expect("the start sets a session cookie");
    let callback = fx.callback_url(&authorization).await;

    fx.finish(&callback).await;

    let after = fx.server.session_cookie().unwrap();
    assert_ne!(after, before);
    let old_rows = sqlx::query_scalar::<_, i64>("select count(*) from sessions where id = $1")
        .bind(&before)
        .fetch_one(&fx.server.app.svc.pool)
        .await
        .unwrap();
    assert_eq!(old_rows, 0);
}

#[sqlx::test(migrations = false)]
async fn sign_out_deletes_provider_session(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    fx.sign_in(None).await;
    let ada = fx.user_id("ada").await.unwrap();
    let cookie = fx.server.session_cookie().unwrap();
    let (_, html) = fx.server.page_text("/").await;
    let action = form_action(&html, "sign_out");

    let response = fx.server.submit("/", &action, &[]).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/sign-in");
    assert_eq!(fx.server.sessions_of(ada).await, 0);
    let (replay, replay_jar) = new_client();
    replay_jar.add_cookie_str(
        &format!("{SESSION_COOKIE}={cookie}; Path=/"),
        &fx.server.base,
    );
    let html = replay
        .get(fx.server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(DASHBOARD_SECTION), "{html}");
}

#[sqlx::test(migrations = false)]
async fn disabled_provider_user_is_locked_out(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    fx.sign_in(None).await;
    let ada = fx.user_id("ada").await.unwrap();
    let cookie = fx.server.session_cookie().unwrap();

    users::set_disabled(&fx.server.app.svc, &fx.server.app.admin, ada, true)
        .await
        .unwrap();

    // The old cookie no longer signs in, and neither does the provider.
    let (replay, replay_jar) = new_client();
    replay_jar.add_cookie_str(
        &format!("{SESSION_COOKIE}={cookie}; Path=/"),
        &fx.server.base,
    );
    let html = replay
        .get(fx.server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(DASHBOARD_SECTION), "{html}");
    let (fresh, _) = new_client();
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url_in(&fresh, &authorization).await;
    let response = fx.finish(&callback).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(fx.server.sessions_of(ada).await, 0);
    assert!(fx.server.app.audited("user.sign_in", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn local_sign_in_off_keeps_bootstrap(pool: PgPool) {
    let fx = fixture(
        pool,
        Setup {
            local_sign_in: false,
            ..Setup::default()
        },
    )
    .await;
    let app = &fx.server.app;
    // The harness's admin is an ordinary local user; make a bootstrap administrator too.
    let bootstrap = app.user("bootstrap", &[Role::Admin]).await.user_id.unwrap();
    sqlx::query("update users set is_bootstrap = true where id = $1")
        .bind(bootstrap)
        .execute(&app.svc.pool)
        .await
        .unwrap();
    let ordinary = app
        .user("ordinary", &[Role::Requester])
        .await
        .user_id
        .unwrap();
    for user_id in [bootstrap, ordinary] {
        sqlx::query("update users set password_hash = $2 where id = $1")
            .bind(user_id)
            .bind(server::domain::secrets::hash_password("correct horse battery").unwrap())
            .execute(&app.svc.pool)
            .await
            .unwrap();
    }

    let refused =
        server::domain::accounts::sign_in_password(&app.svc, "ordinary", "correct horse battery")
            .await
            .unwrap_err()
            .to_string();
    let allowed =
        server::domain::accounts::sign_in_password(&app.svc, "bootstrap", "correct horse battery")
            .await;

    assert!(refused.contains("local sign-in is turned off"), "{refused}");
    assert_eq!(allowed.unwrap(), bootstrap);
    assert!(
        users::issue_link(&app.svc, &app.admin, ordinary)
            .await
            .is_err()
    );
    let (_, html) = fx.server.page_text("/sign-in").await;
    assert!(
        html.contains("Sign in with your identity provider"),
        "{html}"
    );
    assert!(html.contains("Break-glass administrator"), "{html}");
}

#[sqlx::test(migrations = false)]
async fn password_sign_in_returns_on_site(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let password = "correct horse battery";
    let (user, _) = users::create_local(
        &server.app.svc,
        &server.app.admin,
        &app::model::NewUserInput {
            login: "grace".into(),
            display_name: "Grace".into(),
            password: password.into(),
            roles: vec!["requester".into()],
            ..app::model::NewUserInput::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(server.sessions_of(user.id).await, 0);
    let (_, html) = server.page_text("/sign-in?return_to=/grants").await;
    let action = form_action(&html, "sign_in");
    assert!(
        html.contains(r#"name="return_to" value="/grants""#),
        "{html}"
    );

    for (return_to, expected) in [("/grants", "/grants"), ("https://evil.example/", "/")] {
        let response = server
            .submit(
                "/sign-in",
                &action,
                &[
                    ("login", "grace"),
                    ("password", password),
                    ("return_to", return_to),
                ],
            )
            .await;

        assert_eq!(response.status(), StatusCode::FOUND, "{return_to}");
        assert_eq!(location(&response), expected, "{return_to}");
    }
}

#[sqlx::test(migrations = false)]
async fn unreachable_token_endpoint_is_502(pool: PgPool) {
    let fx = fixture(pool, Setup::default()).await;
    let authorization = fx.begin(None).await;
    let callback = fx.callback_url(&authorization).await;
    let Fixture { server, provider } = fx;

    provider.stop().await;
    let response = server.client.get(callback).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("token endpoint could not be reached"),
        "{html}"
    );
    assert!(server.app.audited("user.sign_in", "refused").await);
}
