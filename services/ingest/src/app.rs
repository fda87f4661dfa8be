//! Building and running the ingest service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use events::topics;
use kafka::{GroupLag, KafkaArgs, Stage};
use runtime::{AdminArgs, AdminServer, HttpArgs, HttpServer, Service, Shutdown};
use store::Store;
use tokio::sync::Notify;

use crate::http::{self, ApiState};
use crate::key_cache::{self, KeyCache};
use crate::metrics::Metrics;
use crate::outbox;
use crate::pressure::{self, LimitArgs, Limits};
use crate::screenings::RecordScreenings;
use crate::writer::GroupWriter;

/// Most messages of one partition handled as one batch.
const BATCH: usize = 256;

/// Settings of `ingest serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address of the company API.
    #[arg(
        long = "http-addr",
        env = "PW_HTTP_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub http_addr: SocketAddr,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Consumer group that records screening results.
    #[arg(
        long = "consumer-group",
        env = "PW_INGEST_GROUP",
        default_value = "ingest"
    )]
    pub consumer_group: String,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// A built ingest service: connected, migrated, bound, not yet running.
pub struct App {
    http: HttpServer,
    admin: AdminServer,
    store: Store,
    stage: Stage,
    metrics: Metrics,
    limits: Limits,
    matcher_lag: GroupLag,
}

impl App {
    /// Does everything that can fail at start: topics, clients, ports.
    pub async fn build(args: ServeArgs, store: Store) -> anyhow::Result<Self> {
        let metrics = Metrics::new().context("cannot register metrics")?;
        store.register_metrics(&metrics.registry)?;
        // Reports go out through the outbox; screening results come back in.
        let stage = Stage::build(
            &args.kafka,
            "ingest",
            &args.consumer_group,
            topics::ORDERS_SCREENED,
            &[topics::ORDERS_SUBMITTED],
            metrics.consumer.clone(),
            BATCH,
        )
        .await?;
        let http = HttpServer::bind(args.http_addr, &args.http, "company API").await?;
        let matcher_lag = GroupLag::new(
            &args.kafka,
            &args.limits.matcher_group,
            topics::ORDERS_SUBMITTED,
        )?;
        let admin = AdminServer::bind(args.admin.addr_or(9101), metrics.registry.clone()).await?;
        Ok(Self {
            http,
            admin,
            store,
            stage,
            metrics,
            limits: Limits::new(&args.limits),
            matcher_lag,
        })
    }
}

impl Service for App {
    const NAME: &'static str = "ingest";

    fn servers(&self) -> (&AdminServer, Option<&HttpServer>) {
        (&self.admin, Some(&self.http))
    }

    /// Spawns the API, the outbox publisher and the screening recorder on `shutdown`.
    fn spawn(self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let wake = Arc::new(Notify::new());
        let writer = GroupWriter::start(
            self.store.clone(),
            topics::ORDERS_SUBMITTED,
            self.metrics.clone(),
            shutdown,
        );
        let keys = KeyCache::new(&self.store);
        shutdown.spawn(
            "key revocations",
            key_cache::follow_revocations(self.store.clone(), keys.clone(), shutdown.token()),
        );
        let state = ApiState {
            store: self.store.clone(),
            writer,
            keys,
            outbox_wake: wake.clone(),
            metrics: self.metrics.clone(),
            verifier: keys::Verifier::default(),
            limits: self.limits.clone(),
            read_timeout: self.http.read_timeout(),
        };
        self.http.spawn(shutdown, http::router(state))?;
        let readiness = self.admin.spawn(shutdown);
        shutdown.spawn(
            "backlog",
            pressure::measure(
                self.limits,
                self.store.clone(),
                self.matcher_lag,
                self.metrics.clone(),
                shutdown.token(),
            ),
        );
        shutdown.spawn(
            "outbox",
            outbox::run(
                self.store.clone(),
                self.stage.producer(),
                wake,
                self.metrics.clone(),
                shutdown.token(),
            ),
        );
        self.stage.spawn(
            "screenings",
            RecordScreenings {
                store: self.store.clone(),
            },
            shutdown,
        );
        // Ready while the report store answers: without it no report can be accepted.
        readiness.follow(shutdown, Duration::from_secs(5), self.store.probe());
        Ok(())
    }
}
