//! Building and running the matcher service.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use events::topics;
use indicators::RuleSets;
use kafka::{KafkaArgs, Stage};
use runtime::{AdminArgs, AdminServer, HttpServer, Service, Shutdown};
use store::Store;

use arc_swap::ArcSwap;

use crate::metrics::Metrics;
use crate::reload::{self, SharedEngine};
use crate::service::ScreenReports;
use screening::Engine;
use screening::ReferenceData;

/// Most messages of one partition screened as one batch.
const BATCH: usize = 500;

/// Settings of `matcher serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Indicator rule set files (JSON) in use besides the built-in ones; each applies from its
    /// `effective_from` date until a later one's.
    #[arg(long = "rules", env = "PW_RULES", value_delimiter = ',')]
    pub rules: Vec<PathBuf>,
    /// Consumer group of the matchers.
    #[arg(
        long = "consumer-group",
        env = "PW_MATCHER_GROUP",
        default_value = "matcher"
    )]
    pub consumer_group: String,
    /// Reference data CSV to use instead of the data built into the binary; watched, and
    /// reloaded without a restart when its content changes.
    #[arg(long = "reference-data", env = "PW_REFERENCE_DATA")]
    pub reference_data: Option<PathBuf>,
    /// Seconds between two checks of the reference data file for a new version.
    #[arg(
        long = "reference-reload-seconds",
        env = "PW_REFERENCE_RELOAD_SECONDS",
        default_value_t = 10
    )]
    pub reference_reload_seconds: u64,
}

/// A built matcher: reference data loaded, clients created, admin port bound.
pub struct App {
    admin: AdminServer,
    engine: SharedEngine,
    store: Store,
    rules: Arc<RuleSets>,
    reference: Option<(PathBuf, Duration)>,
    stage: Stage,
    metrics: Metrics,
}

/// Loads the reference data from `path`, or the built-in data.
pub fn load_reference(path: Option<&std::path::Path>) -> anyhow::Result<ReferenceData> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read reference data {} (--reference-data)",
                    path.display()
                )
            })?;
            ReferenceData::from_csv(&text)
                .with_context(|| format!("invalid reference data {}", path.display()))
        }
        None => ReferenceData::builtin(),
    }
}

/// How often purchases past the rules' history are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl App {
    /// Does everything that can fail at start.
    /// `store` is the system of record, where the buyers' histories are kept.
    pub async fn build(args: ServeArgs, store: Store) -> anyhow::Result<Self> {
        let metrics = Metrics::new().context("cannot register metrics")?;
        store.register_metrics(&metrics.registry)?;
        let rules = Arc::new(RuleSets::load(&args.rules)?);
        let engine = Engine::new(load_reference(args.reference_data.as_deref())?)?;
        tracing::info!(version = engine.version(), "reference data loaded");
        let engine: SharedEngine = Arc::new(ArcSwap::from_pointee(engine));
        let reload_every = Duration::from_secs(args.reference_reload_seconds.max(1));
        let reference = args.reference_data.clone().map(|path| (path, reload_every));
        let stage = Stage::build(
            &args.kafka,
            "matcher",
            &args.consumer_group,
            topics::ORDERS_SUBMITTED,
            &[topics::ORDERS_SCREENED, topics::ALERTS_DETECTED],
            metrics.consumer.clone(),
            BATCH,
        )
        .await?;
        let admin = AdminServer::bind(args.admin.addr_or(9102), metrics.registry.clone()).await?;
        Ok(Self {
            admin,
            engine,
            store,
            rules,
            reference,
            stage,
            metrics,
        })
    }
}

impl Service for App {
    const NAME: &'static str = "matcher";

    fn servers(&self) -> (&AdminServer, Option<&HttpServer>) {
        (&self.admin, None)
    }

    /// Spawns the consumer and the admin server on `shutdown`.
    fn spawn(self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let readiness = self.admin.spawn(shutdown);
        if let Some((path, every)) = self.reference {
            let reloads = self.metrics.reference_reloads.clone();
            shutdown.spawn(
                "reference",
                reload::watch(path, self.engine.clone(), every, reloads, shutdown.token()),
            );
        }
        shutdown.spawn(
            "prune",
            prune(
                self.store.clone(),
                self.rules.clone(),
                self.metrics.clone(),
                shutdown.token(),
            ),
        );
        let handler = ScreenReports {
            engine: self.engine,
            store: self.store,
            rules: self.rules,
            producer: self.stage.producer(),
            metrics: self.metrics.clone(),
        };
        self.stage.spawn("screen", handler, shutdown);
        readiness.set(true);
        Ok(())
    }
}

/// Forgets purchases older than the longest history a rule set looks at, every hour.
async fn prune(
    store: Store,
    rules: Arc<RuleSets>,
    metrics: Metrics,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let keep = i64::from(crate::assess::history_days(&rules)) * 86_400_000_000;
    loop {
        match store.prune_purchases(events::now_micros() - keep).await {
            Ok(pruned) => metrics.purchases_pruned.inc_by(pruned),
            Err(error) => tracing::warn!(error = %error, "cannot prune purchase history"),
        }
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(PRUNE_EVERY) => {}
        }
    }
}
