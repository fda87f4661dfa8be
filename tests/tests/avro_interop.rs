//! The wire format as an outside reader sees it: Avro's own Java implementation
//! (`tests/avro.sh`, org.apache.avro:avro from Maven Central) computes the same fingerprint for
//! every schema as the header of our messages carries, and its `BinaryMessageDecoder`, which
//! finds the writer's schema by that fingerprint, reads the order report, the screening result
//! and the alerts the running pipeline wrote.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use events::Event;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::{ClientConfig, Message as _};
use system_tests::{sample_report, Pipeline};

/// Runs `tests/avro.sh` with `args`; its standard output.
fn avro_java(args: &[&str]) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = std::process::Command::new("bash")
        .arg("tests/avro.sh")
        .args(args)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tests/avro.sh {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The fingerprint in a single-object header, as Java prints a `long` in hex.
fn fingerprint_of(header: &[u8]) -> String {
    assert_eq!(header[..2], [0xC3, 0x01], "not a single-object header");
    format!(
        "{:016x}",
        u64::from_le_bytes(header[2..10].try_into().unwrap())
    )
}

#[test]
fn every_schema_has_the_fingerprint_avro_java_computes() {
    let ours = [
        (
            "schemas/order_report.avsc",
            events::OrderReport::wire().header(),
        ),
        (
            "schemas/screening_result.avsc",
            events::ScreeningResult::wire().header(),
        ),
        ("schemas/alert.avsc", events::Alert::wire().header()),
        ("schemas/feedback.avsc", events::Feedback::wire().header()),
        (
            "schemas/dead_letter.avsc",
            events::DeadLetter::wire().header(),
        ),
    ];
    let mut args = vec!["fingerprint"];
    args.extend(ours.iter().map(|(file, _)| *file));
    let printed = avro_java(&args);
    for (file, header) in ours {
        let java = printed
            .lines()
            .find_map(|line| line.strip_prefix(file)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no fingerprint of {file} in {printed:?}"));
        assert_eq!(fingerprint_of(header), java, "{file}");
    }
}

/// The first message on the pipeline's topic `topic`, as written.
async fn first_message(pipeline: &Pipeline, topic: &str) -> Vec<u8> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &pipeline.brokers)
        .set("group.id", format!("avro-java-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&pipeline.topic(topic)]).unwrap();
    let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
        .await
        .unwrap_or_else(|_| panic!("nothing on {topic} within 60 s"))
        .unwrap();
    message.payload().unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_java_reads_what_the_pipeline_writes() {
    let pipeline = Pipeline::start().await.expect("pipeline starts");
    let client = reqwest::Client::new();
    let report = sample_report(&format!("{}-java", pipeline.run));
    let report_id = pipeline.submit_accepted(&client, &report).await.unwrap();
    pipeline
        .status_once_screened(&client, &report_id, Duration::from_secs(60))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["decode".to_owned()];
    for (schema, topic) in [
        ("schemas/order_report.avsc", "orders.submitted"),
        ("schemas/screening_result.avsc", "orders.screened"),
        ("schemas/alert.avsc", "alerts.NL"),
    ] {
        let path = dir.path().join(format!("{topic}.bin"));
        std::fs::write(&path, first_message(&pipeline, topic).await).unwrap();
        args.extend([schema.to_owned(), path.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let printed = avro_java(&args);
    let records: Vec<serde_json::Value> = printed
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 3, "{printed}");
    let (submitted, screened, alert) = (&records[0], &records[1], &records[2]);
    assert_eq!(submitted["report_id"], report_id.as_str());
    assert_eq!(submitted["lines"][0]["cas"], "108-24-7");
    assert_eq!(screened["report_id"], report_id.as_str());
    assert_eq!(alert["report_id"], report_id.as_str());
    assert_eq!(alert["findings"][0]["substance_id"], "acetic_anhydride");
    assert!(
        alert["explanation"]
            .as_str()
            .is_some_and(|text| text.contains("Acetic anhydride")),
        "{alert}"
    );
    pipeline.stop().await.unwrap();
}
