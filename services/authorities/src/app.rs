//! Building and running the authorities service.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use events::topics;
use kafka::{KafkaArgs, Producer, PwContext, StreamConsumer};
use runtime::{AdminArgs, AdminServer, Readiness, Shutdown};
use store::Store;
use tokio::net::TcpListener;

use crate::feedback::RecordFeedback;
use crate::http::{self, ApiState};
use crate::metrics::Metrics;

/// Most feedback messages handled concurrently.
const BATCH: usize = 100;

/// Settings of `authorities serve`.
#[derive(Clone, clap::Args)]
pub struct ServeArgs {
    /// Address of the authority API.
    #[arg(
        long = "http-addr",
        env = "PW_AUTHORITY_HTTP_ADDR",
        default_value = "127.0.0.1:8090"
    )]
    pub http_addr: SocketAddr,
    /// Operators' token for the admin API (`/admin/v1/...`); the admin API is off without it.
    #[arg(long = "admin-token", env = "PW_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Certificate chain (PEM) for HTTPS; with `--tls-key`, the API is served over TLS only.
    #[arg(long = "tls-cert", env = "PW_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of the certificate.
    #[arg(long = "tls-key", env = "PW_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
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

impl std::fmt::Debug for ServeArgs {
    /// The admin token is not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeArgs")
            .field("http_addr", &self.http_addr)
            .field("tls_cert", &self.tls_cert)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<hidden>"),
            )
            .field("kafka", &self.kafka)
            .finish_non_exhaustive()
    }
}

/// A built service: port bound, clients created.
pub struct App {
    listener: TcpListener,
    admin: AdminServer,
    store: Store,
    producer: Producer,
    consumer: StreamConsumer<PwContext>,
    metrics: Metrics,
    readiness: Readiness,
    admin_token: Option<String>,
    poll: Duration,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
}

impl App {
    /// Does everything that can fail at start.
    pub async fn build(args: ServeArgs, store: Store) -> anyhow::Result<Self> {
        let metrics = Metrics::new().context("cannot register metrics")?;
        if let Some(token) = &args.admin_token {
            anyhow::ensure!(
                token.len() >= 16,
                "--admin-token must be at least 16 characters"
            );
        }
        args.kafka
            .ensure_topics(&[
                topics::ALERTS_FEEDBACK,
                &topics::dead_letter(topics::ALERTS_FEEDBACK),
            ])
            .await?;
        let producer = Producer::new(&args.kafka, Duration::from_secs(30))?;
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                // One crypto provider for the process; a second install is a no-op.
                let _ = rustls::crypto::ring::default_provider().install_default();
                Some(
                    axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                        .await
                        .with_context(|| {
                            format!(
                                "cannot load the TLS certificate {} and key {} (--tls-cert, --tls-key)",
                                cert.display(),
                                key.display()
                            )
                        })?,
                )
            }
            (None, None) => None,
            (Some(_), None) => anyhow::bail!("--tls-cert needs --tls-key"),
            (None, Some(_)) => anyhow::bail!("--tls-key needs --tls-cert"),
        };
        let listener = TcpListener::bind(args.http_addr).await.with_context(|| {
            format!(
                "cannot bind the authority API to {} (--http-addr)",
                args.http_addr
            )
        })?;
        let consumer = args
            .kafka
            .consumer(&args.consumer_group, &[topics::ALERTS_FEEDBACK])?;
        let readiness = Readiness::default();
        let admin = AdminServer::bind(
            args.admin.addr_or(9104),
            metrics.registry.clone(),
            readiness.clone(),
        )
        .await?;
        Ok(Self {
            listener,
            admin,
            store,
            producer,
            consumer,
            metrics,
            readiness,
            admin_token: args.admin_token,
            poll: Duration::from_millis(args.stream_poll_ms.max(10)),
            tls,
        })
    }

    /// Address of the authority API.
    pub fn http_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Address of the admin server (metrics, health).
    pub fn admin_addr(&self) -> anyhow::Result<SocketAddr> {
        self.admin.local_addr()
    }

    /// Spawns the API, the feedback consumer and the admin server on `shutdown`.
    pub fn spawn(self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let state = ApiState {
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            admin_token: self.admin_token,
            poll: self.poll,
            verifier: keys::Verifier::default(),
        };
        let token = shutdown.token();
        let listener = self.listener;
        match self.tls {
            None => shutdown.spawn("http", async move {
                axum::serve(listener, http::router(state))
                    .with_graceful_shutdown(async move { token.cancelled().await })
                    .await
                    .context("authority API failed")
            }),
            Some(tls) => {
                let listener = listener.into_std()?;
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                shutdown.spawn("https", async move {
                    tokio::spawn(async move {
                        token.cancelled().await;
                        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
                    });
                    axum_server::from_tcp_rustls(listener, tls)
                        .context("cannot serve the authority API over TLS")?
                        .handle(handle)
                        .serve(http::router(state).into_make_service())
                        .await
                        .context("authority API failed")
                });
            }
        }
        shutdown.spawn("admin", self.admin.run(shutdown.token()));
        shutdown.spawn(
            "feedback",
            kafka::consume(
                self.consumer,
                self.producer,
                "authorities",
                RecordFeedback {
                    store: self.store.clone(),
                    metrics: self.metrics.clone(),
                },
                BATCH,
                self.metrics.consumer.clone(),
                shutdown.token(),
            ),
        );
        let (store, readiness, token) = (self.store, self.readiness, shutdown.token());
        shutdown.spawn("readiness", async move {
            loop {
                readiness.set(store.ping().await);
                tokio::select! {
                    _ = token.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        });
        Ok(())
    }
}
