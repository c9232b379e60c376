//! Database connection and migrations.

pub mod embedded;

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Opens a connection pool to `url`.
pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .context("cannot connect to PostgreSQL; check DATABASE_URL and that the server is running")
}

/// Applies the job queue's migrations and Writ's own, skipping those already applied.
///
/// Both sets share sqlx's migration table, so each run ignores the other's rows.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut jobs = apalis_postgres::PostgresStorage::<()>::migrations();
    jobs.set_ignore_missing(true);
    jobs.run(pool)
        .await
        .context("cannot apply the job queue's migrations")?;

    let mut writ = sqlx::migrate!("../migrations");
    writ.set_ignore_missing(true);
    writ.run(pool)
        .await
        .context("cannot apply Writ's migrations")?;
    crate::domain::policies::install_default(pool, chrono::Utc::now())
        .await
        .map_err(|error| anyhow::anyhow!("cannot install the default policy set: {error}"))?;
    Ok(())
}
