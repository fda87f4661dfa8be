//! The embedded demo: every service in one process over a mock broker and SQLite.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use events::topics;
use kafka::{EmbeddedBroker, KafkaArgs};
use runtime::{AdminArgs, LogArgs, Shutdown, ShutdownArgs};
use store::Store;

/// The company the demo reports as.
const DEMO_COMPANY: &str = "demo-chemicals";

/// Runs ingest, matcher and router in one process on an in-process broker and SQLite.
#[derive(Debug, clap::Parser)]
#[command(name = "precursor-watch", version)]
pub struct Args {
    /// Address of the company API.
    #[arg(
        long = "http-addr",
        env = "PW_HTTP_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    http_addr: SocketAddr,
    /// Folder for the SQLite database; a temporary folder, removed at exit, when not given.
    #[arg(long = "data-dir", env = "PW_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    log: LogArgs,
    #[command(flatten)]
    shutdown: ShutdownArgs,
}

/// Starts everything, prints how to use it, and runs until Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<()> {
    runtime::init_telemetry(args.log.log_format);
    let broker = EmbeddedBroker::start()?;
    let brokers = broker.bootstrap_servers();
    // The mock broker cannot create topics on request: create the fixed ones here; the authority
    // topics are created on first use.
    let consumed = [
        topics::ORDERS_SUBMITTED,
        topics::ORDERS_SCREENED,
        topics::ALERTS_DETECTED,
    ];
    let dead_letters = consumed.map(topics::dead_letter);
    broker.create_topics(&consumed, 3)?;
    broker.create_topics(&dead_letters.each_ref().map(String::as_str), 3)?;
    let kafka = KafkaArgs {
        create_topics: false,
        ..KafkaArgs::new(brokers.clone())
    };

    let temporary = tempfile::tempdir().context("cannot create a temporary folder")?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_path_buf());
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("precursor-watch.db").display()
    );
    let store = Store::connect(&database_url, 4).await?;

    let company = if store.company_exists(DEMO_COMPANY).await? {
        ingest::issue_api_key(&store, DEMO_COMPANY).await?
    } else {
        let demo = ingest::CreateCompanyArgs {
            id: DEMO_COMPANY.into(),
            name: "Demo Chemicals GmbH".into(),
            country: "DE".into(),
        };
        ingest::create_company(&store, &demo).await?
    };

    let any_port = AdminArgs {
        admin_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
    };
    let ingest = ingest::App::build(
        ingest::ServeArgs {
            http_addr: args.http_addr,
            tls: runtime::TlsArgs::default(),
            admin: any_port.clone(),
            kafka: kafka.clone(),
            consumer_group: "ingest".into(),
            limits: ingest::LimitArgs::default(),
        },
        store.clone(),
    )
    .await?;
    let matcher = matcher::App::build(
        matcher::ServeArgs {
            admin: any_port.clone(),
            kafka: kafka.clone(),
            consumer_group: "matcher".into(),
            reference_data: None,
            reference_reload_seconds: 10,
            rules: Vec::new(),
        },
        store.clone(),
    )
    .await?;
    let router = router::App::build(
        router::ServeArgs {
            admin: any_port,
            kafka: kafka.clone(),
            rules: Vec::new(),
            consumer_group: "router".into(),
        },
        store.clone(),
    )
    .await?;

    let http = ingest.http_addr()?;
    let admins = [
        ("ingest", ingest.admin_addr()?),
        ("matcher", matcher.admin_addr()?),
        ("router", router.admin_addr()?),
    ];
    let shutdown = Shutdown::new();
    ingest.spawn(&shutdown)?;
    matcher.spawn(&shutdown)?;
    router.spawn(&shutdown)?;

    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ingest/examples/sample-report.json");
    let sample = sample.canonicalize().unwrap_or(sample);
    println!();
    println!("Precursor Watch is running (embedded and ephemeral: in-process mock Kafka broker, SQLite; everything is lost at exit).");
    println!();
    println!("  company API       http://{http}");
    println!("  demo company      {}", company.id);
    println!("  its API key       {}", company.api_key);
    println!("  kafka (mock)      {brokers}");
    println!("  database          {database_url}");
    for (name, addr) in admins {
        println!("  {name:<8} admin    http://{addr}/metrics  /healthz  /readyz");
    }
    println!();
    println!(
        "Submit the sample report (acetic anhydride, Germany to the Netherlands through Belgium):"
    );
    println!();
    println!("  curl -sS http://{http}/v1/reports -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' --data @{}", company.api_key, sample.display());
    println!();
    println!("Watch its alert arrive on the Dutch authority's topic (in another terminal):");
    println!();
    println!("  cargo run -p router -- watch --kafka-brokers {brokers} --country NL");
    println!();
    println!("Follow the report's status with GET http://{http}/v1/reports/<report_id> and the same key. Ctrl-C stops.");
    println!();

    let result = shutdown.run_until_signal(args.shutdown.grace()).await;
    store.close().await;
    drop(broker);
    result
}
