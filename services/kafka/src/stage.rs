//! A consuming stage built in one place: its topics, its producer and its measured consumer, so
//! a service's `app.rs` reads "this topic → this handler → these topics".

use std::time::Duration;

use runtime::Shutdown;

use crate::{
    consume, BatchHandler, ConsumerMetrics, KafkaArgs, Producer, PwContext, StreamConsumer,
};

/// How long one send may wait for the broker before it counts as failed (and is retried).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// A consuming stage, built: topics created, clients connected, nothing consumed yet.
pub struct Stage {
    service: &'static str,
    kafka: KafkaArgs,
    group: String,
    input: String,
    consumer: StreamConsumer<PwContext>,
    producer: Producer,
    metrics: ConsumerMetrics,
    max_batch: usize,
}

impl Stage {
    /// Creates the input topic, its dead-letter topic and the output topics where they do not
    /// exist, a producer, and a consumer of `input` in `group` that reports its lag to
    /// `metrics`. `service` names the service in dead-letter records; a partition's batches hold
    /// at most `max_batch` messages.
    pub async fn build(
        kafka: &KafkaArgs,
        service: &'static str,
        group: &str,
        input: &str,
        outputs: &[&str],
        metrics: ConsumerMetrics,
        max_batch: usize,
    ) -> anyhow::Result<Self> {
        let dead_letters = events::topics::dead_letter(input);
        let mut topics = vec![input, dead_letters.as_str()];
        topics.extend_from_slice(outputs);
        kafka.ensure_topics(&topics).await?;
        let producer = Producer::new(kafka, DELIVERY_TIMEOUT)?;
        let consumer = kafka.measured_consumer(group, &[input], &metrics)?;
        Ok(Self {
            service,
            kafka: kafka.clone(),
            group: group.to_owned(),
            input: input.to_owned(),
            consumer,
            producer,
            metrics,
            max_batch,
        })
    }

    /// The stage's producer, for the handler's outputs.
    pub fn producer(&self) -> Producer {
        self.producer.clone()
    }

    /// Runs `handler` over the input's batches on `shutdown` until it is cancelled.
    pub fn spawn<H: BatchHandler>(self, name: &'static str, handler: H, shutdown: &Shutdown) {
        let (kafka, group, input, metrics) =
            (self.kafka, self.group, self.input, self.metrics.clone());
        let reconnect = move || kafka.measured_consumer(&group, &[&input], &metrics);
        shutdown.spawn(
            name,
            consume(
                self.consumer,
                reconnect,
                self.producer,
                self.service,
                handler,
                self.max_batch,
                self.metrics,
                shutdown.token(),
            ),
        );
    }
}
