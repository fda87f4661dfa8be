//! The end-to-end benchmark: starts ingest, matcher, router and authorities against the real
//! Kafka and PostgreSQL, offers synthetic order reports over HTTP in an open loop at a target
//! rate, reads every authority topic as the authorities would, and prints the steady-state
//! throughput, latency percentiles, lost and duplicated alerts, what each process cost, and a raw
//! Kafka produce-and-consume baseline measured in the same run.
//!
//! Every report has an intended send time, `start + i / rate`, and latencies count from it, not
//! from when the request actually left: a pipeline that stalls cannot hide behind a load
//! generator that stalled with it (no coordinated omission). Request bodies are serialized before
//! the clock starts.
//!
//! `cargo build --release --workspace --bins && target/release/loadgen --rate 500`

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message as _, Offset, TopicPartitionList};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use system_tests::Pipeline;
use tokio::sync::{mpsc, watch, Semaphore};

/// Offers synthetic order reports to the whole pipeline at a fixed rate (open loop) and prints
/// what came out of it, next to a raw Kafka baseline.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Args {
    /// Reports per second to offer, whatever the responses (open loop).
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Seconds of the measured window.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Seconds at the same rate before the window, left out of the figures.
    #[arg(long, default_value_t = 10)]
    warmup_seconds: u64,
    /// Most requests in flight (and so connections); a send beyond it waits for a slot, and its
    /// latency still counts from its intended time.
    #[arg(long, default_value_t = 2048)]
    max_in_flight: usize,
    /// Share of reports with a scheduled chemical on their first line.
    #[arg(long, default_value_t = 0.3)]
    suspicious_share: f64,
    /// Distinct buyers; each report's buyer is drawn from them with a Zipf-like skew.
    #[arg(long, default_value_t = 20_000)]
    parties: usize,
    /// Exponent s of the buyers' skew: the buyer of rank r is drawn with weight 1 / r^s.
    #[arg(long, default_value_t = 1.0)]
    zipf_exponent: f64,
    /// Reporting companies, each with its own API key; reports go to them in turn.
    #[arg(long, default_value_t = 4)]
    companies: usize,
    /// Messages of the raw Kafka baseline, raised to the reports of the window; 0 skips it.
    #[arg(long, default_value_t = 100_000)]
    baseline_messages: usize,
    /// Seconds to wait after the last response for the pipeline to deliver what is left.
    #[arg(long, default_value_t = 120)]
    drain_seconds: u64,
    /// Seed of the synthetic workload: runs with one seed offer the same reports.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl Args {
    fn check(&self) -> anyhow::Result<()> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            bail!("--rate: give a positive number of reports per second");
        }
        if self.seconds == 0 {
            bail!("--seconds: the measured window needs at least one second");
        }
        if !(0.0..=1.0).contains(&self.suspicious_share) {
            bail!("--suspicious-share: give a share between 0 and 1");
        }
        if self.parties == 0 || self.companies == 0 || self.max_in_flight == 0 {
            bail!("--parties, --companies and --max-in-flight must be at least 1");
        }
        if !(self.zipf_exponent.is_finite() && self.zipf_exponent >= 0.0) {
            bail!("--zipf-exponent: give a number of 0 or more");
        }
        Ok(())
    }

    /// Reports of the warm-up and of the whole run.
    fn report_counts(&self) -> (usize, usize) {
        let warmup = (self.warmup_seconds as f64 * self.rate).round() as usize;
        let total = ((self.warmup_seconds + self.seconds) as f64 * self.rate).round() as usize;
        (warmup, total)
    }
}

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Sends of the Kafka baseline awaiting their acknowledgement at once.
const BASELINE_OUTSTANDING: usize = 10_000;
/// Authority topics: `alerts.` and a two-letter country code (after the namespace).
const AUTHORITY_TOPICS: &str = "alerts\\.[A-Z]{2}$";
/// No new alert for this long, with the consumer services caught up, ends the wait.
const QUIET: Duration = Duration::from_secs(10);
/// Lost reports whose status is asked of ingest, to tell why.
const LOST_LOOKUPS: usize = 500;

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

/// Countries of buyers and deliveries, with the legal form a company there would carry.
const COUNTRIES: &[(&str, &str)] = &[
    ("DE", "GmbH"),
    ("NL", "BV"),
    ("BE", "NV"),
    ("FR", "SARL"),
    ("PL", "Sp. z o.o."),
    ("IT", "S.r.l."),
    ("ES", "S.L."),
    ("GB", "Ltd"),
    ("US", "Inc."),
    ("IN", "Pvt. Ltd"),
    ("CN", "Co., Ltd"),
    ("MX", "S.A. de C.V."),
    ("ZA", "(Pty) Ltd"),
    ("TR", "A.S."),
];

/// The reporting companies after the pipeline's own (which is German).
const COMPANIES: &[(&str, &str)] = &[
    ("Nordzee Chemie BV", "NL"),
    ("Chimie du Rhone SA", "FR"),
    ("Vistula Chem Sp. z o.o.", "PL"),
    ("Antwerp Solvents NV", "BE"),
    ("Po Valley Reagents S.r.l.", "IT"),
    ("Iberia Quimica S.L.", "ES"),
];

// ---------------------------------------------------------------------------------------------
// The workload

/// A buyer; every company may sell to it, each under its own customer number.
struct Party {
    number: usize,
    name: String,
    kind: &'static str,
    country: &'static str,
    registration_number: Option<String>,
}

fn parties(count: usize, rng: &mut StdRng) -> Vec<Party> {
    (0..count)
        .map(|number| {
            let (country, legal_form) = *COUNTRIES.choose(rng).unwrap_or(&COUNTRIES[0]);
            let kind = match rng.gen_range(0..20) {
                0..=13 => "company",
                14..=16 => "distributor",
                17 => "pharmacy",
                _ => "laboratory",
            };
            Party {
                number,
                name: format!("Synthetic Buyer {number} {legal_form}"),
                kind,
                country,
                registration_number: rng
                    .gen_bool(1.0 / 3.0)
                    .then(|| format!("{country}{:09}", 100_000_000 + number)),
            }
        })
        .collect()
}

/// Draws ranks 0..n, rank r with weight 1 / (r + 1)^s.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, exponent: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(exponent);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.gen::<f64>() * total;
        self.cumulative
            .partition_point(|weight| *weight < target)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

