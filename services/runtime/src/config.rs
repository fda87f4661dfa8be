//! Configuration groups flattened into every service's `clap` configuration.

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};

/// Where the admin server listens.
#[derive(Debug, Clone, clap::Args)]
pub struct AdminArgs {
    /// Address of the admin server (`/metrics`, `/healthz`, `/readyz`); port 0 picks a free port.
    #[arg(long = "admin-addr", env = "PW_ADMIN_ADDR")]
    pub admin_addr: Option<SocketAddr>,
}

impl AdminArgs {
    /// The configured address, or 127.0.0.1 with the service's default port.
    pub fn addr_or(&self, default_port: u16) -> SocketAddr {
        self.admin_addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port)))
    }
}

/// How logs are written.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log format: `pretty` for people, `json` for log collectors. Levels come from `RUST_LOG`.
    #[arg(long = "log-format", env = "PW_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// A log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines, for development.
    Pretty,
    /// One JSON object per line, for production.
    Json,
}

/// The system of record.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database url: postgres://user:password@host:5432/name, or sqlite://path?mode=rwc for a
    /// single-process setup.
    /// Required by every command that uses the database.
    #[arg(long = "database-url", env = "PW_DATABASE_URL", hide_env_values = true, value_parser = secret)]
    pub database_url: Option<SecretString>,
    /// Largest number of database connections in the pool.
    #[arg(
        long = "database-max-connections",
        env = "PW_DATABASE_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub max_connections: u32,
}

impl DatabaseArgs {
    /// The url; an error naming the setting when it was not given.
    pub fn url(&self) -> anyhow::Result<&str> {
        self.database_url
            .as_ref()
            .map(ExposeSecret::expose_secret)
            .filter(|url| !url.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("--database-url (or PW_DATABASE_URL) is required"))
    }
}

/// Reads a setting that must never be shown (a password, a token): its `Debug` is redacted.
pub fn secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text))
}

/// How long shutdown may take.
#[derive(Debug, Clone, clap::Args)]
pub struct ShutdownArgs {
    /// Seconds in-flight work may take to finish after SIGTERM before the process exits.
    #[arg(
        long = "shutdown-grace-seconds",
        env = "PW_SHUTDOWN_GRACE_SECONDS",
        default_value_t = 20
    )]
    pub grace_seconds: u64,
}

impl ShutdownArgs {
    /// The grace period.
    pub fn grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.grace_seconds)
    }
}
