//! What every service's `serve` command does once the service is built: say where it listens,
//! run its tasks, and stop them on SIGTERM or SIGINT within the grace period.

use std::net::SocketAddr;

use anyhow::Context as _;

use crate::{AdminServer, HttpServer, Shutdown, ShutdownArgs};

/// A built service, ready to run.
pub trait Service: Sized {
    /// The service's name in logs.
    const NAME: &'static str;

    /// Its admin server, and its HTTP server when it has one.
    fn servers(&self) -> (&AdminServer, Option<&HttpServer>);

    /// Starts its tasks on `shutdown`.
    fn spawn(self, shutdown: &Shutdown) -> anyhow::Result<()>;

    /// The address of its admin server (metrics, health).
    fn admin_addr(&self) -> anyhow::Result<SocketAddr> {
        self.servers().0.local_addr()
    }

    /// The address of its HTTP server.
    fn http_addr(&self) -> anyhow::Result<SocketAddr> {
        let (_, http) = self.servers();
        http.with_context(|| format!("{} has no HTTP server", Self::NAME))?
            .local_addr()
    }
}

/// The settings of every service's `serve` command: the service's own (`A`) and how long its
/// shutdown may take.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeCommand<A: clap::Args> {
    #[command(flatten)]
    pub settings: A,
    #[command(flatten)]
    pub shutdown: ShutdownArgs,
}

impl<A: clap::Args> ServeCommand<A> {
    /// Builds the service from its settings with `build`, then runs it until SIGTERM or SIGINT
    /// and gives its tasks the grace period.
    pub async fn run<S, F, Fut>(self, build: F) -> anyhow::Result<()>
    where
        S: Service,
        F: FnOnce(A) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<S>>,
    {
        serve(build(self.settings).await?, &self.shutdown).await
    }
}

/// Runs `service` until SIGTERM or SIGINT, then gives its tasks the grace period of `args`.
async fn serve<S: Service>(service: S, args: &ShutdownArgs) -> anyhow::Result<()> {
    let (admin, http) = service.servers();
    let http = http.map(HttpServer::local_addr).transpose()?;
    let admin = admin.local_addr()?;
    match http {
        Some(http) => tracing::info!(service = S::NAME, %http, %admin, "running"),
        None => tracing::info!(service = S::NAME, %admin, "running"),
    }
    let shutdown = Shutdown::new();
    service.spawn(&shutdown)?;
    shutdown.run_until_signal(args.grace()).await
}
