//! The `router` command line.

use clap::{Parser, Subcommand};
use runtime::{DatabaseArgs, LogArgs, ServeCommand};
use store::Store;

use crate::{App, ServeArgs, WatchArgs};

/// Routes alerts to the national authorities concerned.
#[derive(Debug, Parser)]
#[command(name = "router", version)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the routing service.
    Serve {
        #[command(flatten)]
        serve: ServeCommand<ServeArgs>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Prints the alerts on one authority's topic as JSON lines.
    Watch(WatchArgs),
}

/// Runs the command line.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    runtime::init_telemetry(cli.log.log_format);
    match cli.command {
        Command::Serve { serve, database } => {
            let store = Store::connect(database.url()?, database.max_connections).await?;
            serve.run(|args| App::build(args, store)).await
        }
        Command::Watch(args) => crate::watch::watch(args).await,
    }
}
