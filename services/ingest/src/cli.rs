//! The `ingest` command line.

use admin::companies::{self, AdminError, NewKey};
use clap::{Parser, Subcommand};
use runtime::ExposeSecret as _;
use runtime::{DatabaseArgs, LogArgs, ServeCommand};
use store::Store;

use crate::{App, ServeArgs};

/// Accepts order reports from chemical companies.
#[derive(Debug, Parser)]
#[command(name = "ingest", version)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the company API.
    Serve(ServeCommand<Box<ServeArgs>>),
    /// Registers a reporting company and prints its API key (shown only this once).
    CreateCompany(companies::CompanyArgs),
    /// Creates another API key for a company and prints it (shown only this once): to rotate a
    /// key, issue a new one, switch the company's systems over, then revoke the old one.
    IssueKey(CompanyArgs),
    /// Revokes an API key of a company; requests with it are refused at once.
    RevokeKey {
        #[command(flatten)]
        company: CompanyArgs,
        /// The key's id: the 16 hex digits after `pw_`.
        #[arg(long = "key-id")]
        key_id: String,
    },
    /// Lists the API keys of a company (ids and dates; secrets are never kept).
    ListKeys(CompanyArgs),
    /// Sends a company's reports (JSON Lines, one report per line) to the company API, retrying
    /// while it asks to wait; prints one result per line and a progress bar on a terminal.
    Submit(crate::SubmitArgs),
}

/// The company a key command works on.
#[derive(Debug, Clone, clap::Args)]
pub struct CompanyArgs {
    /// Id of the company, as given to create-company.
    #[arg(long)]
    pub company: String,
}

/// An administrative refusal as the command line words it: `--field: reason`.
fn flagged(error: AdminError) -> anyhow::Error {
    match error {
        AdminError::Invalid { field, reason } => anyhow::anyhow!("--{field}: {reason}"),
        AdminError::Conflict(what) => anyhow::anyhow!("--id: {what}"),
        AdminError::NotFound(what) => anyhow::anyhow!("--company: {what}"),
        AdminError::Store(error) => anyhow::Error::new(error).context("the database failed"),
    }
}

fn print_key(key: &NewKey) {
    println!("api key: {}", key.token.expose_secret());
    println!("(store the key now: only its hash is kept)");
}

/// Runs the command line.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    runtime::init_telemetry(cli.log.log_format);
    // The client command needs no database.
    if let Command::Submit(args) = &cli.command {
        let failed = crate::submit(args).await?;
        anyhow::ensure!(
            failed == 0,
            "{failed} report(s) were not accepted, see their lines"
        );
        return Ok(());
    }
    let store = Store::connect(cli.database.url()?, cli.database.max_connections).await?;
    let actor = store::cli_actor();
    match cli.command {
        Command::Submit(_) => Ok(()),
        Command::Serve(serve) => serve.run(|args| App::build(*args, store)).await,
        Command::CreateCompany(args) => {
            let key = companies::create(&store, &args, &actor)
                .await
                .map_err(flagged)?;
            println!("company: {}", key.company_id);
            print_key(&key);
            Ok(())
        }
        Command::IssueKey(args) => {
            let key = companies::issue_key(&store, args.company.trim(), &actor)
                .await
                .map_err(flagged)?;
            print_key(&key);
            Ok(())
        }
        Command::RevokeKey { company, key_id } => {
            let company = company.company.trim();
            match companies::revoke_key(&store, company, key_id.trim(), &actor).await {
                Err(AdminError::NotFound(what)) => anyhow::bail!("--key-id: {what}"),
                result => result.map_err(flagged)?,
            }
            println!("revoked key {key_id} of {company}");
            Ok(())
        }
        Command::ListKeys(args) => {
            let (_, keys) = companies::keys_of(&store, args.company.trim())
                .await
                .map_err(flagged)?;
            for key in keys {
                let revoked = key.revoked_at.map_or_else(
                    || "active".to_owned(),
                    |at| format!("revoked {}", rfc3339(at)),
                );
                println!(
                    "{}  created {}  {revoked}",
                    key.key_id,
                    rfc3339(key.created_at)
                );
            }
            Ok(())
        }
    }
}

fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
