//! Command-line flags and environment variables, read once at start-up.
//!
//! Every setting is a flag with an environment variable of the same meaning; README.md and
//! `.env.example` list them.

pub mod sign_in;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use url::Url;

/// The `writ` command line.
#[derive(Debug, Parser)]
#[command(
    name = "writ",
    version,
    about = "Just-in-time access and continuous authorization"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, env = "WRIT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// The `writ` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the console, the API and the background jobs (applies pending migrations first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Print a one-time sign-in link for a local user (valid for one hour).
    SignInLink(SignInLinkArgs),
    /// Check the audit log's hash chain and report the first broken entry.
    AuditVerify(DatabaseArgs),
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Database location settings.
#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL. When unset, Writ runs a private PostgreSQL cluster under
    /// the data directory.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory for Writ's own files, including the private PostgreSQL cluster.
    #[arg(long, env = "WRIT_DATA_DIR", default_value = ".writ")]
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for DatabaseArgs {
    // The URL may carry a password, so only whether it is set is printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// Settings of `writ serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address and port the console listens on.
    #[arg(long, env = "WRIT_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// The URL people use to reach Writ; links in terminals and messages start with it.
    /// Defaults to http:// plus the listen address.
    #[arg(long, env = "WRIT_PUBLIC_URL")]
    pub public_url: Option<Url>,
    /// Directory with the built console assets (`pkg/` for hydration, `writ.css`).
    #[arg(long, env = "WRIT_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// How long a request may stay pending before it expires, such as `24h`.
    #[arg(long, env = "WRIT_REQUEST_DEADLINE", default_value = "24h", value_parser = parse_duration)]
    pub request_deadline: Duration,
    /// How long a console session lasts without activity, such as `12h`.
    #[arg(long, env = "WRIT_SESSION_IDLE_TIMEOUT", default_value = "12h", value_parser = parse_duration)]
    pub session_idle_timeout: Duration,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "WRIT_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// When the catch-up sweep runs, as a cron expression with seconds (default: every minute).
    #[arg(long, env = "WRIT_SWEEP_SCHEDULE", default_value = "0 * * * * *", value_parser = crate::jobs::worker::parse_schedule)]
    pub sweep_schedule: cron::Schedule,
    /// When the decision API answers relative to recording the decision: `durable` (after the
    /// decision is committed), `buffered` (before; a crash can lose queued decisions) or `off`
    /// (decisions are not recorded; for measurements only).
    #[arg(long, env = "WRIT_DECISION_LOG", default_value = "durable")]
    pub decision_log: crate::decide::log::LogMode,
    #[command(flatten)]
    pub sign_in: sign_in::SignInArgs,
    #[command(flatten)]
    pub notify: crate::notify::config::NotifyArgs,
}

impl ServeArgs {
    /// Returns the public URL, derived from the listen address when not set.
    pub fn public_url(&self) -> anyhow::Result<Url> {
        public_url_or_listen(self.public_url.as_ref(), self.listen)
    }
}

/// Settings of `writ sign-in-link`.
#[derive(Debug, Clone, Args)]
pub struct SignInLinkArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The local user's sign-in name.
    #[arg(long, default_value = "admin")]
    pub login: String,
    /// The URL people use to reach Writ. Defaults to http:// plus WRIT_LISTEN.
    #[arg(long, env = "WRIT_PUBLIC_URL")]
    pub public_url: Option<Url>,
    /// Address the console listens on, used for the link when WRIT_PUBLIC_URL is unset.
    #[arg(long, env = "WRIT_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
}

impl SignInLinkArgs {
    /// Returns the public URL, derived from the listen address when not set.
    pub fn public_url(&self) -> anyhow::Result<Url> {
        public_url_or_listen(self.public_url.as_ref(), self.listen)
    }
}

/// Returns `public_url`, or http:// plus `listen` when it is unset.
fn public_url_or_listen(public_url: Option<&Url>, listen: SocketAddr) -> anyhow::Result<Url> {
    match public_url {
        Some(url) => Ok(url.clone()),
        None => Url::parse(&format!("http://{listen}")).map_err(|error| {
            anyhow::anyhow!(
                "cannot derive WRIT_PUBLIC_URL from WRIT_LISTEN: {error}; set WRIT_PUBLIC_URL"
            )
        }),
    }
}

/// Parses a duration such as `90s`, `15m`, `8h` or `1h 30m`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|error| {
        format!("invalid duration {value:?} ({error}); use a form such as 30m, 8h or 1h30m")
    })
}
