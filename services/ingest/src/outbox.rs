//! Publishes the outbox: every stored report reaches `orders.submitted`, even when Kafka was
//! away when the report was accepted.

use std::sync::Arc;
use std::time::Duration;

use kafka::Producer;
use runtime::Backoff;
use store::{PendingMessage, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Most messages published in one go: all in flight at once.
const BATCH: i64 = 2_000;
const IDLE_POLL: Duration = Duration::from_secs(1);
/// How long the publisher lets reports gather after it was woken or published a small batch:
/// one transaction for many reports rather than one each.
const GATHER: Duration = Duration::from_millis(5);

/// Drains the outbox until shutdown; `wake` is notified whenever a report was stored.
pub async fn run(
    store: Store,
    producer: Producer,
    wake: Arc<Notify>,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut backoff = Backoff::default();
    while !shutdown.is_cancelled() {
        match publish_batch(&store, &producer, &metrics).await {
            Ok(Progress::Published(count)) => {
                backoff.reset();
                if count < BATCH as usize {
                    tokio::time::sleep(GATHER).await;
                }
            }
            Ok(Progress::Idle) => {
                backoff.reset();
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = wake.notified() => tokio::time::sleep(GATHER).await,
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "outbox publishing failed, retrying"
                );
                if backoff.wait(&shutdown).await {
                    break;
                }
            }
        }
    }
    Ok(())
}

enum Progress {
    /// This many messages were published.
    Published(usize),
    /// Nothing to publish, or another instance publishes.
    Idle,
}

/// Publishes one batch and marks what the broker acknowledged, up to the first refusal, so a
/// customer's messages never overtake each other.
async fn publish_batch(
    store: &Store,
    producer: &Producer,
    metrics: &Metrics,
) -> anyhow::Result<Progress> {
    let mut refusal = None;
    let refused = &mut refusal;
    let published = store
        .publish_outbox(BATCH, |pending: Vec<PendingMessage>| async move {
            // All sends are in flight at once; the idempotent producer keeps their order per
            // partition.
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
            for (pending, result) in pending.iter().zip(results) {
                match result {
                    Ok(_) => acknowledged.push(pending.id),
                    Err(error) => {
                        *refused = Some(error);
                        break;
                    }
                }
            }
            acknowledged
        })
        .await?;
    if let Some(count) = published {
        metrics.published.inc_by(count as u64);
    }
    if let Some(error) = refusal {
        anyhow::bail!("kafka refused an outbox message: {error}");
    }
    Ok(match published {
        Some(count) if count > 0 => Progress::Published(count),
        _ => Progress::Idle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka::{EmbeddedBroker, KafkaArgs, KafkaMessage as _};
    use store::NewReport;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_report_stored_while_kafka_is_away_is_published_when_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("outbox.db").display()
        );
        let store = Store::connect(&url, 2).await.unwrap();
        store.create_company("acme", "ACME", "DE", 1).await.unwrap();
        let broker = EmbeddedBroker::start().unwrap();
        broker.create_topics(&["orders.submitted"], 1).unwrap();
        let kafka = KafkaArgs::new(broker.bootstrap_servers());
        let producer = Producer::new(&kafka, Duration::from_secs(2)).unwrap();
        let metrics = Metrics::new().unwrap();

        broker.set_reachable(false).unwrap();
        let report = NewReport {
            id: "r1".into(),
            company_id: "acme".into(),
            company_reference: "SO-1".into(),
            customer_key: "acme/C-1".into(),
            payload_sha256: "sha".into(),
            event: vec![7],
            received_at: 1,
        };
        store
            .insert_report(&report, "orders.submitted")
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let publisher = tokio::spawn(run(
            store.clone(),
            producer,
            Arc::new(Notify::new()),
            metrics.clone(),
            shutdown.clone(),
        ));

        // While the broker is away the message stays in the outbox.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(store.outbox_depth().await.unwrap(), 1);
        assert_eq!(metrics.published.get(), 0);

        broker.set_reachable(true).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while store.outbox_depth().await.unwrap() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the outbox was not drained after the broker returned"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(metrics.published.get(), 1);
        let consumer = kafka
            .consumer("outbox-test", &["orders.submitted"])
            .unwrap();
        let received = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (received.key(), received.payload()),
            (Some(&b"acme/C-1"[..]), Some(&[7u8][..]))
        );

        shutdown.cancel();
        publisher.await.unwrap().unwrap();
    }
}
