//! End-to-end load generator: starts ingest, matcher and router against the real Kafka and
//! PostgreSQL, submits synthetic order reports over HTTP and measures accepted reports per second
//! and the time from submission to the alert on the authority topic.
//!
//! `cargo build --release --workspace --bins && cargo run --release -p system-tests --bin loadgen`

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use hdrhistogram::Histogram;
use rand::seq::SliceRandom as _;
use rand::Rng as _;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::Message as _;
use system_tests::Pipeline;
use tokio::sync::Semaphore;

/// Submits synthetic reports through the whole pipeline and prints throughput and latency.
#[derive(Debug, Parser)]
struct Args {
    /// Reports to submit.
    #[arg(long, default_value_t = 5000)]
    reports: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Share of reports that carry a scheduled chemical.
    #[arg(long, default_value_t = 0.3)]
    suspicious_share: f64,
    /// Reports per second to submit at; 0 submits as fast as the concurrency allows.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Seconds to wait for the last alerts after the last submission.
    #[arg(long, default_value_t = 120)]
    drain_seconds: u64,
}

const HARMLESS: &[(&str, Option<&str>, &str)] = &[
    ("Sodium chloride, food grade", Some("7647-14-5"), "kg"),
    ("Citric acid monohydrate", Some("5949-29-1"), "kg"),
    ("Ethanol 96% denatured", Some("64-17-5"), "l"),
    ("Glycerol USP", Some("56-81-5"), "kg"),
    ("Sodium hydroxide pellets", Some("1310-73-2"), "kg"),
    ("Isopropyl alcohol 99.9%", Some("67-63-0"), "l"),
    ("Calcium carbonate precipitated", Some("471-34-1"), "kg"),
    ("Polyethylene glycol 400", None, "kg"),
    ("Titanium dioxide rutile", Some("13463-67-7"), "kg"),
    ("Stainless steel drum 200 l", None, "each"),
];

const SCHEDULED: &[(&str, Option<&str>, &str)] = &[
    ("Acetic anhydride 99%", Some("108-24-7"), "l"),
    ("Potassium permanganate technical", Some("7722-64-7"), "kg"),
    ("Acetone, technical grade", Some("67-64-1"), "l"),
    ("Toluene 99.5%", Some("108-88-3"), "l"),
    ("Piperonal (heliotropine) crystals", None, "kg"),
    ("Phenylacetic acid", Some("103-82-2"), "kg"),
    ("Methyl ethyl ketone", Some("78-93-3"), "l"),
    ("Ephedrine hydrochloride USP", Some("50-98-6"), "kg"),
];

const COUNTRIES: &[&str] = &[
    "DE", "NL", "BE", "FR", "PL", "IT", "ES", "GB", "US", "IN", "CN", "MX", "ZA", "TR",
];

fn synthetic_report(
    run: &str,
    index: usize,
    suspicious: bool,
    rng: &mut impl rand::Rng,
) -> serde_json::Value {
    let supplier = *COUNTRIES.choose(rng).unwrap_or(&"DE");
    let delivery = *COUNTRIES.choose(rng).unwrap_or(&"NL");
    let line_count = rng.gen_range(1..=4);
    let mut lines = Vec::new();
    for number in 1..=line_count {
        let pool = if suspicious && number == 1 {
            SCHEDULED
        } else {
            HARMLESS
        };
        let (description, cas, unit) = *pool.choose(rng).unwrap_or(&HARMLESS[0]);
        lines.push(serde_json::json!({
            "line_number": number,
            "description": description,
            "cas": cas,
            "quantity": rng.gen_range(1..500),
            "unit": unit,
        }));
    }
    serde_json::json!({
        "company_reference": format!("{run}-{index}"),
        "supplier_country": supplier,
        "order_date": "2026-11-20",
        "customer": {
            "id": format!("C-{}", rng.gen_range(1..400)),
            "name": "Synthetic Customer Ltd",
            "type": "company",
            "country": delivery,
        },
        "delivery": {"country": delivery, "address_type": "business"},
        "payment_method": "invoice",
        "lines": lines,
    })
}

