//! The real router served on a loopback port, with a cookie-keeping client that acts like a
//! browser without JavaScript.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::model::Role;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN, REFERER};
use reqwest::{Client, Response, StatusCode, Url};
use server::domain::actor::Actor;
use server::domain::{tokens, users};
use server::http::HttpSettings;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::harness::TestApp;

/// Largest request body the test server accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long a test server's sessions last without requests.
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// How long a test server's sessions last from sign-in.
pub const SESSION_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);

/// Name of the console's session cookie.
pub const SESSION_COOKIE: &str = "writ_session";

/// A `TestApp` behind the full HTTP stack on `127.0.0.1`, and a client with its own cookies.
pub struct TestServer {
    pub app: TestApp,
    pub base: Url,
    pub client: Client,
    pub jar: Arc<Jar>,
    /// The decision service this server answers with.
    pub decider: Arc<server::decide::Decider>,
    site_root: PathBuf,
    serving: JoinHandle<()>,
}

impl TestServer {
    /// Migrates `pool`, creates the harness's admin and serves the router on a free port.
    pub async fn start(pool: PgPool) -> Self {
        let app = TestApp::new(pool).await;
        let listener = Self::listener().await;
        Self::serve(app, listener, None).await
    }

    /// Serves `app` on a free port, without sign-in through an OpenID provider.
    pub async fn serve_app(app: TestApp) -> Self {
        let listener = Self::listener().await;
        Self::serve(app, listener, None).await
    }

    /// Binds a free loopback port for `serve`, so that its URL is known before the router is
    /// built.
    pub async fn listener() -> TcpListener {
        TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port is free")
    }

    /// Serves `app` on `listener`, with sign-in through `oidc` when given. Sessions last one
    /// hour without requests and eight hours in all.
    pub async fn serve(
        app: TestApp,
        listener: TcpListener,
        oidc: Option<Arc<server::oidc::OidcProvider>>,
    ) -> Self {
        // An empty site root: no hydration bundle, so pages are plain server-rendered HTML.
        let site_root = std::env::temp_dir().join(format!("writ-it-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&site_root).expect("the site root is created");
        let decider = server::decide::Decider::start(
            app.svc.pool.clone(),
            app.svc.clock.clone(),
            server::decide::log::LogMode::Durable,
        )
        .await
        .expect("the decision service starts");
        server::decide::listener::start(app.svc.pool.clone(), decider.clone())
            .await
            .expect("the cache listener starts");
        let router = server::http::router(
            app.svc.clone(),
            &HttpSettings {
                decider: decider.clone(),
                site_root: site_root.clone(),
                session_idle_timeout: SESSION_IDLE_TIMEOUT,
                session_absolute_timeout: SESSION_ABSOLUTE_TIMEOUT,
                oidc,
                max_body_bytes: MAX_BODY_BYTES,
            },
        );
        let address = listener.local_addr().unwrap();
        let serving = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the test server runs");
        });
        let base = Url::parse(&format!("http://{address}/")).unwrap();
        let (client, jar) = new_client();
        Self {
            app,
            base,
            client,
            jar,
            decider,
            site_root,
            serving,
        }
    }

    /// Returns the absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }

    /// Returns the `Origin` header value a browser sends for pages of this server.
    pub fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }

    /// Fetches a console page as a browser would.
    pub async fn page(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header(ACCEPT, "text/html")
            .send()
            .await
            .unwrap()
    }

    /// Fetches a console page and returns its status and HTML.
    pub async fn page_text(&self, path: &str) -> (StatusCode, String) {
        let response = self.page(path).await;
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// Submits a form from `from_page` to `action` as a same-origin browser without JavaScript.
    pub async fn submit(&self, from_page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(action))
            .header(ACCEPT, "text/html")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ORIGIN, self.origin())
            .header("sec-fetch-site", "same-origin")
            .header(REFERER, self.url(from_page).as_str())
            .body(form_body(fields))
            .send()
            .await
            .unwrap()
    }

    /// Issues a sign-in link for `user_id` as the admin and returns its token.
    pub async fn link_token(&self, user_id: Uuid) -> String {
        let link = users::issue_link(&self.app.svc, &self.app.admin, user_id)
            .await
            .expect("a sign-in link is issued");
        let url = Url::parse(&link.url).unwrap();
        url.query_pairs()
            .find(|(key, _)| key == "token")
            .map(|(_, value)| value.into_owned())
            .expect("the link carries a token")
    }

    /// Signs `actor` in through a sign-in link: opens the confirmation page and posts its form.
    pub async fn sign_in(&self, actor: &Actor) -> Response {
        let token = self.link_token(actor.user_id.unwrap()).await;
        let page = link_page(&token);
        let (status, html) = self.page_text(&page).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let action = form_action(&html, "redeem_sign_in_link");
        self.submit(&page, &action, &[("token", &token)]).await
    }

    /// Creates a user with `roles`, signs them in and returns them as an actor.
    pub async fn signed_in_user(&self, login: &str, roles: &[Role]) -> Actor {
        let actor = self.app.user(login, roles).await;
        let response = self.sign_in(&actor).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        actor
    }

    /// Returns the value of the session cookie the client holds, if any.
    pub fn session_cookie(&self) -> Option<String> {
        session_cookie(&self.jar, &self.base)
    }

    /// Creates an API token for `actor` with `roles` and returns its secret.
    pub async fn token(&self, actor: &Actor, roles: &[Role]) -> String {
        let roles: Vec<String> = roles.iter().map(|role| role.to_string()).collect();
        tokens::create(&self.app.svc, actor, "test", &roles, "")
            .await
            .expect("a token is created")
            .secret
    }

    /// Counts the `sessions` rows of `user_id`.
    pub async fn sessions_of(&self, user_id: Uuid) -> i64 {
        sqlx::query_scalar::<_, i64>("select count(*) from sessions where user_id = $1")
            .bind(user_id)
            .fetch_one(&self.app.svc.pool)
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.serving.abort();
        let _ = std::fs::remove_dir_all(&self.site_root);
    }
}

/// Builds a client that keeps cookies in the returned jar and follows no redirects or proxies.
pub fn new_client() -> (Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    (client, jar)
}

/// Returns the value of the session cookie in `jar` for `base`, if any.
pub fn session_cookie(jar: &Jar, base: &Url) -> Option<String> {
    let header = jar.cookies(base)?;
    let header = header.to_str().ok()?;
    header
        .split("; ")
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Returns the path of the sign-in link page for `token`.
pub fn link_page(token: &str) -> String {
    format!("/sign-in/link?token={token}")
}

/// Returns the `action` of the first form in `html` that posts to the server function whose
/// path starts with `/api/<name>`.
pub fn form_action(html: &str, name: &str) -> String {
    let start = format!("action=\"/api/{name}");
    let at = html
        .find(&start)
        .unwrap_or_else(|| panic!("no form posts to {name} in:\n{html}"));
    let value = &html[at + "action=\"".len()..];
    let end = value.find('"').expect("the attribute is closed");
    value[..end].to_owned()
}

/// Encodes `fields` as an `application/x-www-form-urlencoded` body.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}
