//! The shipped Prometheus configuration, checked with promtool and used for real: a Prometheus
//! server started with `deploy/prometheus/prometheus.yml` (targets pointed at the running
//! services, scraping every second) scrapes all four services, loads the alerting rules, and sees
//! the pipeline's metrics move.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use system_tests::{free_addr, sample_report, Pipeline};
use tokio::process::Command;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/prometheus")
        .join(file)
}

async fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .output()
        .await
        .expect("promtool runs (apt-get install prometheus; .ci/run installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?}: {text}");
    text
}

#[tokio::test]
async fn promtool_accepts_the_configuration_and_the_rules_pass_their_tests() {
    let config = deploy("prometheus.yml");
    let text = promtool(&["check", "config", config.to_str().unwrap()]).await;
    assert!(text.contains("8 rules found"), "{text}");
    let rules = deploy("rules.test.yml");
    let text = promtool(&["test", "rules", rules.to_str().unwrap()]).await;
    assert!(text.contains("SUCCESS"), "{text}");
}

/// One instant query; Prometheus's whole answer (`status`, `data.result`), or null while it is
/// not answering yet.
async fn query(client: &reqwest::Client, base: &str, expr: &str) -> serde_json::Value {
    let Ok(response) = client
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", expr)])
        .send()
        .await
    else {
        return serde_json::Value::Null;
    };
    response.json().await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_service_with_the_shipped_configuration() {
    let mut pipeline = Pipeline::start().await.expect("pipeline starts");
    pipeline.start_console().await.expect("console starts");
    let dir = tempfile::tempdir().unwrap();
    let mut config = std::fs::read_to_string(deploy("prometheus.yml")).unwrap();
    for (name, default) in [
        ("ingest", "ingest:9101"),
        ("matcher", "matcher:9102"),
        ("router", "router:9103"),
        ("authorities", "authorities:9104"),
        ("web-console", "web-console:9105"),
    ] {
        let service = pipeline.services.iter().find(|s| s.name == name).unwrap();
        assert!(
            config.contains(default),
            "{default} in the shipped configuration"
        );
        config = config.replace(default, &service.admin.to_string());
    }
    config = config.replace("scrape_interval: 15s", "scrape_interval: 1s");
    config = config.replace("evaluation_interval: 15s", "evaluation_interval: 1s");
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    std::fs::copy(deploy("rules.yml"), dir.path().join("rules.yml")).unwrap();

    let listen = free_addr().unwrap();
    let log = std::fs::File::create(pipeline.log_dir.join("prometheus.log")).unwrap();
    let mut prometheus = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={listen}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus runs (apt-get install prometheus; .ci/run installs it)");
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();

    // A report through the pipeline, so counters move.
    let response = pipeline
        .submit(&client, &sample_report(&format!("{}-prom", pipeline.run)))
        .await
        .unwrap();
    assert_eq!(response.status(), 202);

    let deadline = Instant::now() + Duration::from_secs(90);
    let wanted = [
        // Every service scraped.
        ("count(up == 1)", 5.0),
        // The report counted at each stage.
        ("sum(pw_ingest_reports_total{result=\"accepted\"})", 1.0),
        ("sum(pw_matcher_reports_screened_total)", 1.0),
        ("sum(pw_router_alerts_delivered_total)", 3.0),
        // Consumer lag from librdkafka statistics, the database pool, the outbox.
        ("count(pw_matcher_consumer_lag)", 1.0),
        ("min(pw_ingest_db_connections_open)", 1.0),
        ("count(pw_ingest_outbox_depth)", 1.0),
        // The console's own.
        ("count(pw_console_streams_open)", 1.0),
        // Two samples of the counters the dashboard's rate panels need.
        ("count(rate(pw_ingest_reports_total[5m]))", 1.0),
        ("count(rate(pw_router_alerts_delivered_total[5m]))", 1.0),
    ];
    let mut missing: Vec<&str> = wanted.iter().map(|(expr, _)| *expr).collect();
    while !missing.is_empty() {
        assert!(
            Instant::now() < deadline,
            "not seen through Prometheus within 90 s: {missing:?}; see {}",
            pipeline.log_dir.display()
        );
        let mut still = Vec::new();
        for expr in missing {
            let minimum = wanted.iter().find(|(e, _)| *e == expr).unwrap().1;
            let answer = query(&client, &base, expr).await;
            let value = answer["data"]["result"]
                .as_array()
                .and_then(|result| result.first())
                .and_then(|sample| sample["value"][1].as_str())
                .and_then(|value| value.parse::<f64>().ok());
            if !value.is_some_and(|value| value >= minimum) {
                still.push(expr);
            }
        }
        missing = still;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The alerting rules are loaded and evaluated.
    let rules: serde_json::Value = client
        .get(format!("{base}/api/v1/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let loaded: usize = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["rules"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(loaded, 8, "{rules}");

    // Every query of the shipped Grafana dashboard is valid PromQL over these metrics, and the
    // panels about the flow of reports show data.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/precursor-watch.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut empty = Vec::new();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let body = query(&client, &base, expr).await;
            assert_eq!(body["status"], "success", "{expr}: {body}");
            queries += 1;
            if body["data"]["result"].as_array().is_none_or(Vec::is_empty) {
                empty.push(format!(
                    "{}: {expr}",
                    panel["title"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    println!("dashboard: {queries} queries valid; without data yet: {empty:#?}");
    for title in [
        "Services up",
        "Reports received, by result",
        "Alerts delivered, by authority",
        "Consumer lag, by service and topic",
        "Database connections",
    ] {
        assert!(
            !empty
                .iter()
                .any(|line| line.starts_with(&format!("{title}:"))),
            "{title} shows no data: {empty:?}"
        );
    }

    prometheus.kill().await.unwrap();
    pipeline.stop().await.unwrap();
}
