//! The `ingest` command line.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use domain::CountryCode;
use runtime::{DatabaseArgs, LogArgs, Shutdown, ShutdownArgs};
use store::{AuditEntry, Store, StoreError};

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
    Serve {
        #[command(flatten)]
        serve: Box<ServeArgs>,
        #[command(flatten)]
        shutdown: ShutdownArgs,
    },
    /// Registers a reporting company and prints its API key (shown only this once).
    CreateCompany(CreateCompanyArgs),
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

/// Settings of `ingest create-company`.
#[derive(Debug, Clone, clap::Args)]
pub struct CreateCompanyArgs {
    /// Stable id of the company, e.g. acme-chemicals.
    #[arg(long)]
    pub id: String,
    /// Legal name of the company.
    #[arg(long)]
    pub name: String,
    /// ISO 3166-1 alpha-2 code of the company's seat.
    #[arg(long)]
    pub country: String,
}

/// A registered company and its API key.
pub struct NewCompany {
    pub id: String,
    pub api_key: String,
}

impl std::fmt::Debug for NewCompany {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCompany")
            .field("id", &self.id)
            .field("api_key", &"<hidden>")
            .finish()
    }
}

/// Registers a company and creates its first API key.
pub async fn create_company(store: &Store, args: &CreateCompanyArgs) -> anyhow::Result<NewCompany> {
    let country =
        CountryCode::parse(&args.country).map_err(|error| anyhow::anyhow!("--country: {error}"))?;
    let id = args.id.trim();
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    anyhow::ensure!(valid_id, "--id: use 1 to 64 letters, digits, '-' or '_'");
    let now = events::now_micros();
    match store
        .create_company(id, args.name.trim(), country.as_str(), now)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => anyhow::bail!("--id: a company {id} exists already"),
        Err(error) => return Err(error).context("cannot store the company"),
    }
    store
        .audit(&AuditEntry::new(
            store::cli_actor(),
            "company.create",
            id,
            format!("{} ({country})", args.name.trim()),
        ))
        .await
        .context("cannot write the audit log")?;
    issue_api_key(store, id).await
}

/// Creates another API key for an existing company.
pub async fn issue_api_key(store: &Store, company_id: &str) -> anyhow::Result<NewCompany> {
    anyhow::ensure!(
        store.company_exists(company_id).await?,
        "--company: no company {company_id}"
    );
    let key = keys::generate();
    store
        .add_api_key(
            &key.key_id,
            company_id,
            &key.secret_hash,
            events::now_micros(),
        )
        .await
        .context("cannot store the API key")?;
    store
        .audit(&AuditEntry::new(
            store::cli_actor(),
            "company.key.issue",
            company_id,
            format!("key {}", key.key_id),
        ))
        .await
        .context("cannot write the audit log")?;
    Ok(NewCompany {
        id: company_id.to_owned(),
        api_key: key.token,
    })
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
    match cli.command {
        Command::Submit(_) => Ok(()),
        Command::Serve {
            serve,
            shutdown: shutdown_args,
        } => {
            let app = App::build(*serve, store).await?;
            tracing::info!(http = %app.http_addr()?, admin = %app.admin_addr()?, "ingest listening");
            let shutdown = Shutdown::new();
            app.spawn(&shutdown)?;
            shutdown.run_until_signal(shutdown_args.grace()).await
        }
        Command::CreateCompany(args) => {
            let company = create_company(&store, &args).await?;
            println!("company: {}", company.id);
            println!("api key: {}", company.api_key);
            println!("(store the key now: only its hash is kept)");
            Ok(())
        }
        Command::IssueKey(args) => {
            let company = issue_api_key(&store, args.company.trim()).await?;
            println!("api key: {}", company.api_key);
            println!("(store the key now: only its hash is kept)");
            Ok(())
        }
        Command::RevokeKey { company, key_id } => {
            let company = company.company.trim();
            let revoked = store
                .revoke_api_key(company, key_id.trim(), events::now_micros())
                .await?;
            anyhow::ensure!(
                revoked,
                "--key-id: company {company} has no active key {key_id}"
            );
            store
                .audit(&AuditEntry::new(
                    store::cli_actor(),
                    "company.key.revoke",
                    company,
                    format!("key {key_id}"),
                ))
                .await
                .context("cannot write the audit log")?;
            println!("revoked key {key_id} of {company}");
            Ok(())
        }
        Command::ListKeys(args) => {
            let company = args.company.trim();
            anyhow::ensure!(
                store.company_exists(company).await?,
                "--company: no company {company}"
            );
            for key in store.api_keys_of(company).await? {
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