fn percentiles(name: &str, histogram: &Histogram<u64>) {
    println!(
        "{name:<38} p50 {:>8.1} ms   p95 {:>8.1} ms   p99 {:>8.1} ms   max {:>8.1} ms",
        histogram.value_at_quantile(0.50) as f64 / 1000.0,
        histogram.value_at_quantile(0.95) as f64 / 1000.0,
        histogram.value_at_quantile(0.99) as f64 / 1000.0,
        histogram.max() as f64 / 1000.0,
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pipeline = Pipeline::start()
        .await
        .context("cannot start the pipeline")?;
    let client = reqwest::Client::new();

    // Reads every authority topic, as the authorities would.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &pipeline.brokers)
        .set("group.id", format!("loadgen-{}", pipeline.run))
        .set("auto.offset.reset", "latest")
        .set("topic.metadata.refresh.interval.ms", "1000")
        .create()?;
    consumer.subscribe(&["^alerts\\.[A-Z]{2}$"])?;

    let mut rng = rand::thread_rng();
    let plan: Vec<bool> = (0..args.reports)
        .map(|_| rng.gen_bool(args.suspicious_share))
        .collect();
    let reports: Vec<serde_json::Value> = plan
        .iter()
        .enumerate()
        .map(|(index, suspicious)| synthetic_report(&pipeline.run, index, *suspicious, &mut rng))
        .collect();

    // Let the consumer join before the first alert can arrive.
    let _ = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await;

    let expected: usize = plan.iter().filter(|s| **s).count();
    let collector = tokio::spawn(async move {
        let mut end_to_end = Histogram::<u64>::new(3).expect("histogram");
        let mut first_seen: HashSet<String> = HashSet::new();
        let mut deliveries = 0usize;
        let deadline = Instant::now() + Duration::from_secs(3600);
        while first_seen.len() < expected && Instant::now() < deadline {
            let Ok(message) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await
            else {
                continue;
            };
            let Ok(message) = message else { continue };
            let Ok(alert) = events::decode::<events::Alert>(message.payload().unwrap_or_default())
            else {
                continue;
            };
            deliveries += 1;
            let waited = (events::seconds_since(alert.submitted_at) * 1e6) as u64;
            end_to_end.record(waited).ok();
            first_seen.insert(alert.report_id);
        }
        (end_to_end, first_seen.len(), deliveries)
    });

    let limit = Arc::new(Semaphore::new(args.concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(reports.len());
    let pace = (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate));
    for (index, report) in reports.into_iter().enumerate() {
        if let Some(pace) = pace {
            tokio::time::sleep_until(tokio::time::Instant::from_std(
                started + pace * index as u32,
            ))
            .await;
        }
        let permit = limit.clone().acquire_owned().await?;
        let client = client.clone();
        let url = format!("{}/v1/reports", pipeline.ingest_url);
        let key = pipeline.api_key.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let response = client.post(url).bearer_auth(key).json(&report).send().await;
            drop(permit);
            let accepted = matches!(&response, Ok(r) if r.status() == 202);
            (accepted, sent.elapsed())
        }));
    }
    let mut http = Histogram::<u64>::new(3)?;
    let mut accepted = 0usize;
    for task in tasks {
        let (ok, elapsed) = task.await?;
        accepted += usize::from(ok);
        http.record(elapsed.as_micros() as u64).ok();
    }
    let submit_seconds = started.elapsed().as_secs_f64();

    let drain = Duration::from_secs(args.drain_seconds);
    let (end_to_end, alerted_reports, deliveries) =
        match tokio::time::timeout(drain, collector).await {
            Ok(result) => result?,
            Err(_) => anyhow::bail!(
                "the alerts of {expected} suspicious reports did not all arrive within {drain:?}"
            ),
        };
    let total_seconds = started.elapsed().as_secs_f64();

    let pacing = if args.rate > 0.0 {
        format!("paced at {} reports/s", args.rate)
    } else {
        "unpaced".to_owned()
    };
    println!(
        "precursor-watch loadgen: {} reports, {} in flight, {pacing}, {:.0}% with a scheduled chemical",
        args.reports,
        args.concurrency,
        args.suspicious_share * 100.0
    );
    println!(
        "accepted (202)                          {accepted} of {}",
        args.reports
    );
    println!(
        "submission rate                         {:.0} reports/s over {submit_seconds:.1} s",
        accepted as f64 / submit_seconds
    );
    println!("alerted reports                         {alerted_reports} of {expected} expected, {deliveries} authority deliveries");
    println!("end-to-end rate                         {:.0} reports/s (last alert after {total_seconds:.1} s)", accepted as f64 / total_seconds);
    percentiles("HTTP submit latency", &http);
    percentiles("submission to authority topic", &end_to_end);
    pipeline.stop().await?;
    Ok(())
}
