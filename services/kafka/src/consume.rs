//! The consumer spine every consuming stage runs on.
//!
//! One task reads the consumer and hands each message to a worker of its partition; each
//! worker takes what its partition has queued (up to a batch), decodes it once, dead-letters
//! what does not decode, gives the rest to the stage's [`BatchHandler`] as typed events in
//! offset order, retries the whole batch on a transient failure, dead-letters what the handler
//! refused, and only then stores the partition's offset. Partitions never wait for each other:
//! a partition whose worker falls behind is paused at the broker until it catches up, so one
//! slow partition holds neither the others nor unbounded memory.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;
use runtime::Backoff;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{ConsumerMetrics, Producer, PwContext};

pub use rdkafka::message::OwnedMessage as Message;

/// Largest original payload a dead-letter record carries; the rest is cut so the record itself
/// stays under the broker's message size limit.
const MAX_DEAD_LETTER_PAYLOAD: usize = 512 * 1024;

/// Pause after an error event of the consumer, so a stream of them cannot spin.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(20);

/// A consumer given up this many times within [`REBUILD_WINDOW`] is not replaced again: another
/// instance is running with the same static member name, and each fences the other.
const MAX_REBUILDS: usize = 3;
const REBUILD_WINDOW: Duration = Duration::from_secs(60);

/// How often the reading task looks whether librdkafka gave the consumer up.
const FATAL_CHECK_EVERY: Duration = Duration::from_secs(1);

/// A partition is paused at the broker once this many batches wait for its worker.
const QUEUED_BATCHES: usize = 4;

/// How long a worker that found fewer messages than a batch waits for more before it starts:
/// under load, a few milliseconds make batches (and so database commits and broker requests)
/// several times fewer per message.
const LINGER: Duration = Duration::from_millis(5);

/// One decoded message of a partition's batch.
#[derive(Debug)]
pub struct Record<E> {
    /// The decoded event.
    pub event: E,
    message: Message,
}

impl<E> Record<E> {
    /// The message's key, if it has one.
    pub fn key(&self) -> Option<&[u8]> {
        self.message.key()
    }

    /// The message's offset in its partition.
    pub fn offset(&self) -> i64 {
        self.message.offset()
    }

    /// The message's topic, as the cluster names it (with the namespace).
    pub fn topic(&self) -> &str {
        self.message.topic()
    }

    /// A refusal of this record: it goes to the dead-letter topic with `reason`.
    pub fn reject(&self, class: DeadLetterClass, reason: impl ToString) -> Rejection {
        Rejection {
            offset: self.offset(),
            class,
            reason: reason.to_string(),
        }
    }
}

/// A record the handler refuses: retrying cannot help (it is invalid, or the broker can never
/// take what it produces). It goes to the dead-letter topic and the partition moves on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub offset: i64,
    pub class: DeadLetterClass,
    pub reason: String,
}

/// Why a message went to its dead-letter topic: the record's `error_class` and the label of the
/// `dead_letters_total` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadLetterClass {
    /// The message is not an event of its topic's schema.
    Decode,
    /// The event is well-formed, but what it says cannot be (an alert for no authority,
    /// feedback on another authority's alert).
    Invalid,
    /// What the stage makes of the event cannot be encoded.
    Encode,
    /// The broker can never take what the stage makes of the event (too large, malformed).
    Produce,
}

impl DeadLetterClass {
    /// The class as records and metrics name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decode => "decode",
            Self::Invalid => "invalid",
            Self::Encode => "encode",
            Self::Produce => "produce",
        }
    }
}

impl std::fmt::Display for DeadLetterClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a consuming stage does with each partition's batch.
pub trait BatchHandler: Send + Sync + 'static {
    /// The event type of the input topic.
    type Event: events::Event + Send + Sync + 'static;

    /// Handles one partition's batch, in offset order. `Ok` means every effect of the batch is
    /// durable (its database work committed, its outputs acknowledged by the broker) but for the
    /// records it returns as rejected; `Err` is a transient failure (broker or database away),
    /// and the whole batch is handled again after a back-off, so the work must be idempotent.
    fn handle(
        &self,
        batch: &[Record<Self::Event>],
    ) -> impl Future<Output = anyhow::Result<Vec<Rejection>>> + Send;
}

