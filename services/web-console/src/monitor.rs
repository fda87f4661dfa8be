//! Watching the services: their readiness and, from their `/metrics` pages, the pipeline's
//! throughput, consumer lag, outbox depth and dead letters, sampled at a fixed interval and kept
//! for the last hour.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_parse::{Scrape, Value};
use tokio_util::sync::CancellationToken;

/// How long the history reaches back.
pub const HISTORY: Duration = Duration::from_secs(3600);

/// A service to watch: its name and the base url of its admin server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub url: String,
}

impl std::str::FromStr for Target {
    type Err = String;

    /// `name=http://host:port`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, url) = text
            .split_once('=')
            .ok_or_else(|| format!("expected name=url, got {text:?}"))?;
        let (name, url) = (name.trim(), url.trim().trim_end_matches('/'));
        if name.is_empty() {
            return Err(format!("no service name in {text:?}"));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "the admin url of {name} must start with http:// or https://, got {url:?}"
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            url: url.to_owned(),
        })
    }
}

/// What a service answered last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not checked yet.
    Unknown,
    /// `/readyz` answered 200.
    Ready,
    /// The service answers but is not ready (its database or broker is away).
    NotReady,
    /// The service does not answer.
    Down,
}

impl Health {
    /// The word shown for it.
    pub fn label(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ready => "ready",
            Health::NotReady => "not ready",
            Health::Down => "down",
        }
    }
}

/// One watched service as last seen.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStatus {
    pub name: String,
    pub url: String,
    pub health: Health,
    /// When it was last checked (microseconds since the epoch), 0 before the first check.
    pub checked_at: i64,
    /// When it last answered ready, if ever.
    pub ready_at: Option<i64>,
    /// Messages its consumers have not taken yet, summed over partitions.
    pub lag: Option<f64>,
}

/// What happened between two samples, over every watched service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// When it was taken (microseconds since the epoch).
    pub at: i64,
    /// Reports accepted by ingest since the previous sample.
    pub received: f64,
    /// Reports rejected by ingest.
    pub rejected: f64,
    /// Reports screened by the matcher.
    pub screened: f64,
    /// Alerts delivered to authority topics.
    pub delivered: f64,
    /// Messages sent to dead-letter topics.
    pub dead_letters: f64,
    /// Consumer lag by service at that moment.
    pub lag: BTreeMap<String, f64>,
    /// Outbox messages waiting to be published at that moment.
    pub outbox: Option<f64>,
}

/// The counters and gauges the console reads from one `/metrics` page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub received: f64,
    pub rejected: f64,
    pub screened: f64,
    pub delivered: f64,
    pub dead_letters: f64,
    pub lag: Option<f64>,
    pub outbox: Option<f64>,
}

fn value(sample: &prometheus_parse::Sample) -> Option<f64> {
    match sample.value {
        Value::Counter(value) | Value::Gauge(value) | Value::Untyped(value) => Some(value),
        _ => None,
    }
}

impl Reading {
    /// Reads a Prometheus text page. The names are the services' own (`pw_<service>_...`);
    /// consumer lag and dead letters are read from every service that has them.
    pub fn parse(page: &str) -> std::io::Result<Self> {
        let scrape = Scrape::parse(page.lines().map(|line| Ok(line.to_owned())))?;
        let mut reading = Reading::default();
        for sample in &scrape.samples {
            let Some(value) = value(sample) else { continue };
            let name = sample.metric.as_str();
            match name {
                "pw_ingest_reports_total" => match sample.labels.get("result") {
                    Some("accepted") => reading.received += value,
                    Some("rejected") => reading.rejected += value,
                    _ => {}
                },
                "pw_matcher_reports_screened_total" => reading.screened += value,
                "pw_router_alerts_delivered_total" => reading.delivered += value,
                "pw_ingest_outbox_depth" => reading.outbox = Some(value),
                _ if name.ends_with("_dead_letters_total") => reading.dead_letters += value,
                _ if name.ends_with("_consumer_lag") && value >= 0.0 => {
                    *reading.lag.get_or_insert(0.0) += value;
                }
                _ => {}
            }
        }
        Ok(reading)
    }
}

/// How much a counter grew; a smaller value means the service restarted and counted afresh.
fn growth(previous: f64, current: f64) -> f64 {
    if current >= previous {
        current - previous
    } else {
        current
    }
}

struct State {
    services: Vec<ServiceStatus>,
    /// The last reading of each service, to tell growth.
    last: HashMap<String, Reading>,
    history: VecDeque<Sample>,
}

/// The watched services and the last hour of samples; cheap to clone.
#[derive(Clone)]
pub struct Monitor {
    targets: Arc<Vec<Target>>,
    state: Arc<Mutex<State>>,
}

