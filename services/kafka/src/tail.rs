//! Reading the newest messages of some topics and then following them, outside any consumer
//! group: an operator's view of a topic (dead letters) that commits nothing and takes no
//! partitions from the services.

use std::time::Duration;

use anyhow::Context as _;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::{Message as _, Offset, TopicPartitionList};

use crate::{KafkaArgs, Namespace};

/// One message read by a [`Tail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The message's timestamp in milliseconds since the Unix epoch, when it has one.
    pub timestamp_ms: Option<i64>,
    pub payload: Vec<u8>,
}

/// Follows topics from their last few messages on. Blocking: run it on a thread of its own.
pub struct Tail {
    consumer: BaseConsumer,
    namespace: Namespace,
}

impl Tail {
    /// Positions a reader `last` messages before the end of every partition of `topics` (or at
    /// the start of a shorter partition), in the settings' namespace; records name their topic
    /// without it. Fails when a topic does not exist.
    pub fn open(
        args: &KafkaArgs,
        topics: &[&str],
        last: i64,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let group = args.namespace.apply("precursor-watch-tail");
        let consumer: BaseConsumer = args
            .client_config(
                &[],
                &[
                    // Needed by librdkafka for a consumer; the reader never joins the group.
                    ("group.id", &group),
                    ("enable.auto.commit", "false"),
                    ("enable.auto.offset.store", "false"),
                ],
            )
            .create()
            .context("cannot create the kafka client that follows topics")?;
        let mut assignment = TopicPartitionList::new();
        for topic in topics {
            let topic = args.namespace.apply(topic);
            let topic = topic.as_ref();
            let metadata = consumer
                .fetch_metadata(Some(topic), timeout)
                .with_context(|| format!("cannot read the metadata of {topic}"))?;
            let partitions: Vec<i32> = metadata
                .topics()
                .iter()
                .filter(|found| found.error().is_none())
                .flat_map(|found| found.partitions().iter().map(|partition| partition.id()))
                .collect();
            anyhow::ensure!(!partitions.is_empty(), "topic {topic} does not exist yet");
            for partition in partitions {
                let (low, high) = consumer
                    .fetch_watermarks(topic, partition, timeout)
                    .with_context(|| {
                        format!("cannot read the watermarks of {topic}/{partition}")
                    })?;
                assignment.add_partition_offset(
                    topic,
                    partition,
                    Offset::Offset((high - last.max(0)).max(low)),
                )?;
            }
        }
        consumer
            .assign(&assignment)
            .context("cannot assign the partitions to follow")?;
        Ok(Self {
            consumer,
            namespace: args.namespace.clone(),
        })
    }

    /// The next message, waiting at most `timeout`; `None` when none came.
    pub fn next(&self, timeout: Duration) -> Option<anyhow::Result<TailRecord>> {
        let message = match self.consumer.poll(timeout)? {
            Ok(message) => message,
            Err(error) => return Some(Err(error.into())),
        };
        Some(Ok(TailRecord {
            topic: self.namespace.strip(message.topic()).to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            timestamp_ms: message.timestamp().to_millis(),
            payload: message.payload().unwrap_or_default().to_vec(),
        }))
    }
}