/// Whether a produce error is permanent: the broker can never take the message (too large,
/// malformed). Anything else may pass on a retry.
pub fn is_permanent(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::MessageBatchTooLarge
        )
    )
}

/// What the partition workers share: the consumer of this generation and what outlives it.
struct Spine<H> {
    consumer: StreamConsumer<PwContext>,
    producer: Producer,
    service: &'static str,
    handler: Arc<H>,
    max_batch: usize,
    metrics: ConsumerMetrics,
    shutdown: CancellationToken,
}

/// A partition's queue between the reading task and its worker.
struct Queue {
    sender: mpsc::UnboundedSender<Message>,
    state: Arc<QueueState>,
}

#[derive(Default)]
struct QueueState {
    queued: AtomicUsize,
    paused: AtomicBool,
}

/// Why a consumer's run ended.
enum Ended {
    Shutdown,
    /// librdkafka gave the consumer up for good (such as a static member fenced after a broker
    /// restart): the reason.
    Fatal(String),
}

/// Runs `handler` over the consumer's messages until `shutdown` is cancelled: each partition's
/// messages in batches of at most `max_batch`, in order, the partitions independently. `service`
/// names the service in dead-letter records. A consumer librdkafka gives up for good is replaced
/// by one from `reconnect`; the new one resumes from the last committed offsets.
#[allow(clippy::too_many_arguments)] // one call site, in `Stage`, names each
pub async fn consume<H: BatchHandler>(
    consumer: StreamConsumer<PwContext>,
    reconnect: impl Fn() -> anyhow::Result<StreamConsumer<PwContext>> + Send,
    producer: Producer,
    service: &'static str,
    handler: H,
    max_batch: usize,
    metrics: ConsumerMetrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let handler = Arc::new(handler);
    let mut consumer = consumer;
    let mut rebuilt: std::collections::VecDeque<std::time::Instant> = Default::default();
    loop {
        let spine = Arc::new(Spine {
            consumer,
            producer: producer.clone(),
            service,
            handler: handler.clone(),
            max_batch: max_batch.max(1),
            metrics: metrics.clone(),
            shutdown: shutdown.clone(),
        });
        let reason = match run(spine).await? {
            Ended::Shutdown => return Ok(()),
            Ended::Fatal(reason) => reason,
        };
        let now = std::time::Instant::now();
        rebuilt.retain(|at| now.duration_since(*at) < REBUILD_WINDOW);
        if rebuilt.len() >= MAX_REBUILDS {
            anyhow::bail!(
                "the kafka consumer was given up {} times within {} s, last: {reason}; with \
                 --kafka-instance-id (PW_KAFKA_INSTANCE_ID) set, is another instance running \
                 with the same one?",
                rebuilt.len() + 1,
                REBUILD_WINDOW.as_secs()
            );
        }
        rebuilt.push_back(now);
        metrics.consumers_rebuilt.inc();
        tracing::warn!(
            service,
            reason,
            "the kafka consumer failed for good; continuing with a new one from the committed offsets"
        );
        let mut backoff = Backoff::default();
        consumer = loop {
            match reconnect() {
                Ok(consumer) => break consumer,
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "cannot create a new kafka consumer"
                    );
                    if backoff.wait(&shutdown).await {
                        return Ok(());
                    }
                }
            }
        };
    }
}

