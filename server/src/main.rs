//! The `writ` binary: parses the command line and runs a subcommand.

use std::process::ExitCode;

use clap::Parser;
use server::config::{Cli, Command, LogFormat};
use server::serve;
use tracing_subscriber::EnvFilter;

// The decision path allocates many small values (Cedar's entities and context, JSON), and
// mimalloc spends less CPU on them than the system allocator did under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve::serve(*args).await,
        Command::Migrate(args) => serve::migrate(args).await,
        Command::SignInLink(args) => serve::sign_in_link(args).await,
        Command::AuditVerify(args) => serve::audit_verify(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs at `info` by default with sqlx and the job library quieter; `RUST_LOG` overrides.
fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,apalis=warn,apalis_core=warn,apalis_postgres=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
