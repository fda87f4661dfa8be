//! Watching the services: their readiness and, from their `/metrics` pages, the pipeline's
//! throughput, consumer lag, outbox depth and dead letters, sampled at a fixed interval and kept
//! for the last hour.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_parse::{Scrape, Value};
use tokio_util::sync::CancellationToken;

/// How long the history reaches back.
pub const HISTORY: Duration = Duration::from_secs(3600);

/// A service to watch: its name and where its admin server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    /// The admin server's base url (`http://host:port`).
    pub url: String,
    /// Whether every address `host` resolves to is an instance of the service (`dns://`): a
    /// headless Kubernetes Service or a scaled compose service.
    pub discover: bool,
}

impl std::str::FromStr for Target {
    type Err = String;

    /// `name=http://host:port`, or `name=dns://host:port` for every address of `host`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, url) = text
            .split_once('=')
            .ok_or_else(|| format!("expected name=url, got {text:?}"))?;
        let (name, url) = (name.trim(), url.trim().trim_end_matches('/'));
        if name.is_empty() {
            return Err(format!("no service name in {text:?}"));
        }
        if let Some(address) = url.strip_prefix("dns://") {
            let port_given = address
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !port_given {
                return Err(format!(
                    "the admin address of {name} must be dns://host:port, got {url:?}"
                ));
            }
            return Ok(Self {
                name: name.to_owned(),
                url: format!("http://{address}"),
                discover: true,
            });
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "the admin url of {name} must start with http://, https:// or dns://, got {url:?}"
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            url: url.to_owned(),
            discover: false,
        })
    }
}

impl Target {
    /// A target at one url.
    pub fn at(name: &str, url: &str) -> Self {
        Self {
            name: name.to_owned(),
            url: url.to_owned(),
            discover: false,
        }
    }

    /// `host:port` of the url.
    fn address(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, rest)| rest);
        rest.split('/').next().unwrap_or(rest)
    }
}

/// Finds the addresses a name resolves to; the system resolver unless a test gives another.
pub type Resolver = Arc<
    dyn Fn(String) -> futures::future::BoxFuture<'static, std::io::Result<Vec<SocketAddr>>>
        + Send
        + Sync,
>;

fn system_resolver() -> Resolver {
    Arc::new(|address: String| {
        Box::pin(async move { Ok(tokio::net::lookup_host(address).await?.collect()) })
    })
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
    /// Messages its consumers have not taken yet, summed over partitions and instances.
    pub lag: Option<f64>,
    /// Instances found and how many of them are ready (1 and 0 or 1 without discovery).
    pub instances: usize,
    pub ready_instances: usize,
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

/// What one instance answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The instance's admin url.
    pub url: String,
    pub health: Health,
    pub reading: Option<Reading>,
}

struct State {
    services: Vec<ServiceStatus>,
    /// The last reading of each instance, by url, to tell growth.
    last: HashMap<String, Reading>,
    history: VecDeque<Sample>,
}