/// Runs one consumer until shutdown or until librdkafka gives it up; its workers finish their
/// batches either way.
async fn run<H: BatchHandler>(spine: Arc<Spine<H>>) -> anyhow::Result<Ended> {
    let workers = tokio_util::task::TaskTracker::new();
    let mut queues: HashMap<(String, i32), Queue> = HashMap::new();
    let mut ended = Ended::Shutdown;
    // librdkafka reports a fatal error as an error event on the consumer's queue; it is also
    // looked for on a timer, so that a consumer that stopped delivering anything is replaced
    // all the same.
    let mut fatal_check = tokio::time::interval(FATAL_CHECK_EVERY);
    fatal_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let received = tokio::select! {
            _ = spine.shutdown.cancelled() => break,
            received = spine.consumer.recv() => received,
            _ = fatal_check.tick() => {
                if let Some((code, reason)) = spine.consumer.client().fatal_error() {
                    ended = Ended::Fatal(format!("{code:?}: {reason}"));
                    break;
                }
                continue;
            }
        };
        let message = match received {
            Ok(message) => message.detach(),
            Err(error) => {
                if let Some((code, reason)) = spine.consumer.client().fatal_error() {
                    ended = Ended::Fatal(format!("{code:?}: {reason}"));
                    break;
                }
                // Client errors (a broker away, all brokers down) arrive as events on the
                // consumer's queue; librdkafka reconnects by itself. Each is logged by the
                // context; waiting here would only delay draining the queue, so a few events
                // queued during an outage would hold the consumer long after the broker came
                // back.
                tracing::debug!(%error, "kafka consumer event");
                tokio::select! {
                    _ = spine.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(RECEIVE_ERROR_PAUSE) => {}
                }
                continue;
            }
        };
        let (topic, partition) = (message.topic().to_owned(), message.partition());
        let queue = queues.entry((topic.clone(), partition)).or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            let state = Arc::new(QueueState::default());
            workers.spawn(work(
                spine.clone(),
                topic.clone(),
                partition,
                receiver,
                state.clone(),
            ));
            Queue { sender, state }
        });
        let queued = queue.state.queued.fetch_add(1, Ordering::AcqRel) + 1;
        if queue.sender.send(message).is_err() {
            // The worker ended: shutdown is under way.
            break;
        }
        if queued > QUEUED_BATCHES * spine.max_batch
            && queue
                .state
                .paused
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            set_paused(&spine.consumer, &topic, partition, true);
        }
    }
    drop(queues);
    workers.close();
    workers.wait().await;
    // Committing and closing wait on the broker: keep them off the runtime's threads.
    let spine = Arc::into_inner(spine);
    tokio::task::spawn_blocking(move || {
        let Some(spine) = spine else { return };
        if let Err(error) = spine.consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing was stored since the last commit, or the group is gone; the next owner
            // of the partitions resumes from the last committed offset either way.
            tracing::debug!(%error, "final commit skipped");
        }
    })
    .await?;
    Ok(ended)
}

/// Pauses or resumes fetching one partition. A partition revoked meanwhile needs neither.
fn set_paused(consumer: &StreamConsumer<PwContext>, topic: &str, partition: i32, pause: bool) {
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, partition);
    let result = if pause {
        consumer.pause(&list)
    } else {
        consumer.resume(&list)
    };
    match result {
        Ok(()) => tracing::debug!(topic, partition, pause, "partition fetching changed"),
        Err(error) => {
            tracing::info!(topic, partition, pause, %error, "partition not paused or resumed")
        }
    }
}

/// The worker of one partition: batches until the queue closes or shutdown comes.
async fn work<H: BatchHandler>(
    spine: Arc<Spine<H>>,
    topic: String,
    partition: i32,
    mut receiver: mpsc::UnboundedReceiver<Message>,
    state: Arc<QueueState>,
) {
    // The topic as the services name it, for metrics and dead letters.
    let name = spine.producer.namespace().strip(&topic).to_owned();
    loop {
        let first = tokio::select! {
            biased;
            _ = spine.shutdown.cancelled() => return,
            message = receiver.recv() => match message {
                Some(message) => message,
                None => return,
            },
        };
        let batch = runtime::gather(&mut receiver, first, spine.max_batch, LINGER).await;
        state.queued.fetch_sub(batch.len(), Ordering::AcqRel);
        let Some(last) = batch.last().map(|message| message.offset()) else {
            continue;
        };
        let count = batch.len();
        if !settle(&spine, &name, batch).await {
            // Shutting down in the middle of retries: the next owner of the partition handles
            // the batch again.
            return;
        }
        store_offset(&spine.consumer, &topic, partition, last);
        spine
            .metrics
            .processed
            .with_label_values(&[name.as_str()])
            .inc_by(count as u64);
        if state.queued.load(Ordering::Acquire) <= QUEUED_BATCHES * spine.max_batch / 2
            && state
                .paused
                .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            set_paused(&spine.consumer, &topic, partition, false);
        }
    }
}

