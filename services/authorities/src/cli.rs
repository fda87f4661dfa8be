//! The `authorities` command line.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use runtime::ExposeSecret as _;
use runtime::{DatabaseArgs, LogArgs, ServeCommand};
use store::Store;

use crate::{App, ServeArgs};
use admin::authorities::{issue_key, register_authority, revoke_key, AuthorityArgs};

/// The national competent authorities: directory, preferences, and their API.
#[derive(Debug, Parser)]
#[command(name = "authorities", version)]
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
    /// Runs the authority API and the feedback consumer.
    Serve(ServeCommand<ServeArgs>),
    /// Creates or updates an authority's entry and preferences.
    Register(AuthorityArgs),
    /// Issues an API key for a registered authority; prints it once.
    IssueKey {
        /// ISO 3166-1 alpha-2 code of the authority's country.
        #[arg(long)]
        country: String,
    },
    /// Revokes an API key by its id (the 16 hex digits after `pw_`).
    RevokeKey {
        #[arg(long = "key-id")]
        key_id: String,
    },
    /// Lists the directory.
    List,
}

/// Runs the command line.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    runtime::init_telemetry(cli.log.log_format);
    let store = Store::connect(cli.database.url()?, cli.database.max_connections).await?;
    match cli.command {
        Command::Serve(serve) => serve.run(|args| App::build(args, store)).await,
        Command::Register(args) => {
            let authority = register_authority(&store, &args).await?;
            println!(
                "authority {} ({}): topic {}, minimum severity {}",
                authority.country, authority.name, authority.topic, authority.min_severity
            );
            Ok(())
        }
        Command::IssueKey { country } => {
            let country = country.to_ascii_uppercase();
            let token = issue_key(&store, &country, &store::cli_actor())
                .await?
                .with_context(|| format!("no authority for {country}: register it first"))?;
            println!("authority: {country}");
            println!("api key: {}", token.expose_secret());
            Ok(())
        }
        Command::RevokeKey { key_id } => {
            anyhow::ensure!(
                revoke_key(&store, &key_id, &store::cli_actor()).await?,
                "no active key {key_id}"
            );
            println!("key {key_id} revoked");
            Ok(())
        }
        Command::List => {
            for authority in store.authorities().await? {
                println!(
                    "{}\t{}\t{}\t{}\tmin {}\tregimes {}\tcategories {}\twatch-list findings {}",
                    authority.country,
                    authority.name,
                    authority.contact,
                    authority.topic,
                    authority.min_severity,
                    if authority.regimes.is_empty() {
                        "all".into()
                    } else {
                        authority.regimes.join(",")
                    },
                    if authority.categories.is_empty() {
                        "all".into()
                    } else {
                        authority.categories.join(",")
                    },
                    authority.watch_list_findings
                );
            }
            Ok(())
        }
    }
}
