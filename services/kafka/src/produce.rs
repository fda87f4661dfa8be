//! A producer that returns only once the broker has the message.

use std::time::Duration;

use anyhow::Context as _;
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;

use crate::{KafkaArgs, Namespace, PwContext};

/// A delivery the broker acknowledged, when it says where the message landed.
///
/// librdkafka (2.12) has been seen to report the first message to a partition of a topic
/// created a moment before as delivered without an offset (-1001), and the message was never
/// on the partition. Such a delivery is not trusted: the send fails with a transient error, so
/// the stage sends again; the router, which records where each copy landed, first looks on the
/// topic whether it did land.
fn acknowledged(topic: &str, partition: i32, offset: i64) -> Result<Delivered, KafkaError> {
    if offset >= 0 {
        return Ok(Delivered { partition, offset });
    }
    tracing::warn!(
        topic,
        partition,
        offset,
        "delivery acknowledged without an offset, not trusted"
    );
    Err(KafkaError::MessageProduction(RDKafkaErrorCode::NoOffset))
}

/// Where a message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// An idempotent producer with `acks=all`; `send` waits for the acknowledgement.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer<PwContext>,
    namespace: Namespace,
}

impl Producer {
    /// Creates the producer; `delivery_timeout` bounds how long one send may wait for the broker.
    pub fn new(args: &KafkaArgs, delivery_timeout: Duration) -> anyhow::Result<Self> {
        let timeout = delivery_timeout.as_millis().to_string();
        let inner = args
            .client_config(
                &[("linger.ms", "1"), ("message.timeout.ms", &timeout)],
                &[("enable.idempotence", "true"), ("acks", "all")],
            )
            .create_with_context(PwContext::default())
            .with_context(|| {
                format!(
                    "cannot create a kafka producer for {} (--kafka-brokers)",
                    args.brokers
                )
            })?;
        Ok(Self {
            inner,
            namespace: args.namespace.clone(),
        })
    }

    /// The namespace of the topics it sends to.
    pub(crate) fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Sends one message to `topic` (in the producer's namespace) and waits until the broker has
    /// acknowledged it.
    ///
    /// A full local queue makes the caller wait: that is the back-pressure.
    pub async fn send(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Delivered, KafkaError> {
        let topic = self.namespace.apply(topic);
        let mut record = FutureRecord::to(&topic).key(key).payload(payload);
        if let Some(headers) = headers {
            record = record.headers(headers);
        }
        match self.inner.send(record, Timeout::Never).await {
            Ok(delivery) => acknowledged(&topic, delivery.partition, delivery.offset),
            Err((error, _message)) => Err(error),
        }
    }

    /// Waits up to `timeout` for queued messages to be delivered.
    pub fn flush(&self, timeout: Duration) {
        if let Err(error) = self.inner.flush(timeout) {
            tracing::warn!(%error, "producer flush incomplete");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_without_an_offset_fails_as_a_transient_error() {
        assert_eq!(
            acknowledged("alerts.BE", 5, 0),
            Ok(Delivered {
                partition: 5,
                offset: 0
            })
        );
        let error = acknowledged("alerts.BE", 5, -1001).unwrap_err();
        assert_eq!(error.rdkafka_error_code(), Some(RDKafkaErrorCode::NoOffset));
        assert!(!crate::is_permanent(&error));
    }
}
