//! Metrics every consumer loop keeps.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// Counters of a consumer loop, labelled by topic.
#[derive(Clone)]
pub struct ConsumerMetrics {
    pub processed: IntCounterVec,
    pub dead_lettered: IntCounterVec,
    pub retries: IntCounterVec,
    /// Messages not yet consumed, per topic and partition, from librdkafka's statistics.
    pub lag: IntGaugeVec,
    /// Partitions assigned to this consumer now.
    pub assigned_partitions: IntGauge,
    /// Consumers librdkafka gave up for good and the spine replaced.
    pub consumers_rebuilt: IntCounter,
}

impl ConsumerMetrics {
    /// Creates the counters and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let processed = IntCounterVec::new(
            Opts::new(
                "messages_processed_total",
                "Messages processed and committed, by topic",
            ),
            &["topic"],
        )?;
        let dead_lettered = IntCounterVec::new(
            Opts::new(
                "dead_letters_total",
                "Messages sent to a dead-letter topic, by source topic and error class",
            ),
            &["topic", "error_class"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "transient_failures_total",
                "Transient failures retried, by topic",
            ),
            &["topic"],
        )?;
        registry.register(Box::new(processed.clone()))?;
        registry.register(Box::new(dead_lettered.clone()))?;
        let lag = IntGaugeVec::new(
            Opts::new(
                "consumer_lag",
                "Messages on a partition the consumer has not consumed yet (librdkafka statistics)",
            ),
            &["topic", "partition"],
        )?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(lag.clone()))?;
        let assigned_partitions = IntGauge::new(
            "consumer_assigned_partitions",
            "Partitions of its input assigned to this consumer now",
        )?;
        registry.register(Box::new(assigned_partitions.clone()))?;
        let consumers_rebuilt = IntCounter::new(
            "consumers_rebuilt_total",
            "Consumers librdkafka gave up for good (a static member fenced) and replaced",
        )?;
        registry.register(Box::new(consumers_rebuilt.clone()))?;
        Ok(Self {
            processed,
            dead_lettered,
            retries,
            lag,
            assigned_partitions,
            consumers_rebuilt,
        })
    }
}
