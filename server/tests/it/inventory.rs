//! The identity inventory: owners, search, filters, pagination, edits and CSV import.

use std::collections::HashSet;

use app::error::AppError;
use app::model::{
    Identity, IdentityFilter, IdentityInput, IdentityKind, IdentityStatus, ImportMode,
    ImportReport, Role,
};
use server::domain::{identities, import, page};
use server::error::Error;
use sqlx::PgPool;
use uuid::Uuid;

use crate::harness::TestApp;

fn app_error<T: std::fmt::Debug>(result: Result<T, Error>) -> AppError {
    match result {
        Err(Error::App(error)) => error,
        other => panic!("expected a caller-facing error, got {other:?}"),
    }
}

/// Builds the form of a `kind` identity named `name`, with no other fields set.
fn input(kind: &str, name: &str) -> IdentityInput {
    IdentityInput {
        kind: kind.into(),
        name: name.into(),
        ..IdentityInput::default()
    }
}

async fn create(app: &TestApp, input: IdentityInput) -> Identity {
    identities::create(&app.svc.pool, &app.admin, app.now(), &input)
        .await
        .expect("identity is created")
}

/// Returns the names on the first page of `filter`, in list order.
async fn names(app: &TestApp, filter: IdentityFilter) -> Vec<String> {
    identities::list(&app.svc.pool, &app.admin, &filter, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|identity| identity.name)
        .collect()
}

fn search(q: &str) -> IdentityFilter {
    IdentityFilter {
        q: Some(q.into()),
        ..IdentityFilter::default()
    }
}

/// Returns the owner's name of the identity named `name`, or `None` when it has no owner.
async fn owner_of(app: &TestApp, name: &str) -> Option<String> {
    sqlx::query_scalar::<_, Option<String>>(
        "select o.name from identities i left join identities o on o.id = i.owner_id
        where i.name = $1",
    )
    .bind(name)
    .fetch_one(&app.svc.pool)
    .await
    .unwrap()
}

async fn count_action(app: &TestApp, action: &str, outcome: &str) -> usize {
    app.audit_log()
        .await
        .iter()
        .filter(|(logged, result)| logged == action && result == outcome)
        .count()
}

async fn import_csv(app: &TestApp, text: &str, mode: ImportMode) -> ImportReport {
    import::import(&app.svc.pool, &app.admin, app.now(), text, mode)
        .await
        .expect("import runs")
}

/// Returns `(line, column)` of every row error in a report.
fn error_lines(report: &ImportReport) -> Vec<(u64, Option<&str>)> {
    report
        .errors
        .iter()
        .map(|error| (error.line, error.column.as_deref()))
        .collect()
}

#[sqlx::test(migrations = false)]
async fn create_with_human_owner(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let owner_id = app.admin.identity_id.unwrap();

    let identity = create(
        &app,
        IdentityInput {
            owner_id: owner_id.to_string(),
            environment: "Production".into(),
            ..input("service_account", "billing-exporter")
        },
    )
    .await;

    assert_eq!(identity.owner_id, Some(owner_id));
    assert_eq!(identity.owner_name.as_deref(), Some("admin"));
    assert_eq!(identity.environment, "production");
    assert!(!identity.is_unowned());
    assert_eq!(app.count("identities").await, 2);
    assert!(app.audited("identity.created", "success").await);
}

