//! How far a consumer group is behind on a topic, read from the broker (committed offsets and
//! high watermarks) without joining the group.

use std::time::Duration;

use anyhow::Context as _;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};

use crate::KafkaArgs;

/// Measures one group's lag on one topic.
pub struct GroupLag {
    consumer: BaseConsumer,
    topic: String,
}

impl GroupLag {
    /// A probe of `group` on `topic` (both in the settings' namespace). It never subscribes, so
    /// it never takes part in the group.
    pub fn new(args: &KafkaArgs, group: &str, topic: &str) -> anyhow::Result<Self> {
        let group = args.namespace.apply(group);
        let consumer = args
            .client_config(
                &[],
                &[("group.id", &group), ("enable.auto.commit", "false")],
            )
            .create()
            .context("cannot create the kafka client that measures consumer lag")?;
        Ok(Self {
            consumer,
            topic: args.namespace.apply(topic).into_owned(),
        })
    }

    /// Messages on the topic the group has not committed yet, over all partitions (from the
    /// earliest offset where the group committed nothing). Blocking: call it from a blocking
    /// thread.
    pub fn measure(&self, timeout: Duration) -> anyhow::Result<i64> {
        let metadata = self
            .consumer
            .fetch_metadata(Some(&self.topic), timeout)
            .context("cannot read the topic's metadata")?;
        let mut partitions = TopicPartitionList::new();
        for topic in metadata.topics() {
            for partition in topic.partitions() {
                partitions.add_partition(&self.topic, partition.id());
            }
        }
        let committed = self
            .consumer
            .committed_offsets(partitions, timeout)
            .context("cannot read the group's committed offsets")?;
        let mut lag = 0;
        for element in committed.elements() {
            let (low, high) = self
                .consumer
                .fetch_watermarks(&self.topic, element.partition(), timeout)
                .context("cannot read the partition's watermarks")?;
            let from = match element.offset() {
                Offset::Offset(offset) => offset.max(low),
                _ => low,
            };
            lag += (high - from).max(0);
        }
        Ok(lag)
    }
}