impl Monitor {
    /// Watches `targets`; nothing is checked before [`Monitor::run`].
    pub fn new(targets: Vec<Target>) -> Self {
        let services = targets
            .iter()
            .map(|target| ServiceStatus {
                name: target.name.clone(),
                url: target.url.clone(),
                health: Health::Unknown,
                checked_at: 0,
                ready_at: None,
                lag: None,
            })
            .collect();
        Self {
            targets: Arc::new(targets),
            state: Arc::new(Mutex::new(State {
                services,
                last: HashMap::new(),
                history: VecDeque::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the state whole; a panic elsewhere cannot break it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The services as last seen, in the configured order.
    pub fn services(&self) -> Vec<ServiceStatus> {
        self.lock().services.clone()
    }

    /// The samples of the last hour, oldest first.
    pub fn history(&self) -> Vec<Sample> {
        self.lock().history.iter().cloned().collect()
    }

    /// Checks every service each `every` until shutdown.
    pub async fn run(self, every: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(every.min(Duration::from_secs(5)))
            .build()?;
        loop {
            self.check(&client).await;
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Checks every service once, all at the same time, and records a sample.
    pub async fn check(&self, client: &reqwest::Client) {
        let checks = self.targets.iter().map(|target| check(client, target));
        let results = futures::future::join_all(checks).await;
        self.record(events::now_micros(), results);
    }

    fn record(&self, at: i64, results: Vec<(Health, Option<Reading>)>) {
        let mut state = self.lock();
        let mut sample = Sample {
            at,
            ..Sample::default()
        };
        for (index, (health, reading)) in results.into_iter().enumerate() {
            let name = self.targets[index].name.clone();
            let service = &mut state.services[index];
            service.health = health;
            service.checked_at = at;
            if health == Health::Ready {
                service.ready_at = Some(at);
            }
            service.lag = reading.as_ref().and_then(|reading| reading.lag);
            let Some(reading) = reading else { continue };
            if let Some(lag) = reading.lag {
                *sample.lag.entry(name.clone()).or_default() += lag;
            }
            if let Some(outbox) = reading.outbox {
                sample.outbox = Some(sample.outbox.unwrap_or(0.0).max(outbox));
            }
            // The first reading of a service is its starting point, not growth.
            if let Some(previous) = state.last.get(&self.targets[index].url) {
                sample.received += growth(previous.received, reading.received);
                sample.rejected += growth(previous.rejected, reading.rejected);
                sample.screened += growth(previous.screened, reading.screened);
                sample.delivered += growth(previous.delivered, reading.delivered);
                sample.dead_letters += growth(previous.dead_letters, reading.dead_letters);
            }
            state.last.insert(self.targets[index].url.clone(), reading);
        }
        let horizon = at - i64::try_from(HISTORY.as_micros()).unwrap_or(i64::MAX);
        while state
            .history
            .front()
            .is_some_and(|oldest| oldest.at < horizon)
        {
            state.history.pop_front();
        }
        state.history.push_back(sample);
    }
}

/// Asks one service whether it is ready and reads its metrics.
async fn check(client: &reqwest::Client, target: &Target) -> (Health, Option<Reading>) {
    let health = match client.get(format!("{}/readyz", target.url)).send().await {
        Ok(response) if response.status().is_success() => Health::Ready,
        Ok(_) => Health::NotReady,
        Err(error) => {
            tracing::debug!(service = %target.name, error = %error, "service does not answer");
            return (Health::Down, None);
        }
    };
    let page = match client.get(format!("{}/metrics", target.url)).send().await {
        Ok(response) if response.status().is_success() => response.text().await.ok(),
        _ => None,
    };
    let reading = page.and_then(|page| match Reading::parse(&page) {
        Ok(reading) => Some(reading),
        Err(error) => {
            tracing::warn!(service = %target.name, error = %error, "cannot read the service's metrics");
            None
        }
    });
    (health, reading)
}

/// Per-minute totals of the last hour, oldest first, for the charts: 60 buckets ending with the
/// minute of `now`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Minutes {
    pub received: Vec<f64>,
    pub screened: Vec<f64>,
    pub delivered: Vec<f64>,
    pub dead_letters: Vec<f64>,
    /// Lag by service, the last value seen in each minute (None where no sample fell).
    pub lag: BTreeMap<String, Vec<Option<f64>>>,
}

/// Buckets `history` by minute.
pub fn per_minute(history: &[Sample], now: i64) -> Minutes {
    const MINUTE: i64 = 60_000_000;
    const BUCKETS: usize = 60;
    let last_minute = now.div_euclid(MINUTE);
    let mut minutes = Minutes {
        received: vec![0.0; BUCKETS],
        screened: vec![0.0; BUCKETS],
        delivered: vec![0.0; BUCKETS],
        dead_letters: vec![0.0; BUCKETS],
        lag: BTreeMap::new(),
    };
    for sample in history {
        let age = last_minute - sample.at.div_euclid(MINUTE);
        let Ok(age) = usize::try_from(age) else {
            continue;
        };
        if age >= BUCKETS {
            continue;
        }
        let bucket = BUCKETS - 1 - age;
        minutes.received[bucket] += sample.received;
        minutes.screened[bucket] += sample.screened;
        minutes.delivered[bucket] += sample.delivered;
        minutes.dead_letters[bucket] += sample.dead_letters;
        for (service, lag) in &sample.lag {
            minutes
                .lag
                .entry(service.clone())
                .or_insert_with(|| vec![None; BUCKETS])[bucket] = Some(*lag);
        }
    }
    minutes
}

#[cfg(test)]
mod tests {
    use super::*;

    const INGEST_PAGE: &str = "\
# HELP pw_ingest_reports_total Report submissions by result
# TYPE pw_ingest_reports_total counter
pw_ingest_reports_total{result=\"accepted\"} 7
pw_ingest_reports_total{result=\"duplicate\"} 2
pw_ingest_reports_total{result=\"rejected\"} 3
# HELP pw_ingest_outbox_depth Outbox messages waiting to be published
# TYPE pw_ingest_outbox_depth gauge
pw_ingest_outbox_depth 4
# HELP pw_ingest_consumer_lag Messages on a partition the consumer has not consumed yet
# TYPE pw_ingest_consumer_lag gauge
pw_ingest_consumer_lag{partition=\"0\",topic=\"orders.screened\"} 5
pw_ingest_consumer_lag{partition=\"1\",topic=\"orders.screened\"} 6
# HELP pw_ingest_dead_letters_total Messages sent to a dead-letter topic
# TYPE pw_ingest_dead_letters_total counter
pw_ingest_dead_letters_total{error_class=\"invalid\",topic=\"orders.screened\"} 1
";

    #[test]
    fn a_metrics_page_gives_the_pipeline_figures() {
        let reading = Reading::parse(INGEST_PAGE).unwrap();
        assert_eq!(
            reading,
            Reading {
                received: 7.0,
                rejected: 3.0,
                dead_letters: 1.0,
                lag: Some(11.0),
                outbox: Some(4.0),
                ..Reading::default()
            }
        );
        let matcher = "# TYPE pw_matcher_reports_screened_total counter\n\
             pw_matcher_reports_screened_total{outcome=\"clear\"} 5\n\
             pw_matcher_reports_screened_total{outcome=\"alert\"} 2\n";
        assert_eq!(Reading::parse(matcher).unwrap().screened, 7.0);
        assert_eq!(Reading::parse(matcher).unwrap().lag, None);
    }

    #[test]
    fn targets_are_name_equals_url() {
        let target: Target = "ingest=http://127.0.0.1:9101/".parse().unwrap();
        assert_eq!(target.name, "ingest");
        assert_eq!(target.url, "http://127.0.0.1:9101");
        assert!("ingest".parse::<Target>().unwrap_err().contains("name=url"));
        assert!("ingest=127.0.0.1:9101"
            .parse::<Target>()
            .unwrap_err()
            .contains("http://"));
    }

    fn reading(received: f64, lag: f64) -> Reading {
        Reading {
            received,
            lag: Some(lag),
            ..Reading::default()
        }
    }

    #[test]
    fn samples_hold_growth_across_restarts_and_the_last_hour_only() {
        let monitor = Monitor::new(vec!["ingest=http://a:1".parse().unwrap()]);
        let minute = 60_000_000;
        monitor.record(minute, vec![(Health::Ready, Some(reading(10.0, 1.0)))]);
        monitor.record(2 * minute, vec![(Health::Ready, Some(reading(15.0, 2.0)))]);
        // Restarted: counts from zero again.
        monitor.record(3 * minute, vec![(Health::Ready, Some(reading(4.0, 0.0)))]);
        monitor.record(4 * minute, vec![(Health::Down, None)]);
        let history = monitor.history();
        let received: Vec<f64> = history.iter().map(|sample| sample.received).collect();
        assert_eq!(received, [0.0, 5.0, 4.0, 0.0]);
        let services = monitor.services();
        assert_eq!(services[0].health, Health::Down);
        assert_eq!(services[0].ready_at, Some(3 * minute));
        assert_eq!(services[0].lag, None);

        let minutes = per_minute(&history, 4 * minute);
        assert_eq!(minutes.received[56..], [0.0, 5.0, 4.0, 0.0]);
        assert_eq!(
            minutes.lag["ingest"][56..],
            [Some(1.0), Some(2.0), Some(0.0), None]
        );

        monitor.record(
            4 * minute + 3_600_000_000,
            vec![(Health::Ready, Some(reading(6.0, 0.0)))],
        );
        assert_eq!(monitor.history().len(), 2, "older than an hour: dropped");
    }
}