/// A company that reports, with its credentials ready to send.
struct Company {
    country: &'static str,
    authorization: HeaderValue,
    api_key: String,
}

/// The pipeline's company, then `count - 1` more registered the way the pipeline registers its own.
async fn companies(pipeline: &Pipeline, count: usize) -> anyhow::Result<Vec<Company>> {
    let mut keys = vec![("DE", pipeline.api_key.clone())];
    for number in 1..count {
        let (name, country) = COMPANIES[(number - 1) % COMPANIES.len()];
        let id = format!("loadgen-company-{number}");
        let args = [
            "create-company",
            "--id",
            &id,
            "--name",
            name,
            "--country",
            country,
        ];
        let printed = system_tests::run_cli("ingest", &pipeline.database_url, &args)
            .await
            .with_context(|| format!("cannot create company {id}"))?;
        keys.push((country, system_tests::printed_api_key(&printed)?));
    }
    keys.into_iter()
        .map(|(country, api_key)| {
            let mut authorization = HeaderValue::from_str(&format!("Bearer {api_key}"))
                .context("the api key does not fit in a header")?;
            authorization.set_sensitive(true);
            Ok(Company {
                country,
                authorization,
                api_key,
            })
        })
        .collect()
}

/// The reports of the run, serialized.
struct Workload {
    bodies: Vec<Vec<u8>>,
    /// Index into the companies, by report.
    company: Vec<usize>,
    /// Whether the report carries a scheduled chemical, by report.
    suspicious: Vec<bool>,
    /// Reports with a buyer that has a registration number.
    registered: usize,
    /// Distinct buyers among the reports.
    distinct_parties: usize,
}

fn workload(
    args: &Args,
    prefix: &str,
    companies: &[Company],
    total: usize,
) -> anyhow::Result<Workload> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let parties = parties(args.parties, &mut rng);
    let zipf = Zipf::new(parties.len(), args.zipf_exponent);
    let order_date = chrono::Utc::now().date_naive().to_string();
    let mut workload = Workload {
        bodies: Vec::with_capacity(total),
        company: Vec::with_capacity(total),
        suspicious: Vec::with_capacity(total),
        registered: 0,
        distinct_parties: 0,
    };
    let mut buyers = HashSet::new();
    for index in 0..total {
        let company = index % companies.len();
        let party = &parties[zipf.sample(&mut rng)];
        let suspicious = rng.gen_bool(args.suspicious_share);
        let report = Report {
            reference: format!("{prefix}{index}"),
            company: (company, &companies[company]),
            party,
            suspicious,
            order_date: &order_date,
        };
        workload
            .bodies
            .push(serde_json::to_vec(&report.to_json(&mut rng))?);
        workload.company.push(company);
        workload.suspicious.push(suspicious);
        workload.registered += usize::from(party.registration_number.is_some());
        buyers.insert(party.number);
    }
    workload.distinct_parties = buyers.len();
    Ok(workload)
}

/// One synthetic report before it is written out.
struct Report<'a> {
    reference: String,
    company: (usize, &'a Company),
    party: &'a Party,
    suspicious: bool,
    order_date: &'a str,
}

impl Report<'_> {
    /// The report as the accepted JSON document (services/ingest/src/report.rs).
    fn to_json(&self, rng: &mut StdRng) -> serde_json::Value {
        let (company_number, company) = self.company;
        let party = self.party;
        let delivery = if rng.gen_bool(0.9) {
            party.country
        } else {
            COUNTRIES.choose(rng).map_or("NL", |(country, _)| *country)
        };
        let address_type = match rng.gen_range(0..100) {
            0..=89 => "business",
            90..=93 => "forwarder",
            94..=96 => "free_zone",
            _ => "residential",
        };
        let payment_method = match rng.gen_range(0..100) {
            0..=79 => "invoice",
            80..=94 => "bank_transfer",
            95..=97 => "card",
            _ => "cash",
        };
        let line_count = rng.gen_range(1..=4);
        let lines: Vec<serde_json::Value> = (1..=line_count)
            .map(|number| {
                let pool = if self.suspicious && number == 1 {
                    SCHEDULED
                } else {
                    HARMLESS
                };
                let (description, cas, unit) = *pool.choose(rng).unwrap_or(&pool[0]);
                serde_json::json!({
                    "line_number": number,
                    "description": description,
                    "cas": cas,
                    "quantity": rng.gen_range(1..500),
                    "unit": unit,
                })
            })
            .collect();
        let mut customer = serde_json::json!({
            // Each company numbers its customers its own way.
            "id": format!("K{company_number}-{}", party.number * 7 + company_number),
            "name": party.name,
            "type": party.kind,
            "country": party.country,
        });
        if let Some(registration_number) = &party.registration_number {
            customer["registration_number"] = registration_number.as_str().into();
        }
        serde_json::json!({
            "company_reference": self.reference,
            "supplier_country": company.country,
            "order_date": self.order_date,
            "customer": customer,
            "delivery": {"country": delivery, "address_type": address_type},
            "payment_method": payment_method,
            "lines": lines,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Submitting

/// How ingest answered one report.
#[derive(Debug, Clone)]
struct Answer {
    /// The HTTP status; none when the request failed before a response.
    status: Option<u16>,
    /// The refusal's `error` code, or what went wrong on the way.
    problem: Option<String>,
    report_id: Option<String>,
    sent: Instant,
    done: Instant,
}

#[derive(Default, Deserialize)]
struct Reply {
    report_id: Option<String>,
    error: Option<String>,
}

async fn submit(request: reqwest::RequestBuilder) -> Answer {
    let sent = Instant::now();
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            let problem = if error.is_timeout() {
                "timeout"
            } else if error.is_connect() {
                "connect"
            } else {
                "request"
            };
            return Answer {
                status: None,
                problem: Some(problem.to_owned()),
                report_id: None,
                sent,
                done: Instant::now(),
            };
        }
    };
    let status = response.status().as_u16();
    let body = response.bytes().await;
    let done = Instant::now();
    let reply: Reply = match &body {
        Ok(body) => serde_json::from_slice(body).unwrap_or_default(),
        Err(_) => Reply {
            report_id: None,
            error: Some("body".to_owned()),
        },
    };
    Answer {
        status: Some(status),
        problem: reply.error,
        report_id: reply.report_id,
        sent,
        done,
    }
}

/// How the open loop kept to its schedule.
struct Schedule {
    /// Actual send time minus intended send time, in microseconds.
    lag: Histogram<u64>,
    /// Sends that found every in-flight slot taken and waited for one.
    waited_for_slot: usize,
}

// ---------------------------------------------------------------------------------------------
// Reading the authority topics

/// One alert as the loadgen's consumer received it from an authority topic.
struct Delivery {
    report: usize,
    alert_id: String,
    topic: String,
    received: Instant,
    /// From the report's `submitted_at` (ingest's clock) to its receipt here, in microseconds.
    since_submission: u64,
}

/// What the reader of the authority topics saw.
#[derive(Default)]
struct Seen {
    /// When the first alert about each report arrived, by report index.
    first_alert: Vec<Option<Instant>>,
    deliveries: Vec<Delivery>,
    /// Messages read, by (topic, partition, offset): a rebalance rewinds to the last commit, and
    /// a message read again is the same message, not a duplicate.
    positions: HashSet<(String, i32, i64)>,
    read_again: usize,
    other_runs: usize,
    undecodable: usize,
    errors: usize,
    first_error: Option<String>,
    last: Option<Instant>,
}

/// A consumer of every authority topic of the pipeline's namespace, in a group of its own: the
/// namespace is the run's, so every alert on them is the run's, all read from the start.
/// Blocking.
fn authority_reader(
    brokers: &str,
    group: &str,
    namespace: &kafka::Namespace,
) -> anyhow::Result<StreamConsumer> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("topic.metadata.refresh.interval.ms", "1000")
        .set_log_level(RDKafkaLogLevel::Error)
        .create()
        .context("cannot create the consumer of the authority topics")?;
    // A namespace holds letters, digits, '.', '_' and '-'; of these only '.' means something
    // in a pattern.
    let prefix = namespace.prefix().replace('.', "\\.");
    consumer.subscribe(&[&format!("^{prefix}{AUTHORITY_TOPICS}")])?;
    Ok(consumer)
}

