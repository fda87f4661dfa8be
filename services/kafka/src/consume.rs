//! The consumer loop: handle each message in order, dead-letter the poison ones, retry the
//! transient failures, and store an offset only once the handler's work is durable.

use futures::FutureExt as _;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use runtime::Backoff;
use std::future::Future;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use tokio_util::sync::CancellationToken;

use crate::{ConsumerMetrics, Producer, PwContext};

pub use rdkafka::message::OwnedMessage as Message;

/// Largest original payload a dead-letter record carries; the rest is cut so the record itself
/// stays under the broker's message size limit.
const MAX_DEAD_LETTER_PAYLOAD: usize = 512 * 1024;

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

impl From<KafkaError> for Failure {
    /// A message the broker can never take (too large, malformed) is invalid; anything else may
    /// pass on a retry.
    fn from(error: KafkaError) -> Self {
        let permanent = matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::MessageSizeTooLarge
                    | RDKafkaErrorCode::InvalidRecord
                    | RDKafkaErrorCode::InvalidMessageSize
                    | RDKafkaErrorCode::MessageBatchTooLarge
            )
        );
        if permanent {
            Self::invalid("produce", error)
        } else {
            Self::Transient(error.into())
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
/// The messages of one partition are handled one after the other, in order; different
/// partitions concurrently.
pub trait Handler: Send + Sync {
    /// Handles one message; `Ok` means its effects are durable.
    fn handle(&self, message: &Message) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// Runs `handler` over the consumer's messages until `shutdown` is cancelled.
///
/// Pause after an error event of the consumer, so a stream of them cannot spin.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(20);

/// Takes what is already fetched, up to `max_batch` messages, handles each partition's share in
/// order and the partitions concurrently, and stores each partition's offset once its messages
/// succeeded or were dead-lettered. `service` names
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
    let (handler, producer, metrics, shutdown) = (&handler, &producer, &metrics, &shutdown);
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => break,
            received = consumer.recv() => received,
        };
        let first = match received {
            Ok(message) => message.detach(),
            Err(error) => {
                // Client errors (a broker away, all brokers down) arrive as events on the
                // consumer's queue; librdkafka reconnects by itself. Each is logged by the
                // context; waiting here would only delay draining the queue, so a few events
                // queued during an outage would hold the consumer long after the broker came
                // back.
                tracing::debug!(%error, "kafka consumer event");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(RECEIVE_ERROR_PAUSE) => {}
                }
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
        // Partitions in parallel, each partition's messages in order.
        let partitions = by_partition(batch);
        let settled = futures::future::join_all(partitions.iter().map(|messages| async move {
            let mut done = 0;
            for message in messages {
                if !handle_until_settled(handler, message, producer, service, metrics, shutdown)
                    .await
                {
                    break;
                }
                done += 1;
            }
            done
        }))
        .await;
        let mut complete = true;
        for (messages, done) in partitions.iter().zip(settled) {
            complete &= done == messages.len();
            if let Some(last) = done.checked_sub(1).map(|index| &messages[index]) {
                store_offset(&consumer, last);
                metrics
                    .processed
                    .with_label_values(&[last.topic()])
                    .inc_by(done as u64);
            }
        }
        if !complete {
            // Shutting down in the middle of retries: what settled is stored, the rest is
            // handled again by the next owner of the partitions.
            break;
        }
    }
    // Committing and closing wait on the broker: keep them off the runtime's threads.
    tokio::task::spawn_blocking(move || {
        if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing was stored since the last commit, or the group is gone; the next owner
            // of the partitions resumes from the last committed offset either way.
            tracing::debug!(%error, "final commit skipped");
        }
        drop(consumer);
    })
    .await?;
    Ok(())
}

/// Splits a batch by topic and partition, keeping the fetch order within each.
fn by_partition(batch: Vec<Message>) -> Vec<Vec<Message>> {
    let mut partitions: Vec<Vec<Message>> = Vec::new();
    for message in batch {
        let same = partitions.iter_mut().find(|messages| {
            messages[0].partition() == message.partition() && messages[0].topic() == message.topic()
        });
        match same {
            Some(messages) => messages.push(message),
            None => partitions.push(vec![message]),
        }
    }
    partitions
}

/// Stores the offset after `message`; a partition revoked meanwhile is skipped, its next owner
/// handles the message again.
fn store_offset(consumer: &StreamConsumer<PwContext>, message: &Message) {
    if let Err(error) =
        consumer.store_offset(message.topic(), message.partition(), message.offset())
    {
        tracing::info!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            %error,
            "offset not stored, the partition was revoked"
        );
    }
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
    let mut backoff = Backoff::default();
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
            "transient failure, retrying"
        );
        if backoff.wait(shutdown).await {
            return false;
        }
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
    let original = message.payload().unwrap_or_default();
    let kept = &original[..original.len().min(MAX_DEAD_LETTER_PAYLOAD)];
    let error_message = if kept.len() < original.len() {
        format!(
            "{reason} (payload cut from {} to {} bytes)",
            original.len(),
            kept.len()
        )
    } else {
        reason.to_owned()
    };
    let record = events::DeadLetter {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(|key| events::Bytes(key.to_vec())),
        payload: events::Bytes(kept.to_vec()),
        error_class: class.to_owned(),
        error_message,
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
