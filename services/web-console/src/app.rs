//! Building and running the console.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use events::topics;
use kafka::KafkaArgs;
use runtime::{
    AdminArgs, AdminServer, ExposeSecret as _, HttpArgs, HttpServer, SecretString, Service,
    Shutdown,
};
use store::Store;

use crate::dead_letters::DeadLetters;
use crate::http::{self, ConsoleState};
use crate::metrics::Metrics;
use crate::monitor::{Monitor, Target};
use crate::Sessions;

/// The topics whose dead letters the console shows.
pub fn dead_letter_topics() -> Vec<String> {
    [
        topics::ORDERS_SUBMITTED,
        topics::ORDERS_SCREENED,
        topics::ALERTS_DETECTED,
        topics::ALERTS_FEEDBACK,
    ]
    .into_iter()
    .map(topics::dead_letter)
    .collect()
}

/// Settings of `web-console serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address of the console.
    #[arg(
        long = "http-addr",
        env = "PW_CONSOLE_HTTP_ADDR",
        default_value = "127.0.0.1:8070"
    )]
    pub http_addr: SocketAddr,
    /// Operators' token: operators sign in with it (at least 16 characters); without it only
    /// authorities can sign in.
    #[arg(
        long = "operator-token",
        env = "PW_ADMIN_TOKEN",
        hide_env_values = true,
        value_parser = runtime::secret
    )]
    pub operator_token: Option<SecretString>,
    #[command(flatten)]
    pub http: HttpArgs,
    /// The services to watch, as name=admin url (their /readyz and /metrics); repeatable, or
    /// comma separated in the environment variable. Several instances of a service may share a
    /// name: their figures add up.
    #[arg(
        long = "service",
        env = "PW_CONSOLE_SERVICES",
        value_delimiter = ',',
        default_value = "ingest=http://127.0.0.1:9101,matcher=http://127.0.0.1:9102,router=http://127.0.0.1:9103,authorities=http://127.0.0.1:9104"
    )]
    pub services: Vec<Target>,
    /// Seconds between two looks at the services.
    #[arg(
        long = "sample-seconds",
        env = "PW_CONSOLE_SAMPLE_SECONDS",
        default_value_t = 10
    )]
    pub sample_seconds: u64,
    /// Hours a sign-in lasts.
    #[arg(
        long = "session-hours",
        env = "PW_CONSOLE_SESSION_HOURS",
        default_value_t = 8
    )]
    pub session_hours: u64,
    /// Milliseconds between two looks for new alerts on an open live feed.
    #[arg(
        long = "stream-poll-ms",
        env = "PW_STREAM_POLL_MS",
        default_value_t = 1000
    )]
    pub stream_poll_ms: u64,
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

/// A built console: port bound, clients created.
pub struct App {
    http: HttpServer,
    admin: AdminServer,
    store: Store,
    metrics: Metrics,
    monitor: Monitor,
    args: ServeArgs,
}

impl App {
    /// Does everything that can fail at start.
    pub async fn build(args: ServeArgs, store: Store) -> anyhow::Result<Self> {
        if let Some(token) = &args.operator_token {
            anyhow::ensure!(
                token.expose_secret().len() >= 16,
                "--operator-token must be at least 16 characters"
            );
        }
        anyhow::ensure!(
            !args.services.is_empty(),
            "--service: name at least one service to watch"
        );
        anyhow::ensure!(
            (1..=3600).contains(&args.sample_seconds),
            "--sample-seconds must be between 1 and 3600"
        );
        anyhow::ensure!(
            (1..=720).contains(&args.session_hours),
            "--session-hours must be between 1 and 720"
        );
        let metrics = Metrics::new().context("cannot register metrics")?;
        store.register_metrics(&metrics.registry)?;
        let dead_letter_topics = dead_letter_topics();
        let names: Vec<&str> = dead_letter_topics.iter().map(String::as_str).collect();
        args.kafka.ensure_topics(&names).await?;
        let http = HttpServer::bind(args.http_addr, &args.http, "console").await?;
        let admin = AdminServer::bind(args.admin.addr_or(9105), metrics.registry.clone()).await?;
        Ok(Self {
            http,
            admin,
            store,
            metrics,
            monitor: Monitor::new(args.services.clone()),
            args,
        })
    }
}

impl Service for App {
    const NAME: &'static str = "web-console";

    fn servers(&self) -> (&AdminServer, Option<&HttpServer>) {
        (&self.admin, Some(&self.http))
    }

    /// Spawns the console, the service monitor, the dead-letter reader and the admin server.
    fn spawn(self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let dead_letters = DeadLetters::default();
        let secure_cookie = self.args.http.tls_cert.is_some();
        let session_seconds = self.args.session_hours * 3600;
        let (announcements, follow) = store::Announcements::follow(
            self.store.clone(),
            &[store::Change::AuthorityKeyRevoked],
            shutdown.token(),
        );
        shutdown.spawn("announcements", follow);
        let attempts = crate::sign_in::Attempts::default();
        let forget = attempts.clone();
        let token = shutdown.token();
        shutdown.spawn("sign-in-attempts", async move {
            loop {
                tokio::select! {
                    () = token.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_secs(60)) => forget.forget_idle(),
                }
            }
        });
        let state = ConsoleState {
            attempts,
            announcements,
            store: self.store.clone(),
            sessions: Sessions::new(
                self.store.clone(),
                self.args.operator_token.clone(),
                Duration::from_secs(session_seconds),
            ),
            monitor: self.monitor.clone(),
            dead_letters: dead_letters.clone(),
            metrics: self.metrics.clone(),
            secure_cookie,
            poll: Duration::from_millis(self.args.stream_poll_ms.max(10)),
            shutdown: shutdown.token(),
            session_seconds,
        };
        self.http.spawn(shutdown, http::router(state))?;
        let readiness = self.admin.spawn(shutdown);
        shutdown.spawn(
            "monitor",
            self.monitor.run(
                Duration::from_secs(self.args.sample_seconds),
                shutdown.token(),
            ),
        );
        let (kafka, token) = (self.args.kafka.clone(), shutdown.token());
        shutdown.spawn("dead-letters", async move {
            tokio::task::spawn_blocking(move || {
                dead_letters.follow(&kafka, &dead_letter_topics(), &token)
            })
            .await
            .context("the dead-letter reader stopped")?
        });
        readiness.follow(shutdown, Duration::from_secs(5), self.store.probe());
        Ok(())
    }
}
