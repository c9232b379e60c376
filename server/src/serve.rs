//! `writ serve` and the other subcommands: start-up, the database choice, and graceful shutdown.

use std::sync::Arc;

use anyhow::Context;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_sessions::ExpiredDeletion;

use crate::clock::SystemClock;
use crate::config::{DatabaseArgs, ServeArgs, SignInLinkArgs};
use crate::db::{self, embedded::EmbeddedPostgres};
use crate::domain::{accounts, audit};
use crate::http::{self, HttpSettings, session_store::PgSessionStore};
use crate::jobs::{sweep, worker};
use crate::notify::config::NotifySettings;
use crate::services::{Services, Settings};

/// An open database, and the private cluster behind it when there is one.
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the private cluster when it is unset, and applies
    /// pending migrations.
    pub async fn open(args: &DatabaseArgs) -> anyhow::Result<Self> {
        let (pool, embedded) = match &args.database_url {
            Some(url) => (db::connect(url).await?, None),
            None => {
                let cluster = EmbeddedPostgres::start(&args.data_dir).await?;
                let pool = db::connect(&cluster.url()).await?;
                (pool, Some(cluster))
            }
        };
        db::migrate(&pool).await?;
        Ok(Self { pool, embedded })
    }

    /// Closes the pool and stops the private cluster if this process started it.
    pub async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(cluster) = self.embedded {
            cluster.stop().await?;
        }
        Ok(())
    }
}

/// Runs the console, the API and the jobs until SIGTERM or Ctrl-C.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let public_url = args.public_url()?;
    let notify = NotifySettings::try_from(&args.notify)?;
    let database = Database::open(&args.database).await?;
    let svc = Services {
        pool: database.pool.clone(),
        clock: Arc::new(SystemClock),
        settings: Arc::new(Settings {
            request_deadline: args.request_deadline,
            notify,
            ..Settings::with_public_url(public_url.clone())
        }),
    };

    if let Some(link) = accounts::bootstrap(&svc)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?
    {
        // Printed to the terminal, not logged: the link is a secret for whoever started Writ.
        eprintln!(
            "\nSign in as the bootstrap administrator with this one-time link (valid until {}):\n\n    {}\n",
            link.expires_at.to_rfc3339(),
            link.url
        );
    }

    let report = sweep::run(&svc)
        .await
        .context("the start-up sweep failed")?;
    tracing::info!(?report, "start-up sweep done");

    let (stop_jobs, jobs_stopped) = tokio::sync::oneshot::channel::<()>();
    let monitor = worker::monitor(svc.clone(), args.sweep_schedule.clone());
    let jobs = tokio::spawn(async move {
        let signal = async move {
            let _ = jobs_stopped.await;
            Ok(())
        };
        if let Err(error) = monitor.run_with_signal(signal).await {
            tracing::error!(error = %error, "the job monitor stopped with an error");
        }
    });

    let session_cleanup = tokio::spawn(delete_expired_sessions(PgSessionStore::new(
        svc.pool.clone(),
    )));

    let router = http::router(
        svc.clone(),
        &HttpSettings {
            site_root: args.site_root.clone(),
            session_idle_timeout: args.session_idle_timeout,
            max_body_bytes: args.max_body_bytes,
        },
    );
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {} (WRIT_LISTEN)", args.listen))?;
    tracing::info!(listen = %args.listen, public_url = %public_url, "Writ is running");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;

    tracing::info!("shutting down");
    let _ = stop_jobs.send(());
    if let Err(error) = jobs.await {
        tracing::error!(error = %error, "the job monitor task failed");
    }
    session_cleanup.abort();
    database.close().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Applies migrations and exits.
pub async fn migrate(args: DatabaseArgs) -> anyhow::Result<()> {
    let database = Database::open(&args).await?;
    println!("migrations are up to date");
    database.close().await
}

/// Prints a one-time sign-in link for a local user.
pub async fn sign_in_link(args: SignInLinkArgs) -> anyhow::Result<()> {
    let database = Database::open(&args.database).await?;
    let svc = Services {
        pool: database.pool.clone(),
        clock: Arc::new(SystemClock),
        settings: Arc::new(Settings::with_public_url(args.public_url.clone())),
    };
    let login = args.login.trim().to_lowercase();
    let user_id = sqlx::query_scalar!(
        "select id from users where issuer = $1 and subject = $2 and disabled_at is null",
        accounts::LOCAL_ISSUER,
        login
    )
    .fetch_optional(&svc.pool)
    .await?
    .with_context(|| format!("no enabled local user signs in as {login:?}"))?;
    let mut tx = svc.pool.begin().await?;
    let link = accounts::issue_link(&mut tx, &svc, user_id, "cli")
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    audit::append(
        &mut tx,
        &crate::domain::actor::Actor::cli(),
        svc.now(),
        audit::Entry::success("user.sign_in_link_issued", "user", user_id),
    )
    .await
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    tx.commit().await?;
    println!(
        "{}\n(valid until {})",
        link.url,
        link.expires_at.to_rfc3339()
    );
    database.close().await
}

/// Checks the audit chain; fails when it is broken.
pub async fn audit_verify(args: DatabaseArgs) -> anyhow::Result<()> {
    let database = Database::open(&args).await?;
    let outcome = audit::verify(&database.pool)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"));
    database.close().await?;
    match outcome? {
        audit::Verification::Intact { entries } => {
            println!("the audit log is intact: {entries} entries checked");
            Ok(())
        }
        audit::Verification::Broken { seq, problem } => {
            anyhow::bail!("the audit log is broken at entry {seq}: {problem}")
        }
    }
}

/// Deletes expired session records every ten minutes.
async fn delete_expired_sessions(store: PgSessionStore) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        interval.tick().await;
        if let Err(error) = store.delete_expired().await {
            tracing::warn!(error = %error, "cannot delete expired sessions; retrying later");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