/// Decodes a batch, hands it to the handler until it succeeds, and dead-letters what did not
/// decode or was refused. False when shutdown came first.
async fn settle<H: BatchHandler>(spine: &Spine<H>, name: &str, batch: Vec<Message>) -> bool {
    let mut records = Vec::with_capacity(batch.len());
    let mut poison = Vec::new();
    for message in batch {
        match events::decode::<H::Event>(message.payload().unwrap_or_default()) {
            Ok(event) => records.push(Record { event, message }),
            Err(error) => poison.push((message, DeadLetterClass::Decode, error.to_string())),
        }
    }
    let mut backoff = Backoff::default();
    let rejected = loop {
        if records.is_empty() {
            break Vec::new();
        }
        match spine.handler.handle(&records).await {
            Ok(rejected) => break rejected,
            Err(error) => {
                let topic = records[0].topic().to_owned();
                spine.metrics.retries.with_label_values(&[name]).inc();
                tracing::warn!(
                    topic,
                    partition = records[0].message.partition(),
                    first_offset = records[0].offset(),
                    messages = records.len(),
                    error = format!("{error:#}"),
                    "transient failure, retrying the batch"
                );
                if backoff.wait(&spine.shutdown).await {
                    return false;
                }
            }
        }
    };
    let mut by_offset: HashMap<i64, Message> = records
        .into_iter()
        .map(|record| (record.offset(), record.message))
        .collect();
    for rejection in rejected {
        if let Some(message) = by_offset.remove(&rejection.offset) {
            poison.push((message, rejection.class, rejection.reason));
        }
    }
    dead_letter_all(spine, name, poison).await
}

/// Dead-letters the messages, all in flight at once, retrying those the broker did not take.
/// False when shutdown came first.
async fn dead_letter_all<H>(
    spine: &Spine<H>,
    name: &str,
    mut poison: Vec<(Message, DeadLetterClass, String)>,
) -> bool {
    let mut backoff = Backoff::default();
    while !poison.is_empty() {
        for (message, class, reason) in &poison {
            tracing::warn!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                error_class = class.as_str(),
                reason,
                "dead-lettering invalid message"
            );
        }
        let sends = poison.iter().map(|(message, class, reason)| {
            dead_letter(
                &spine.producer,
                name,
                message,
                spine.service,
                *class,
                reason,
            )
        });
        let results = futures::future::join_all(sends).await;
        let mut failed = Vec::new();
        for ((message, class, reason), result) in poison.into_iter().zip(results) {
            match result {
                Ok(()) => spine
                    .metrics
                    .dead_lettered
                    .with_label_values(&[name, class.as_str()])
                    .inc(),
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "dead letter not sent, retrying"
                    );
                    failed.push((message, class, reason));
                }
            }
        }
        poison = failed;
        if !poison.is_empty() && backoff.wait(&spine.shutdown).await {
            return false;
        }
    }
    true
}

/// Stores the offset after `offset`; a partition revoked meanwhile is skipped, its next owner
/// handles the message again.
fn store_offset(consumer: &StreamConsumer<PwContext>, topic: &str, partition: i32, offset: i64) {
    if let Err(error) = consumer.store_offset(topic, partition, offset) {
        tracing::info!(
            topic,
            partition,
            offset,
            %error,
            "offset not stored, the partition was revoked"
        );
    }
}

/// Sends the message of the topic the services call `name` with its reason to `<name>.dlq`.
async fn dead_letter(
    producer: &Producer,
    name: &str,
    message: &Message,
    service: &'static str,
    class: DeadLetterClass,
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
    // The record names the topic as the services do; Kafka Connect's header, as the cluster
    // does (with the namespace), for the tools that read it.
    let record = events::DeadLetter {
        topic: name.to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(|key| events::Bytes(key.to_vec())),
        payload: events::Bytes(kept.to_vec()),
        error_class: class.as_str().to_owned(),
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
            value: Some(class.as_str()),
        })
        .insert(Header {
            key: "__connect.errors.exception.message",
            value: Some(reason),
        })
        .insert(Header {
            key: "__connect.errors.service",
            value: Some(service),
        });
    let topic = events::topics::dead_letter(name);
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