async fn read_alerts(
    consumer: Arc<StreamConsumer>,
    prefix: String,
    seen: Arc<Mutex<Seen>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            _ = stop.changed() => return,
            message = consumer.recv() => message,
        };
        let received = Instant::now();
        let received_micros = events::now_micros();
        let message = match message {
            Ok(message) => message,
            // A topic in the subscription that the broker does not know (yet).
            Err(KafkaError::MessageConsumption(RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                continue
            }
            Err(error) => {
                let mut seen = lock(&seen);
                seen.errors += 1;
                seen.first_error.get_or_insert_with(|| error.to_string());
                continue;
            }
        };
        let alert = events::decode::<events::Alert>(message.payload().unwrap_or_default());
        let mut seen = lock(&seen);
        let position = (
            message.topic().to_owned(),
            message.partition(),
            message.offset(),
        );
        if !seen.positions.insert(position) {
            seen.read_again += 1;
            continue;
        }
        seen.last = Some(received);
        let Ok(alert) = alert else {
            seen.undecodable += 1;
            continue;
        };
        let reports = seen.first_alert.len();
        let Some(report) = alert
            .company_reference
            .strip_prefix(&prefix)
            .and_then(|index| index.parse::<usize>().ok())
            .filter(|index| *index < reports)
        else {
            seen.other_runs += 1;
            continue;
        };
        seen.first_alert[report].get_or_insert(received);
        seen.deliveries.push(Delivery {
            report,
            alert_id: alert.alert_id,
            topic: message.topic().to_owned(),
            received,
            since_submission: u64::try_from(received_micros - alert.submitted_at).unwrap_or(0),
        });
    }
}

/// The loadgen's reader of the authority topics, running in a task of its own.
struct AlertReader {
    seen: Arc<Mutex<Seen>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl AlertReader {
    /// Starts reading; waits until the group has its partitions when authority topics exist.
    async fn start(pipeline: &Pipeline, prefix: &str, reports: usize) -> anyhow::Result<Self> {
        let group = format!("loadgen-{}", pipeline.run);
        let (brokers, namespace) = (pipeline.brokers.clone(), pipeline.namespace.clone());
        let consumer =
            tokio::task::spawn_blocking(move || authority_reader(&brokers, &group, &namespace))
                .await??;
        let consumer = Arc::new(consumer);
        let seen = Arc::new(Mutex::new(Seen {
            first_alert: vec![None; reports],
            ..Seen::default()
        }));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(read_alerts(
            consumer.clone(),
            prefix.to_owned(),
            seen.clone(),
            stopped,
        ));
        Ok(Self { seen, stop, task })
    }

    /// Stops reading; what was seen.
    async fn stop(self) -> anyhow::Result<Seen> {
        self.stop.send(true).ok();
        self.task.await?;
        Ok(std::mem::take(&mut *lock(&self.seen)))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// What the processes cost

/// CPU time of a process (user + system), in clock ticks, or none when it is gone. Blocking.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces: the state is
    // field 3 of proc(5), utime 14 and stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// A field of `/proc/<pid>/status` in kB, e.g. `VmHWM` (peak resident set). Blocking.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    proc_kib(&format!("/proc/{pid}/status"), field)
}

/// A `Name: value kB` field of a /proc file. Blocking.
fn proc_kib(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Clock ticks per second of the CPU times in /proc (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

/// The process group a pid belongs to, for the shared infrastructure on this machine. Blocking.
fn infrastructure(pid: u32) -> Option<&'static str> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    match comm.trim() {
        "postgres" => Some("postgresql"),
        "java" => {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains("kafka")
                .then_some("kafka broker")
        }
        _ => None,
    }
}

/// CPU ticks of every watched process at one moment, and of the whole machine.
struct Snapshot {
    /// Ticks by pid, with the row the pid counts in.
    processes: HashMap<u32, (String, u64)>,
    /// Busy and total ticks of all cores (/proc/stat).
    machine: (u64, u64),
}

/// Blocking.
fn snapshot(watched: &[(String, u32)]) -> Snapshot {
    let mut processes = HashMap::new();
    for (name, pid) in watched {
        if let Some(ticks) = cpu_ticks(*pid) {
            processes.insert(*pid, (name.clone(), ticks));
        }
    }
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let (Some(group), Some(ticks)) = (infrastructure(pid), cpu_ticks(pid)) {
                processes.entry(pid).or_insert((group.to_owned(), ticks));
            }
        }
    }
    Snapshot {
        processes,
        machine: machine_ticks().unwrap_or((0, 0)),
    }
}

fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = cpu
        .split_whitespace()
        .filter_map(|field| field.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle, total))
}

/// Seconds of CPU each row spent between two snapshots; a process started in between counts
/// from zero.
fn cpu_between(start: &Snapshot, end: &Snapshot, ticks_per_second: f64) -> BTreeMap<String, f64> {
    let mut rows = BTreeMap::new();
    for (pid, (row, ticks)) in &end.processes {
        let before = start.processes.get(pid).map_or(0, |(_, ticks)| *ticks);
        *rows.entry(row.clone()).or_insert(0.0) +=
            ticks.saturating_sub(before) as f64 / ticks_per_second;
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// The raw Kafka baseline

/// One produce-and-consume hop through Kafka, without the services.
struct Baseline {
    messages: usize,
    payload_bytes: usize,
    produce_per_second: f64,
    hop_per_second: f64,
    /// From a message's send to its receipt by the consumer, in microseconds.
    latency: Histogram<u64>,
}

/// Average payload and key size of this run's reports on `topic` (the pipeline's
/// `orders.submitted`), from the last messages of each partition. Blocking.
fn encoded_report_size(
    brokers: &str,
    topic: &str,
    prefix: &str,
) -> anyhow::Result<Option<(usize, usize)>> {
    const TAIL: i64 = 500;
    let timeout = Duration::from_secs(10);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "loadgen-size-probe")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set_log_level(RDKafkaLogLevel::Error)
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = consumer.fetch_watermarks(topic, partition.id(), timeout)?;
        if high > low {
            let from = Offset::Offset((high - TAIL).max(low));
            assignment.add_partition_offset(topic, partition.id(), from)?;
        }
    }
    let partitions = assignment.count();
    consumer.assign(&assignment)?;
    let (mut ended, mut count, mut payload_bytes, mut key_bytes) = (0, 0, 0, 0);
    let deadline = Instant::now() + timeout;
    while ended < partitions && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                let payload = message.payload().unwrap_or_default();
                let ours = events::decode::<events::OrderReport>(payload)
                    .is_ok_and(|report| report.company_reference.starts_with(prefix));
                if ours {
                    count += 1;
                    payload_bytes += payload.len();
                    key_bytes += message.key().map_or(0, <[u8]>::len);
                }
            }
            Some(Err(KafkaError::PartitionEOF(_))) => ended += 1,
            Some(Err(error)) => return Err(error.into()),
            None => {}
        }
    }
    Ok((count > 0).then(|| (payload_bytes / count, key_bytes / count)))
}

/// Produces `messages` messages of `payload_bytes` to a fresh topic with the services' producer
/// (idempotent, `acks=all`, `linger.ms=1`) while a consumer with the services' settings reads
/// them back; the topic is deleted afterwards.
async fn kafka_baseline(
    brokers: &str,
    run: &str,
    messages: usize,
    (payload_bytes, key_bytes): (usize, usize),
) -> anyhow::Result<Baseline> {
    // A namespace of its own, deleted afterwards.
    let namespace = kafka::Namespace::new(format!("loadgen-baseline-{run}."))?;
    let args = kafka::KafkaArgs::new(brokers).in_namespace(namespace.clone());
    let topic = "hop";
    args.ensure_topics(&[topic]).await?;
    let measured = produce_and_consume(&args, topic, messages, (payload_bytes, key_bytes)).await;
    let deleted = system_tests::delete_topics(brokers, &namespace).await;
    if let Err(error) = deleted {
        eprintln!("loadgen: {error:#}");
    }
    measured
}

