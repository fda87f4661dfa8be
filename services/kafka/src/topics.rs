//! Creating the topics a service needs, and finding a message on one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::{KafkaArgs, PwContext};

/// A topic and how it is laid out when it has to be created.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
}

impl TopicSpec {
    /// A topic with the given partition count and replication factor.
    pub fn new(name: impl Into<String>, partitions: i32, replication: i32) -> Self {
        Self {
            name: name.into(),
            partitions,
            replication,
        }
    }
}

/// Creates the topics that do not exist yet, in the settings' namespace; existing ones are left
/// as they are.
pub async fn ensure_topics(args: &KafkaArgs, topics: &[TopicSpec]) -> anyhow::Result<()> {
    if topics.is_empty() {
        return Ok(());
    }
    create(&admin_client(args)?, args, topics).await
}

fn admin_client(args: &KafkaArgs) -> anyhow::Result<AdminClient<PwContext>> {
    args.client_config(&[], &[])
        .create_with_context(PwContext::default())
        .context("cannot create a kafka admin client")
}

async fn create(
    admin: &AdminClient<PwContext>,
    args: &KafkaArgs,
    topics: &[TopicSpec],
) -> anyhow::Result<()> {
    let names: Vec<_> = topics
        .iter()
        .map(|spec| args.namespace.apply(&spec.name))
        .collect();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&names)
        .map(|(spec, name)| {
            NewTopic::new(
                name,
                spec.partitions,
                TopicReplication::Fixed(spec.replication),
            )
        })
        .collect();
    let results = admin
        .create_topics(
            &new_topics,
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .with_context(|| format!("cannot reach kafka at {} to create topics", args.brokers))?;
    for result in results {
        match result {
            Ok(name) => tracing::info!(topic = name, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("cannot create topic {name}: {code}"),
        }
    }
    Ok(())
}

/// The topics a running service creates and searches as messages call for them (the router's
/// authority topics), with its clients built once at start: handling a message never builds a
/// Kafka client.
pub struct Topics {
    args: KafkaArgs,
    admin: AdminClient<PwContext>,
    /// Reads the tails of topics; assigned anew for each search.
    reader: Mutex<BaseConsumer<PwContext>>,
    /// Topics known to exist.
    known: Mutex<HashSet<String>>,
}

impl Topics {
    /// Connects the clients.
    pub fn new(args: &KafkaArgs) -> anyhow::Result<Arc<Self>> {
        let group = args.namespace.apply("precursor-watch-delivery-check");
        let reader = args
            .client_config(
                &[],
                &[
                    ("group.id", &group),
                    ("enable.auto.commit", "false"),
                    ("enable.partition.eof", "true"),
                ],
            )
            .create_with_context(PwContext::default())
            .context("cannot create a kafka consumer to check deliveries")?;
        Ok(Arc::new(Self {
            args: args.clone(),
            admin: admin_client(args)?,
            reader: Mutex::new(reader),
            known: Mutex::default(),
        }))
    }

    /// Creates those of the named topics not known to exist, with the configured layout.
    pub async fn ensure(&self, names: &[&str]) -> anyhow::Result<()> {
        let unknown: Vec<TopicSpec> = {
            let known = lock(&self.known);
            names
                .iter()
                .filter(|name| !known.contains(**name))
                .map(|name| {
                    TopicSpec::new(
                        *name,
                        self.args.topic_partitions,
                        self.args.topic_replication,
                    )
                })
                .collect()
        };
        if unknown.is_empty() {
            return Ok(());
        }
        if self.args.create_topics {
            create(&self.admin, &self.args, &unknown).await?;
        }
        lock(&self.known).extend(unknown.into_iter().map(|spec| spec.name));
        Ok(())
    }

    /// Looks for a message keyed `key` among the last `tail` messages of each partition of
    /// `topic`, and returns where it is: whether an earlier attempt, stopped between sending
    /// and recording, did send it. Searches run one at a time, on a blocking thread.
    pub async fn find_keyed(
        self: &Arc<Self>,
        topic: &str,
        key: &[u8],
        tail: i64,
    ) -> anyhow::Result<Option<(i32, i64)>> {
        let topic = self.args.namespace.apply(topic).into_owned();
        let (topics, key) = (Arc::clone(self), key.to_vec());
        tokio::task::spawn_blocking(move || search(&lock(&topics.reader), &topic, &key, tail))
            .await?
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Neither the set nor the reader holds an invariant a panic could break.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn search(
    reader: &BaseConsumer<PwContext>,
    topic: &str,
    key: &[u8],
    tail: i64,
) -> anyhow::Result<Option<(i32, i64)>> {
    let timeout = Duration::from_secs(10);
    let metadata = reader.fetch_metadata(Some(topic), timeout)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let found = (|| {
        for partition in partitions {
            let (low, high) = reader.fetch_watermarks(topic, partition, timeout)?;
            if high <= low {
                continue;
            }
            let mut assignment = TopicPartitionList::new();
            assignment.add_partition_offset(
                topic,
                partition,
                Offset::Offset((high - tail).max(low)),
            )?;
            reader.assign(&assignment)?;
            let deadline = Instant::now() + 2 * timeout;
            loop {
                match reader.poll(Duration::from_millis(200)) {
                    Some(Ok(message)) => {
                        if message.key() == Some(key) {
                            return Ok(Some((partition, message.offset())));
                        }
                        if message.offset() + 1 >= high {
                            break;
                        }
                    }
                    Some(Err(KafkaError::PartitionEOF(_))) => break,
                    Some(Err(error)) => return Err(error.into()),
                    None if Instant::now() > deadline => {
                        anyhow::bail!("timed out reading {topic} partition {partition}")
                    }
                    None => {}
                }
            }
        }
        Ok(None)
    })();
    reader.unassign()?;
    found
}
