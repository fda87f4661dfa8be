//! Building and running the router service.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use events::topics;
use kafka::{KafkaArgs, Producer, PwContext, StreamConsumer};
use runtime::{AdminArgs, AdminServer, Readiness, Shutdown};
use store::Store;

use crate::metrics::Metrics;
use crate::service::RouteAlerts;

/// Most messages handled concurrently by the consumer.
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
    producer: Producer,
    kafka: KafkaArgs,
    consumer: StreamConsumer<PwContext>,
    metrics: Metrics,
    readiness: Readiness,
    rules: std::sync::Arc<indicators::RuleSets>,
}

impl App {
    /// Does everything that can fail at start.
    pub async fn build(args: ServeArgs, store: Store) -> anyhow::Result<Self> {
        let metrics = Metrics::new().context("cannot register metrics")?;
        metrics
            .registry
            .register(Box::new(store::PoolCollector::new(store.clone())?))
            .context("cannot register the database pool metrics")?;
        let rules = std::sync::Arc::new(indicators::RuleSets::load(&args.rules)?);
        args.kafka
            .ensure_topics(&[
                topics::ALERTS_DETECTED,
                &topics::dead_letter(topics::ALERTS_DETECTED),
            ])
            .await?;
        let producer = Producer::new(&args.kafka, Duration::from_secs(30))?;
        let consumer = args.kafka.measured_consumer(
            &args.consumer_group,
            &[topics::ALERTS_DETECTED],
            &metrics.consumer,
        )?;
        let readiness = Readiness::default();
        let admin = AdminServer::bind(
            args.admin.addr_or(9103),
            metrics.registry.clone(),
            readiness.clone(),
        )
        .await?;
        Ok(Self {
            admin,
            store,
            producer,
            kafka: args.kafka,
            consumer,
            metrics,
            readiness,
            rules,
        })
    }

    /// Address of the admin server.
    pub fn admin_addr(&self) -> anyhow::Result<SocketAddr> {
        self.admin.local_addr()
    }

    /// Spawns the consumer and the admin server on `shutdown`.
    pub fn spawn(self, shutdown: &Shutdown) -> anyhow::Result<()> {
        shutdown.spawn("admin", self.admin.run(shutdown.token()));
        let handler = RouteAlerts {
            store: self.store,
            producer: self.producer.clone(),
            kafka: self.kafka,
            metrics: self.metrics.clone(),
            topics: Mutex::new(HashSet::new()),
            rules: self.rules,
        };
        shutdown.spawn(
            "route",
            kafka::consume(
                self.consumer,
                self.producer,
                "router",
                handler,
                BATCH,
                self.metrics.consumer.clone(),
                shutdown.token(),
            ),
        );
        self.readiness.set(true);
        Ok(())
    }
}
