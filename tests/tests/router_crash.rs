//! The router killed with SIGKILL in the middle of a stream of alerts and started again: every
//! authority still receives every alert exactly once.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashMap;
use std::time::Duration;

use system_tests::{sample_report, AlertReader, Pipeline};

const REPORTS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_crash_mid_stream_loses_and_duplicates_nothing() {
    let mut pipeline = Pipeline::start().await.expect("pipeline starts");
    let client = reqwest::Client::new();
    let run = pipeline.run.clone();
    let mut ids = Vec::new();
    for n in 0..REPORTS {
        let response = pipeline
            .submit(&client, &sample_report(&format!("{run}-{n}")))
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        let body: serde_json::Value = response.json().await.unwrap();
        ids.push(body["report_id"].as_str().unwrap().to_owned());
        if n == REPORTS / 2 {
            // Mid-stream: alerts are being routed.
            pipeline
                .crash_and_restart("router", &["serve"])
                .await
                .unwrap();
        }
    }
    let topics = ["alerts.DE", "alerts.NL", "alerts.BE"];
    let reader = AlertReader::new(&pipeline.brokers, &topics).unwrap();
    let seen = reader
        .read_until(Duration::from_secs(120), |seen| {
            topics.iter().all(|topic| {
                seen.get(*topic).is_some_and(|alerts| {
                    ids.iter()
                        .all(|id| alerts.iter().any(|alert| &alert.report_id == id))
                })
            })
        })
        .await
        .unwrap();
    let mut lost = 0;
    let mut duplicated = 0;
    for topic in topics {
        let mut count: HashMap<&str, usize> = HashMap::new();
        for alert in seen.get(topic).into_iter().flatten() {
            *count.entry(alert.report_id.as_str()).or_default() += 1;
        }
        for id in &ids {
            match count.get(id.as_str()).copied().unwrap_or(0) {
                0 => lost += 1,
                1 => {}
                n => duplicated += n - 1,
            }
        }
    }
    println!("router crash: {REPORTS} reports, 1 crash, {lost} lost, {duplicated} duplicated");
    assert_eq!((lost, duplicated), (0, 0));
    pipeline.stop().await.unwrap();
}
