//! Publishes the outbox: every stored report reaches `orders.submitted`, even when Kafka was
//! away when the report was accepted.

use std::sync::Arc;
use std::time::Duration;

use kafka::Producer;
use store::Store;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

const BATCH: i64 = 500;
const IDLE_POLL: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Drains the outbox until shutdown; `wake` is notified whenever a report was stored.
pub async fn run(
    store: Store,
    producer: Producer,
    wake: Arc<Notify>,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        match publish_batch(&store, &producer, &metrics).await {
            Ok(0) => {
                backoff = Duration::from_millis(100);
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
            Ok(_) => backoff = Duration::from_millis(100),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    retry_in_ms = backoff.as_millis() as u64,
                    "outbox publishing failed"
                );
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    Ok(())
}

/// Publishes one batch in order and marks what the broker acknowledged; returns how many.
async fn publish_batch(
    store: &Store,
    producer: &Producer,
    metrics: &Metrics,
) -> anyhow::Result<usize> {
    let pending = store.pending_messages(BATCH).await?;
    metrics.outbox_depth.set(store.outbox_depth().await?);
    if pending.is_empty() {
        return Ok(0);
    }
    // All sends are in flight at once; the idempotent producer keeps their order per partition.
    let sends = pending.iter().map(|pending| {
        let message = &pending.message;
        producer.send(
            &message.topic,
            message.key.as_bytes(),
            &message.payload,
            None,
        )
    });
    let results = futures::future::join_all(sends).await;
    let mut acknowledged = Vec::with_capacity(pending.len());
    let mut first_error = None;
    for (pending, result) in pending.iter().zip(results) {
        match result {
            Ok(_) => acknowledged.push(pending.id),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    store
        .mark_published(&acknowledged, events::now_micros())
        .await?;
    metrics.published.inc_by(acknowledged.len() as u64);
    if let Some(error) = first_error {
        anyhow::bail!("kafka refused an outbox message: {error}");
    }
    Ok(acknowledged.len())
}
