//! The consumer loop: handle each message in order, dead-letter the poison ones, retry the
//! transient failures, and store an offset only once the handler's work is durable.

use std::future::Future;
use std::time::Duration;

use futures::FutureExt as _;

use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use tokio_util::sync::CancellationToken;

use crate::{ConsumerMetrics, Producer, PwContext};

pub use rdkafka::message::OwnedMessage as Message;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Why a message could not be handled.
#[derive(Debug)]
pub enum Failure {
    /// The message itself is bad (undecodable, invalid): retrying cannot help. It goes to the
    /// dead-letter topic and the partition moves on.
    Invalid { class: &'static str, reason: String },
    /// Something the message needs is unavailable (broker, database): retry the same message.
    Transient(anyhow::Error),
}

impl Failure {
    /// A poison message of the given class.
    pub fn invalid(class: &'static str, reason: impl ToString) -> Self {
        Self::Invalid {
            class,
            reason: reason.to_string(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::Transient(error)
    }
}

/// What a consumer loop does with each message.
///
/// The messages of one batch are handled concurrently, so a handler must not rely on the order
/// of messages within a batch; the offsets are stored only once the whole batch has settled.
pub trait Handler: Send + Sync {
    /// Handles one message; `Ok` means its effects are durable.
    fn handle(&self, message: &Message) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// Runs `handler` over the consumer's messages until `shutdown` is cancelled.
///
/// Takes what is already fetched, up to `max_batch` messages, handles them concurrently, and
/// stores their offsets once every one of them succeeded or was dead-lettered. `service` names
/// the service in dead-letter records.
pub async fn consume<H: Handler>(
    consumer: StreamConsumer<PwContext>,
    producer: Producer,
    service: &'static str,
    handler: H,
    max_batch: usize,
    metrics: ConsumerMetrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut receive_backoff = FIRST_BACKOFF;
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => break,
            received = consumer.recv() => received,
        };
        let first = match received {
            Ok(message) => {
                receive_backoff = FIRST_BACKOFF;
                message.detach()
            }
            Err(error) => {
                tracing::warn!(%error, "kafka receive failed, retrying");
                if sleep_or_cancel(receive_backoff, &shutdown).await {
                    break;
                }
                receive_backoff = (receive_backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let mut batch = vec![first];
        while batch.len() < max_batch.max(1) {
            match consumer.recv().now_or_never() {
                Some(Ok(message)) => batch.push(message.detach()),
                Some(Err(error)) => {
                    tracing::warn!(%error, "kafka receive failed");
                    break;
                }
                None => break,
            }
        }
        let settled = futures::future::join_all(batch.iter().map(|message| {
            handle_until_settled(&handler, message, &producer, service, &metrics, &shutdown)
        }))
        .await;
        if settled.contains(&false) {
            // Shutting down in the middle of retries: no offset of this batch is stored, the
            // next owner of the partitions handles it again.
            break;
        }
        // In fetch order, so the last offset stored per partition is the highest.
        for message in &batch {
            consumer.store_offset(message.topic(), message.partition(), message.offset())?;
            metrics
                .processed
                .with_label_values(&[message.topic()])
                .inc();
        }
    }
    if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing was stored since the last commit, or the group is gone; the next owner of the
        // partitions resumes from the last committed offset either way.
        tracing::debug!(%error, "final commit skipped");
    }
    Ok(())
}

/// Handles one message until it succeeded or was dead-lettered (true), or shutdown came (false).
async fn handle_until_settled<H: Handler>(
    handler: &H,
    message: &Message,
    producer: &Producer,
    service: &'static str,
    metrics: &ConsumerMetrics,
    shutdown: &CancellationToken,
) -> bool {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let outcome = match handler.handle(message).await {
            Ok(()) => return true,
            Err(Failure::Invalid { class, reason }) => {
                tracing::warn!(
                    topic = message.topic(),
                    partition = message.partition(),
                    offset = message.offset(),
                    error_class = class,
                    reason,
                    "dead-lettering invalid message"
                );
                match dead_letter(producer, message, service, class, &reason).await {
                    Ok(()) => {
                        metrics
                            .dead_lettered
                            .with_label_values(&[message.topic(), class])
                            .inc();
                        return true;
                    }
                    Err(error) => error,
                }
            }
            Err(Failure::Transient(error)) => error,
        };
        metrics.retries.with_label_values(&[message.topic()]).inc();
        tracing::warn!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            error = format!("{outcome:#}"),
            retry_in_ms = backoff.as_millis() as u64,
            "transient failure, retrying"
        );
        if sleep_or_cancel(backoff, shutdown).await {
            return false;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Sends the message with its reason to `<topic>.dlq`.
async fn dead_letter(
    producer: &Producer,
    message: &Message,
    service: &'static str,
    class: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let record = events::DeadLetter {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(|key| events::Bytes(key.to_vec())),
        payload: events::Bytes(message.payload().unwrap_or_default().to_vec()),
        error_class: class.to_owned(),
        error_message: reason.to_owned(),
        service: service.to_owned(),
        failed_at: events::now_micros(),
    };
    let payload = events::encode(&record)?;
    let partition = message.partition().to_string();
    let offset = message.offset().to_string();
    // The header names Kafka Connect uses, so existing dead-letter tooling reads them.
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "__connect.errors.topic",
            value: Some(message.topic()),
        })
        .insert(Header {
            key: "__connect.errors.partition",
            value: Some(partition.as_str()),
        })
        .insert(Header {
            key: "__connect.errors.offset",
            value: Some(offset.as_str()),
        })
        .insert(Header {
            key: "__connect.errors.exception.class.name",
            value: Some(class),
        })
        .insert(Header {
            key: "__connect.errors.exception.message",
            value: Some(reason),
        })
        .insert(Header {
            key: "__connect.errors.service",
            value: Some(service),
        });
    let topic = events::topics::dead_letter(message.topic());
    producer
        .send(
            &topic,
            message.key().unwrap_or_default(),
            &payload,
            Some(headers),
        )
        .await?;
    Ok(())
}

/// Sleeps for `duration`; true when shutdown came first.
async fn sleep_or_cancel(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(duration) => false,
    }
}