async fn produce_and_consume(
    args: &kafka::KafkaArgs,
    topic: &str,
    messages: usize,
    (payload_bytes, key_bytes): (usize, usize),
) -> anyhow::Result<Baseline> {
    let consumer = Arc::new(args.consumer(&format!("loadgen-{topic}"), &[topic])?);
    let reading = tokio::spawn({
        let consumer = consumer.clone();
        async move {
            let mut latency = histogram();
            let mut last = None;
            while latency.len() < messages as u64 {
                let message = match tokio::time::timeout(QUIET * 3, consumer.recv()).await {
                    Ok(Ok(message)) => message,
                    Ok(Err(KafkaError::MessageConsumption(
                        RDKafkaErrorCode::UnknownTopicOrPartition,
                    ))) => continue,
                    Ok(Err(error)) => return Err(anyhow::Error::from(error)),
                    Err(_) => bail!(
                        "the baseline consumer read {} of {messages} messages, then nothing",
                        latency.len()
                    ),
                };
                let stamp = message
                    .payload()
                    .and_then(|p| p.get(..8))
                    .unwrap_or_default();
                let sent = i64::from_le_bytes(stamp.try_into().unwrap_or_default());
                let waited = events::now_micros().saturating_sub(sent).max(0);
                latency.saturating_record(u64::try_from(waited).unwrap_or(0));
                last = Some(Instant::now());
            }
            Ok((latency, last))
        }
    });
    // Measure the hop, not the group join.
    let joined_by = Instant::now() + Duration::from_secs(30);
    while consumer.assignment()?.count() == 0 {
        if Instant::now() > joined_by || reading.is_finished() {
            bail!("the baseline consumer was given no partition of {topic}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let producer = kafka::Producer::new(args, Duration::from_secs(60))?;
    let started = Instant::now();
    let mut sends = tokio::task::JoinSet::new();
    for number in 0..messages {
        while sends.len() >= BASELINE_OUTSTANDING {
            if let Some(sent) = sends.join_next().await {
                sent??;
            }
        }
        let key = format!("{number:0key_bytes$}");
        let mut payload = vec![b'x'; payload_bytes.max(8)];
        payload[..8].copy_from_slice(&events::now_micros().to_le_bytes());
        let (producer, topic) = (producer.clone(), topic.to_owned());
        sends.spawn(async move { producer.send(&topic, key.as_bytes(), &payload, None).await });
    }
    while let Some(sent) = sends.join_next().await {
        sent??;
    }
    let produced = started.elapsed();
    let (latency, last) = reading.await??;
    let hop = last.map_or(produced, |last| last.duration_since(started));
    Ok(Baseline {
        messages,
        payload_bytes,
        produce_per_second: messages as f64 / produced.as_secs_f64(),
        hop_per_second: messages as f64 / hop.as_secs_f64(),
        latency,
    })
}

// ---------------------------------------------------------------------------------------------
// Printing

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = proc_kib("/proc/meminfo", "MemTotal").map_or_else(
        || "unknown memory".to_owned(),
        |kib| format!("{:.1} GiB memory", kib as f64 / 1024.0 / 1024.0),
    );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".to_owned());
    format!("{cores} cores ({model}), {memory}, Linux {kernel}")
}

fn ms(micros: u64) -> String {
    format!("{:.1} ms", micros as f64 / 1000.0)
}

fn latency_line(name: &str, histogram: &Histogram<u64>) {
    if histogram.is_empty() {
        println!("  {name:<34} no samples");
        return;
    }
    println!(
        "  {name:<34} p50 {:>9}  p90 {:>9}  p99 {:>9}  p99.9 {:>9}  max {:>9}  (n={})",
        ms(histogram.value_at_quantile(0.50)),
        ms(histogram.value_at_quantile(0.90)),
        ms(histogram.value_at_quantile(0.99)),
        ms(histogram.value_at_quantile(0.999)),
        ms(histogram.max()),
        histogram.len(),
    );
}

/// A histogram of microseconds up to an hour; larger values count as an hour.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram")
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// A share as a percentage, with the count it is of.
fn share(part: usize, whole: usize) -> String {
    if whole == 0 {
        return format!("{part}");
    }
    format!("{part} ({:.1} %)", part as f64 * 100.0 / whole as f64)
}

// ---------------------------------------------------------------------------------------------
// The run

/// The run's schedule: when each report is meant to be sent, and the measured window.
struct Clock {
    start: Instant,
    rate: f64,
    /// Reports intended within the window.
    window: Range<usize>,
    window_start: Instant,
    window_end: Instant,
    seconds: f64,
}

impl Clock {
    fn new(args: &Args, start: Instant) -> Self {
        let (warmup_reports, total) = args.report_counts();
        let window_start = start + Duration::from_secs(args.warmup_seconds);
        Self {
            start,
            rate: args.rate,
            window: warmup_reports..total,
            window_start,
            window_end: window_start + Duration::from_secs(args.seconds),
            seconds: args.seconds as f64,
        }
    }

    /// When report `index` is meant to be sent.
    fn intended(&self, index: usize) -> Instant {
        self.start + Duration::from_secs_f64(index as f64 / self.rate)
    }

    fn in_window(&self, at: Instant) -> bool {
        at >= self.window_start && at < self.window_end
    }

    /// Per second of the window.
    fn per_second(&self, count: usize) -> f64 {
        count as f64 / self.seconds
    }
}

/// What the baseline and the summary need from the pipeline run.
struct PipelineFigures {
    window_reports: usize,
    accepted_per_second: f64,
    delivered_per_second: f64,
    average_body_bytes: usize,
    prefix: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.check()?;
    print_header(&args)?;

    let pipeline = Pipeline::start()
        .await
        .context("cannot start the pipeline")?;
    let (run, brokers) = (pipeline.run.clone(), pipeline.brokers.clone());
    let measured = run_pipeline(&args, &pipeline).await;
    // The size of the run's messages, read before the pipeline's topics go with it.
    let encoded = match &measured {
        Ok(figures) if args.baseline_messages > 0 => {
            let probe = (
                brokers.clone(),
                pipeline.topic(events::topics::ORDERS_SUBMITTED),
                figures.prefix.clone(),
            );
            tokio::task::spawn_blocking(move || encoded_report_size(&probe.0, &probe.1, &probe.2))
                .await?
        }
        _ => Ok(None),
    };
    let stopped = pipeline.stop().await;
    let figures = measured?;
    if let Err(error) = stopped {
        eprintln!("loadgen: {error:#}");
    }

    if args.baseline_messages == 0 {
        return Ok(());
    }
    let messages = args.baseline_messages.max(figures.window_reports);
    let (size, size_source) = match encoded {
        Ok(Some(size)) => (
            size,
            "the average Avro report of this run on orders.submitted",
        ),
        Ok(None) | Err(_) => (
            (figures.average_body_bytes, 40),
            "the average JSON body: no report of this run found on orders.submitted",
        ),
    };
    let baseline = kafka_baseline(&brokers, &run, messages, size).await?;
    println!();
    println!("raw kafka baseline (same broker, after the pipeline stopped)");
    println!(
        "  {} messages of {} bytes ({size_source}), keys of {} bytes, to a fresh topic of {} \
         partitions",
        baseline.messages,
        baseline.payload_bytes,
        size.1,
        kafka::KafkaArgs::new(brokers.as_str()).topic_partitions
    );
    println!(
        "  the services' producer (idempotent, acks=all, linger.ms=1, {BASELINE_OUTSTANDING} sends \
         awaited at once) and consumer"
    );
    println!(
        "  produced and acknowledged    {:>10.0} messages/s",
        baseline.produce_per_second
    );
    println!(
        "  produced and consumed (hop)  {:>10.0} messages/s",
        baseline.hop_per_second
    );
    latency_line("hop latency", &baseline.latency);
    println!();
    println!("pipeline against the raw hop");
    for (what, rate) in [
        ("accepted ", figures.accepted_per_second),
        ("delivered", figures.delivered_per_second),
    ] {
        println!(
            "  {what} {rate:>9.1} reports/s = {:.2} % of the raw hop's messages/s",
            rate * 100.0 / baseline.hop_per_second
        );
    }
    Ok(())
}

fn print_header(args: &Args) -> anyhow::Result<()> {
    let (warmup_reports, total) = args.report_counts();
    let binaries = system_tests::binary("ingest")?;
    let directory = binaries.parent().unwrap_or(&binaries);
    println!("precursor-watch end-to-end benchmark");
    println!("machine      {}", machine());
    println!("binaries     {}", directory.display());
    println!(
        "parameters   open loop at {} reports/s for {} s after {} s of warm-up ({total} reports, \
         {} in the window), at most {} in flight",
        args.rate,
        args.seconds,
        args.warmup_seconds,
        total - warmup_reports,
        args.max_in_flight
    );
    println!(
        "workload     1-4 lines a report, {:.0} % with a scheduled chemical; {} buyers drawn with \
         Zipf s={}, a third registered; {} companies; seed {}",
        args.suspicious_share * 100.0,
        args.parties,
        args.zipf_exponent,
        args.companies,
        args.seed
    );
    Ok(())
}

async fn run_pipeline(args: &Args, pipeline: &Pipeline) -> anyhow::Result<PipelineFigures> {
    let (_, total) = args.report_counts();
    let prefix = format!("{}-", pipeline.run);
    let companies = companies(pipeline, args.companies).await?;
    let prepared = Instant::now();
    let mut workload = workload(args, &prefix, &companies, total)?;
    let body_bytes: usize = workload.bodies.iter().map(Vec::len).sum();
    let average_body_bytes = body_bytes / total.max(1);
    println!(
        "reports      {total} serialized in {:.1} s before the clock starts: {average_body_bytes} \
         bytes of JSON on average, {} distinct buyers, {} with a registration number",
        prepared.elapsed().as_secs_f64(),
        workload.distinct_parties,
        share(workload.registered, total),
    );

    let reader = AlertReader::start(pipeline, &prefix, total).await?;
    let mut watched: Vec<(String, u32)> = pipeline
        .services
        .iter()
        .filter_map(|service| Some((service.name.to_owned(), service.pid()?)))
        .collect();
    watched.push(("loadgen".to_owned(), std::process::id()));

    let clock = Clock::new(args, Instant::now() + Duration::from_millis(200));
    let snapshots = tokio::spawn(window_snapshots(
        clock.window_start,
        clock.window_end,
        watched.clone(),
    ));
    let counters = Arc::new(Counters::default());
    let progress = tokio::spawn(progress(clock.start, counters.clone(), reader.seen.clone()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.max_in_flight)
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let target = Target {
        client: &client,
        url: format!("{}/v1/reports", pipeline.ingest_url),
        companies: &companies,
        company: &workload.company,
    };
    let bodies = std::mem::take(&mut workload.bodies);
    let (answers, schedule) = open_loop(args, &clock, &target, bodies, &counters).await?;
    let last_answer = Instant::now();

    // Every accepted report with a scheduled chemical must reach some authority.
    let expected: Vec<usize> = (0..total)
        .filter(|index| workload.suspicious[*index] && accepted(&answers[*index]))
        .collect();
    let drain = Duration::from_secs(args.drain_seconds);
    let gave_up = await_alerts(pipeline, &reader.seen, &expected, last_answer, drain).await;
    let drained_after = last_answer.elapsed();
    let seen = reader.stop().await?;
    progress.abort();

    let (first, last) = snapshots.await??;
    let peaks: Vec<(String, u32, Option<u64>)> = watched
        .iter()
        .map(|(name, pid)| (name.clone(), *pid, status_kib(*pid, "VmHWM")))
        .collect();

    let window = WindowFigures::measure(&clock, &answers, &seen);
    window.print(args, &clock, &schedule);
    let lost: Vec<usize> = expected
        .iter()
        .copied()
        .filter(|index| seen.first_alert[*index].is_none())
        .collect();
    let lost_statuses = lost_statuses(&target, pipeline, &answers, &lost).await;
    print_delivery(&workload, &answers, &seen, &expected, &lost, &lost_statuses);
    println!(
        "  drained {:.1} s after the last response{}",
        drained_after.as_secs_f64(),
        if gave_up {
            format!(
                ", then gave up waiting (--drain-seconds {})",
                args.drain_seconds
            )
        } else {
            String::new()
        }
    );
    print_processes(&clock, window.accepted, &peaks, &first, &last);

    Ok(PipelineFigures {
        window_reports: clock.window.len(),
        accepted_per_second: clock.per_second(window.accepted),
        delivered_per_second: clock.per_second(window.delivered),
        average_body_bytes,
        prefix,
    })
}

/// Where and as whom reports are submitted.
struct Target<'a> {
    client: &'a reqwest::Client,
    url: String,
    companies: &'a [Company],
    /// Index into the companies, by report.
    company: &'a [usize],
}

/// Progress of the open loop, for the progress lines.
#[derive(Default)]
struct Counters {
    sent: AtomicUsize,
    answered: AtomicUsize,
}

/// Sends each body at its intended time, whatever the answers to earlier ones; returns every
/// report's answer, by index.
async fn open_loop(
    args: &Args,
    clock: &Clock,
    target: &Target<'_>,
    bodies: Vec<Vec<u8>>,
    counters: &Arc<Counters>,
) -> anyhow::Result<(Vec<Option<Answer>>, Schedule)> {
    let total = bodies.len();
    let slots = Arc::new(Semaphore::new(args.max_in_flight));
    let (answers_to, mut answers_from) = mpsc::unbounded_channel::<(usize, Answer)>();
    let gathering = tokio::spawn(async move {
        let mut answers: Vec<Option<Answer>> = vec![None; total];
        while let Some((index, answer)) = answers_from.recv().await {
            answers[index] = Some(answer);
        }
        answers
    });
    let mut schedule = Schedule {
        lag: histogram(),
        waited_for_slot: 0,
    };
    for (index, body) in bodies.into_iter().enumerate() {
        let intended = clock.intended(index);
        if Instant::now() < intended {
            tokio::time::sleep_until(intended.into()).await;
        }
        // A full house delays the send, not the clock: its latency still counts from `intended`.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                schedule.waited_for_slot += 1;
                slots.clone().acquire_owned().await?
            }
        };
        schedule
            .lag
            .saturating_record(micros(Instant::now().saturating_duration_since(intended)));
        let company = &target.companies[target.company[index]];
        let request = target
            .client
            .post(&target.url)
            .header(AUTHORIZATION, company.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let (answers_to, counters) = (answers_to.clone(), counters.clone());
        counters.sent.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let answer = submit(request).await;
            drop(slot);
            counters.answered.fetch_add(1, Ordering::Relaxed);
            answers_to.send((index, answer)).ok();
        });
    }
    drop(answers_to);
    Ok((gathering.await?, schedule))
}

