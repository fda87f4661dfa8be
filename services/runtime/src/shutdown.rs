//! One shutdown mechanism: a cancellation token passed down, a task tracker for what was spawned,
//! and a drain under a grace period.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The process's shutdown token and the tasks that must finish before it exits.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
    failed: Arc<AtomicBool>,
}

impl Shutdown {
    /// A fresh, not yet cancelled shutdown.
    pub fn new() -> Self {
        Self::default()
    }

    /// The token tasks watch to stop.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Starts shutting down.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether shutdown has started.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Spawns a long-lived task; if it fails, the whole process shuts down.
    pub fn spawn<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let token = self.token.clone();
        let failed = self.failed.clone();
        self.tracker.spawn(async move {
            match task.await {
                Ok(()) => tracing::debug!(task = name, "task finished"),
                Err(error) => {
                    tracing::error!(
                        task = name,
                        error = format!("{error:#}"),
                        "task failed, shutting down"
                    );
                    failed.store(true, Ordering::SeqCst);
                    token.cancel();
                }
            }
        });
    }

    /// Whether a spawned task failed.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Runs until SIGTERM, SIGINT or a failing task, then drains under `grace`.
    ///
    /// Fails when a task failed, so the process exits with an error.
    pub async fn run_until_signal(&self, grace: Duration) -> anyhow::Result<()> {
        tokio::select! {
            _ = wait_for_signal() => {}
            _ = self.token.cancelled() => {}
        }
        self.cancel();
        tracing::info!(grace_seconds = grace.as_secs_f64(), "shutting down");
        let drained = self.drain(grace).await;
        if self.failed() {
            anyhow::bail!("a task failed, see the log above");
        }
        if !drained {
            anyhow::bail!("in-flight work did not finish within the {grace:?} grace period");
        }
        Ok(())
    }

    /// Waits until shutdown is requested, then gives the tasks `grace` to finish.
    ///
    /// Returns false when some task was still running at the end of the grace period.
    pub async fn drain(&self, grace: Duration) -> bool {
        self.token.cancelled().await;
        self.tracker.close();
        let drained = tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok();
        if !drained {
            tracing::warn!(
                grace_seconds = grace.as_secs_f64(),
                "tasks still running after the grace period"
            );
        }
        drained
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => tracing::info!("received SIGINT"),
                    _ = terminate.recv() => tracing::info!("received SIGTERM"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM, waiting for SIGINT only");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_task_shuts_the_process_down() {
        let shutdown = Shutdown::new();
        shutdown.spawn("fails", async { anyhow::bail!("boom") });
        assert!(shutdown.drain(Duration::from_secs(5)).await);
        assert!(shutdown.is_cancelled());
        assert!(shutdown.failed());
    }

    #[tokio::test(start_paused = true)]
    async fn drain_reports_tasks_that_outlive_the_grace_period() {
        let shutdown = Shutdown::new();
        shutdown.spawn("sleeps", async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        });
        shutdown.cancel();
        assert!(!shutdown.drain(Duration::from_secs(1)).await);
    }
}
