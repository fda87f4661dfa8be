//! The embedded demo: every service in one process over a mock broker and SQLite.

use runtime::ExposeSecret as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use events::topics;
use kafka::{EmbeddedBroker, KafkaArgs};
use runtime::{AdminArgs, LogArgs, Service as _, Shutdown, ShutdownArgs};
use store::Store;

/// The company the demo reports as.
const DEMO_COMPANY: &str = "demo-chemicals";

/// The authority the demo registers, so that one can sign in to the console as an authority.
const DEMO_AUTHORITY: &str = "NL";

/// Runs every service and the web console in one process on an in-process broker and SQLite.
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
    /// Address of the authority API.
    #[arg(
        long = "authority-addr",
        env = "PW_AUTHORITY_HTTP_ADDR",
        default_value = "127.0.0.1:8090"
    )]
    authority_addr: SocketAddr,
    /// Address of the web console.
    #[arg(
        long = "console-addr",
        env = "PW_CONSOLE_HTTP_ADDR",
        default_value = "127.0.0.1:8070"
    )]
    console_addr: SocketAddr,
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
        topics::ALERTS_FEEDBACK,
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

    let actor = store::cli_actor();
    let company = if store.company_exists(DEMO_COMPANY).await? {
        admin::companies::issue_key(&store, DEMO_COMPANY, &actor).await?
    } else {
        let demo = admin::companies::CompanyArgs {
            id: DEMO_COMPANY.into(),
            name: "Demo Chemicals GmbH".into(),
            country: "DE".into(),
        };
        admin::companies::create(&store, &demo, &actor).await?
    };

    // A Dutch authority with a key, to sign in to the console as an authority.
    let dutch = admin::authorities::AuthorityArgs {
        country: DEMO_AUTHORITY.into(),
        name: "Douane (demo)".into(),
        contact: "douane@example.nl".into(),
        min_severity: "LOW".into(),
        regimes: Vec::new(),
        categories: Vec::new(),
        no_watch_list_findings: false,
    };
    admin::authorities::register_authority(&store, &dutch).await?;
    let authority_key = admin::authorities::issue_key(&store, DEMO_AUTHORITY, &actor)
        .await?
        .context("the demo authority was just registered")?;
    // The operators' token of this run, for the console and the authority admin API.
    let operator_token = format!("operator-{}", uuid::Uuid::new_v4().simple());

    let any_port = AdminArgs {
        admin_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
    };
    let ingest = ingest::App::build(
        ingest::ServeArgs {
            http_addr: args.http_addr,
            http: runtime::HttpArgs::default(),
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
            admin: any_port.clone(),
            kafka: kafka.clone(),
            rules: Vec::new(),
            consumer_group: "router".into(),
        },
        store.clone(),
    )
    .await?;
    let authorities = authorities::App::build(
        authorities::ServeArgs {
            http_addr: args.authority_addr,
            admin_token: Some(operator_token.as_str().into()),
            http: runtime::HttpArgs::default(),
            stream_poll_ms: 500,
            admin: any_port.clone(),
            kafka: kafka.clone(),
            consumer_group: "authorities".into(),
        },
        store.clone(),
    )
    .await?;

    let http = ingest.http_addr()?;
    let authority_http = authorities.http_addr()?;
    let admins = [
        ("ingest", ingest.admin_addr()?),
        ("matcher", matcher.admin_addr()?),
        ("router", router.admin_addr()?),
        ("authorities", authorities.admin_addr()?),
    ];
    let console = web_console::App::build(
        web_console::ServeArgs {
            http_addr: args.console_addr,
            operator_token: Some(operator_token.as_str().into()),
            http: runtime::HttpArgs::default(),
            services: admins
                .iter()
                .map(|(name, addr)| web_console::Target::at(name, &format!("http://{addr}")))
                .collect(),
            sample_seconds: 5,
            session_hours: 8,
            stream_poll_ms: 1000,
            admin: any_port,
            kafka: kafka.clone(),
        },
        store.clone(),
    )
    .await?;
    let console_http = console.http_addr()?;
    let shutdown = Shutdown::new();
    ingest.spawn(&shutdown)?;
    matcher.spawn(&shutdown)?;
    router.spawn(&shutdown)?;
    authorities.spawn(&shutdown)?;
    console.spawn(&shutdown)?;

    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ingest/examples/sample-report.json");
    let sample = sample.canonicalize().unwrap_or(sample);
    println!();
    println!("Precursor Watch is running (embedded and ephemeral: in-process mock Kafka broker, SQLite; everything is lost at exit).");
    println!();
    println!("  web console       http://{console_http}");
    println!("  operator token    {operator_token}");
    println!(
        "  authority {DEMO_AUTHORITY} key  {}",
        authority_key.expose_secret()
    );
    println!("  company API       http://{http}");
    println!("  demo company      {}", company.company_id);
    println!("  its API key       {}", company.token.expose_secret());
    println!("  authority API     http://{authority_http}");
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
    println!("  curl -sS http://{http}/v1/reports -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' --data @{}", company.token.expose_secret(), sample.display());
    println!();
    println!("Open the web console and sign in with the operator token (every alert, the pipeline's health) or the authority key (the Dutch authority's alerts only).");
    println!();
    println!("Watch the alert arrive on the Dutch authority's topic (in another terminal):");
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
