//! Kafka access control as `deploy/kafka/provision-authority.sh` sets it up, checked on the real
//! broker: an authority's SCRAM principal reads its own topic and is refused another's, and
//! another deployment's (another namespace) of its own country.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message as _;
use system_tests::{delete_topics, kafka_brokers};

/// The broker's SCRAM listener (tests/kafka.sh).
fn sasl_brokers() -> String {
    std::env::var("PW_TEST_KAFKA_SASL_BROKERS").unwrap_or_else(|_| "127.0.0.1:9094".into())
}

fn provision(country: &str, password: &str, namespace: &kafka::Namespace) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = std::process::Command::new("bash")
        .arg("deploy/kafka/provision-authority.sh")
        .args([country, password])
        .current_dir(root)
        .env("KAFKA_BOOTSTRAP", kafka_brokers())
        .env("KAFKA_RUN_CLASS", "bash tests/kafka.sh run-class")
        .env("PW_KAFKA_NAMESPACE", namespace.prefix())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "provisioning failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn authority_consumer(user: &str, password: &str, topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", sasl_brokers())
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", "SCRAM-SHA-512")
        .set("sasl.username", user)
        .set("sasl.password", password)
        .set(
            "group.id",
            format!("{user}-test-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    consumer
}

/// The first message of the topic, or the error the broker answers with.
async fn first(consumer: &StreamConsumer) -> Result<Vec<u8>, KafkaError> {
    let message = tokio::time::timeout(Duration::from_secs(45), consumer.recv())
        .await
        .expect("an answer within 45 s")?;
    Ok(message.payload().unwrap_or_default().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authority_principal_reads_its_own_topic_and_is_refused_another() {
    // Two countries no other test uses, in a deployment's namespace and another's.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let namespace = kafka::Namespace::new(format!("acl-{run}.")).unwrap();
    let elsewhere = kafka::Namespace::new(format!("acl-other-{run}.")).unwrap();
    let own = namespace.apply("alerts.ZW").into_owned();
    let other = namespace.apply("alerts.ZM").into_owned();
    let own_elsewhere = elsewhere.apply("alerts.ZW").into_owned();
    let (own, other, own_elsewhere) = (own.as_str(), other.as_str(), own_elsewhere.as_str());
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .unwrap();
    let topics = [own, other, own_elsewhere]
        .map(|topic| NewTopic::new(topic, 1, TopicReplication::Fixed(1)));
    admin
        .create_topics(&topics, &AdminOptions::new())
        .await
        .unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .unwrap();
    for topic in [own, other, own_elsewhere] {
        producer
            .send(
                FutureRecord::to(topic).key("k").payload(topic.as_bytes()),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }

    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    provision("zw", &password, &namespace);

    // Its own topic: read.
    let reader = authority_consumer("authority-zw", &password, own);
    assert_eq!(first(&reader).await.unwrap(), own.as_bytes());

    // Another authority's topic, and its own country's in another deployment: refused by the
    // broker.
    for topic in [other, own_elsewhere] {
        let intruder = authority_consumer("authority-zw", &password, topic);
        match first(&intruder).await {
            Err(KafkaError::MessageConsumption(
                RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::GroupAuthorizationFailed,
            )) => {}
            other => panic!("{topic}: expected an authorization failure, got {other:?}"),
        }
    }

    // A wrong password: no connection at all, so nothing is read.
    let stranger = authority_consumer("authority-zw", "not-the-password", own);
    assert!(
        tokio::time::timeout(Duration::from_secs(10), stranger.recv())
            .await
            .map_or(true, |result| result.is_err()),
        "a wrong password must not read"
    );
    delete_topics(&kafka_brokers(), &namespace).await.unwrap();
    delete_topics(&kafka_brokers(), &elsewhere).await.unwrap();
}
