//! The decision API through the real router: client tokens, the default policies, grants and
//! their expiry instant, malformed input, signals, the decision log and the caches of two
//! servers on one database.

use std::time::Duration as StdDuration;

use app::model::{IdentityInput, IdentityStatus, ReviewDecision, Role};
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::domain::{clients, identities, policies, reviews};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::harness::TestApp;
use crate::server::TestServer;

/// A served app with a decision client, a requester and an approved-for resource.
struct Scene {
    server: TestServer,
    token: String,
    requester: server::domain::actor::Actor,
    approver: server::domain::actor::Actor,
    resource: app::model::Resource,
}

async fn scene(pool: PgPool) -> Scene {
    let app = TestApp::new(pool).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    let resource = app.resource("prod-db", "8h", 1, &[&approver]).await;
    let created = clients::create(&app.svc, &app.admin, "gateway", "the API gateway")
        .await
        .unwrap();
    let server = TestServer::serve_app(app).await;
    Scene {
        server,
        token: created.token,
        requester,
        approver,
        resource,
    }
}

impl Scene {
    /// Returns the requester's own human identity id.
    fn carl(&self) -> String {
        self.requester.identity_id.unwrap().to_string()
    }

    /// Posts `body` to `path` with the client token and returns status and JSON.
    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        post_with(&self.server, &self.token, path, body).await
    }

    async fn decide(&self, action: &str, context: Value) -> (StatusCode, Value) {
        let body = json!({
            "principal": self.carl(),
            "action": action,
            "resource": "prod-db",
            "context": context,
        });
        self.post("/api/v1/decisions", &body).await
    }

    /// Files and approves a request of the requester for `duration`, and waits until the
    /// decision cache has dropped the requester's entry.
    async fn grant(&self, duration: &str) {
        let mut changes = self.server.decider.cache.subscribe();
        let app = &self.server.app;
        let request = app.request(&self.requester, &self.resource, duration).await;
        reviews::review(
            &app.svc,
            &self.approver,
            request.id,
            ReviewDecision::Approve,
            "ok",
            app::model::Channel::Console,
        )
        .await
        .unwrap();
        settle(&mut changes).await;
    }
}

