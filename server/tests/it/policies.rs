//! Policy versions and the decision log in the domain: validation with positions, activation
//! and rollback with their audit entries, the what-if replay, and log filters.

use app::error::AppError;
use app::model::{DecisionFilter, DiffKind, Role};
use serde_json::json;
use server::domain::{clients, decision_log, policies};
use server::error::Error;
use sqlx::PgPool;

use crate::harness::TestApp;
use crate::server::TestServer;

fn app_error<T: std::fmt::Debug>(result: Result<T, Error>) -> AppError {
    match result {
        Err(Error::App(error)) => error,
        other => panic!("expected a caller-facing error, got {other:?}"),
    }
}

/// Returns the default set with one more forbid policy appended.
fn with_freeze() -> String {
    format!(
        "{}\n@id(\"freeze\")\n@description(\"Forbids deletes during the freeze.\")\nforbid (principal, action == Writ::Action::\"delete\", resource);\n",
        policy::default_policies()
    )
}

#[sqlx::test(migrations = false)]
async fn default_set_is_active_after_migration(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let overview = policies::overview(&app.svc, &app.admin).await.unwrap();
    assert_eq!(overview.active.number, 1);
    assert!(overview.active.active);
    let ids: Vec<&str> = overview.rules.iter().map(|rule| rule.id.as_str()).collect();
    for id in [
        "baseline-active-identities",
        "risk-score-limit",
        "crown-jewel-managed-device",
        "elevated-needs-grant",
        "ai-agent-declared-intent",
        "geo-allowed-countries",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(
        overview
            .rules
            .iter()
            .all(|rule| !rule.description.is_empty())
    );

    // Migrating again installs nothing more.
    server::db::migrate(&app.svc.pool).await.unwrap();
    assert_eq!(app.count("policy_versions").await, 1);
}

#[sqlx::test(migrations = false)]
async fn invalid_policy_is_refused_with_positions(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let source = "@id(\"broken\")\n@description(\"x\")\npermit (principal, action, resource)\nwhen { principal.no_such_attribute };\n";
    let error = app_error(policies::save_draft(&app.svc, &app.admin, source, "try").await);
    let AppError::Invalid { field, message } = &error else {
        panic!("expected invalid, got {error:?}");
    };
    assert_eq!(field, "source");
    assert!(message.starts_with("line 4, column "), "{message}");
    assert!(message.contains("no_such_attribute"), "{message}");

    let error = app_error(policies::save_draft(&app.svc, &app.admin, "permit (", "try").await);
    assert!(error.to_string().contains("line 1, column"), "{error}");
    assert_eq!(app.count("policy_versions").await, 1);
    assert!(app.audited("policy.save", "refused").await);

    let auditor = app.user("ada", &[Role::Auditor]).await;
    let error = app_error(policies::save_draft(&app.svc, &auditor, &with_freeze(), "try").await);
    assert!(matches!(error, AppError::Forbidden { .. }), "{error:?}");
}

#[sqlx::test(migrations = false)]
async fn activation_and_rollback_are_audited(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let draft = policies::save_draft(&app.svc, &app.admin, &with_freeze(), "change freeze")
        .await
        .unwrap();
    assert_eq!(draft.number, 2);
    assert!(!draft.active);

    let detail = policies::version(&app.svc, &app.admin, draft.id)
        .await
        .unwrap();
    let added: Vec<&str> = detail
        .diff
        .iter()
        .filter(|line| line.kind == DiffKind::Added)
        .map(|line| line.text.as_str())
        .collect();
    assert!(added.contains(&"@id(\"freeze\")"), "{added:?}");
    assert!(
        detail
            .diff
            .iter()
            .all(|line| line.kind != DiffKind::Removed)
    );

    let reason_missing = app_error(policies::activate(&app.svc, &app.admin, draft.id, " ").await);
    assert_eq!(reason_missing.field(), Some("reason"));

    policies::activate(&app.svc, &app.admin, draft.id, "freeze starts")
        .await
        .unwrap();
    assert!(app.audited("policy.activated", "success").await);
    let again = app_error(policies::activate(&app.svc, &app.admin, draft.id, "again").await);
    assert!(matches!(again, AppError::Conflict { .. }), "{again:?}");

    let overview = policies::overview(&app.svc, &app.admin).await.unwrap();
    let first = overview
        .versions
        .iter()
        .find(|version| version.number == 1)
        .unwrap();
    policies::activate(&app.svc, &app.admin, first.id, "freeze over")
        .await
        .unwrap();
    assert!(app.audited("policy.rolled_back", "success").await);
    let filter = app::model::AuditFilter {
        action: Some("policy.rolled_back".into()),
        ..app::model::AuditFilter::default()
    };
    let events = server::domain::audit::list(&app.svc.pool, &app.admin, &filter, None)
        .await
        .unwrap();
    let controls = &events.items[0].controls;
    assert!(controls.contains(&"GV.PO-01".to_owned()), "{controls:?}");
    assert!(controls.contains(&"GOVERN 1.4".to_owned()), "{controls:?}");
    let overview = policies::overview(&app.svc, &app.admin).await.unwrap();
    assert_eq!(overview.active.number, 1);
}

#[sqlx::test(migrations = false)]
async fn what_if_lists_changed_decisions(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let requester = app.user("carl", &[Role::Requester]).await;
    let approver = app.user("bea", &[Role::Approver]).await;
    app.resource("prod-db", "8h", 1, &[&approver]).await;
    let created = clients::create(&app.svc, &app.admin, "gateway", "")
        .await
        .unwrap();
    let server = TestServer::serve_app(app.clone()).await;
    let carl = requester.identity_id.unwrap().to_string();
    for action in ["read", "delete", "read"] {
        let response = server
            .client
            .post(server.url("/api/v1/decisions"))
            .bearer_auth(&created.token)
            .json(&json!({ "principal": carl, "action": action, "resource": "prod-db" }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    let freeze_reads = format!(
        "{}\n@id(\"no-reads\")\n@description(\"Forbids reads.\")\nforbid (principal, action == Writ::Action::\"read\", resource);\n",
        policy::default_policies()
    );
    let draft = policies::save_draft(&app.svc, &app.admin, &freeze_reads, "stop reads")
        .await
        .unwrap();
    let what_if = policies::what_if(&app.svc, &app.admin, draft.id)
        .await
        .unwrap();
    assert_eq!(what_if.replayed, 3);
    assert_eq!(what_if.changed.len(), 2);
    for change in &what_if.changed {
        assert_eq!(change.action, "read");
        assert!(change.recorded_allow);
        assert!(change.active_allow);
        assert!(!change.draft_allow);
        assert_eq!(change.draft_policies, ["no-reads"]);
    }

    // The log filters by outcome, policy and control, and a decision opens with its controls.
    let filter = |outcome: &str, policy: &str, control: &str| DecisionFilter {
        outcome: outcome.into(),
        policy: policy.into(),
        control: control.into(),
        ..DecisionFilter::default()
    };
    let denied = decision_log::list(&app.svc, &app.admin, &filter("deny", "", ""), None)
        .await
        .unwrap();
    assert_eq!(denied.items.len(), 1);
    assert_eq!(denied.items[0].action, "delete");
    let by_policy = decision_log::list(
        &app.svc,
        &app.admin,
        &filter("", "baseline-active-identities", ""),
        None,
    )
    .await
    .unwrap();
    assert_eq!(by_policy.items.len(), 2);
    let by_control = decision_log::list(&app.svc, &app.admin, &filter("", "", "DE.CM-03"), None)
        .await
        .unwrap();
    assert_eq!(by_control.items.len(), 1, "only denials map to DE.CM-03");

    let detail = decision_log::get(&app.svc, &app.admin, denied.items[0].id)
        .await
        .unwrap();
    assert_eq!(detail.rules.len(), 1);
    assert_eq!(detail.rules[0].id, "elevated-needs-grant");
    assert_eq!(detail.policy_version, Some(1));
    assert!(
        detail
            .controls
            .iter()
            .any(|control| control.id == "NHI5:2025" && control.title == "Overprivileged NHI")
    );
    assert!(detail.context.contains("behaviour"), "{}", detail.context);

    let bad =
        app_error(decision_log::list(&app.svc, &app.admin, &filter("maybe", "", ""), None).await);
    assert_eq!(bad.field(), Some("outcome"));
    let requester_error =
        app_error(decision_log::list(&app.svc, &requester, &DecisionFilter::default(), None).await);
    assert!(matches!(requester_error, AppError::Forbidden { .. }));
}

#[sqlx::test(migrations = false)]
async fn console_pages_show_policies_and_decisions(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let app = &server.app;
    let admin = server.signed_in_user("ops-admin", &[Role::Admin]).await;
    let created = clients::create(&app.svc, &admin, "gateway", "the API gateway")
        .await
        .unwrap();
    let response = server
        .client
        .post(server.url("/api/v1/decisions"))
        .bearer_auth(&created.token)
        .json(&json!({ "principal": "nobody", "action": "read", "resource": "nothing" }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    let (status, html) = server.page_text("/policies").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{html}");
    assert!(html.contains("elevated-needs-grant"), "{html}");
    assert!(html.contains("Forbids delete, deploy and admin"), "{html}");

    let (status, html) = server.page_text("/decisions?outcome=deny").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{html}");
    assert!(html.contains("nobody"), "{html}");
    let id = sqlx::query_scalar!("select id from decisions")
        .fetch_one(&app.svc.pool)
        .await
        .unwrap();
    let (status, html) = server.page_text(&format!("/decisions/{id}")).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{html}");
    assert!(html.contains("unknown principal"), "{html}");
    assert!(html.contains("PR.AA-05"), "{html}");

    let (status, html) = server.page_text("/clients").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{html}");
    assert!(html.contains("gateway"), "{html}");
    assert!(
        !html.contains(&created.token),
        "the token is shown only once"
    );
}
