//! `writ serve` and the other subcommands: start-up, the database choice, and graceful shutdown.

use std::sync::Arc;

use anyhow::Context;
use sqlx::PgPool;
use tokio::net::TcpListener;
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::config::sign_in::SignInArgs;
use crate::config::{DatabaseArgs, ServeArgs, SignInLinkArgs};
use crate::db::{self, embedded::EmbeddedPostgres};
use crate::decide::{Decider, listener};
use crate::domain::role_map::RoleMap;
use crate::domain::{accounts, audit};
use crate::http::{self, HttpSettings};
use crate::jobs::{sessions, sweep, worker};
use crate::notify::config::NotifySettings;
use crate::oidc::{self, OidcProvider, OidcSettings};
use crate::services::{Services, Settings, SignInSettings};

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
    let sign_in = sign_in_settings(&args.sign_in)?;
    if !sign_in.local && !sign_in.oidc {
        tracing::warn!(
            "WRIT_LOCAL_SIGN_IN is false and WRIT_OIDC_ISSUER is unset: only the bootstrap administrator can sign in"
        );
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // The provider is discovered before the database opens, so that a wrong issuer fails
    // start-up at once.
    let oidc = match oidc_settings(&args.sign_in, &public_url)? {
        Some(settings) => Some(Arc::new(
            OidcProvider::discover(settings, clock.clone()).await?,
        )),
        None => None,
    };
    let notify = NotifySettings::try_from(&args.notify)?;
    let database = Database::open(&args.database).await?;
    let svc = Services {
        pool: database.pool.clone(),
        clock,
        settings: Arc::new(Settings {
            request_deadline: args.request_deadline,
            sign_in,
            notify,
            ..Settings::with_public_url(public_url.clone())
        }),
    };

    if let Some(link) = accounts::bootstrap(&svc)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?
    {
        // The link is printed to the terminal, not logged, because it is a secret for the operator.
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
    let monitor = sessions::register(
        worker::monitor(svc.clone(), args.sweep_schedule.clone()),
        svc.clone(),
        args.sign_in.session_cleanup_schedule.clone(),
    );
    let jobs = tokio::spawn(async move {
        let signal = async move {
            let _ = jobs_stopped.await;
            Ok(())
        };
        if let Err(error) = monitor.run_with_signal(signal).await {
            tracing::error!(error = %error, "the job monitor stopped with an error");
        }
    });

    let decider = Decider::start(svc.pool.clone(), svc.clock.clone(), args.decision_log)
        .await
        .map_err(|error| anyhow::anyhow!("cannot start the decision service: {error}"))?;
    listener::start(svc.pool.clone(), decider.clone())
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen for cache invalidations: {error}"))?;
    let router = http::router(
        svc.clone(),
        &HttpSettings {
            decider,
            site_root: args.site_root.clone(),
            session_idle_timeout: args.session_idle_timeout,
            session_absolute_timeout: args.sign_in.session_absolute_timeout,
            oidc,
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
        settings: Arc::new(Settings::with_public_url(args.public_url()?)),
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

/// Builds the sign-in settings the domain reads, checking the group-to-role mapping.
pub fn sign_in_settings(args: &SignInArgs) -> anyhow::Result<SignInSettings> {
    let role_map = RoleMap::parse(&args.oidc_role_map)
        .map_err(|message| anyhow::anyhow!("WRIT_OIDC_ROLE_MAP: {message}"))?;
    Ok(SignInSettings {
        local: args.local_sign_in,
        oidc: args.oidc_issuer.is_some(),
        role_map,
    })
}

/// Builds the OpenID provider settings, or `None` when `WRIT_OIDC_ISSUER` is unset.
pub fn oidc_settings(args: &SignInArgs, public_url: &Url) -> anyhow::Result<Option<OidcSettings>> {
    let Some(issuer) = args.oidc_issuer.clone() else {
        return Ok(None);
    };
    let redirect_url = match &args.oidc_redirect_url {
        Some(url) => url.clone(),
        None => public_url.join(oidc::CALLBACK_PATH).map_err(|error| {
            anyhow::anyhow!("cannot derive WRIT_OIDC_REDIRECT_URL from WRIT_PUBLIC_URL: {error}; set WRIT_OIDC_REDIRECT_URL")
        })?,
    };
    let scopes = args
        .oidc_scopes
        .split_whitespace()
        .filter(|scope| *scope != "openid")
        .map(str::to_owned)
        .collect();
    Ok(Some(OidcSettings {
        issuer,
        client_id: args.oidc_client_id.trim().to_owned(),
        client_secret: args.oidc_client_secret.clone(),
        scopes,
        redirect_url,
        groups_claim: args.oidc_groups_claim.trim().to_owned(),
        userinfo: args.oidc_userinfo,
        clock_leeway: args.oidc_clock_leeway,
    }))
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
