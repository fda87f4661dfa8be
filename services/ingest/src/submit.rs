//! `ingest submit`: a company's batch of reports (JSON Lines) sent to the company API, each
//! retried while the API asks to wait (429, 503 with `Retry-After`) or cannot be reached, with a
//! progress bar. One result per input line on standard output, in input order.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use runtime::{ExposeSecret as _, Progress, SecretString};
use serde::Serialize;

/// Settings of `ingest submit`.
#[derive(Debug, Clone, clap::Args)]
pub struct SubmitArgs {
    /// Base URL of the company API.
    #[arg(long, env = "PW_INGEST_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The company's API key (`pw_...`).
    #[arg(long = "api-key", env = "PW_API_KEY", hide_env_values = true, value_parser = runtime::secret)]
    pub api_key: SecretString,
    /// Reports sent at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// How long to keep retrying one report while the API asks to wait, in seconds.
    #[arg(long = "give-up-after", default_value_t = 600)]
    pub give_up_after: u64,
    /// JSON Lines file with one report per line (`-` for standard input).
    pub input: PathBuf,
}

/// The outcome of one input line.
#[derive(Debug, Serialize)]
struct Outcome {
    line: usize,
    /// The final HTTP status; absent when the API could not be reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    /// The receipt (2xx) or the API's error document.
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Sends every report; returns how many were not accepted.
pub async fn submit(args: &SubmitArgs) -> anyhow::Result<usize> {
    let reader: Box<dyn std::io::BufRead> = if args.input.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(&args.input)
            .with_context(|| format!("cannot open {}", args.input.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut reports = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.context("cannot read the input")?;
        if !line.trim().is_empty() {
            reports.push((index + 1, line));
        }
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let endpoint = format!("{}/v1/reports", args.url.trim_end_matches('/'));
    let progress = Progress::new(Some(reports.len() as u64), "reports");
    let give_up = Duration::from_secs(args.give_up_after);
    let mut outcomes = futures::stream::iter(reports.into_iter().map(|(line, text)| {
        let (client, endpoint, key, progress) =
            (&client, &endpoint, args.api_key.expose_secret(), &progress);
        async move {
            let outcome = send(client, endpoint, key, line, text, give_up).await;
            progress.inc(1);
            outcome
        }
    }))
    .buffered(args.concurrency.max(1));
    let mut failed = 0;
    let mut stdout = std::io::stdout().lock();
    while let Some(outcome) = outcomes.next().await {
        if !outcome
            .status
            .is_some_and(|status| (200..300).contains(&status))
        {
            failed += 1;
        }
        serde_json::to_writer(&mut stdout, &outcome)?;
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    drop(outcomes);
    eprintln!("submitted {}, {failed} not accepted", progress.finish());
    Ok(failed)
}

/// Sends one report until it is answered for good or `give_up` passes.
async fn send(
    client: &reqwest::Client,
    endpoint: &str,
    key: &str,
    line: usize,
    text: String,
    give_up: Duration,
) -> Outcome {
    let started = Instant::now();
    let mut last_error = String::new();
    loop {
        let response = client
            .post(endpoint)
            .bearer_auth(key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(text.clone())
            .send()
            .await;
        let wait = match response {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse::<u64>().ok());
                let body: Option<serde_json::Value> = response.json().await.ok();
                let waiting = matches!(status.as_u16(), 429 | 503);
                if !waiting || started.elapsed() >= give_up {
                    return Outcome {
                        line,
                        status: Some(status.as_u16()),
                        body,
                        error: None,
                    };
                }
                Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 60))
            }
            Err(error) => {
                last_error = error.to_string();
                Duration::from_secs(1)
            }
        };
        if started.elapsed() + wait > give_up {
            return Outcome {
                line,
                status: None,
                body: None,
                error: Some(format!("gave up after {:?}: {last_error}", give_up)),
            };
        }
        tokio::time::sleep(wait).await;
    }
}
