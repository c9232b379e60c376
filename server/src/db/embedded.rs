//! A private PostgreSQL cluster under Writ's data directory, used when `DATABASE_URL` is unset.
//!
//! The cluster listens only on a Unix socket inside the data directory, with no TCP port, and is
//! stopped when `writ` shuts down. PostgreSQL refuses to run as root, so a root process runs the
//! server binaries as the unprivileged `postgres` account.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use anyhow::{Context, bail};
use tokio::process::Command;

/// Longest Unix socket path Linux accepts, less room for PostgreSQL's `.s.PGSQL.5432` name.
const MAX_SOCKET_DIR_LEN: usize = 107 - ".s.PGSQL.5432".len() - 1;

/// Name of the database Writ uses inside the private cluster.
const DATABASE: &str = "writ";

/// A running private cluster.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<String>,
    /// Whether this process owns the server and so stops it: it started it, or it found the
    /// server left running by a `writ` that died.
    started_here: bool,
    /// Exclusive lock on `writ.lock` in the data directory while this process owns the cluster.
    _owner_lock: Option<std::fs::File>,
}

impl EmbeddedPostgres {
    /// Initialises the cluster on first use and starts it, or reuses one already running.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir().ok_or_else(|| {
            anyhow::anyhow!(
                "DATABASE_URL is not set and no PostgreSQL server binaries were found \
                 (initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin). Install \
                 PostgreSQL (Debian: apt-get install postgresql) or set DATABASE_URL to a \
                 running server"
            )
        })?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("cannot resolve the data directory {}", data_dir.display()))?;
        let mut cluster = Self {
            bin_dir,
            cluster_dir: data_dir.join("postgres"),
            socket_dir: data_dir.join("run"),
            run_as: if running_as_root() {
                Some("postgres".to_owned())
            } else {
                None
            },
            started_here: false,
            _owner_lock: None,
        };
        if cluster.socket_dir.as_os_str().len() > MAX_SOCKET_DIR_LEN {
            bail!(
                "the data directory path {} is too long for a Unix socket; set WRIT_DATA_DIR \
                 to a shorter path",
                data_dir.display()
            );
        }
        cluster.prepare_directories().await?;
        if !cluster.cluster_dir.join("PG_VERSION").exists() {
            cluster.init().await?;
        }
        // The first `writ` on a data directory owns its cluster; others only connect to it.
        let owner_lock = try_lock_owner(&data_dir)?;
        let owner = owner_lock.is_some();
        cluster._owner_lock = owner_lock;
        if cluster.is_running().await? {
            if owner {
                tracing::info!(socket = %cluster.socket_dir.display(), "adopting the private PostgreSQL cluster a stopped writ left running");
            } else {
                tracing::info!(socket = %cluster.socket_dir.display(), "using the private PostgreSQL cluster another writ runs");
            }
        } else {
            cluster.start_server().await?;
        }
        cluster.started_here = owner;
        cluster.ensure_database().await?;
        Ok(cluster)
    }

    /// Returns the connection URL for Writ's database in this cluster.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@localhost/{DATABASE}?host={}",
            self.socket_dir.display()
        )
    }

    /// Stops the cluster if this process started it, waiting for it to shut down cleanly.
    pub async fn stop(&self) -> anyhow::Result<()> {
        if !self.started_here {
            return Ok(());
        }
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let output = self
            .run(
                &pg_ctl,
                ["stop", "-D"],
                Some(&self.cluster_dir),
                ["-m", "fast", "-w"],
            )
            .await?;
        if !output.status.success() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        tracing::info!(cluster = %self.cluster_dir.display(), "stopped the private PostgreSQL cluster");
        Ok(())
    }

    async fn prepare_directories(&self) -> anyhow::Result<()> {
        for dir in [&self.cluster_dir, &self.socket_dir] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let Some(account) = &self.run_as else {
            return Ok(());
        };
        let (uid, gid) = account_ids(account).await?;
        for dir in [&self.cluster_dir, &self.socket_dir] {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid)).with_context(|| {
                format!("cannot give {} to the {account} account", dir.display())
            })?;
        }
        let check = Command::new("runuser")
            .args(["-u", account, "--", "test", "-w"])
            .arg(&self.cluster_dir)
            .output()
            .await
            .context("cannot run runuser to check the data directory")?;
        if !check.status.success() {
            bail!(
                "Writ runs as root, so its private PostgreSQL runs as the {account} account, \
                 which cannot reach {}. Set WRIT_DATA_DIR to a directory that account can \
                 enter (such as /var/lib/writ), or set DATABASE_URL",
                self.cluster_dir.display()
            );
        }
        Ok(())
    }

    async fn init(&self) -> anyhow::Result<()> {
        tracing::info!(cluster = %self.cluster_dir.display(), "initialising a private PostgreSQL cluster");
        let initdb = self.bin_dir.join("initdb");
        let output = self
            .run(
                &initdb,
                ["-D"],
                Some(&self.cluster_dir),
                [
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
            )
            .await?;
        if !output.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    async fn is_running(&self) -> anyhow::Result<bool> {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let output = self
            .run(
                &pg_ctl,
                ["status", "-D"],
                Some(&self.cluster_dir),
                [] as [&str; 0],
            )
            .await?;
        Ok(output.status.success())
    }

    async fn start_server(&self) -> anyhow::Result<()> {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let server_options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c unix_socket_permissions=0700",
            self.socket_dir.display()
        );
        let log_file = self.cluster_dir.join("server.log");
        let log_arg = log_file.display().to_string();
        let output = self
            .run(
                &pg_ctl,
                ["start", "-D"],
                Some(&self.cluster_dir),
                [
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    log_arg.as_str(),
                    "-o",
                    server_options.as_str(),
                ],
            )
            .await?;
        if !output.status.success() {
            bail!(
                "pg_ctl start failed: {}; see {}",
                String::from_utf8_lossy(&output.stderr).trim(),
                log_file.display()
            );
        }
        tracing::info!(socket = %self.socket_dir.display(), "started the private PostgreSQL cluster");
        Ok(())
    }

    async fn ensure_database(&self) -> anyhow::Result<()> {
        let psql = self.bin_dir.join("psql");
        let socket = self.socket_dir.display().to_string();
        let query = format!("select 1 from pg_database where datname = '{DATABASE}'");
        let output = self
            .run(
                &psql,
                ["-h"],
                Some(Path::new(&socket)),
                ["-U", "postgres", "-d", "postgres", "-tAc", query.as_str()],
            )
            .await?;
        if String::from_utf8_lossy(&output.stdout).trim() == "1" {
            return Ok(());
        }
        let create = format!("create database {DATABASE}");
        let output = self
            .run(
                &psql,
                ["-h"],
                Some(Path::new(&socket)),
                ["-U", "postgres", "-d", "postgres", "-c", create.as_str()],
            )
            .await?;
        if !output.status.success() {
            bail!(
                "cannot create the {DATABASE} database: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// Runs a server binary with `before`, then `path`, then `after` as arguments, as the
    /// unprivileged account when Writ runs as root.
    async fn run<'a>(
        &self,
        program: &Path,
        before: impl IntoIterator<Item = &'a str>,
        path: Option<&Path>,
        after: impl IntoIterator<Item = &'a str>,
    ) -> anyhow::Result<Output> {
        let mut command = match &self.run_as {
            Some(account) => {
                let mut command = Command::new("runuser");
                command.args(["-u", account, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        };
        command.args(before);
        if let Some(path) = path {
            command.arg(path);
        }
        command.args(after);
        command.current_dir("/");
        command
            .output()
            .await
            .with_context(|| format!("cannot run {}", program.display()))
    }
}

/// Takes the owner lock of `data_dir`; `None` when another process holds it.
fn try_lock_owner(data_dir: &Path) -> anyhow::Result<Option<std::fs::File>> {
    let path = data_dir.join("writ.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Finds the directory with `initdb` and `pg_ctl`: first on `PATH`, then the newest
/// `/usr/lib/postgresql/<version>/bin`.
pub fn find_bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_server_binaries(&dir) {
                return Some(resolve_link_dir(&dir));
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_server_binaries(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "psql"]
        .iter()
        .all(|name| dir.join(name).is_file())
}

/// Returns the real directory of `initdb` when the one found is a symbolic link, so that
/// `pg_ctl` finds the `postgres` binary beside it.
fn resolve_link_dir(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir.join("initdb"))
        .ok()
        .and_then(|real| real.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| dir.to_path_buf())
}

fn running_as_root() -> bool {
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self")
        .map(|metadata| metadata.uid() == 0)
        .unwrap_or(false)
}

async fn account_ids(account: &str) -> anyhow::Result<(u32, u32)> {
    let id = |flag: &'static str| {
        let account = account.to_owned();
        async move {
            let output = Command::new("id")
                .args([flag, account.as_str()])
                .output()
                .await
                .context("cannot run id")?;
            if !output.status.success() {
                bail!(
                    "Writ runs as root, and PostgreSQL must run as an unprivileged account, but \
                     the {account} account does not exist. Create it, run Writ as another user, \
                     or set DATABASE_URL"
                );
            }
            String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse::<u32>()
                .context("id printed something other than a number")
        }
    };
    Ok((id("-u").await?, id("-g").await?))
}
