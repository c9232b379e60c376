//! Slack: the exact messages sent to a stand-in for Slack's API on loopback, escaping of user
//! text, direct messages found by e-mail, the webhook, and the interactivity endpoint with its
//! signature checks, user mapping and repeated requests.

use app::model::{RequestState, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::domain::{notifications, requests};
use server::notify::config::{NotifySettings, SlackSettings};
use server::notify::slack::sign;
use sqlx::PgPool;
use uuid::Uuid;

use crate::harness::{TestApp, request_input};
use crate::loopback::SlackStub;
use crate::notify::{Cast, cast, deliver_all, settings, use_settings};
use crate::server::TestServer;

const SECRET: &str = "slack-signing-secret";

fn slack_only(stub: &SlackStub) -> NotifySettings {
    settings(None, Some(stub))
}

fn text(value: &str) -> Value {
    json!({ "type": "mrkdwn", "text": value, "verbatim": true })
}

fn decide_buttons(request_id: Uuid) -> Vec<Value> {
    ["Approve", "Deny"]
        .iter()
        .map(|label| {
            let (action, style, verb) = if *label == "Approve" {
                ("writ_approve", "primary", "approve")
            } else {
                ("writ_deny", "danger", "deny")
            };
            json!({
                "type": "button",
                "action_id": action,
                "text": { "type": "plain_text", "text": label },
                "style": style,
                "value": request_id.to_string(),
                "confirm": {
                    "title": { "type": "plain_text", "text": format!("{label} this request?") },
                    "text": { "type": "plain_text", "text": format!("Writ records that you {verb} it, in your name.") },
                    "confirm": { "type": "plain_text", "text": label },
                    "deny": { "type": "plain_text", "text": "Cancel" },
                },
            })
        })
        .collect()
}

/// Files a request whose reason tries Slack mentions, links and formatting.
async fn hostile_request(app: &TestApp, cast: &Cast) -> app::model::AccessRequest {
    let input = app::model::RequestInput {
        reason: "<!channel> see <https://evil.example|here> & *now*".into(),
        ..request_input(&cast.resource, "1h")
    };
    requests::create(&app.svc, &cast.requester, &input)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn channel_message_is_exact_and_escaped(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let mut stub = SlackStub::start().await;
    use_settings(&mut app, slack_only(&stub));
    let cast = cast(&app).await;
    notifications::set_resource_channel(&app.svc, &app.admin, cast.resource.id, "C0PROD")
        .await
        .unwrap();

    let request = hostile_request(&app, &cast).await;
    deliver_all(&app).await;

    let call = stub.next().await;
    assert_eq!(call.method, "chat.postMessage");
    assert_eq!(
        call.authorization.as_deref(),
        Some("Bearer xoxb-test-token")
    );
    let field = |label: &str, value: &str| text(&format!("*{label}*\n{value}"));
    let mut elements = decide_buttons(request.id);
    elements.push(json!({
        "type": "button",
        "action_id": "writ_link_0",
        "text": { "type": "plain_text", "text": "Open in Writ" },
        "url": format!("http://127.0.0.1:3000/requests/{}", request.id),
    }));
    let expected = json!({
        "channel": "C0PROD",
        "text": "Approval needed: prod-db for carl",
        "blocks": [
            {
                "type": "section",
                "text": text("*An access request needs your decision*\ncarl asks for 1h on prod-db. Decide before 2026-12-02 09:00:00 UTC."),
            },
            {
                "type": "section",
                "fields": [
                    field("Requester", "carl"),
                    field("Subject", "carl (Human)"),
                    field("Resource", "prod-db"),
                    field("Sensitivity", "High"),
                    field("Duration", "1h"),
                    field("Ticket", "OPS-1"),
                    field("State", "Pending"),
                ],
            },
            {
                "type": "section",
                "text": text("*Reason*\n&lt;!channel&gt; see &lt;https://evil.example|here&gt; &amp; *now*"),
            },
            { "type": "actions", "block_id": "writ_actions", "elements": elements },
        ],
        "unfurl_links": false,
        "unfurl_media": false,
    });
    assert_eq!(call.body, expected);
    assert!(stub.try_next().is_none());
}

#[sqlx::test(migrations = false)]
async fn direct_message_finds_approver_by_email(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let mut stub = SlackStub::start().await;
    let mut notify = slack_only(&stub);
    if let Some(slack) = notify.slack.as_mut() {
        slack.direct_messages = true;
    }
    use_settings(&mut app, notify);
    let cast = cast(&app).await;
    stub.add_user("arno@example.test", "U0ARNO");

    app.request(&cast.requester, &cast.resource, "1h").await;
    deliver_all(&app).await;

    let lookup = stub.next().await;
    assert_eq!(lookup.method, "users.lookupByEmail");
    assert_eq!(lookup.body, json!({ "email": "arno@example.test" }));
    let post = stub.next().await;
    assert_eq!(post.method, "chat.postMessage");
    assert_eq!(post.body["channel"], "U0ARNO");
    let elements = post.body["blocks"].as_array().unwrap().last().unwrap()["elements"]
        .as_array()
        .unwrap()
        .clone();
    let labels: Vec<&str> = elements
        .iter()
        .map(|button| button["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["Approve…", "Deny…", "Open in Writ"]);
    let approve = elements[0]["url"].as_str().unwrap();
    assert!(
        approve.starts_with("http://127.0.0.1:3000/approve?token="),
        "{approve}"
    );
    assert!(
        elements.iter().all(|button| button.get("url").is_some()),
        "links only"
    );
    let channel: String = sqlx::query_scalar("select channel from approval_links")
        .fetch_one(&app.svc.pool)
        .await
        .unwrap();
    assert_eq!(channel, "slack");

    // The mapping is kept: the next message needs no lookup.
    app.request(&cast.requester, &cast.resource, "2h").await;
    deliver_all(&app).await;
    assert_eq!(stub.next().await.method, "chat.postMessage");
}

#[sqlx::test(migrations = false)]
async fn webhook_message_carries_decide_buttons(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let mut stub = SlackStub::start().await;
    let notify = NotifySettings {
        slack: Some(SlackSettings {
            api_url: stub.api_url(),
            bot_token: None,
            webhook_url: Some(format!("{}/webhook", stub.base).parse().unwrap()),
            signing_secret: None,
            direct_messages: true,
        }),
        ..NotifySettings::default()
    };
    use_settings(&mut app, notify);
    let cast = cast(&app).await;

    let request = hostile_request(&app, &cast).await;
    deliver_all(&app).await;

    let call = stub.next().await;
    assert_eq!(call.method, "webhook");
    assert!(call.body.get("channel").is_none());
    let actions = call.body["blocks"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(actions["elements"][0], decide_buttons(request.id)[0]);
    let serialized = call.body.to_string();
    assert!(!serialized.contains("<!channel>"), "{serialized}");
    assert!(!serialized.contains("<https://evil"), "{serialized}");
}

/// Posts a signed interaction for `slack_user` clicking `action` on `request_id`.
async fn click(
    server: &TestServer,
    stub: &SlackStub,
    slack_user: &str,
    action: &str,
    request_id: Uuid,
    action_ts: &str,
    retry: bool,
) -> reqwest::Response {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": slack_user },
        "team": { "id": "T0TEAM" },
        "actions": [{ "action_id": action, "value": request_id.to_string(), "action_ts": action_ts }],
        "response_url": format!("{}/response", stub.base),
    });
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let timestamp = server.app.now().timestamp();
    let mut request = server
        .client
        .post(server.url("/integrations/slack/interactions"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header(
            "x-slack-signature",
            sign(SECRET, timestamp, body.as_bytes()),
        )
        .body(body);
    if retry {
        request = request
            .header("x-slack-retry-num", "1")
            .header("x-slack-retry-reason", "http_timeout");
    }
    request.send().await.unwrap()
}

async fn slack_scene(pool: PgPool) -> (TestServer, SlackStub, Cast, Uuid) {
    let mut app = TestApp::new(pool).await;
    let stub = SlackStub::start().await;
    use_settings(&mut app, slack_only(&stub));
    let cast = cast(&app).await;
    let request = app.request(&cast.requester, &cast.resource, "1h").await;
    stub.add_user("arno@example.test", "U0ARNO");
    (TestServer::serve_app(app).await, stub, cast, request.id)
}

async fn state(server: &TestServer, id: Uuid) -> RequestState {
    let mut conn = server.app.svc.pool.acquire().await.unwrap();
    requests::load(&mut conn, id).await.unwrap().state
}

#[sqlx::test(migrations = false)]
async fn slack_click_approves_and_updates_message(pool: PgPool) {
    let (server, mut stub, _cast, request_id) = slack_scene(pool).await;

    let response = click(
        &server,
        &stub,
        "U0ARNO",
        "writ_approve",
        request_id,
        "1.1",
        false,
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(state(&server, request_id).await, RequestState::Approved);
    let (channel, source): (String, String) = sqlx::query_as(
        "select v.channel, (select source from audit_events where action = 'request.approved') from reviews v",
    )
    .fetch_one(&server.app.svc.pool)
    .await
    .unwrap();
    assert_eq!(channel, "slack");
    assert_eq!(source, "slack");
    let info = stub.next().await;
    assert_eq!(info.method, "users.info");
    assert_eq!(info.body, json!({ "user": "U0ARNO" }));

    deliver_all(&server.app).await;
    let update = stub.next().await;
    assert_eq!(update.method, "response");
    assert_eq!(update.body["replace_original"], true);
    assert_eq!(update.body["text"], "Approved: prod-db for carl");
    let blocks = update.body["blocks"].as_array().unwrap();
    let context = blocks
        .iter()
        .find(|block| block["type"] == "context")
        .unwrap();
    assert_eq!(context["elements"][0]["text"], "Approved by arno in Slack.");
    let serialized = update.body.to_string();
    assert!(
        !serialized.contains("writ_approve"),
        "a decided request has no buttons"
    );
}

#[sqlx::test(migrations = false)]
async fn slack_retry_is_handled_once(pool: PgPool) {
    let (server, _stub, _cast, request_id) = slack_scene(pool).await;

    let first = click(
        &server,
        &_stub,
        "U0ARNO",
        "writ_deny",
        request_id,
        "2.2",
        false,
    )
    .await;
    let again = click(
        &server,
        &_stub,
        "U0ARNO",
        "writ_deny",
        request_id,
        "2.2",
        true,
    )
    .await;

    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(state(&server, request_id).await, RequestState::Denied);
    assert_eq!(server.app.count("reviews").await, 1);
    let updates: i64 = sqlx::query_scalar(
        "select count(*) from notification_deliveries where channel = 'slack_update'",
    )
    .fetch_one(&server.app.svc.pool)
    .await
    .unwrap();
    assert_eq!(updates, 1);
    assert!(!server.app.audited("request.review", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn slack_signature_is_required(pool: PgPool) {
    let (server, stub, _cast, request_id) = slack_scene(pool).await;
    let url = server.url("/integrations/slack/interactions");
    let payload = json!({
        "type": "block_actions",
        "user": { "id": "U0ARNO" },
        "actions": [{ "action_id": "writ_approve", "value": request_id.to_string(), "action_ts": "3.3" }],
        "response_url": format!("{}/response", stub.base),
    });
    let body = format!(
        "payload={}",
        url::form_urlencoded::byte_serialize(payload.to_string().as_bytes()).collect::<String>()
    );
    let now = server.app.now().timestamp();
    let post = |timestamp: Option<i64>, signature: Option<String>, body: String| {
        let mut request = server.client.post(url.clone()).body(body);
        if let Some(timestamp) = timestamp {
            request = request.header("x-slack-request-timestamp", timestamp.to_string());
        }
        if let Some(signature) = signature {
            request = request.header("x-slack-signature", signature);
        }
        request.send()
    };

    let tampered = body.replace("writ_approve", "writ_deny");
    let cases = [
        (
            "tampered body",
            post(
                Some(now),
                Some(sign(SECRET, now, body.as_bytes())),
                tampered,
            )
            .await,
        ),
        (
            "wrong secret",
            post(
                Some(now),
                Some(sign("other", now, body.as_bytes())),
                body.clone(),
            )
            .await,
        ),
        (
            "old timestamp",
            post(
                Some(now - 301),
                Some(sign(SECRET, now - 301, body.as_bytes())),
                body.clone(),
            )
            .await,
        ),
        ("no signature", post(None, None, body.clone()).await),
    ];
    for (case, response) in cases {
        assert_eq!(
            response.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "{case}"
        );
    }

    assert_eq!(state(&server, request_id).await, RequestState::Pending);
    assert_eq!(server.app.count("reviews").await, 0);
    assert!(server.app.audited("slack.interaction", "refused").await);
    let good = post(
        Some(now - 299),
        Some(sign(SECRET, now - 299, body.as_bytes())),
        body,
    )
    .await;
    assert_eq!(good.unwrap().status(), StatusCode::OK);
    assert_eq!(state(&server, request_id).await, RequestState::Approved);
}

#[sqlx::test(migrations = false)]
async fn unknown_slack_user_is_refused(pool: PgPool) {
    let (server, mut stub, _cast, request_id) = slack_scene(pool).await;

    let response = click(
        &server,
        &stub,
        "U0NOBODY",
        "writ_approve",
        request_id,
        "4.4",
        false,
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(state(&server, request_id).await, RequestState::Pending);
    assert!(server.app.audited("request.review", "refused").await);
    assert_eq!(stub.next().await.method, "users.info");
    deliver_all(&server.app).await;
    let answer = stub.next().await;
    assert_eq!(answer.method, "response");
    assert_eq!(answer.body["response_type"], "ephemeral");
    assert_eq!(answer.body["replace_original"], false);
    assert!(
        answer.body["text"]
            .as_str()
            .unwrap()
            .contains("not linked to a Writ user")
    );
}

#[sqlx::test(migrations = false)]
async fn requester_cannot_approve_own_request_in_slack(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let stub = SlackStub::start().await;
    use_settings(&mut app, slack_only(&stub));
    let both = app.user("dana", &[Role::Requester, Role::Approver]).await;
    crate::notify::set_email(&app, &both, "dana@example.test").await;
    let resource = app.resource("prod-db", "8h", 1, &[&both]).await;
    let request = app.request(&both, &resource, "1h").await;
    stub.add_user("dana@example.test", "U0DANA");
    let server = TestServer::serve_app(app).await;

    click(
        &server,
        &stub,
        "U0DANA",
        "writ_approve",
        request.id,
        "5.5",
        false,
    )
    .await;

    assert_eq!(state(&server, request.id).await, RequestState::Pending);
    assert!(
        server
            .app
            .audited("request.self_review_blocked", "refused")
            .await
    );
}