/// The watched services and the last hour of samples; cheap to clone.
#[derive(Clone)]
pub struct Monitor {
    targets: Arc<Vec<Target>>,
    state: Arc<Mutex<State>>,
    resolver: Resolver,
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
                instances: 0,
                ready_instances: 0,
            })
            .collect();
        Self {
            targets: Arc::new(targets),
            state: Arc::new(Mutex::new(State {
                services,
                last: HashMap::new(),
                history: VecDeque::new(),
            })),
            resolver: system_resolver(),
        }
    }

    /// The same, finding the instances of `dns://` targets with `resolver`.
    pub fn with_resolver(targets: Vec<Target>, resolver: Resolver) -> Self {
        Self {
            resolver,
            ..Self::new(targets)
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
            // Not tied to the interval: a slow answer is slow, not down.
            .timeout(Duration::from_secs(5))
            .build()?;
        loop {
            self.check(&client).await;
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Checks every instance of every service once, all at the same time, and records a
    /// sample.
    pub async fn check(&self, client: &reqwest::Client) {
        let checks = self
            .targets
            .iter()
            .map(|target| self.check_target(client, target));
        let answers = futures::future::join_all(checks).await;
        self.record(events::now_micros(), answers);
    }

    /// The instances of a target: its url, or one url per address its host resolves to.
    async fn instances(&self, target: &Target) -> Vec<String> {
        if !target.discover {
            return vec![target.url.clone()];
        }
        match (self.resolver)(target.address().to_owned()).await {
            Ok(mut addresses) => {
                addresses.sort();
                addresses.dedup();
                addresses
                    .into_iter()
                    .map(|address| format!("http://{address}"))
                    .collect()
            }
            Err(error) => {
                tracing::debug!(service = %target.name, error = %error, "cannot resolve the service's instances");
                Vec::new()
            }
        }
    }

    async fn check_target(&self, client: &reqwest::Client, target: &Target) -> Vec<Answer> {
        let instances = self.instances(target).await;
        let checks = instances.into_iter().map(|url| async move {
            let (health, reading) = check(client, &target.name, &url).await;
            Answer {
                url,
                health,
                reading,
            }
        });
        futures::future::join_all(checks).await
    }

    fn record(&self, at: i64, answers: Vec<Vec<Answer>>) {
        let mut state = self.lock();
        let mut sample = Sample {
            at,
            ..Sample::default()
        };
        let mut seen = Vec::new();
        for (index, answers) in answers.into_iter().enumerate() {
            let name = self.targets[index].name.clone();
            let ready = answers
                .iter()
                .filter(|answer| answer.health == Health::Ready)
                .count();
            let answering = answers
                .iter()
                .filter(|answer| answer.health != Health::Down)
                .count();
            let health = if answering == 0 {
                Health::Down
            } else if ready == answers.len() {
                Health::Ready
            } else {
                Health::NotReady
            };
            let lags: Vec<f64> = answers
                .iter()
                .filter_map(|answer| answer.reading.as_ref()?.lag)
                .collect();
            let lag = (!lags.is_empty()).then(|| lags.iter().fold(0.0, |sum, lag| sum + lag));
            {
                let service = &mut state.services[index];
                service.health = health;
                service.checked_at = at;
                service.instances = answers.len();
                service.ready_instances = ready;
                if health == Health::Ready {
                    service.ready_at = Some(at);
                }
                service.lag = lag;
            }
            if let Some(lag) = lag {
                *sample.lag.entry(name).or_default() += lag;
            }
            for answer in answers {
                let Some(reading) = answer.reading else {
                    continue;
                };
                if let Some(outbox) = reading.outbox {
                    sample.outbox = Some(sample.outbox.unwrap_or(0.0).max(outbox));
                }
                // The first reading of an instance is its starting point, not growth.
                if let Some(previous) = state.last.get(&answer.url) {
                    sample.received += growth(previous.received, reading.received);
                    sample.rejected += growth(previous.rejected, reading.rejected);
                    sample.screened += growth(previous.screened, reading.screened);
                    sample.delivered += growth(previous.delivered, reading.delivered);
                    sample.dead_letters += growth(previous.dead_letters, reading.dead_letters);
                }
                seen.push(answer.url.clone());
                state.last.insert(answer.url, reading);
            }
        }
        // Forget instances gone away (scaled down); one coming back starts afresh.
        state.last.retain(|url, _| seen.contains(url));
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

/// Asks one instance whether it is ready and reads its metrics.
async fn check(client: &reqwest::Client, name: &str, url: &str) -> (Health, Option<Reading>) {
    let health = match client.get(format!("{url}/readyz")).send().await {
        Ok(response) if response.status().is_success() => Health::Ready,
        Ok(_) => Health::NotReady,
        Err(error) => {
            tracing::debug!(service = %name, url, error = %error, "service does not answer");
            return (Health::Down, None);
        }
    };
    let page = match client.get(format!("{url}/metrics")).send().await {
        Ok(response) if response.status().is_success() => response.text().await.ok(),
        _ => None,
    };
    let reading = page.and_then(|page| match Reading::parse(&page) {
        Ok(reading) => Some(reading),
        Err(error) => {
            tracing::warn!(service = %name, url, error = %error, "cannot read the service's metrics");
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
        assert_eq!(target, Target::at("ingest", "http://127.0.0.1:9101"));
        assert_eq!(target.address(), "127.0.0.1:9101");
        let pods: Target = "matcher=dns://matcher-admin:9102".parse().unwrap();
        assert_eq!(
            (pods.url.as_str(), pods.discover, pods.address()),
            ("http://matcher-admin:9102", true, "matcher-admin:9102")
        );
        assert!("ingest".parse::<Target>().unwrap_err().contains("name=url"));
        assert!("ingest=127.0.0.1:9101"
            .parse::<Target>()
            .unwrap_err()
            .contains("http://"));
        assert!("matcher=dns://matcher-admin"
            .parse::<Target>()
            .unwrap_err()
            .contains("dns://host:port"));
    }

    fn reading(received: f64, lag: f64) -> Reading {
        Reading {
            received,
            lag: Some(lag),
            ..Reading::default()
        }
    }

    fn answer(url: &str, health: Health, reading: Option<Reading>) -> Answer {
        Answer {
            url: url.into(),
            health,
            reading,
        }
    }

    #[test]
    fn samples_hold_growth_across_restarts_and_the_last_hour_only() {
        let monitor = Monitor::new(vec!["ingest=http://a:1".parse().unwrap()]);
        let minute = 60_000_000;
        let one = |health, reading| vec![vec![answer("http://a:1", health, reading)]];
        monitor.record(minute, one(Health::Ready, Some(reading(10.0, 1.0))));
        monitor.record(2 * minute, one(Health::Ready, Some(reading(15.0, 2.0))));
        // Restarted: counts from zero again.
        monitor.record(3 * minute, one(Health::Ready, Some(reading(4.0, 0.0))));
        monitor.record(4 * minute, one(Health::Down, None));
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
            one(Health::Ready, Some(reading(6.0, 0.0))),
        );
        assert_eq!(monitor.history().len(), 2, "older than an hour: dropped");
    }

    #[test]
    fn the_instances_of_a_service_add_up_and_each_counts_from_its_own_start() {
        let monitor = Monitor::new(vec!["matcher=dns://pods:9102".parse().unwrap()]);
        monitor.record(
            1,
            vec![vec![
                answer(
                    "http://10.0.0.1:9102",
                    Health::Ready,
                    Some(reading(100.0, 3.0)),
                ),
                answer(
                    "http://10.0.0.2:9102",
                    Health::Ready,
                    Some(reading(7.0, 4.0)),
                ),
            ]],
        );
        // A third instance joins; the second is not ready.
        monitor.record(
            2,
            vec![vec![
                answer(
                    "http://10.0.0.1:9102",
                    Health::Ready,
                    Some(reading(110.0, 1.0)),
                ),
                answer(
                    "http://10.0.0.2:9102",
                    Health::NotReady,
                    Some(reading(9.0, 1.0)),
                ),
                answer(
                    "http://10.0.0.3:9102",
                    Health::Ready,
                    Some(reading(50.0, 1.0)),
                ),
            ]],
        );
        let history = monitor.history();
        assert_eq!(
            history[1].received, 12.0,
            "10 + 2; the newcomer's 50 is its start"
        );
        assert_eq!(history[0].lag["matcher"], 7.0);
        assert_eq!(history[1].lag["matcher"], 3.0);
        let service = &monitor.services()[0];
        assert_eq!(service.health, Health::NotReady);
        assert_eq!((service.instances, service.ready_instances), (3, 2));
        // None answers: down.
        monitor.record(
            3,
            vec![vec![answer("http://10.0.0.1:9102", Health::Down, None)]],
        );
        assert_eq!(monitor.services()[0].health, Health::Down);
        assert_eq!(monitor.services()[0].ready_instances, 0);
    }
}
