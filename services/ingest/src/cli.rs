//! The `ingest` command line.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use domain::CountryCode;
use runtime::{DatabaseArgs, LogArgs, Shutdown, ShutdownArgs};
use store::{Store, StoreError};

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
        serve: ServeArgs,
        #[command(flatten)]
        shutdown: ShutdownArgs,
    },
    /// Registers a reporting company and prints its API key (shown only this once).
    CreateCompany(CreateCompanyArgs),
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
    issue_api_key(store, id).await
}

/// Creates another API key for an existing company.
pub async fn issue_api_key(store: &Store, company_id: &str) -> anyhow::Result<NewCompany> {
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
    Ok(NewCompany {
        id: company_id.to_owned(),
        api_key: key.token,
    })
}

/// Runs the command line.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    runtime::init_telemetry(cli.log.log_format);
    let store = Store::connect(&cli.database.database_url, cli.database.max_connections).await?;
    match cli.command {
        Command::Serve {
            serve,
            shutdown: shutdown_args,
        } => {
            let app = App::build(serve, store).await?;
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
    }
}
