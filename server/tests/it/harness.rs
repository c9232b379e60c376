//! A small test app: a migrated fresh database, a manual clock, and builders for users,
//! identities and resources.

use std::sync::Arc;

use app::model::{Identity, IdentityInput, RequestInput, Resource, ResourceInput, Role, Viewer};
use chrono::{DateTime, Duration, TimeZone, Utc};
use server::clock::ManualClock;
use server::domain::accounts::{self, NewUser};
use server::domain::actor::Actor;
use server::domain::{identities, requests, resources};
use server::services::{Services, Settings, SignInSettings};
use sqlx::PgPool;
use uuid::Uuid;

/// The time every test starts at.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

/// A migrated database with a manual clock.
#[derive(Clone)]
pub struct TestApp {
    pub svc: Services,
    pub clock: Arc<ManualClock>,
    pub admin: Actor,
}

impl TestApp {
    /// Migrates `pool` (a fresh database from `#[sqlx::test]`) and creates an admin.
    pub async fn new(pool: PgPool) -> Self {
        Self::with_clock(pool, ManualClock::new(start_time())).await
    }

    /// Like `new`, with the clock starting at `clock`'s time.
    pub async fn with_clock(pool: PgPool, clock: ManualClock) -> Self {
        server::db::migrate(&pool).await.expect("migrations apply");
        let clock = Arc::new(clock);
        let svc = Services {
            pool,
            clock: clock.clone(),
            settings: Arc::new(Settings::with_public_url(
                "http://127.0.0.1:3000".parse().unwrap(),
            )),
        };
        let mut app = Self {
            svc,
            clock,
            admin: Actor::cli(),
        };
        app.admin = app.user("admin", &[Role::Admin]).await;
        app
    }

    /// Replaces the sign-in settings of the app's services.
    pub fn set_sign_in(&mut self, sign_in: SignInSettings) {
        let settings = Settings {
            sign_in,
            ..(*self.svc.settings).clone()
        };
        self.svc.settings = Arc::new(settings);
    }

    /// The clock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock_now()
    }

    fn clock_now(&self) -> DateTime<Utc> {
        use server::clock::Clock;
        self.clock.now()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Creates a local user with `roles` and returns them as a console actor.
    pub async fn user(&self, login: &str, roles: &[Role]) -> Actor {
        let mut tx = self.svc.pool.begin().await.unwrap();
        let user_id = accounts::insert_user(
            &mut tx,
            self.now(),
            NewUser {
                issuer: accounts::LOCAL_ISSUER,
                subject: login,
                display_name: login,
                email: None,
                email_verified: false,
                password_hash: None,
                roles,
                is_bootstrap: false,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        Actor::console(&self.viewer(user_id).await)
    }

    /// Loads the viewer of `user_id` as the console would.
    pub async fn viewer(&self, user_id: Uuid) -> Viewer {
        accounts::load_viewer(&self.svc.pool, user_id)
            .await
            .unwrap()
            .expect("user exists and is enabled")
    }

    /// Creates a resource approved by `approvers`, needing `required` approvals.
    pub async fn resource(
        &self,
        name: &str,
        max_duration: &str,
        required: i32,
        approvers: &[&Actor],
    ) -> Resource {
        let input = ResourceInput {
            name: name.into(),
            target: format!("{name}.internal"),
            role: "admin".into(),
            sensitivity: "high".into(),
            max_duration: max_duration.into(),
            required_approvals: required.to_string(),
            approvers: approvers
                .iter()
                .map(|actor| format!("user:{}", actor.user_id.unwrap()))
                .collect(),
            ..ResourceInput::default()
        };
        resources::create(&self.svc.pool, &self.admin, self.now(), &input)
            .await
            .expect("resource is created")
    }

    /// Creates a non-human identity owned by `owner` (or unowned).
    pub async fn service_account(&self, name: &str, owner: Option<&Actor>) -> Identity {
        let input = IdentityInput {
            kind: "service_account".into(),
            name: name.into(),
            owner_id: owner
                .and_then(|actor| actor.identity_id)
                .map(|id| id.to_string())
                .unwrap_or_default(),
            environment: "production".into(),
            ..IdentityInput::default()
        };
        identities::create(&self.svc.pool, &self.admin, self.now(), &input)
            .await
            .expect("identity is created")
    }

    /// Files a request by `requester` for themselves.
    pub async fn request(
        &self,
        requester: &Actor,
        resource: &Resource,
        duration: &str,
    ) -> app::model::AccessRequest {
        requests::create(&self.svc, requester, &request_input(resource, duration))
            .await
            .expect("request is created")
    }

    /// Returns `(action, outcome)` of every audit entry, oldest first.
    pub async fn audit_log(&self) -> Vec<(String, String)> {
        sqlx::query!("select action, outcome from audit_events order by seq")
            .fetch_all(&self.svc.pool)
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.action, row.outcome))
            .collect()
    }

    /// Whether the audit log has an entry with `action` and `outcome`.
    pub async fn audited(&self, action: &str, outcome: &str) -> bool {
        self.audit_log()
            .await
            .iter()
            .any(|(logged, result)| logged == action && result == outcome)
    }

    /// Counts rows of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
            .fetch_one(&self.svc.pool)
            .await
            .unwrap()
    }
}

/// A request form for oneself with a reason.
pub fn request_input(resource: &Resource, duration: &str) -> RequestInput {
    RequestInput {
        resource_id: resource.id.to_string(),
        duration: duration.into(),
        reason: "investigate the failing nightly export".into(),
        ticket: "OPS-1".into(),
        ..RequestInput::default()
    }
}
