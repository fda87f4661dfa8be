//! The `web-console` command line.

use clap::{Parser, Subcommand};
use runtime::{DatabaseArgs, LogArgs, ServeCommand};
use store::Store;

use crate::{App, ServeArgs};

/// The operators' web console; authorities sign in to see their own alerts.
#[derive(Debug, Parser)]
#[command(name = "web-console", version)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the console.
    Serve(ServeCommand<ServeArgs>),
}

/// Runs the command line.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    runtime::init_telemetry(cli.log.log_format);
    let store = Store::connect(cli.database.url()?, cli.database.max_connections).await?;
    match cli.command {
        Command::Serve(serve) => serve.run(|args| App::build(args, store)).await,
    }
}
