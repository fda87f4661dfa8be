//! Group commit: the reports of concurrent submissions are written together, one transaction
//! and one statement per table for a whole group, and each submission is answered once its
//! group is durable.
//!
//! A group is what arrives within a couple of milliseconds of its first report, or waits when a
//! writer becomes free: under light load a group of one, under heavy load hundreds per commit.
//! Two writers take turns, so one group is collected while the previous one commits.

use std::sync::Arc;

use runtime::Shutdown;
use store::{Inserted, NewReport, Store, StoreError};
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Most reports one group commits.
const MAX_GROUP: usize = 512;

/// Writers committing groups at once.
const WRITERS: usize = 2;

/// Submissions that may wait for a writer; past that a submission waits to be queued.
const QUEUE: usize = 4096;

/// How long a writer waits for more submissions after the first of a group: under load, one
/// commit every few milliseconds instead of one per report.
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

/// A report waiting for its group.
struct Waiting {
    report: NewReport,
    answer: oneshot::Sender<Result<Inserted, Arc<StoreError>>>,
}

/// Hands reports to the group writers. Cheap to clone.
#[derive(Clone)]
pub struct GroupWriter {
    queue: mpsc::Sender<Waiting>,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The group's transaction failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The writers stopped: the service is shutting down.
    #[error("the report writer stopped")]
    Stopped,
}

impl GroupWriter {
    /// Starts the writers on `shutdown`; they stop once it is cancelled and nothing waits.
    pub fn start(store: Store, topic: &'static str, metrics: Metrics, shutdown: &Shutdown) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..WRITERS {
            shutdown.spawn(
                "report writer",
                write_groups(
                    store.clone(),
                    topic,
                    receiver.clone(),
                    metrics.clone(),
                    shutdown.token(),
                ),
            );
        }
        Self { queue }
    }

    /// Writes the report with the next group; returns once the group has committed.
    pub async fn insert(&self, report: NewReport) -> Result<Inserted, WriteError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Waiting { report, answer })
            .await
            .map_err(|_| WriteError::Stopped)?;
        match answered.await {
            Ok(result) => result.map_err(WriteError::Store),
            Err(_) => Err(WriteError::Stopped),
        }
    }
}

/// One writer: takes what waits (at most a group), commits it, answers each submission.
async fn write_groups(
    store: Store,
    topic: &'static str,
    receiver: Arc<Mutex<mpsc::Receiver<Waiting>>>,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let group = {
            let mut receiver = receiver.lock().await;
            let first = tokio::select! {
                // Submissions already queued are still written after shutdown began: each
                // holds a request waiting for its answer.
                biased;
                waiting = receiver.recv() => waiting,
                _ = shutdown.cancelled() => receiver.try_recv().ok(),
            };
            let Some(first) = first else { return Ok(()) };
            runtime::gather(&mut *receiver, first, MAX_GROUP, LINGER).await
        };
        metrics.group_size.observe(group.len() as f64);
        let (reports, answers): (Vec<NewReport>, Vec<_>) = group
            .into_iter()
            .map(|waiting| (waiting.report, waiting.answer))
            .unzip();
        match store.insert_reports(&reports, topic).await {
            Ok(inserted) => {
                for (answer, inserted) in answers.into_iter().zip(inserted) {
                    // The submission may have gone (client disconnected): its report is
                    // stored all the same, and a resubmission finds it.
                    let _ = answer.send(Ok(inserted));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for answer in answers {
                    let _ = answer.send(Err(error.clone()));
                }
            }
        }
    }
}
