//! The one crate that talks to Kafka: client configuration, producers that wait for the broker's
//! acknowledgement, consumers that store an offset only after the work is durable, dead letters,
//! topic provisioning, the deployment's namespace of topic and group names and the in-process
//! mock broker of the embedded mode.

mod client;
mod consume;
mod embedded;
mod lag;
mod metrics;
mod namespace;
mod produce;
mod stage;
mod tail;
mod topics;

#[cfg(feature = "testing")]
pub mod testing;

pub use client::{KafkaArgs, PwContext};
pub use consume::{
    consume, is_permanent, BatchHandler, DeadLetterClass, Message, Record, Rejection,
};
pub use embedded::EmbeddedBroker;
pub use lag::GroupLag;
pub use metrics::ConsumerMetrics;
pub use namespace::{Namespace, NamespaceError};
pub use produce::{Delivered, Producer};
pub use stage::Stage;
pub use tail::{Tail, TailRecord};
pub use topics::{ensure_topics, TopicSpec, Topics};

pub use rdkafka::consumer::StreamConsumer;
pub use rdkafka::error::KafkaError;
pub use rdkafka::message::Message as KafkaMessage;
pub use rdkafka::types::RDKafkaErrorCode;