/// Prints a progress line every 10 seconds to standard error.
async fn progress(start: Instant, counters: Arc<Counters>, seen: Arc<Mutex<Seen>>) {
    let period = Duration::from_secs(10);
    let mut every = tokio::time::interval_at((start + period).into(), period);
    loop {
        every.tick().await;
        let alerted = lock(&seen).first_alert.iter().flatten().count();
        eprintln!(
            "loadgen: {:>4.0} s: {} sent, {} answered, {alerted} reports alerted",
            start.elapsed().as_secs_f64(),
            counters.sent.load(Ordering::Relaxed),
            counters.answered.load(Ordering::Relaxed),
        );
    }
}

/// CPU snapshots of the watched processes at the start and the end of the window.
async fn window_snapshots(
    window_start: Instant,
    window_end: Instant,
    watched: Vec<(String, u32)>,
) -> anyhow::Result<(Snapshot, Snapshot)> {
    tokio::time::sleep_until(window_start.into()).await;
    let at_start = watched.clone();
    let first = tokio::task::spawn_blocking(move || snapshot(&at_start)).await?;
    tokio::time::sleep_until(window_end.into()).await;
    let last = tokio::task::spawn_blocking(move || snapshot(&watched)).await?;
    Ok((first, last))
}

/// Waits until every expected report has an alert and the topics have been quiet for a moment,
/// or, with alerts missing, until quiet with the matcher and the router caught up; true when it
/// gave up at the deadline instead.
async fn await_alerts(
    pipeline: &Pipeline,
    seen: &Mutex<Seen>,
    expected: &[usize],
    last_answer: Instant,
    drain: Duration,
) -> bool {
    let deadline = last_answer + drain;
    let mut next_lag_check = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (complete, quiet_for) = {
            let seen = lock(seen);
            let complete = expected
                .iter()
                .all(|index| seen.first_alert[*index].is_some());
            let last = seen.last.unwrap_or(last_answer).max(last_answer);
            (complete, last.elapsed())
        };
        if complete && quiet_for >= Duration::from_secs(3) {
            return false;
        }
        if quiet_for >= QUIET && Instant::now() >= next_lag_check {
            if pipeline.drain(Duration::from_secs(2)).await.is_ok() {
                return false;
            }
            next_lag_check = Instant::now() + Duration::from_secs(5);
        }
        if Instant::now() > deadline {
            return true;
        }
    }
}

