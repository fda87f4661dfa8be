//! The `matcher` command line.

use clap::{Parser, Subcommand};
use runtime::{LogArgs, Shutdown, ShutdownArgs};

use crate::{App, ServeArgs};

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
        shutdown: ShutdownArgs,
    },
}

/// Runs the command line.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    runtime::init_telemetry(cli.log.log_format);
    match cli.command {
        Command::Serve {
            serve,
            shutdown: shutdown_args,
        } => {
            let app = App::build(serve).await?;
            tracing::info!(admin = %app.admin_addr()?, "matcher running");
            let shutdown = Shutdown::new();
            app.spawn(&shutdown)?;
            shutdown.run_until_signal(shutdown_args.grace()).await
        }
    }
}
