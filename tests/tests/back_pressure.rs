//! Back-pressure and rate limits over the real broker and database: with the matcher stopped the
//! backlog grows until ingest answers 503 with Retry-After, storing nothing; once the matcher
//! runs again submissions are accepted and every accepted report is screened. A company over its
//! rate gets 429.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::{Duration, Instant};

use system_tests::{poll_until, sample_report, Pipeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_that_cannot_keep_up_refuses_with_503_and_loses_nothing() {
    let mut pipeline = Pipeline::start().await.expect("pipeline starts");
    let client = reqwest::Client::new();
    let run = pipeline.run.clone();
    let addr = pipeline.ingest_addr().to_owned();
    pipeline.stop_service("matcher").await.unwrap();
    pipeline.stop_service("ingest").await.unwrap();
    let serve = ["serve", "--http-addr", &addr, "--max-backlog", "5"];
    pipeline.start_service("ingest", &serve).await.unwrap();

    // Submit until refused: the backlog is measured once a second.
    let mut accepted = Vec::new();
    let mut refused = None;
    for n in 0..60 {
        let reference = format!("{run}-{n}");
        let response = pipeline
            .submit(&client, &sample_report(&reference))
            .await
            .unwrap();
        match response.status().as_u16() {
            202 => {
                let body: serde_json::Value = response.json().await.unwrap();
                accepted.push(body["report_id"].as_str().unwrap().to_owned());
            }
            503 => {
                let retry_after = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let body: serde_json::Value = response.json().await.unwrap();
                refused = Some((reference, retry_after, body));
                break;
            }
            other => panic!("unexpected {other}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (reference, retry_after, body) = refused.expect("a 503 once the backlog reached 5");
    // A report being published while the backlog is measured counts in the outbox and on the
    // topic at once (the safe side): the refusal may come one report early, never sooner.
    assert!(
        accepted.len() >= 4,
        "{} accepted before the refusal",
        accepted.len()
    );
    assert_eq!(body["error"], "backlog", "{body}");
    assert!(retry_after.parse::<u64>().unwrap() >= 1);
    println!(
        "back-pressure: {} accepted, then 503 ({}), Retry-After {retry_after}",
        accepted.len(),
        body["message"]
    );

    // The matcher back: the refused report goes in as new (nothing was stored on 503), and every
    // accepted report is screened.
    pipeline.start_service("matcher", &["serve"]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let retried = loop {
        let response = pipeline
            .submit(&client, &sample_report(&reference))
            .await
            .unwrap();
        if response.status() == 202 {
            let body: serde_json::Value = response.json().await.unwrap();
            break body["report_id"].as_str().unwrap().to_owned();
        }
        assert_eq!(response.status(), 503);
        assert!(
            Instant::now() < deadline,
            "still refused after the matcher came back"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    accepted.push(retried);
    for id in &accepted {
        pipeline
            .status_once_screened(&client, id, Duration::from_secs(60))
            .await
            .unwrap();
    }

    // A company over its rate is told to wait; the limit is per company.
    pipeline.stop_service("ingest").await.unwrap();
    let serve = [
        "serve",
        "--http-addr",
        &addr,
        "--rate-limit",
        "1",
        "--rate-burst",
        "2",
    ];
    pipeline.start_service("ingest", &serve).await.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = client
            .get(format!(
                "{}/v1/reports/{}",
                pipeline.ingest_url, accepted[0]
            ))
            .bearer_auth(&pipeline.api_key)
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
        statuses.push(response.status().as_u16());
    }
    // A burst of 2, then one a second: the first two pass and the next are refused (usually
    // both; a machine slow enough to take a second over them lets a refilled token through).
    assert_eq!(statuses[..3], [200, 200, 429], "{statuses:?}");
    let refused = statuses.iter().filter(|status| **status == 429).count();
    let metrics = pipeline.metrics("ingest").await.unwrap();
    assert!(
        metrics.contains(&format!(
            "pw_ingest_reports_total{{result=\"rate_limited\"}} {refused}"
        )),
        "{metrics}"
    );
    pipeline.stop().await.unwrap();
}

/// `ingest submit` sends a company's batch and waits out the 503s: with the matcher stopped it
/// keeps retrying as told by Retry-After, and once the matcher is back every report is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_client_waits_out_back_pressure_and_submits_everything() {
    let mut pipeline = Pipeline::start().await.expect("pipeline starts");
    let addr = pipeline.ingest_addr().to_owned();
    pipeline.stop_service("matcher").await.unwrap();
    pipeline.stop_service("ingest").await.unwrap();
    let serve = ["serve", "--http-addr", &addr, "--max-backlog", "3"];
    pipeline.start_service("ingest", &serve).await.unwrap();

    // Fill the backlog until ingest has measured it at the limit. The backlog is measured once
    // a second, so a submission may already meet a 503 on the way.
    let http = reqwest::Client::new();
    let pipeline_ref = &pipeline;
    let metric = |name: &'static str| async move {
        let text = pipeline_ref.metrics("ingest").await.unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    while metric("pw_ingest_backlog ").await < 3.0 {
        assert!(Instant::now() < deadline, "the backlog was never measured");
        let report = sample_report(&format!("{}-before-{n}", pipeline.run));
        n += 1;
        let status = pipeline.submit(&http, &report).await.unwrap().status();
        assert!(status == 202 || status == 503, "{status}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reports.jsonl");
    let lines: Vec<String> = (0..40)
        .map(|n| sample_report(&format!("{}-batch-{n}", pipeline.run)).to_string())
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let client = tokio::process::Command::new(system_tests::binary("ingest").unwrap())
        .args([
            "submit",
            "--url",
            &pipeline.ingest_url,
            "--concurrency",
            "2",
        ])
        .arg(&file)
        .env("PW_API_KEY", &pipeline.api_key)
        .env_remove("PW_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // The client meets 503s; then the matcher comes back.
    poll_until(
        "the client meeting back-pressure",
        Duration::from_secs(60),
        || async {
            let refused = metric("pw_ingest_reports_total{result=\"backlog\"} ").await;
            if refused >= 2.0 {
                Ok(())
            } else {
                Err(format!("{refused} refused for the backlog"))
            }
        },
    )
    .await
    .unwrap();
    pipeline.start_service("matcher", &["serve"]).await.unwrap();

    let output = tokio::time::timeout(Duration::from_secs(180), client.wait_with_output())
        .await
        .expect("the batch finishes")
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(results.len(), 40, "{stdout}");
    for (index, result) in results.iter().enumerate() {
        assert_eq!(result["line"], index + 1, "in input order");
        assert_eq!(result["status"], 202, "{result}");
        assert!(result["body"]["report_id"].is_string());
    }
    assert!(stderr.contains("submitted 40 reports in"), "{stderr}");
    println!("batch client: {}", stderr.trim());
    pipeline.stop().await.unwrap();
}
