//! A message no service can read goes to the dead-letter topic with its reason, and the
//! partition keeps moving.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::Headers as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message as _;
use system_tests::{sample_report, Pipeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_reports_are_dead_lettered_without_blocking_the_partition() {
    let pipeline = Pipeline::start().await.expect("pipeline starts");
    let garbage = format!("not avro {}", pipeline.run).into_bytes();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &pipeline.brokers)
        .create()
        .unwrap();
    // The key routes the garbage to the partition the sample report's customer uses.
    let key = b"acme-chemicals/C-4471";
    producer
        .send(
            FutureRecord::to(&pipeline.topic("orders.submitted"))
                .key(&key[..])
                .payload(&garbage),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(error, _)| error)
        .unwrap();

    let client = reqwest::Client::new();
    let response = pipeline
        .submit(
            &client,
            &sample_report(&format!("{}-after-garbage", pipeline.run)),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let report_id = response.json::<serde_json::Value>().await.unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let dlq: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &pipeline.brokers)
        .set("group.id", format!("dlq-reader-{}", pipeline.run))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    dlq.subscribe(&[&pipeline.topic("orders.submitted.dlq")])
        .unwrap();
    let dead = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let message = dlq.recv().await.unwrap();
            let record: events::DeadLetter = events::decode(message.payload().unwrap()).unwrap();
            if record.payload.0 == garbage {
                let headers = message.headers().unwrap();
                let header = |name: &str| {
                    headers
                        .iter()
                        .find(|h| h.key == name)
                        .and_then(|h| h.value)
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                };
                return (
                    record,
                    header("__connect.errors.topic"),
                    header("__connect.errors.exception.class.name"),
                );
            }
        }
    })
    .await
    .expect("the garbage reaches orders.submitted.dlq");
    let (record, topic_header, class_header) = dead;
    assert_eq!(record.topic, "orders.submitted");
    assert_eq!(record.service, "matcher");
    assert_eq!(record.error_class, "decode");
    assert!(
        record.error_message.contains("single-object"),
        "{}",
        record.error_message
    );
    // Kafka Connect's header names the topic as the cluster does: the pipeline's namespace and
    // all.
    assert_eq!(
        topic_header.as_deref(),
        Some(pipeline.topic("orders.submitted").as_str())
    );
    assert_eq!(class_header.as_deref(), Some("decode"));

    // The report behind the garbage still reaches its authority.
    let reader = pipeline.alert_reader(&["alerts.NL"]).unwrap();
    let alerts = reader
        .read_until(Duration::from_secs(60), |seen| {
            seen.values()
                .flatten()
                .any(|alert| alert.report_id == report_id)
        })
        .await
        .unwrap();
    assert!(alerts
        .values()
        .flatten()
        .any(|alert| alert.report_id == report_id));

    // Counted in the matcher's metrics.
    let metrics = pipeline.metrics("matcher").await.unwrap();
    assert!(
        metrics.lines().any(|line| line.starts_with(
            "pw_matcher_dead_letters_total{error_class=\"decode\",topic=\"orders.submitted\"}"
        )),
        "{metrics}"
    );
    pipeline.stop().await.unwrap();
}
