//! Inventory list queries at 100,000 identities: the first page, a deep page by cursor, filters
//! and text search, each through `identities::list` as the console and the API call it.
//!
//! Needs PostgreSQL: `WRIT_BENCH_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/writ_bench`) names a database that is created, migrated
//! and filled on first use. Run with `cargo bench -p server --bench inventory`.

use std::sync::Arc;

use app::model::{IdentityFilter, IdentityKind, Role};
use criterion::{Criterion, criterion_group, criterion_main};
use server::clock::SystemClock;
use server::domain::actor::Actor;
use server::domain::identities;
use server::services::{Services, Settings};
use sqlx::PgPool;
use sqlx::migrate::MigrateDatabase;

/// Identities in the benchmark database.
const IDENTITIES: i64 = 100_000;

fn database_url() -> String {
    std::env::var("WRIT_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/writ_bench".to_owned())
}

/// Creates, migrates and fills the benchmark database unless it already holds the identities.
async fn prepare() -> PgPool {
    let url = database_url();
    if !sqlx::Postgres::database_exists(&url)
        .await
        .expect("PostgreSQL is reachable")
    {
        sqlx::Postgres::create_database(&url)
            .await
            .expect("the benchmark database can be created");
    }
    let pool = server::db::connect(&url)
        .await
        .expect("the benchmark database is reachable");
    server::db::migrate(&pool).await.expect("migrations apply");
    let count: i64 = sqlx::query_scalar("select count(*) from identities")
        .fetch_one(&pool)
        .await
        .expect("identities can be counted");
    if count < IDENTITIES {
        // Humans own four of every five non-human identities; kinds, environments and
        // criticalities cycle so that each filter matches a known share of rows.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "truncate identities cascade;
             insert into identities (kind, name, environment, criticality, description, external_id)
             select 'human', 'person-' || lpad(n::text, 6, '0'), '', 'medium', 'employee', 'hr-' || n
             from generate_series(1, {humans}) as n;
             insert into identities (kind, name, owner_id, environment, criticality, description, external_id)
             select (array['service_account', 'api_key', 'workload', 'ai_agent'])[1 + n % 4],
                    'nhi-' || md5(n::text),
                    case when n % 5 = 0 then null
                         else (select id from identities where external_id = 'hr-' || (1 + n % {humans})) end,
                    (array['production', 'staging', 'development'])[1 + n % 3],
                    (array['low', 'medium', 'high', 'critical'])[1 + n % 4],
                    'workload number ' || n,
                    'ext-' || n
             from generate_series(1, {others}) as n;
             analyze identities;",
            humans = IDENTITIES / 10,
            others = IDENTITIES - IDENTITIES / 10,
        )))
        .execute(&pool)
        .await
        .expect("identities are inserted");
    }
    pool
}

fn bench_list(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime starts");
    let pool = runtime.block_on(prepare());
    let svc = Services {
        pool: pool.clone(),
        clock: Arc::new(SystemClock),
        settings: Arc::new(Settings::with_public_url(
            "http://127.0.0.1:3000".parse().expect("a valid URL"),
        )),
    };
    let actor = Actor {
        user_id: Some(uuid::Uuid::nil()),
        label: "benchmark".into(),
        roles: vec![Role::Auditor],
        identity_id: None,
        source: app::model::Source::Api,
    };
    // A cursor about 90% of the way through the name order.
    let deep_cursor = runtime.block_on(async {
        let (name, id): (String, uuid::Uuid) =
            sqlx::query_as("select name, id from identities order by name, id offset $1 limit 1")
                .bind(IDENTITIES * 9 / 10)
                .fetch_one(&pool)
                .await
                .expect("a deep row exists");
        server::domain::page::encode(&(name, id))
    });

    let cases: Vec<(&str, IdentityFilter, Option<String>)> = vec![
        ("first_page", IdentityFilter::default(), None),
        ("deep_page", IdentityFilter::default(), Some(deep_cursor)),
        (
            "kind_ai_agent",
            IdentityFilter {
                kind: Some(IdentityKind::AiAgent),
                ..IdentityFilter::default()
            },
            None,
        ),
        (
            "environment_staging",
            IdentityFilter {
                environment: Some("staging".into()),
                ..IdentityFilter::default()
            },
            None,
        ),
        (
            "unowned",
            IdentityFilter {
                unowned: true,
                ..IdentityFilter::default()
            },
            None,
        ),
        (
            "search_common",
            IdentityFilter {
                q: Some("number 1".into()),
                ..IdentityFilter::default()
            },
            None,
        ),
        (
            "search_rare",
            IdentityFilter {
                q: Some("ext-99999".into()),
                ..IdentityFilter::default()
            },
            None,
        ),
    ];
    let mut group = c.benchmark_group("identities_list_100k");
    for (name, filter, cursor) in cases {
        group.bench_function(name, |bencher| {
            bencher.to_async(&runtime).iter(|| {
                let svc = &svc;
                let actor = &actor;
                let filter = &filter;
                let cursor = cursor.as_deref();
                async move {
                    identities::list(&svc.pool, actor, filter, cursor)
                        .await
                        .expect("the list query succeeds")
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_list);
criterion_main!(benches);
