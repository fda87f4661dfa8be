//! The `matcher` command line.

use clap::{Parser, Subcommand};
use runtime::{DatabaseArgs, LogArgs, Shutdown, ShutdownArgs};
use store::Store;

use std::path::PathBuf;

use anyhow::Context as _;

use crate::app::load_reference;
use crate::{screen_lines, App, Engine, ServeArgs};

/// Screens order reports against controlled and watch-listed chemicals.
#[derive(Debug, Parser)]
#[command(name = "matcher", version)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the screening service.
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        shutdown: ShutdownArgs,
    },
    /// Screens JSON Lines of order lines (description, and optionally cas, hs_code, quantity,
    /// unit, concentration_pct) and writes one JSON object per line, in order.
    Screen {
        /// File to read; standard input when absent or "-".
        input: Option<PathBuf>,
        /// Reference data CSV to use instead of the data built into the binary.
        #[arg(long = "reference-data", env = "PW_REFERENCE_DATA")]
        reference_data: Option<PathBuf>,
    },
}

/// Runs the command line.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    runtime::init_telemetry(cli.log.log_format);
    match cli.command {
        Command::Screen {
            input,
            reference_data,
        } => {
            let engine = Engine::new(load_reference(reference_data.as_deref())?)?;
            let failures = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let stdout = std::io::stdout().lock();
                let output = std::io::BufWriter::new(stdout);
                match input.filter(|path| path.as_os_str() != "-") {
                    Some(path) => {
                        let file = std::fs::File::open(&path)
                            .with_context(|| format!("cannot open {}", path.display()))?;
                        screen_lines(&engine, std::io::BufReader::new(file), output)
                    }
                    None => screen_lines(&engine, std::io::stdin().lock(), output),
                }
            })
            .await??;
            anyhow::ensure!(
                failures == 0,
                "{failures} input line(s) were not order lines, see their \"error\""
            );
            Ok(())
        }
        Command::Serve {
            serve,
            database,
            shutdown: shutdown_args,
        } => {
            let store = Store::connect(&database.database_url, database.max_connections).await?;
            let app = App::build(serve, store).await?;
            tracing::info!(admin = %app.admin_addr()?, "matcher running");
            let shutdown = Shutdown::new();
            app.spawn(&shutdown)?;
            shutdown.run_until_signal(shutdown_args.grace()).await
        }
    }
}