async fn post_with(
    server: &TestServer,
    token: &str,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = server
        .client
        .post(server.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let json = response.json().await.unwrap_or(Value::Null);
    (status, json)
}

/// Waits until a cache has handled at least one more change notification.
async fn settle(changes: &mut watch::Receiver<u64>) {
    tokio::time::timeout(StdDuration::from_secs(10), changes.changed())
        .await
        .expect("the cache hears of the change within 10 s")
        .unwrap();
}

fn policy_ids(answer: &Value) -> Vec<String> {
    answer["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|policy| policy["id"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrations = false)]
async fn decisions_need_a_client_token(pool: PgPool) {
    let scene = scene(pool).await;
    let body = json!({ "principal": scene.carl(), "action": "read", "resource": "prod-db" });
    let response = scene
        .server
        .client
        .post(scene.server.url("/api/v1/decisions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A user's API token is not a decision client's.
    let user_token = scene
        .server
        .token(&scene.server.app.admin, &[Role::Admin])
        .await;
    let (status, _) = post_with(&scene.server, &user_token, "/api/v1/decisions", &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        scene
            .server
            .app
            .audited("decision_client.authenticate", "refused")
            .await
    );

    let (status, _) = scene.post("/api/v1/decisions", &body).await;
    assert_eq!(status, StatusCode::OK);
}

/// Returns the subject, source and path of every rejected decision client token.
async fn rejected_clients(pool: &PgPool) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "select subject_id, source, details->>'path' from audit_events
         where action = 'decision_client.authenticate' and outcome = 'refused' order by seq",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = false)]
async fn rejected_tokens_keep_no_secret(pool: PgPool) {
    let scene = scene(pool).await;
    let url = scene.server.url("/api/v1/decisions");
    let body = json!({ "principal": scene.carl(), "action": "read", "resource": "prod-db" });
    let long_wrong = format!("writc_{}", "s".repeat(40));
    for header in [
        "Bearer writc_nope".to_owned(),
        format!("Bearer {long_wrong}"),
        "Bearer somebody-else's-password".to_owned(),
    ] {
        let response = scene
            .server
            .client
            .post(url.clone())
            .header("authorization", header)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let error: Value = response.json().await.unwrap();
        assert!(
            error["message"].as_str().unwrap().contains("writc_"),
            "{error}"
        );
    }
    // A header that is not visible ASCII is rejected and audited too.
    let response = scene
        .server
        .client
        .post(url.clone())
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer writc_\xc3\xa9").unwrap(),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let rejected = rejected_clients(&scene.server.app.svc.pool).await;
    let subjects: Vec<&str> = rejected.iter().map(|row| row.0.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "a token too short to be genuine",
            &long_wrong[..14],
            "a token not starting with writc_",
            "no bearer token in the Authorization header",
        ]
    );
    for (_, source, path) in &rejected {
        assert_eq!(source, "api");
        assert_eq!(path.as_deref(), Some("/api/v1/decisions"));
    }
}

#[sqlx::test(migrations = false)]
async fn repeated_keys_are_rejected(pool: PgPool) {
    let scene = scene(pool).await;
    let carl = scene.carl();
    for text in [
        format!(
            r#"{{"principal": "{carl}", "action": "read", "resource": "prod-db", "context": {{"risk_score": 99, "risk_score": 1}}}}"#
        ),
        format!(
            r#"{{"principal": "ghost", "principal": "{carl}", "action": "read", "resource": "prod-db"}}"#
        ),
    ] {
        let response = scene
            .server
            .client
            .post(scene.server.url("/api/v1/decisions"))
            .bearer_auth(&scene.token)
            .header("content-type", "application/json")
            .body(text.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{text}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["field"], "body");
        assert!(
            error["message"].as_str().unwrap().contains("appears twice"),
            "{error}"
        );
    }
    assert_eq!(scene.server.app.count("decisions").await, 0);
}

#[sqlx::test(migrations = false)]
async fn malformed_signals_name_the_field(pool: PgPool) {
    let scene = scene(pool).await;
    let carl = scene.carl();
    let cases = [
        (json!([]), "body"),
        (
            json!({ "identity": "carl\u{0}", "risk_score": 5 }),
            "identity",
        ),
        (
            json!({ "identity": "x".repeat(257), "risk_score": 5 }),
            "identity",
        ),
        (json!({ "identity": carl, "risk_score": 5.5 }), "risk_score"),
        (json!({ "identity": carl, "risk_score": 101 }), "risk_score"),
        (json!({ "identity": carl }), "risk_score"),
        (
            json!({ "identity": carl, "device": { "managed": true } }),
            "device.compliant",
        ),
        (
            json!({ "identity": carl, "device": { "managed": true, "compliant": true, "disk_encrypted": true, "rooted": false } }),
            "device.rooted",
        ),
        (
            json!({ "identity": carl, "risk_score": 5, "mood": "calm" }),
            "mood",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = scene.post("/api/v1/signals", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error["field"], field, "{body}: {error}");
        assert!(error["message"].as_str().unwrap().len() < 200, "{error}");
    }
    assert_eq!(scene.server.app.count("identity_signals").await, 0);
}

#[sqlx::test(migrations = false)]
async fn disabled_client_is_refused(pool: PgPool) {
    let scene = scene(pool).await;
    let app = &scene.server.app;
    let body = json!({ "principal": scene.carl(), "action": "read", "resource": "prod-db" });
    assert_eq!(
        scene.post("/api/v1/decisions", &body).await.0,
        StatusCode::OK
    );

    let mut changes = scene.server.decider.cache.subscribe();
    let listed = clients::list(&app.svc, &app.admin).await.unwrap();
    clients::disable(&app.svc, &app.admin, listed[0].id)
        .await
        .unwrap();
    settle(&mut changes).await;
    assert_eq!(
        scene.post("/api/v1/decisions", &body).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrations = false)]
async fn elevated_action_needs_active_grant(pool: PgPool) {
    let scene = scene(pool).await;
    let (status, read) = scene.decide("read", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["decision"], "allow");
    assert_eq!(policy_ids(&read), ["baseline-active-identities"]);

    let (_, admin) = scene.decide("admin", json!({})).await;
    assert_eq!(admin["decision"], "deny");
    assert_eq!(policy_ids(&admin), ["elevated-needs-grant"]);
    assert!(admin["decision_id"].is_string());
    assert!(
        admin["controls"]
            .as_array()
            .unwrap()
            .contains(&json!("PR.AA-05"))
    );

    scene.grant("1h").await;
    let (_, admin) = scene.decide("admin", json!({})).await;
    assert_eq!(admin["decision"], "allow", "{admin}");
}

#[sqlx::test(migrations = false)]
async fn grant_stops_counting_at_expiry_instant(pool: PgPool) {
    let scene = scene(pool).await;
    scene.grant("1h").await;
    let app = &scene.server.app;

    // One microsecond before the expiry the grant still counts.
    app.advance(Duration::hours(1) - Duration::microseconds(1));
    let (_, before) = scene.decide("admin", json!({})).await;
    assert_eq!(before["decision"], "allow", "{before}");

    // At the expiry instant it no longer does, although no job has expired it yet.
    app.advance(Duration::microseconds(1));
    let (_, at) = scene.decide("admin", json!({})).await;
    assert_eq!(at["decision"], "deny", "{at}");
    assert_eq!(policy_ids(&at), ["elevated-needs-grant"]);
    let state = sqlx::query_scalar!("select state from grants")
        .fetch_one(&app.svc.pool)
        .await
        .unwrap();
    assert_eq!(state, "scheduled", "no job has touched the grant");
}

#[sqlx::test(migrations = false)]
async fn caller_time_cannot_extend_grant(pool: PgPool) {
    let scene = scene(pool).await;
    scene.grant("1h").await;
    scene.server.app.advance(Duration::hours(2));
    let earlier = (scene.server.app.now() - Duration::hours(2)).to_rfc3339();
    let (_, answer) = scene.decide("admin", json!({ "time": earlier })).await;
    assert_eq!(answer["decision"], "deny", "{answer}");
}

#[sqlx::test(migrations = false)]
async fn unknown_names_deny_with_reason(pool: PgPool) {
    let scene = scene(pool).await;
    let body = json!({ "principal": "nobody", "action": "read", "resource": "prod-db" });
    let (status, answer) = scene.post("/api/v1/decisions", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["decision"], "deny");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("unknown principal"),
        "{answer}"
    );

    let body = json!({ "principal": scene.carl(), "action": "read", "resource": "no-such-db" });
    let (_, answer) = scene.post("/api/v1/decisions", &body).await;
    assert_eq!(answer["decision"], "deny");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("unknown resource"),
        "{answer}"
    );
    assert_eq!(scene.server.app.count("decisions").await, 2);
}

#[sqlx::test(migrations = false)]
async fn malformed_requests_name_the_field(pool: PgPool) {
    let scene = scene(pool).await;
    let cases = [
        (
            json!({ "geo": { "country": "DE", "ip": "300.1.1.1" } }),
            "context.geo.ip",
        ),
        (json!({ "risk_score": 101 }), "context.risk_score"),
        (
            json!({ "geo": { "country": "Germany" } }),
            "context.geo.country",
        ),
        (json!({ "time": "yesterday" }), "context.time"),
        (
            json!({ "behaviour": { "denials_last_hour": 0 } }),
            "context.behaviour",
        ),
    ];
    for (context, field) in cases {
        let (status, error) = scene.decide("read", context.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{context}: {error}");
        assert_eq!(error["field"], field, "{context}: {error}");
    }

    let (status, error) = scene
        .post(
            "/api/v1/decisions",
            &json!({ "principal": "carl\u{0}", "action": "read", "resource": "prod-db" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["field"], "principal");

    let (status, error) = scene.decide("fly", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["field"], "action");

    let response = scene
        .server
        .client
        .post(scene.server.url("/api/v1/decisions"))
        .bearer_auth(&scene.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["field"], "body");

    let batch: Vec<Value> = (0..101)
        .map(|_| json!({ "principal": "x", "action": "read", "resource": "y" }))
        .collect();
    let (status, error) = scene
        .post("/api/v1/decisions", &json!({ "requests": batch }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["field"], "requests");

    let bad_item = json!({ "requests": [
        { "principal": "x", "action": "read", "resource": "y" },
        { "principal": "x", "action": "read", "resource": "y", "context": { "risk_score": -1 } },
    ] });
    let (status, error) = scene.post("/api/v1/decisions", &bad_item).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["field"], "requests[1].context.risk_score");

    let huge = "x".repeat(crate::server::MAX_BODY_BYTES + 1);
    let (status, _) = scene
        .post("/api/v1/decisions", &json!({ "principal": huge }))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(scene.server.app.count("decisions").await, 0);
}

#[sqlx::test(migrations = false)]
async fn batch_decides_each_request(pool: PgPool) {
    let scene = scene(pool).await;
    let body = json!({ "requests": [
        { "principal": scene.carl(), "action": "read", "resource": "prod-db" },
        { "principal": scene.carl(), "action": "delete", "resource": "prod-db" },
        { "principal": scene.carl(), "action": "read", "resource": "prod-db",
          "context": { "geo": { "country": "KP", "ip": "175.45.176.1" } } },
    ] });
    let (status, answer) = scene.post("/api/v1/decisions", &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let decisions = answer["decisions"].as_array().unwrap();
    let outcomes: Vec<&str> = decisions
        .iter()
        .map(|decision| decision["decision"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["allow", "deny", "deny"]);
    assert_eq!(policy_ids(&decisions[2]), ["geo-allowed-countries"]);
    assert_eq!(scene.server.app.count("decisions").await, 3);
}

#[sqlx::test(migrations = false)]
async fn agent_is_held_to_declared_intent(pool: PgPool) {
    let scene = scene(pool).await;
    let app = &scene.server.app;
    let input = IdentityInput {
        kind: "ai_agent".into(),
        name: "triage-bot".into(),
        owner_id: scene.requester.identity_id.unwrap().to_string(),
        external_id: "agent-triage".into(),
        ..IdentityInput::default()
    };
    identities::create(&app.svc.pool, &app.admin, app.now(), &input)
        .await
        .unwrap();
    let ask = |action: &str, intent: Value| {
        json!({
            "principal": "agent-triage",
            "action": action,
            "resource": "prod-db",
            "context": { "intent": intent },
        })
    };
    let intent =
        json!({ "task": "summarise errors", "actions": ["read"], "resources": ["prod-db"] });
    let (_, inside) = scene
        .post("/api/v1/decisions", &ask("read", intent.clone()))
        .await;
    assert_eq!(inside["decision"], "allow", "{inside}");
    assert!(
        inside["controls"]
            .as_array()
            .unwrap()
            .contains(&json!("MAP 3.5"))
    );

    let (_, outside) = scene.post("/api/v1/decisions", &ask("write", intent)).await;
    assert_eq!(outside["decision"], "deny", "{outside}");
    assert_eq!(policy_ids(&outside), ["ai-agent-declared-intent"]);

    let without = json!({ "principal": "agent-triage", "action": "read", "resource": "prod-db" });
    let (_, answer) = scene.post("/api/v1/decisions", &without).await;
    assert_eq!(answer["decision"], "deny");
}

#[sqlx::test(migrations = false)]
async fn risk_signal_revokes_grant(pool: PgPool) {
    let scene = scene(pool).await;
    scene.grant("4h").await;
    let signal = json!({ "identity": scene.carl(), "risk_score": 85 });
    let (status, result) = scene.post("/api/v1/signals", &signal).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["grants"][0]["state"], "revoked", "{result}");
    let app = &scene.server.app;
    let state = sqlx::query_scalar!("select state from grants")
        .fetch_one(&app.svc.pool)
        .await
        .unwrap();
    assert_eq!(state, "revoked");
    assert!(app.audited("grant.revoked", "success").await);
    assert!(app.audited("signal.recorded", "success").await);

    // The stored risk score now denies every action, even without one in the request.
    let (_, answer) = scene.decide("read", json!({})).await;
    assert_eq!(answer["decision"], "deny", "{answer}");
    assert_eq!(policy_ids(&answer), ["risk-score-limit"]);
}

#[sqlx::test(migrations = false)]
async fn posture_signal_suspends_then_resumes(pool: PgPool) {
    let scene = scene(pool).await;
    let app = &scene.server.app;
    sqlx::query!("update resources set sensitivity = 'crown_jewel'")
        .execute(&app.svc.pool)
        .await
        .unwrap();
    scene.grant("4h").await;
    let posture = |managed: bool| {
        json!({
            "identity": scene.carl(),
            "device": { "managed": managed, "compliant": true, "disk_encrypted": true },
        })
    };
    let (status, result) = scene.post("/api/v1/signals", &posture(false)).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["grants"][0]["state"], "suspended", "{result}");
    assert!(app.audited("grant.suspended", "success").await);

    let (_, result) = scene.post("/api/v1/signals", &posture(true)).await;
    assert_eq!(result["grants"][0]["state"], "active", "{result}");
    assert!(app.audited("grant.resumed", "success").await);

    let (status, error) = scene
        .post(
            "/api/v1/signals",
            &json!({ "identity": scene.carl(), "risk_score": 120 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["field"], "risk_score");
}

/// A logged decision's columns, as `logged_row_holds_what_was_decided` reads them back.
type LoggedRow = (
    Option<uuid::Uuid>,
    String,
    String,
    Option<uuid::Uuid>,
    String,
    String,
    Option<uuid::Uuid>,
    Value,
    bool,
    Value,
    Value,
    String,
    String,
    i64,
    Value,
);

async fn logged_row(pool: &PgPool, id: &str) -> LoggedRow {
    sqlx::query_as(
        "select client_id, client_label, principal, principal_id, action, resource, resource_id,
                context, allow, policies, errors, reason, policy_hash, latency_us, controls
         from decisions where id = $1",
    )
    .bind(id.parse::<uuid::Uuid>().unwrap())
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = false)]
async fn logged_row_holds_what_was_decided(pool: PgPool) {
    let scene = scene(pool).await;
    let db = &scene.server.app.svc.pool;
    let client_id: uuid::Uuid =
        sqlx::query_scalar("select id from decision_clients where name = 'gateway'")
            .fetch_one(db)
            .await
            .unwrap();
    let (status, answer) = scene
        .decide(
            "read",
            json!({
                "device": { "managed": true, "compliant": true, "disk_encrypted": false },
                "risk_score": 30,
                "geo": { "country": "de", "ip": "::ffff:192.0.2.7" },
                "time": "2026-12-04T10:00:00+01:00",
                "mfa": true,
                "sensitivity": "medium"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let row = logged_row(db, answer["decision_id"].as_str().unwrap()).await;
    assert_eq!(row.0, Some(client_id));
    assert_eq!(row.1, "gateway");
    assert_eq!(row.2, scene.carl());
    assert_eq!(row.3, scene.requester.identity_id);
    assert_eq!(row.4, "read");
    assert_eq!(row.5, "prod-db");
    assert_eq!(row.6, Some(scene.resource.id));
    // The context is stored as evaluated: normalised values and the server's behaviour record.
    assert_eq!(
        row.7,
        json!({
            "device": { "managed": true, "compliant": true, "disk_encrypted": false },
            "risk_score": 30,
            "geo": { "country": "DE", "ip": "192.0.2.7" },
            "time": { "epoch": 1796374800, "hour_utc": 9, "weekday": 5 },
            "mfa": true,
            "sensitivity": "medium",
            "behaviour": { "denials_last_hour": 0, "new_country": false }
        })
    );
    assert_eq!(row.8, answer["allow"].as_bool().unwrap());
    assert_eq!(row.9, json!(policy_ids(&answer)));
    assert_eq!(row.10, answer["errors"]);
    assert_eq!(row.11, answer["reason"].as_str().unwrap());
    assert_eq!(row.12, answer["policy_hash"].as_str().unwrap());
    assert_eq!(row.13, answer["latency_us"].as_i64().unwrap());
    assert_eq!(row.14, answer["controls"]);
    assert!(!row.14.as_array().unwrap().is_empty());

    // An unknown principal and resource leave their ids empty in the log.
    let (status, answer) = scene
        .post(
            "/api/v1/decisions",
            &json!({ "principal": "ghost", "action": "write", "resource": "nowhere" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let row = logged_row(db, answer["decision_id"].as_str().unwrap()).await;
    assert_eq!((row.2.as_str(), row.3), ("ghost", None));
    assert_eq!((row.5.as_str(), row.6), ("nowhere", None));
    assert!(!row.8);
    assert_eq!(
        row.7["behaviour"],
        json!({ "denials_last_hour": 0, "new_country": false })
    );
}

#[sqlx::test(migrations = false)]
async fn every_decision_is_logged_under_load(pool: PgPool) {
    let scene = scene(pool).await;
    let mut tasks = Vec::new();
    for index in 0..200 {
        let client = scene.server.client.clone();
        let url = scene.server.url("/api/v1/decisions");
        let token = scene.token.clone();
        let action = if index % 2 == 0 { "read" } else { "admin" };
        let body = json!({ "principal": scene.carl(), "action": action, "resource": "prod-db" });
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let answer: Value = response.json().await.unwrap();
            answer["decision_id"].as_str().unwrap().to_owned()
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().parse::<uuid::Uuid>().unwrap());
    }
    // The API responded only after each decision was committed, so all are there now.
    let stored = sqlx::query_scalar!(
        "select count(*) as \"count!\" from decisions where id = any($1)",
        &ids
    )
    .fetch_one(&scene.server.app.svc.pool)
    .await
    .unwrap();
    assert_eq!(stored, 200);
    let denied =
        sqlx::query_scalar!("select count(*) as \"count!\" from decisions where not allow")
            .fetch_one(&scene.server.app.svc.pool)
            .await
            .unwrap();
    assert_eq!(denied, 100);
}

#[sqlx::test(migrations = false)]
async fn behaviour_carries_to_another_server(pool: PgPool) {
    let scene = scene(pool).await;
    let db = &scene.server.app.svc.pool;
    let from = |country: &str| json!({ "geo": { "country": country } });
    let (_, answer) = scene.decide("read", from("DE")).await;
    assert_eq!(answer["decision"], "allow", "{answer}");
    let (_, answer) = scene.decide("admin", from("DE")).await;
    assert_eq!(answer["decision"], "deny", "{answer}");

    // A second process has made no decision for carl, and starts from the log.
    let other = TestServer::serve_app(scene.server.app.clone()).await;
    let body = |country: &str| {
        json!({
            "principal": scene.carl(),
            "action": "read",
            "resource": "prod-db",
            "context": from(country),
        })
    };
    let logged_behaviour = |answer: Value| async move {
        let row = logged_row(db, answer["decision_id"].as_str().unwrap()).await;
        row.7["behaviour"].clone()
    };
    let (_, answer) = post_with(&other, &scene.token, "/api/v1/decisions", &body("DE")).await;
    assert_eq!(
        logged_behaviour(answer).await,
        json!({ "denials_last_hour": 1, "new_country": false })
    );
    let (_, answer) = post_with(&other, &scene.token, "/api/v1/decisions", &body("BR")).await;
    assert_eq!(
        logged_behaviour(answer).await,
        json!({ "denials_last_hour": 1, "new_country": true })
    );

    // A third process, an hour later, counts no denial and has both countries on record.
    scene.server.app.advance(Duration::hours(1));
    let third = TestServer::serve_app(scene.server.app.clone()).await;
    let (_, answer) = post_with(&third, &scene.token, "/api/v1/decisions", &body("BR")).await;
    assert_eq!(
        logged_behaviour(answer).await,
        json!({ "denials_last_hour": 0, "new_country": false })
    );
    let (_, answer) = post_with(&third, &scene.token, "/api/v1/decisions", &body("FR")).await;
    assert_eq!(logged_behaviour(answer).await["new_country"], true);
}

#[sqlx::test(migrations = false)]
async fn second_server_sees_changes(pool: PgPool) {
    let scene = scene(pool).await;
    let other = TestServer::serve_app(scene.server.app.clone()).await;
    let body = json!({ "principal": scene.carl(), "action": "read", "resource": "prod-db" });
    let (_, answer) = post_with(&other, &scene.token, "/api/v1/decisions", &body).await;
    assert_eq!(answer["decision"], "allow");
    assert_eq!(answer["policy_version"], 1);

    // A new policy version activated through the first server's services.
    let app = &scene.server.app;
    let source = format!(
        "{}\n@id(\"read-only-freeze\")\n@description(\"Forbids everything during the freeze.\")\nforbid (principal, action, resource);\n",
        policy::default_policies()
    );
    let version = policies::save_draft(&app.svc, &app.admin, &source, "change freeze")
        .await
        .unwrap();
    let mut changes = other.decider.cache.subscribe();
    policies::activate(&app.svc, &app.admin, version.id, "change freeze")
        .await
        .unwrap();
    settle(&mut changes).await;
    let (_, answer) = post_with(&other, &scene.token, "/api/v1/decisions", &body).await;
    assert_eq!(answer["decision"], "deny", "{answer}");
    assert_eq!(answer["policy_version"], 2);

    // Disabling the identity reaches the other server's cache too.
    let version_one = sqlx::query_scalar!("select id from policy_versions where number = 1")
        .fetch_one(&app.svc.pool)
        .await
        .unwrap();
    let mut changes = other.decider.cache.subscribe();
    policies::activate(&app.svc, &app.admin, version_one, "freeze over")
        .await
        .unwrap();
    settle(&mut changes).await;
    let mut changes = other.decider.cache.subscribe();
    identities::set_status(
        &app.svc.pool,
        &app.admin,
        app.now(),
        scene.requester.identity_id.unwrap(),
        IdentityStatus::Disabled,
    )
    .await
    .unwrap();
    settle(&mut changes).await;
    let (_, answer) = post_with(&other, &scene.token, "/api/v1/decisions", &body).await;
    assert_eq!(answer["decision"], "deny", "{answer}");
}
