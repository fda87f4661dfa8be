//! The delivery ledger over the real Kafka and PostgreSQL: an attempt the router stopped in the
//! middle of (after or before sending) is finished without a second copy on the authority topic.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::sync::Arc;
use std::time::Duration;

use events::Alert;
use kafka::testing::brokers;
use kafka::{KafkaArgs, Producer, Topics};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use router::{Directory, Metrics, RouteAlerts};
use store::{DeliveryRecord, Store};

const TOPIC: &str = "alerts.ZA";

fn alert(alert_id: &str) -> Alert {
    serde_json::from_value(serde_json::json!({
        "alert_id": alert_id, "report_id": format!("report-{alert_id}"), "company_id": "c",
        "company_reference": "SO",
        "order": {"supplier_country": "ZA", "customer_id": "K", "customer_name": "N",
                  "customer_country": "ZA", "delivery_country": "ZA", "transit_countries": []},
        "lines": [1], "findings": [], "indicators": [], "score": 60.0, "severity": "HIGH",
        "authorities": [], "explanation": "", "reference_data_version": "v",
        "rule_set_version": "", "party_id": "", "party_rule": "", "submitted_at": 1, "detected_at": 2
    }))
    .unwrap()
}

/// How many messages keyed `key` the topic holds, reading every partition to its end.
fn copies(key: &str) -> usize {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", "delivery-test")
        .create()
        .unwrap();
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(TOPIC), timeout).unwrap();
    let mut count = 0;
    for partition in metadata.topics()[0].partitions() {
        let (low, high) = consumer
            .fetch_watermarks(TOPIC, partition.id(), timeout)
            .unwrap();
        if high <= low {
            continue;
        }
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(TOPIC, partition.id(), Offset::Offset(low))
            .unwrap();
        consumer.assign(&list).unwrap();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            // `None`: a timeout, or an event other than a message.
            let Some(message) = consumer.poll(Duration::from_millis(200)) else {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the partition's end within 10 s"
                );
                continue;
            };
            let message = message.unwrap();
            count += usize::from(message.key() == Some(key.as_bytes()));
            if message.offset() + 1 >= high {
                break;
            }
        }
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_delivery_is_finished_without_a_second_copy() {
    let store = Store::connect(&store::testing::fresh_postgres_url().await.unwrap(), 2)
        .await
        .unwrap();
    let kafka = KafkaArgs::new(brokers());
    kafka.ensure_topics(&[TOPIC]).await.unwrap();
    let producer = Producer::new(&kafka, Duration::from_secs(30)).unwrap();
    let router = RouteAlerts {
        store: store.clone(),
        producer: producer.clone(),
        topics: Topics::new(&kafka).unwrap(),
        directory: Directory::new(&store),
        metrics: Metrics::new().unwrap(),
        rules: Arc::new(indicators::RuleSets::builtin().unwrap()),
    };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let pending = |alert_id: &str| DeliveryRecord {
        alert_id: alert_id.into(),
        country: "ZA".into(),
        report_id: format!("report-{alert_id}"),
        roles: "domestic".into(),
        topic: TOPIC.into(),
        partition: -1,
        offset: -1,
        delivered_at: 1,
    };

    // Stopped after sending: the alert is on the topic, the ledger says "under way".
    let sent = format!("sent-{run}");
    store.record_delivery(&pending(&sent)).await.unwrap();
    let payload = events::encode(&alert(&sent)).unwrap();
    let landed = producer
        .send(TOPIC, sent.as_bytes(), &payload, None)
        .await
        .unwrap();
    router.route(&[(0, &alert(&sent))]).await.unwrap();
    assert_eq!(copies(&sent), 1, "not sent a second time");
    assert_eq!(
        store.delivery_offset(&sent, "ZA").await.unwrap(),
        Some(landed.offset)
    );
    assert!(store.authority_alert("ZA", &sent).await.unwrap().is_some());

    // Stopped before sending: sent now, once.
    let unsent = format!("unsent-{run}");
    store.record_delivery(&pending(&unsent)).await.unwrap();
    router.route(&[(0, &alert(&unsent))]).await.unwrap();
    assert_eq!(copies(&unsent), 1);

    // Delivered: a redelivered alert is not sent again.
    let fresh = format!("fresh-{run}");
    router.route(&[(0, &alert(&fresh))]).await.unwrap();
    router.route(&[(0, &alert(&fresh))]).await.unwrap();
    assert_eq!(copies(&fresh), 1);
    assert!(store.is_delivered(&fresh, "ZA").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_in_memory_follows_an_announced_change() {
    let store = Store::connect(&store::testing::fresh_postgres_url().await.unwrap(), 2)
        .await
        .unwrap();
    let entry = |min_severity: &str| store::Authority {
        country: "ZA".into(),
        name: "SARS".into(),
        contact: "x".into(),
        topic: TOPIC.into(),
        min_severity: min_severity.into(),
        regimes: vec![],
        categories: vec![],
        watch_list_findings: true,
        updated_at: 1,
    };
    store.upsert_authority(&entry("LOW")).await.unwrap();
    let directory = Directory::new(&store);
    let stop = tokio_util::sync::CancellationToken::new();
    let follower = tokio::spawn(router::follow_directory(
        store.clone(),
        directory.clone(),
        stop.clone(),
    ));
    assert_eq!(
        directory.get(&store).await.unwrap()["ZA"].min_severity,
        "LOW"
    );
    // Give the follower time to listen before the change it must hear.
    tokio::time::sleep(Duration::from_secs(1)).await;
    store.upsert_authority(&entry("CRITICAL")).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let seen = directory.get(&store).await.unwrap()["ZA"]
            .min_severity
            .clone();
        if seen == "CRITICAL" {
            break;
        }
        // Without the announcement the entry read first is trusted for a minute.
        assert!(
            std::time::Instant::now() < deadline,
            "the change seen within 5 s, still {seen}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    follower.await.unwrap().unwrap();
}