/// Throughput and latency of the reports intended in the window.
struct WindowFigures {
    /// 202 responses completed in the window.
    accepted: usize,
    /// Reports whose first alert reached the loadgen in the window.
    delivered: usize,
    /// Requests sent in the window.
    sent: usize,
    /// Answers to the window's reports, by kind.
    outcomes: BTreeMap<String, usize>,
    http_from_intended: Histogram<u64>,
    http_from_sent: Histogram<u64>,
    alert_from_submission: Histogram<u64>,
    alert_from_intended: Histogram<u64>,
}

impl WindowFigures {
    fn measure(clock: &Clock, answers: &[Option<Answer>], seen: &Seen) -> Self {
        let answered = answers.iter().flatten();
        let mut figures = Self {
            accepted: answered
                .clone()
                .filter(|answer| answer.status == Some(202) && clock.in_window(answer.done))
                .count(),
            delivered: seen
                .first_alert
                .iter()
                .flatten()
                .filter(|at| clock.in_window(**at))
                .count(),
            sent: answered
                .filter(|answer| clock.in_window(answer.sent))
                .count(),
            outcomes: BTreeMap::new(),
            http_from_intended: histogram(),
            http_from_sent: histogram(),
            alert_from_submission: histogram(),
            alert_from_intended: histogram(),
        };
        for index in clock.window.clone() {
            let outcome = match &answers[index] {
                None => "no answer".to_owned(),
                Some(answer) => {
                    if answer.status == Some(202) {
                        let waited = answer.done.saturating_duration_since(clock.intended(index));
                        figures.http_from_intended.saturating_record(micros(waited));
                        let served = answer.done.saturating_duration_since(answer.sent);
                        figures.http_from_sent.saturating_record(micros(served));
                    }
                    answer.outcome()
                }
            };
            *figures.outcomes.entry(outcome).or_insert(0) += 1;
        }
        for delivery in &seen.deliveries {
            if clock.window.contains(&delivery.report) {
                figures
                    .alert_from_submission
                    .saturating_record(delivery.since_submission);
                let waited = delivery
                    .received
                    .saturating_duration_since(clock.intended(delivery.report));
                figures
                    .alert_from_intended
                    .saturating_record(micros(waited));
            }
        }
        figures
    }

    fn print(&self, args: &Args, clock: &Clock, schedule: &Schedule) {
        let offered = clock.window.len();
        println!();
        println!(
            "measured window: {} s, reports intended from {} s to {} s",
            args.seconds,
            args.warmup_seconds,
            args.warmup_seconds + args.seconds
        );
        println!(
            "  offered    {:>9.1} reports/s ({offered} reports)",
            clock.per_second(offered)
        );
        println!(
            "  sent       {:>9.1} reports/s",
            clock.per_second(self.sent)
        );
        println!(
            "  accepted   {:>9.1} reports/s (202 responses completed in the window)",
            clock.per_second(self.accepted)
        );
        println!(
            "  delivered  {:>9.1} reports/s (reports whose first alert reached an authority topic \
             in the window)",
            clock.per_second(self.delivered)
        );
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(outcome, count)| format!("{outcome}: {}", share(*count, offered)))
            .collect();
        println!("  answers    {}", outcomes.join(", "));
        println!(
            "  schedule   sends behind their intended time p99 {}, max {}; {} sends waited for \
             one of the {} in-flight slots",
            ms(schedule.lag.value_at_quantile(0.99)),
            ms(schedule.lag.max()),
            schedule.waited_for_slot,
            args.max_in_flight
        );
        println!("latency of the window's reports");
        latency_line("HTTP 202, from intended send", &self.http_from_intended);
        latency_line("HTTP 202, from actual send", &self.http_from_sent);
        latency_line("on a topic, from submitted_at", &self.alert_from_submission);
        latency_line("on a topic, from intended send", &self.alert_from_intended);
        println!(
            "  (\"on a topic\": each alert on each authority topic as the loadgen's consumer got it)"
        );
    }
}

impl Answer {
    /// The kind of answer, e.g. `202 accepted`, `503 busy`, `failed: timeout`.
    fn outcome(&self) -> String {
        match (self.status, &self.problem) {
            (Some(202), _) => "202 accepted".to_owned(),
            (Some(status), Some(problem)) => format!("{status} {problem}"),
            (Some(status), None) => status.to_string(),
            (None, problem) => format!("failed: {}", problem.as_deref().unwrap_or("request")),
        }
    }
}

