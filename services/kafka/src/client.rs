//! Client configuration and the client context shared by every Kafka client of the project.

use anyhow::Context as _;
use runtime::{ExposeSecret as _, SecretString};

use prometheus::{IntGauge, IntGaugeVec};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{ConsumerContext, Rebalance, StreamConsumer};

use crate::{ConsumerMetrics, Namespace};

/// A static member's session (`session.timeout.ms`), long enough to ride out a broker's
/// restart; an instance that stops for good holds its partitions this long.
const STATIC_SESSION_TIMEOUT_MS: &str = "30000";

/// How to reach the Kafka cluster; flattened into every service's configuration.
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaArgs {
    /// Bootstrap servers of the Kafka cluster, comma separated.
    #[arg(
        long = "kafka-brokers",
        env = "PW_KAFKA_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// Extra librdkafka settings as key=value, e.g. security.protocol=SASL_SSL; repeatable, or
    /// comma separated in the environment variable.
    #[arg(long = "kafka-option", env = "PW_KAFKA_OPTIONS", hide_env_values = true, value_delimiter = ',', value_parser = parse_option)]
    pub options: Vec<(String, SecretString)>,
    /// Partitions of the topics a service creates when they do not exist.
    #[arg(
        long = "topic-partitions",
        env = "PW_TOPIC_PARTITIONS",
        default_value_t = 6
    )]
    pub topic_partitions: i32,
    /// Replication factor of the topics a service creates (3 in production, 1 on one broker).
    #[arg(
        long = "topic-replication",
        env = "PW_TOPIC_REPLICATION",
        default_value_t = 1
    )]
    pub topic_replication: i32,
    /// Whether services create the topics they use; false where topics are provisioned apart.
    #[arg(long = "create-topics", env = "PW_CREATE_TOPICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub create_topics: bool,
    /// This instance's stable name in its service's consumer group (static membership): one per
    /// instance, the same across its restarts, such as a StatefulSet pod's or a container's
    /// name. A restarted instance then takes its partitions back at once instead of after the
    /// crashed one's session (6 s) runs out. Unset, membership is dynamic.
    #[arg(long = "kafka-instance-id", env = "PW_KAFKA_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// A prefix to every topic and consumer group name, such as `staging.`, so several
    /// deployments share one cluster (and its access control by prefix); the same for every
    /// service of a deployment. Empty, names are as the README lists them.
    #[arg(
        long = "kafka-namespace",
        env = "PW_KAFKA_NAMESPACE",
        default_value = ""
    )]
    pub namespace: Namespace,
}

/// A `key=value` option; the value may be a credential (`sasl.password`), so it is never shown.
fn parse_option(text: &str) -> Result<(String, SecretString), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected key=value, got {text:?}"))?;
    Ok((key.trim().to_owned(), SecretString::from(value.trim())))
}