#[sqlx::test(migrations = false)]
async fn create_rejects_non_human_owner(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let service = app
        .service_account("billing-exporter", Some(&app.admin))
        .await;

    let error = app_error(
        identities::create(
            &app.svc.pool,
            &app.admin,
            app.now(),
            &IdentityInput {
                owner_id: service.id.to_string(),
                ..input("workload", "billing-cron")
            },
        )
        .await,
    );

    assert_eq!(error.field(), Some("owner_id"));
    assert_eq!(error.status_code(), 400);
    assert_eq!(app.count("identities").await, 2);
    assert!(app.audited("identity.create", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn create_rejects_unknown_owner(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let error = app_error(
        identities::create(
            &app.svc.pool,
            &app.admin,
            app.now(),
            &IdentityInput {
                owner_id: Uuid::new_v4().to_string(),
                ..input("workload", "billing-cron")
            },
        )
        .await,
    );

    assert_eq!(error.field(), Some("owner_id"));
    assert_eq!(app.count("identities").await, 1);
    assert!(app.audited("identity.create", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn create_rejects_malformed_owner_id(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let error = app_error(
        identities::create(
            &app.svc.pool,
            &app.admin,
            app.now(),
            &IdentityInput {
                owner_id: "admin".into(),
                ..input("workload", "billing-cron")
            },
        )
        .await,
    );

    assert_eq!(error.field(), Some("owner_id"));
    assert_eq!(app.count("identities").await, 1);
}

#[sqlx::test(migrations = false)]
async fn unowned_filter_lists_only_unowned(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.user("bea", &[Role::Requester]).await;
    let orphan = app.service_account("orphan-job", None).await;
    let owned = app.service_account("owned-job", Some(&app.admin)).await;

    let unowned = names(
        &app,
        IdentityFilter {
            unowned: true,
            ..IdentityFilter::default()
        },
    )
    .await;

    assert!(orphan.is_unowned());
    assert!(!owned.is_unowned());
    assert_eq!(unowned, vec!["orphan-job".to_owned()]);
}

#[sqlx::test(migrations = false)]
async fn human_without_owner_is_not_flagged(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let human = create(&app, input("human", "Grace Hopper")).await;

    assert!(!human.is_unowned());
}

#[sqlx::test(migrations = false)]
async fn duplicate_external_id_conflicts(pool: PgPool) {
    let app = TestApp::new(pool).await;
    create(
        &app,
        IdentityInput {
            external_id: "arn:aws:iam::1:role/exporter".into(),
            ..input("service_account", "exporter")
        },
    )
    .await;

    let error = app_error(
        identities::create(
            &app.svc.pool,
            &app.admin,
            app.now(),
            &IdentityInput {
                external_id: "arn:aws:iam::1:role/exporter".into(),
                ..input("service_account", "exporter-copy")
            },
        )
        .await,
    );

    assert_eq!(error.status_code(), 409);
    assert!(error.to_string().contains("external_id"), "{error}");
    assert_eq!(app.count("identities").await, 2);
    assert_eq!(count_action(&app, "identity.created", "success").await, 1);
    assert!(app.audited("identity.create", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn search_matches_name_external_id_description(pool: PgPool) {
    let app = TestApp::new(pool).await;
    create(&app, input("service_account", "ledger-sync")).await;
    create(
        &app,
        IdentityInput {
            external_id: "gcp:payments-sa".into(),
            ..input("service_account", "svc-one")
        },
    )
    .await;
    create(
        &app,
        IdentityInput {
            description: "Rotates the vault unseal keys".into(),
            ..input("workload", "svc-two")
        },
    )
    .await;

    assert_eq!(names(&app, search("LEDGER")).await, vec!["ledger-sync"]);
    assert_eq!(names(&app, search("payments-sa")).await, vec!["svc-one"]);
    assert_eq!(names(&app, search("unseal")).await, vec!["svc-two"]);
    assert!(names(&app, search("nothing-like-this")).await.is_empty());
}

#[sqlx::test(migrations = false)]
async fn search_wildcards_match_literally(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for name in ["ci_runner", "ci-runner", "disk-50%", "disk-500"] {
        create(&app, input("workload", name)).await;
    }

    assert_eq!(names(&app, search("ci_r")).await, vec!["ci_runner"]);
    assert_eq!(names(&app, search("50%")).await, vec!["disk-50%"]);
    assert_eq!(names(&app, search("%")).await, vec!["disk-50%"]);
    assert_eq!(names(&app, search("_")).await, vec!["ci_runner"]);
}

#[sqlx::test(migrations = false)]
async fn list_filters_kind_environment_status(pool: PgPool) {
    let app = TestApp::new(pool).await;
    create(
        &app,
        IdentityInput {
            environment: "staging".into(),
            ..input("workload", "staging-worker")
        },
    )
    .await;
    create(
        &app,
        IdentityInput {
            environment: "production".into(),
            ..input("workload", "prod-worker")
        },
    )
    .await;
    let agent = create(
        &app,
        IdentityInput {
            environment: "production".into(),
            ..input("ai_agent", "triage-agent")
        },
    )
    .await;
    identities::set_status(
        &app.svc.pool,
        &app.admin,
        app.now(),
        agent.id,
        IdentityStatus::Disabled,
    )
    .await
    .unwrap();

    let workloads = names(
        &app,
        IdentityFilter {
            kind: Some(IdentityKind::Workload),
            ..IdentityFilter::default()
        },
    )
    .await;
    let production = names(
        &app,
        IdentityFilter {
            environment: Some(" Production ".into()),
            ..IdentityFilter::default()
        },
    )
    .await;
    let disabled = names(
        &app,
        IdentityFilter {
            status: Some(IdentityStatus::Disabled),
            ..IdentityFilter::default()
        },
    )
    .await;
    let production_workloads = names(
        &app,
        IdentityFilter {
            kind: Some(IdentityKind::Workload),
            environment: Some("production".into()),
            ..IdentityFilter::default()
        },
    )
    .await;

    assert_eq!(workloads, vec!["prod-worker", "staging-worker"]);
    assert_eq!(production, vec!["prod-worker", "triage-agent"]);
    assert_eq!(disabled, vec!["triage-agent"]);
    assert_eq!(production_workloads, vec!["prod-worker"]);
}

#[sqlx::test(migrations = false)]
async fn pages_cover_all_without_overlap(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // Three identities share each name, so the id has to break ties between pages.
    for i in 0..120 {
        create(&app, input("workload", &format!("job-{:02}", i % 40))).await;
    }
    let expected: Vec<Uuid> = sqlx::query_scalar("select id from identities order by name, id")
        .fetch_all(&app.svc.pool)
        .await
        .unwrap();

    let mut listed = Vec::new();
    let mut page_sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = identities::list(
            &app.svc.pool,
            &app.admin,
            &IdentityFilter::default(),
            cursor.as_deref(),
        )
        .await
        .unwrap();
        page_sizes.push(page.items.len());
        listed.extend(page.items.iter().map(|identity| identity.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let distinct: HashSet<Uuid> = listed.iter().copied().collect();

    assert_eq!(expected.len(), 121);
    assert_eq!(page_sizes, vec![50, 50, 21]);
    assert_eq!(distinct.len(), listed.len());
    assert_eq!(listed, expected);
}

#[sqlx::test(migrations = false)]
async fn first_page_is_stable(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for i in 0..60 {
        create(&app, input("api_key", &format!("key-{}", i % 7))).await;
    }

    let first = identities::list(&app.svc.pool, &app.admin, &IdentityFilter::default(), None)
        .await
        .unwrap();
    let again = identities::list(&app.svc.pool, &app.admin, &IdentityFilter::default(), None)
        .await
        .unwrap();

    assert_eq!(first.next, again.next);
    assert_eq!(first.items, again.items);
}

#[sqlx::test(migrations = false)]
async fn damaged_cursor_is_rejected(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // Valid base64 JSON, but not the (name, id) key this list issues.
    let foreign = page::encode(&42_i64);

    for cursor in ["not*a*cursor", "AAAA", foreign.as_str()] {
        let error = app_error(
            identities::list(
                &app.svc.pool,
                &app.admin,
                &IdentityFilter::default(),
                Some(cursor),
            )
            .await,
        );
        assert_eq!(error.field(), Some("cursor"), "cursor {cursor:?}");
        assert_eq!(error.status_code(), 400, "cursor {cursor:?}");
    }
}

#[sqlx::test(migrations = false)]
async fn update_audits_change_and_owner(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let orphan = app.service_account("orphan-job", None).await;
    let owner_id = app.admin.identity_id.unwrap();

    let updated = identities::update(
        &app.svc.pool,
        &app.admin,
        app.now(),
        orphan.id,
        &IdentityInput {
            owner_id: owner_id.to_string(),
            criticality: "high".into(),
            ..input("service_account", "nightly-export")
        },
    )
    .await
    .unwrap();

    assert_eq!(updated.name, "nightly-export");
    assert_eq!(updated.owner_id, Some(owner_id));
    assert!(!updated.is_unowned());
    assert!(app.audited("identity.updated", "success").await);
    assert!(app.audited("identity.owner_assigned", "success").await);
}

#[sqlx::test(migrations = false)]
async fn update_keeping_owner_audits_no_assignment(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let owned = app.service_account("owned-job", Some(&app.admin)).await;

    identities::update(
        &app.svc.pool,
        &app.admin,
        app.now(),
        owned.id,
        &IdentityInput {
            owner_id: app.admin.identity_id.unwrap().to_string(),
            description: "Exports invoices".into(),
            ..input("service_account", "owned-job")
        },
    )
    .await
    .unwrap();

    assert!(app.audited("identity.updated", "success").await);
    assert!(!app.audited("identity.owner_assigned", "success").await);
}

#[sqlx::test(migrations = false)]
async fn update_rejects_self_ownership(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let human = create(&app, input("human", "Grace Hopper")).await;

    let error = app_error(
        identities::update(
            &app.svc.pool,
            &app.admin,
            app.now(),
            human.id,
            &IdentityInput {
                owner_id: human.id.to_string(),
                ..input("human", "Grace Hopper")
            },
        )
        .await,
    );

    assert_eq!(error.field(), Some("owner_id"));
    assert!(!app.audited("identity.updated", "success").await);
    assert!(app.audited("identity.update", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn disable_then_enable(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let service = app
        .service_account("billing-exporter", Some(&app.admin))
        .await;
    let set =
        |status| identities::set_status(&app.svc.pool, &app.admin, app.now(), service.id, status);

    let disabled = set(IdentityStatus::Disabled).await.unwrap();
    let repeated = set(IdentityStatus::Disabled).await.unwrap();
    let enabled = set(IdentityStatus::Active).await.unwrap();

    assert_eq!(disabled.status, IdentityStatus::Disabled);
    assert_eq!(repeated.status, IdentityStatus::Disabled);
    assert_eq!(enabled.status, IdentityStatus::Active);
    // Disabling an identity that is already disabled changes nothing, so it is audited once.
    assert_eq!(count_action(&app, "identity.disabled", "success").await, 1);
    assert_eq!(count_action(&app, "identity.enabled", "success").await, 1);
}

#[sqlx::test(migrations = false)]
async fn non_admin_cannot_create(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let requester = app.user("carl", &[Role::Requester, Role::Approver]).await;

    let error = app_error(
        identities::create(
            &app.svc.pool,
            &requester,
            app.now(),
            &input("workload", "sneaky-job"),
        )
        .await,
    );

    assert_eq!(error.status_code(), 403);
    assert_eq!(app.count("identities").await, 2);
    assert!(app.audited("identity.create", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn non_admin_cannot_disable(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let auditor = app.user("audrey", &[Role::Auditor]).await;
    let service = app
        .service_account("billing-exporter", Some(&app.admin))
        .await;

    let error = app_error(
        identities::set_status(
            &app.svc.pool,
            &auditor,
            app.now(),
            service.id,
            IdentityStatus::Disabled,
        )
        .await,
    );

    assert_eq!(error.status_code(), 403);
    let mut conn = app.svc.pool.acquire().await.unwrap();
    let stored = identities::load(&mut conn, service.id).await.unwrap();
    assert_eq!(stored.status, IdentityStatus::Active);
    assert!(app.audited("identity.set_status", "refused").await);
}

/// A file with good rows on lines 2, 4 and 7 and bad rows on lines 3, 5 and 6.
const MIXED_CSV: &str = "\
kind,name,environment,criticality,external_id,attributes
service_account,ledger-sync,production,high,ext-1,
robot,not-a-kind,production,,,
workload,nightly-export,staging,,ext-2,\"{\"\"team\"\": \"\"billing\"\"}\"
workload,,staging,,,
api_key,bad-attributes,staging,,,[1]
ai_agent,triage-agent,,low,,
";

#[sqlx::test(migrations = false)]
async fn import_all_or_nothing_imports_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let report = import_csv(&app, MIXED_CSV, ImportMode::AllOrNothing).await;

    assert_eq!(report.rows, 6);
    assert_eq!(report.imported, 0);
    assert_eq!(
        error_lines(&report),
        vec![
            (3, Some("kind")),
            (5, Some("name")),
            (6, Some("attributes"))
        ]
    );
    assert_eq!(app.count("identities").await, 1);
    assert!(!app.audited("identities.imported", "success").await);
}

#[sqlx::test(migrations = false)]
async fn import_good_rows_only_imports_good_rows(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let report = import_csv(&app, MIXED_CSV, ImportMode::GoodRowsOnly).await;

    assert_eq!(report.rows, 6);
    assert_eq!(report.imported, 3);
    assert_eq!(
        error_lines(&report),
        vec![
            (3, Some("kind")),
            (5, Some("name")),
            (6, Some("attributes"))
        ]
    );
    assert_eq!(app.count("identities").await, 4);
    let imported = names(
        &app,
        IdentityFilter {
            unowned: true,
            ..IdentityFilter::default()
        },
    )
    .await;
    assert_eq!(
        imported,
        vec!["ledger-sync", "nightly-export", "triage-agent"]
    );
    assert!(app.audited("identities.imported", "success").await);
}

#[sqlx::test(migrations = false)]
async fn import_reports_row_with_wrong_field_count(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let text = "kind,name\nworkload,first\nworkload,second,extra\nworkload,third\n";

    let report = import_csv(&app, text, ImportMode::GoodRowsOnly).await;

    assert_eq!(error_lines(&report), vec![(3, None)]);
    assert_eq!(report.imported, 2);
    assert_eq!(app.count("identities").await, 3);
}

#[sqlx::test(migrations = false)]
async fn import_rejects_unknown_column(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let error = app_error(
        import::import(
            &app.svc.pool,
            &app.admin,
            app.now(),
            "kind,name,colour\nworkload,job,red\n",
            ImportMode::GoodRowsOnly,
        )
        .await,
    );

    assert_eq!(error.field(), Some("csv"));
    assert_eq!(app.count("identities").await, 1);
    assert!(app.audited("identities.import", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn import_resolves_owner_by_external_id_or_name(pool: PgPool) {
    let app = TestApp::new(pool).await;
    create(
        &app,
        IdentityInput {
            external_id: "hr-42".into(),
            ..input("human", "Grace Hopper")
        },
    )
    .await;
    // The human on the last line owns rows above it, so owners are found in the whole file.
    let text = "\
kind,name,owner,external_id
service_account,by-external-id,hr-42,
service_account,by-name,Grace Hopper,
workload,by-stored-user,admin,
workload,by-file-external-id,hr-77,
ai_agent,by-file-name,Linus Torvalds,
human,Linus Torvalds,,hr-77
";

    let report = import_csv(&app, text, ImportMode::AllOrNothing).await;

    assert_eq!(report.errors, vec![]);
    assert_eq!(report.imported, 6);
    let grace = Some("Grace Hopper".to_owned());
    let linus = Some("Linus Torvalds".to_owned());
    assert_eq!(owner_of(&app, "by-external-id").await, grace);
    assert_eq!(owner_of(&app, "by-name").await, grace);
    assert_eq!(
        owner_of(&app, "by-stored-user").await,
        Some("admin".to_owned())
    );
    assert_eq!(owner_of(&app, "by-file-external-id").await, linus);
    assert_eq!(owner_of(&app, "by-file-name").await, linus);
}

#[sqlx::test(migrations = false)]
async fn import_rejects_bad_owners(pool: PgPool) {
    let app = TestApp::new(pool).await;
    create(
        &app,
        IdentityInput {
            external_id: "hr-1".into(),
            ..input("human", "Sam")
        },
    )
    .await;
    create(
        &app,
        IdentityInput {
            external_id: "hr-2".into(),
            ..input("human", "Sam")
        },
    )
    .await;
    app.service_account("billing-exporter", Some(&app.admin))
        .await;
    let text = "\
kind,name,owner
workload,ambiguous-owner,Sam
workload,unknown-owner,Nobody
workload,service-owner,billing-exporter
workload,case-differs,ADMIN
workload,exact-owner,hr-2
";

    let report = import_csv(&app, text, ImportMode::GoodRowsOnly).await;

    assert_eq!(
        error_lines(&report),
        vec![
            (2, Some("owner")),
            (3, Some("owner")),
            (4, Some("owner")),
            (5, Some("owner")),
        ]
    );
    assert!(
        report.errors[0].message.contains("several"),
        "{:?}",
        report.errors[0]
    );
    assert!(
        report.errors[1].message.contains("no human"),
        "{:?}",
        report.errors[1]
    );
    assert!(
        report.errors[2].message.contains("not a human"),
        "{:?}",
        report.errors[2]
    );
    assert_eq!(report.imported, 1);
    assert_eq!(app.count("identities").await, 5);
    assert_eq!(owner_of(&app, "exact-owner").await, Some("Sam".to_owned()));
}

#[sqlx::test(migrations = false)]
async fn import_rejects_existing_external_id(pool: PgPool) {
    let app = TestApp::new(pool).await;
    create(
        &app,
        IdentityInput {
            external_id: "aws:123".into(),
            ..input("service_account", "exporter")
        },
    )
    .await;
    let text = "kind,name,external_id\nworkload,fresh,aws:456\nworkload,copy,aws:123\n";

    let report = import_csv(&app, text, ImportMode::AllOrNothing).await;

    assert_eq!(error_lines(&report), vec![(3, Some("external_id"))]);
    assert_eq!(report.imported, 0);
    assert_eq!(app.count("identities").await, 2);
}

#[sqlx::test(migrations = false)]
async fn import_rejects_external_id_repeated_in_file(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let text = "kind,name,external_id\nworkload,first,x-1\nworkload,second,x-1\n";

    let report = import_csv(&app, text, ImportMode::AllOrNothing).await;

    assert_eq!(error_lines(&report), vec![(3, Some("external_id"))]);
    assert_eq!(app.count("identities").await, 1);
}

#[sqlx::test(migrations = false)]
async fn import_skips_rows_owned_by_rejected_rows(pool: PgPool) {
    let app = TestApp::new(pool).await;
    create(
        &app,
        IdentityInput {
            external_id: "hr-1".into(),
            ..input("human", "Grace Hopper")
        },
    )
    .await;
    // Line 2 reuses a stored external id, so it is rejected. Line 3 names it as owner, so it
    // cannot be imported either, and line 4 is good.
    let text = "\
kind,name,owner,external_id
human,Linus Torvalds,,hr-1
workload,owned-by-rejected,Linus Torvalds,
workload,independent,,
";

    let result = import::import(
        &app.svc.pool,
        &app.admin,
        app.now(),
        text,
        ImportMode::GoodRowsOnly,
    )
    .await;

    let report = result.expect("a rejected owner row is reported, not an internal error");
    assert_eq!(
        error_lines(&report),
        vec![(2, Some("external_id")), (3, Some("owner"))]
    );
    assert_eq!(report.imported, 1);
    assert_eq!(app.count("identities").await, 3);
}

#[sqlx::test(migrations = false)]
async fn import_of_5000_rows_is_complete(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let mut text = String::from("kind,name,owner,environment,external_id,last_used_at\n");
    for i in 0..5_000 {
        let owner = if i % 2 == 0 { "admin" } else { "" };
        text.push_str(&format!(
            "service_account,svc-{i:04},{owner},production,ext-{i},2026-11-30T09:00:00Z\n"
        ));
    }

    let report = import_csv(&app, &text, ImportMode::AllOrNothing).await;

    assert_eq!(report.errors, vec![]);
    assert_eq!(report.rows, 5_000);
    assert_eq!(report.imported, 5_000);
    assert_eq!(app.count("identities").await, 5_001);
    let owned: i64 = sqlx::query_scalar("select count(*) from identities where owner_id = $1")
        .bind(app.admin.identity_id.unwrap())
        .fetch_one(&app.svc.pool)
        .await
        .unwrap();
    assert_eq!(owned, 2_500);
    let last_used: i64 =
        sqlx::query_scalar("select count(*) from identities where last_used_at is not null")
            .fetch_one(&app.svc.pool)
            .await
            .unwrap();
    assert_eq!(last_used, 5_000);
}

#[sqlx::test(migrations = false)]
async fn non_admin_cannot_import(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let approver = app.user("bea", &[Role::Approver]).await;

    let error = app_error(
        import::import(
            &app.svc.pool,
            &approver,
            app.now(),
            "kind,name\nworkload,job\n",
            ImportMode::GoodRowsOnly,
        )
        .await,
    );

    assert_eq!(error.status_code(), 403);
    assert_eq!(app.count("identities").await, 2);
    assert!(app.audited("identities.import", "refused").await);
}

#[sqlx::test(migrations = false)]
async fn import_reports_nul_in_attributes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // JSON allows the escape \u0000, but PostgreSQL's jsonb cannot store it.
    let text = "kind,name,attributes\nworkload,nul-job,\"{\"\"a\"\": \"\"x\\u0000\"\"}\"\nworkload,good-job,\n";

    let result = import::import(
        &app.svc.pool,
        &app.admin,
        app.now(),
        text,
        ImportMode::GoodRowsOnly,
    )
    .await;

    let report = result.expect("a bad cell is reported, not an internal error");
    assert_eq!(error_lines(&report), vec![(2, Some("attributes"))]);
    assert_eq!(report.imported, 1);
    assert_eq!(app.count("identities").await, 2);
}
