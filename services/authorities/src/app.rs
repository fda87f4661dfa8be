//! Building and running the authorities service.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use events::topics;
use kafka::{KafkaArgs, Stage};
use runtime::{
    AdminArgs, AdminServer, ExposeSecret as _, HttpArgs, HttpServer, SecretString, Service,
    Shutdown,
};
use store::Store;

use crate::feedback::RecordFeedback;
use crate::http::{self, ApiState};
use crate::metrics::Metrics;

/// Most feedback messages handled concurrently.
const BATCH: usize = 100;

/// Settings of `authorities serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address of the authority API.
    #[arg(
        long = "http-addr",
        env = "PW_AUTHORITY_HTTP_ADDR",
        default_value = "127.0.0.1:8090"
    )]
    pub http_addr: SocketAddr,
    /// Operators' token for the admin API (`/admin/v1/...`); the admin API is off without it.
    #[arg(long = "admin-token", env = "PW_ADMIN_TOKEN", hide_env_values = true, value_parser = runtime::secret)]
    pub admin_token: Option<SecretString>,
    #[command(flatten)]
    pub http: HttpArgs,
    /// Milliseconds between two looks for new alerts on an open stream.
    #[arg(
        long = "stream-poll-ms",
        env = "PW_STREAM_POLL_MS",
        default_value_t = 500
    )]
    pub stream_poll_ms: u64,
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Consumer group of the feedback consumers.
    #[arg(
        long = "consumer-group",
        env = "PW_AUTHORITIES_GROUP",
        default_value = "authorities"
    )]
    pub consumer_group: String,
}

/// A built service: port bound, clients created.
pub struct App {
    http: HttpServer,
    admin: AdminServer,
    store: Store,
    stage: Stage,
    metrics: Metrics,
    admin_token: Option<SecretString>,
    poll: Duration,
}

impl App {
    /// Does everything that can fail at start.
    pub async fn build(args: ServeArgs, store: Store) -> anyhow::Result<Self> {
        let metrics = Metrics::new().context("cannot register metrics")?;
        store.register_metrics(&metrics.registry)?;
        if let Some(token) = &args.admin_token {
            anyhow::ensure!(
                token.expose_secret().len() >= 16,
                "--admin-token must be at least 16 characters"
            );
        }
        let stage = Stage::build(
            &args.kafka,
            "authorities",
            &args.consumer_group,
            topics::ALERTS_FEEDBACK,
            &[],
            metrics.consumer.clone(),
            BATCH,
        )
        .await?;
        let http = HttpServer::bind(args.http_addr, &args.http, "authority API").await?;
        let admin = AdminServer::bind(args.admin.addr_or(9104), metrics.registry.clone()).await?;
        Ok(Self {
            http,
            admin,
            store,
            stage,
            metrics,
            admin_token: args.admin_token,
            poll: Duration::from_millis(args.stream_poll_ms.max(10)),
        })
    }
}

impl Service for App {
    const NAME: &'static str = "authorities";

    fn servers(&self) -> (&AdminServer, Option<&HttpServer>) {
        (&self.admin, Some(&self.http))
    }

    /// Spawns the API, the feedback consumer and the admin server on `shutdown`.
    fn spawn(self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let (announcements, follow) = store::Announcements::follow(
            self.store.clone(),
            &[store::Change::AuthorityKeyRevoked],
            shutdown.token(),
        );
        shutdown.spawn("announcements", follow);
        let state = ApiState {
            announcements,
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            admin_token: self.admin_token,
            poll: self.poll,
            verifier: keys::Verifier::default(),
        };
        self.http.spawn(shutdown, http::router(state))?;
        let readiness = self.admin.spawn(shutdown);
        self.stage.spawn(
            "feedback",
            RecordFeedback {
                store: self.store.clone(),
                metrics: self.metrics.clone(),
            },
            shutdown,
        );
        readiness.follow(shutdown, Duration::from_secs(5), self.store.probe());
        Ok(())
    }
}