impl KafkaArgs {
    /// Settings for the given bootstrap servers and no extra options.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            options: Vec::new(),
            topic_partitions: 6,
            topic_replication: 1,
            create_topics: true,
            instance_id: None,
            namespace: Namespace::default(),
        }
    }

    /// The same settings in `namespace`.
    pub fn in_namespace(mut self, namespace: Namespace) -> Self {
        self.namespace = namespace;
        self
    }

    /// Creates the named topics with the configured layout where they do not exist.
    pub async fn ensure_topics(&self, names: &[&str]) -> anyhow::Result<()> {
        if !self.create_topics {
            return Ok(());
        }
        let specs: Vec<crate::TopicSpec> = names
            .iter()
            .map(|name| crate::TopicSpec::new(*name, self.topic_partitions, self.topic_replication))
            .collect();
        crate::ensure_topics(self, &specs).await
    }

    /// A client configuration: the brokers, then `defaults`, then the extra options, then
    /// `required`. Extra options may tune the defaults but never weaken the settings the
    /// delivery guarantees rest on.
    pub(crate) fn client_config(
        &self,
        defaults: &[(&str, &str)],
        required: &[(&str, &str)],
    ) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        config.set_log_level(RDKafkaLogLevel::Warning);
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        for (key, value) in &self.options {
            if required.iter().any(|(required_key, _)| required_key == key) {
                tracing::warn!(
                    key,
                    "ignoring --kafka-option for a setting the service relies on"
                );
                continue;
            }
            config.set(key, value.expose_secret());
        }
        for (key, value) in required {
            config.set(*key, *value);
        }
        config
    }

    /// A consumer in `group_id`, subscribed to `topics`, that commits only offsets stored
    /// explicitly after processing.
    pub fn consumer(
        &self,
        group_id: &str,
        topics: &[&str],
    ) -> anyhow::Result<StreamConsumer<PwContext>> {
        self.consumer_in(group_id, topics, PwContext::default())
    }

    /// A consumer as [`KafkaArgs::consumer`] that reports its lag per partition to `metrics`
    /// every 10 seconds: a stage's consumer, a static member of `group_id` when the instance
    /// has a name (`--kafka-instance-id`).
    pub fn measured_consumer(
        &self,
        group_id: &str,
        topics: &[&str],
        metrics: &ConsumerMetrics,
    ) -> anyhow::Result<StreamConsumer<PwContext>> {
        let mut config = self.consumer_config(group_id);
        if let Some(instance) = &self.instance_id {
            config.set("group.instance.id", instance);
            // A static member that restarts takes its partitions back by its name at once, so
            // its session can outlast a broker's restart. With a session shorter than the
            // outage, librdkafka (2.12) times the session out on its own side and commits the
            // lost assignment's offsets with an empty member id, which the broker answers
            // with a fatal FENCED_INSTANCE_ID (librdkafka#5585): the spine survives that by
            // replacing the consumer, but only after a stall.
            config.set("session.timeout.ms", STATIC_SESSION_TIMEOUT_MS);
        }
        let context = PwContext::measured(metrics, self.namespace.clone());
        self.create_consumer(config, topics, context)
    }

    fn consumer_in(
        &self,
        group_id: &str,
        topics: &[&str],
        context: PwContext,
    ) -> anyhow::Result<StreamConsumer<PwContext>> {
        self.create_consumer(self.consumer_config(group_id), topics, context)
    }

    fn consumer_config(&self, group_id: &str) -> ClientConfig {
        let group_id = self.namespace.apply(group_id);
        self.client_config(
            &[
                ("auto.commit.interval.ms", "1000"),
                ("auto.offset.reset", "earliest"),
                // A crashed member holds its partitions until this runs out (unless it
                // restarts as the same static member): the brokers' least by default
                // (group.min.session.timeout.ms).
                ("session.timeout.ms", "6000"),
                ("heartbeat.interval.ms", "1500"),
                ("statistics.interval.ms", "10000"),
                // What librdkafka fetches ahead of the consumer (64 MiB by default); the
                // spine queues up to four batches per partition on top of it.
                ("queued.max.messages.kbytes", "16384"),
            ],
            &[
                ("group.id", &group_id),
                ("enable.auto.commit", "true"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "false"),
            ],
        )
    }

    fn create_consumer(
        &self,
        config: ClientConfig,
        topics: &[&str],
        context: PwContext,
    ) -> anyhow::Result<StreamConsumer<PwContext>> {
        let consumer: StreamConsumer<PwContext> =
            config.create_with_context(context).with_context(|| {
                format!(
                    "cannot create a kafka consumer for {} (--kafka-brokers)",
                    self.brokers
                )
            })?;
        let topics: Vec<_> = topics
            .iter()
            .map(|topic| self.namespace.apply(topic))
            .collect();
        let topics: Vec<&str> = topics.iter().map(AsRef::as_ref).collect();
        rdkafka::consumer::Consumer::subscribe(&consumer, &topics)
            .with_context(|| format!("cannot subscribe to {topics:?}"))?;
        Ok(consumer)
    }
}

/// The client context of every client: librdkafka logs go to `tracing`; a consumer's context
/// also exports its lag per partition from librdkafka's statistics.
#[derive(Debug, Clone, Default)]
pub struct PwContext {
    lag: Option<IntGaugeVec>,
    assigned: Option<IntGauge>,
    /// Taken off the topics' names in the metrics' labels.
    namespace: Namespace,
}

impl PwContext {
    /// A context that sets `lag{topic, partition}` from each statistics report (the topic as
    /// the services name it, without `namespace`) and counts the partitions assigned.
    pub fn measured(metrics: &ConsumerMetrics, namespace: Namespace) -> Self {
        Self {
            lag: Some(metrics.lag.clone()),
            assigned: Some(metrics.assigned_partitions.clone()),
            namespace,
        }
    }
}

impl ClientContext for PwContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
        }
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", %error, reason, "kafka client error");
    }

    fn stats(&self, statistics: rdkafka::Statistics) {
        let Some(lag) = &self.lag else { return };
        for (topic, stats) in &statistics.topics {
            for (partition, stats) in &stats.partitions {
                // -1 is librdkafka's internal partition; a negative lag is unknown yet.
                if *partition >= 0 && stats.consumer_lag >= 0 {
                    lag.with_label_values(&[self.namespace.strip(topic), &partition.to_string()])
                        .set(stats.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for PwContext {
    fn post_rebalance(
        &self,
        _consumer: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &Rebalance<'_>,
    ) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions assigned");
                if let Some(assigned) = &self.assigned {
                    assigned.set(i64::try_from(partitions.count()).unwrap_or(i64::MAX));
                }
            }
            Rebalance::Revoke(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions revoked");
                if let Some(assigned) = &self.assigned {
                    assigned.set(0);
                }
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
        }
    }
}
