//! Building and running the router service.

use std::sync::Arc;

use anyhow::Context as _;
use events::topics;
use kafka::{KafkaArgs, Stage, Topics};
use runtime::{AdminArgs, AdminServer, HttpServer, Service, Shutdown};
use store::Store;

use crate::directory::{self, Directory};
use crate::metrics::Metrics;
use crate::service::RouteAlerts;

/// Most messages of one partition handled as one batch.
const BATCH: usize = 500;

/// Settings of `router serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Indicator rule set files in use besides the built-in ones (as given to the matcher):
    /// an alert is scored for each authority with the weights its rule set gives that
    /// authority.
    #[arg(long = "rules", env = "PW_RULES", value_delimiter = ',')]
    pub rules: Vec<std::path::PathBuf>,
    /// Consumer group of the routers.
    #[arg(
        long = "consumer-group",
        env = "PW_ROUTER_GROUP",
        default_value = "router"
    )]
    pub consumer_group: String,
}

/// A built router.
pub struct App {
    admin: AdminServer,
    store: Store,
    stage: Stage,
    topics: Arc<Topics>,
    metrics: Metrics,
    rules: Arc<indicators::RuleSets>,
}

impl App {
    /// Does everything that can fail at start.
    pub async fn build(args: ServeArgs, store: Store) -> anyhow::Result<Self> {
        let metrics = Metrics::new().context("cannot register metrics")?;
        store.register_metrics(&metrics.registry)?;
        let rules = Arc::new(indicators::RuleSets::load(&args.rules)?);
        // The authority topics are created as alerts for them come.
        let stage = Stage::build(
            &args.kafka,
            "router",
            &args.consumer_group,
            topics::ALERTS_DETECTED,
            &[],
            metrics.consumer.clone(),
            BATCH,
        )
        .await?;
        let admin = AdminServer::bind(args.admin.addr_or(9103), metrics.registry.clone()).await?;
        Ok(Self {
            admin,
            store,
            stage,
            topics: Topics::new(&args.kafka)?,
            metrics,
            rules,
        })
    }
}

impl Service for App {
    const NAME: &'static str = "router";

    fn servers(&self) -> (&AdminServer, Option<&HttpServer>) {
        (&self.admin, None)
    }

    /// Spawns the consumer and the admin server on `shutdown`.
    fn spawn(self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let readiness = self.admin.spawn(shutdown);
        let directory = Directory::new(&self.store);
        shutdown.spawn(
            "directory",
            directory::follow(self.store.clone(), directory.clone(), shutdown.token()),
        );
        let handler = RouteAlerts {
            store: self.store,
            producer: self.stage.producer(),
            topics: self.topics,
            directory,
            metrics: self.metrics.clone(),
            rules: self.rules,
        };
        self.stage.spawn("route", handler, shutdown);
        readiness.set(true);
        Ok(())
    }
}
