//! The admin server: Prometheus metrics, liveness and readiness.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Shutdown;

/// Whether the service is ready for work; shared between the service and its admin server.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the service ready or not.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    /// Whether the service is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Follows `probe` every `every` on `shutdown`: ready while it answers true.
    pub fn follow<F, Fut>(self, shutdown: &Shutdown, every: std::time::Duration, mut probe: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = bool> + Send,
    {
        let token = shutdown.token();
        shutdown.spawn("readiness", async move {
            loop {
                self.set(probe().await);
                tokio::select! {
                    _ = token.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(every) => {}
                }
            }
        });
    }
}

#[derive(Clone)]
struct AdminState {
    registry: Registry,
    readiness: Readiness,
}

/// A bound admin server, not yet serving.
pub struct AdminServer {
    listener: TcpListener,
    router: Router,
    readiness: Readiness,
}

impl AdminServer {
    /// Binds the admin port; fails at start when the address is taken. `/readyz` answers from
    /// the server's [`Readiness`], not ready until the service says so.
    pub async fn bind(addr: SocketAddr, registry: Registry) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot bind the admin server to {addr} (--admin-addr)"))?;
        let readiness = Readiness::default();
        let router = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(ready))
            .with_state(AdminState {
                registry,
                readiness: readiness.clone(),
            });
        Ok(Self {
            listener,
            router,
            readiness,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// What `/readyz` answers from: the service sets it.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Serves on `shutdown` until it is cancelled; the service says through the [`Readiness`]
    /// returned when it is ready.
    pub fn spawn(self, shutdown: &Shutdown) -> Readiness {
        let readiness = self.readiness();
        shutdown.spawn("admin", self.run(shutdown.token()));
        readiness
    }

    /// Serves until the token is cancelled.
    async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .context("admin server failed")
    }
}

async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    if let Err(error) = encoder.encode(&state.registry.gather(), &mut body) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode metrics: {error}\n"),
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
        body,
    )
        .into_response()
}

async fn ready(State(state): State<AdminState>) -> impl IntoResponse {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readiness_follows_its_probe_until_shutdown() {
        let readiness = Readiness::default();
        let answer = Arc::new(AtomicBool::new(true));
        let shutdown = Shutdown::new();
        let probe = answer.clone();
        readiness
            .clone()
            .follow(&shutdown, std::time::Duration::from_millis(10), move || {
                let probe = probe.clone();
                async move { probe.load(Ordering::Relaxed) }
            });
        let settle = || tokio::time::sleep(std::time::Duration::from_millis(100));
        settle().await;
        assert!(readiness.is_ready());
        answer.store(false, Ordering::Relaxed);
        settle().await;
        assert!(!readiness.is_ready());
        answer.store(true, Ordering::Relaxed);
        settle().await;
        assert!(readiness.is_ready());
        shutdown.cancel();
        assert!(shutdown.drain(std::time::Duration::from_secs(1)).await);
        assert!(!shutdown.failed());
    }

    #[tokio::test]
    async fn serves_metrics_health_and_readiness() {
        let registry = Registry::new();
        let counter = prometheus::IntCounter::new("demo_total", "a demo counter").unwrap();
        registry.register(Box::new(counter.clone())).unwrap();
        counter.inc();
        let server = AdminServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)), registry)
            .await
            .unwrap();
        let readiness = server.readiness();
        let base = format!("http://{}", server.local_addr().unwrap());
        let token = CancellationToken::new();
        let handle = tokio::spawn(server.run(token.clone()));
        let client = reqwest::Client::new();

        let metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("demo_total 1"), "{metrics}");
        assert_eq!(
            client
                .get(format!("{base}/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .unwrap()
                .status(),
            503
        );
        readiness.set(true);
        assert_eq!(
            client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );

        token.cancel();
        handle.await.unwrap().unwrap();
    }
}