/// Lost and duplicated alerts over every report of the run.
fn print_delivery(
    workload: &Workload,
    answers: &[Option<Answer>],
    seen: &Seen,
    expected: &[usize],
    lost: &[usize],
    lost_statuses: &BTreeMap<String, usize>,
) {
    let mut copies: HashMap<(&str, &str), usize> = HashMap::new();
    for delivery in &seen.deliveries {
        *copies
            .entry((delivery.alert_id.as_str(), delivery.topic.as_str()))
            .or_insert(0) += 1;
    }
    let duplicated = copies.values().filter(|count| **count > 1).count();
    let extra_copies: usize = copies.values().map(|count| count - 1).sum();
    let topics: HashSet<&str> = seen.deliveries.iter().map(|d| d.topic.as_str()).collect();
    let alerted = |index: &usize| seen.first_alert[*index].is_some();
    let clear: Vec<usize> = (0..answers.len())
        .filter(|index| !workload.suspicious[*index] && accepted(&answers[*index]))
        .collect();
    let clear_alerted = clear.iter().filter(|index| alerted(index)).count();
    let unaccepted_alerted = (0..answers.len())
        .filter(|index| !accepted(&answers[*index]) && alerted(index))
        .count();

    println!();
    println!("delivery, over every report of the run (warm-up included)");
    println!("  lost {}, duplicated {duplicated}", lost.len());
    println!(
        "  accepted reports with a scheduled chemical {}: alerted {}, lost {}",
        expected.len(),
        expected.len() - lost.len(),
        share(lost.len(), expected.len())
    );
    if !lost_statuses.is_empty() {
        let statuses: Vec<String> = lost_statuses
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect();
        println!(
            "  the lost reports' status at ingest: {}",
            statuses.join(", ")
        );
    }
    println!(
        "  (alert_id, topic) pairs delivered more than once {duplicated}, {extra_copies} extra \
         copies"
    );
    println!(
        "  accepted clear reports alerted (indicators) {} of {}",
        share(clear_alerted, clear.len()),
        clear.len()
    );
    if unaccepted_alerted > 0 {
        println!("  alerts about reports answered other than 202: {unaccepted_alerted}");
    }
    let first_error = seen
        .first_error
        .as_deref()
        .map(|error| format!(" (first: {error})"))
        .unwrap_or_default();
    println!(
        "  {} alerts read on {} authority topics; {} read again after a rebalance, {} of other \
         runs, {} undecodable, {} consumer errors{first_error}",
        seen.deliveries.len(),
        topics.len(),
        seen.read_again,
        seen.other_runs,
        seen.undecodable,
        seen.errors,
    );
}

/// Peak memory and CPU in the window of each process, per report accepted in the window.
fn print_processes(
    clock: &Clock,
    accepted: usize,
    peaks: &[(String, u32, Option<u64>)],
    first: &Snapshot,
    last: &Snapshot,
) {
    let mebibytes = |kib: Option<u64>| {
        kib.map_or_else(
            || "-".to_owned(),
            |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
        )
    };
    let mut rows: Vec<(String, String, String)> = peaks
        .iter()
        .map(|(name, pid, peak)| (name.clone(), pid.to_string(), mebibytes(*peak)))
        .collect();
    for group in ["kafka broker", "postgresql"] {
        let pids: Vec<u32> = last
            .processes
            .iter()
            .filter(|(_, (row, _))| row == group)
            .map(|(pid, _)| *pid)
            .collect();
        match pids.as_slice() {
            [] => {}
            [pid] => rows.push((
                group.to_owned(),
                pid.to_string(),
                mebibytes(status_kib(*pid, "VmHWM")),
            )),
            many => rows.push((
                group.to_owned(),
                format!("{} procs", many.len()),
                "-".to_owned(),
            )),
        }
    }

    let cpu = cpu_between(first, last, clock_ticks());
    let reports = accepted.max(1) as f64;
    println!();
    println!("processes: CPU in the window and per report accepted in it; peak RSS of the run");
    println!(
        "  {:<14} {:>9} {:>11} {:>8} {:>12} {:>7}",
        "process", "pid", "peak RSS", "CPU s", "CPU ms/report", "cores"
    );
    for (name, pid, peak) in rows {
        let used = cpu.get(&name).copied().unwrap_or(0.0);
        println!(
            "  {name:<14} {pid:>9} {peak:>11} {used:>8.2} {:>12.3} {:>7.2}",
            used * 1000.0 / reports,
            used / clock.seconds
        );
    }
    let busy = last.machine.0.saturating_sub(first.machine.0);
    let all = last.machine.1.saturating_sub(first.machine.1);
    if all > 0 {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        println!(
            "  the machine was {:.0} % busy in the window ({:.2} of {cores} cores), whoever used it",
            busy as f64 * 100.0 / all as f64,
            busy as f64 * cores as f64 / all as f64
        );
    }
}

fn accepted(answer: &Option<Answer>) -> bool {
    answer
        .as_ref()
        .is_some_and(|answer| answer.status == Some(202))
}

/// Asks ingest for the status of up to [`LOST_LOOKUPS`] lost reports: `screened` means the
/// matcher raised no alert, `referred` that some authority was sent one, `received` that it was
/// never screened.
async fn lost_statuses(
    target: &Target<'_>,
    pipeline: &Pipeline,
    answers: &[Option<Answer>],
    lost: &[usize],
) -> BTreeMap<String, usize> {
    let mut statuses = BTreeMap::new();
    for index in lost.iter().take(LOST_LOOKUPS) {
        let report_id = answers[*index]
            .as_ref()
            .and_then(|answer| answer.report_id.as_deref());
        let Some(report_id) = report_id else {
            *statuses.entry("no report id".to_owned()).or_insert(0) += 1;
            continue;
        };
        let company = &target.companies[target.company[*index]];
        let response = target
            .client
            .get(format!("{}/v1/reports/{report_id}", pipeline.ingest_url))
            .bearer_auth(&company.api_key)
            .send()
            .await;
        let status = match response {
            Ok(response) => response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|body| body["status"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "unreadable".to_owned()),
            Err(_) => "unreachable".to_owned(),
        };
        *statuses.entry(status).or_insert(0) += 1;
    }
    if lost.len() > LOST_LOOKUPS {
        statuses.insert("not looked up".to_owned(), lost.len() - LOST_LOOKUPS);
    }
    statuses
}
