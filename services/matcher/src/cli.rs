//! The `matcher` command line.

use clap::{Parser, Subcommand};
use indicators::{RuleSet, RuleSets, WatchedParty};
use runtime::{DatabaseArgs, LogArgs, ServeCommand};
use store::Store;

use std::path::PathBuf;

use anyhow::Context as _;

use crate::app::load_reference;
use crate::{screen_lines, App, Engine, ServeArgs};
use runtime::Progress;

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
        serve: ServeCommand<ServeArgs>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Re-runs the stored reports received between two days under another rule set and
    /// prints which alerts would appear, disappear or change severity. Publishes nothing and
    /// records nothing.
    Backtest {
        #[command(flatten)]
        database: DatabaseArgs,
        /// First day (UTC) of the reports' receipt, e.g. 2026-11-01.
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day (UTC), included.
        #[arg(long)]
        to: chrono::NaiveDate,
        /// The candidate rule set (JSON).
        #[arg(long = "rules")]
        candidate: PathBuf,
        /// Compare with this version instead of the one in force for each report.
        #[arg(long)]
        baseline: Option<String>,
        /// Rule set files in use besides the built-in ones (as given to `matcher serve`).
        #[arg(long = "rules-in-use", env = "PW_RULES", value_delimiter = ',')]
        rules_in_use: Vec<PathBuf>,
        /// Reference data CSV to use instead of the data built into the binary.
        #[arg(long = "reference-data", env = "PW_REFERENCE_DATA")]
        reference_data: Option<PathBuf>,
    },
    /// Manages the authorities' watch list of parties.
    WatchList {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(subcommand)]
        command: WatchListCommand,
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

/// The watch list of parties, as authorities keep it.
#[derive(Debug, Subcommand)]
pub enum WatchListCommand {
    /// Puts a party on an authority's watch list; prints its id.
    Add {
        /// ISO 3166-1 alpha-2 code of the authority that lists the party.
        #[arg(long)]
        authority: String,
        /// Name of the party, as the authority knows it.
        #[arg(long)]
        name: String,
        /// ISO 3166-1 alpha-2 code of the party's country.
        #[arg(long)]
        country: String,
        /// Registration, licence or VAT number, matched exactly.
        #[arg(long = "registration-number")]
        registration_number: Option<String>,
        /// Why the party is watched; shown to authorities in the alert's evidence.
        #[arg(long)]
        reason: String,
    },
    /// Lists the watched parties of a country.
    List {
        #[arg(long)]
        country: String,
    },
    /// Takes a party off the watch list.
    Remove {
        #[arg(long)]
        id: i64,
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
                let (failures, progress) = match input.filter(|path| path.as_os_str() != "-") {
                    Some(path) => {
                        let open = || {
                            std::fs::File::open(&path)
                                .map(std::io::BufReader::new)
                                .with_context(|| format!("cannot open {}", path.display()))
                        };
                        // Counted first, for the time left on the progress bar.
                        let total = std::io::BufRead::lines(open()?)
                            .map_while(Result::ok)
                            .filter(|line| !line.trim().is_empty())
                            .count();
                        let progress = Progress::new(Some(total as u64), "lines");
                        (screen_lines(&engine, open()?, output, &progress)?, progress)
                    }
                    None => {
                        let progress = Progress::new(None, "lines");
                        let stdin = std::io::stdin().lock();
                        (screen_lines(&engine, stdin, output, &progress)?, progress)
                    }
                };
                eprintln!("screened {}", progress.finish());
                Ok(failures)
            })
            .await??;
            anyhow::ensure!(
                failures == 0,
                "{failures} input line(s) were not order lines, see their \"error\""
            );
            Ok(())
        }
        Command::Backtest {
            database,
            from,
            to,
            candidate,
            baseline,
            rules_in_use,
            reference_data,
        } => {
            let engine = Engine::new(load_reference(reference_data.as_deref())?)?;
            let rules = RuleSets::load(&rules_in_use)?;
            let text = std::fs::read_to_string(&candidate).with_context(|| {
                format!("cannot read rule set {} (--rules)", candidate.display())
            })?;
            let candidate = RuleSet::from_json(&text)
                .with_context(|| format!("invalid rule set {} (--rules)", candidate.display()))?;
            let baseline =
                match baseline {
                    Some(version) => Some(rules.version(&version).cloned().with_context(|| {
                        format!("no rule set version {version:?} (--baseline)")
                    })?),
                    None => None,
                };
            anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
            let micros = |day: chrono::NaiveDate| {
                day.and_hms_opt(0, 0, 0)
                    .map(|time| time.and_utc().timestamp_micros())
                    .unwrap_or_default()
            };
            let range = (micros(from), micros(to + chrono::Days::new(1)));
            let store = Store::connect(database.url()?, database.max_connections).await?;
            let total = store.count_reports_received(range.0, range.1).await?;
            let progress = Progress::new(u64::try_from(total).ok(), "reports");
            let mut output = std::io::stdout().lock();
            let backtest = crate::Backtest {
                store: &store,
                engine: &engine,
                rules: &rules,
                baseline: baseline.as_ref(),
                candidate: &candidate,
                range,
            };
            crate::backtest::run(&backtest, &mut output, &progress).await?;
            eprintln!("backtest: {}", progress.finish());
            Ok(())
        }
        Command::WatchList { database, command } => {
            let store = Store::connect(database.url()?, database.max_connections).await?;
            watch_list(&store, command).await
        }
        Command::Serve { serve, database } => {
            let store = Store::connect(database.url()?, database.max_connections).await?;
            serve.run(|args| App::build(args, store)).await
        }
    }
}

async fn watch_list(store: &Store, command: WatchListCommand) -> anyhow::Result<()> {
    let country = |code: &str, flag: &str| -> anyhow::Result<String> {
        domain::CountryCode::parse(code)
            .map(|code| code.as_str().to_owned())
            .map_err(|error| anyhow::anyhow!("{flag}: {error}"))
    };
    match command {
        WatchListCommand::Add {
            authority,
            name,
            country: party_country,
            registration_number,
            reason,
        } => {
            anyhow::ensure!(!name.trim().is_empty(), "--name: empty");
            let party = WatchedParty {
                authority: country(&authority, "--authority")?,
                name,
                country: country(&party_country, "--country")?,
                registration_number: registration_number.filter(|n| !n.trim().is_empty()),
                reason,
            };
            let id = store
                .add_watched_party(&party, events::now_micros())
                .await?;
            let detail = format!(
                "watched party {id}: {} ({}), listed by {}: {}",
                party.name, party.country, party.authority, party.reason
            );
            store
                .audit(&store::AuditEntry::new(
                    store::cli_actor(),
                    "watch_list.add",
                    id.to_string(),
                    detail,
                ))
                .await?;
            println!("watched party {id}: {} ({})", party.name, party.country);
        }
        WatchListCommand::List { country: code } => {
            for (id, party) in store.watched_parties(&country(&code, "--country")?).await? {
                println!(
                    "{id}\t{}\t{}\t{}\t{}\tlisted by {}",
                    party.name,
                    party.country,
                    party.registration_number.as_deref().unwrap_or("-"),
                    party.reason,
                    party.authority
                );
            }
        }
        WatchListCommand::Remove { id } => {
            anyhow::ensure!(
                store.remove_watched_party(id).await?,
                "no watched party {id}"
            );
            store
                .audit(&store::AuditEntry::new(
                    store::cli_actor(),
                    "watch_list.remove",
                    id.to_string(),
                    format!("watched party {id}"),
                ))
                .await?;
            println!("watched party {id} removed");
        }
    }
    Ok(())
}
