//! Test support for the system tests and the load generator: starts the real service binaries as
//! separate processes against a real Kafka and PostgreSQL, submits reports over HTTP and reads
//! authority topics with a plain Kafka consumer.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use events::Alert;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message as _;
use tokio::process::{Child, Command};

pub use kafka::testing::brokers as kafka_brokers;

/// Path of a workspace binary next to the running test executable (`target/<profile>/<name>`).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe
        .parent()
        .context("test executable has no directory")?
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    if !path.exists() {
        bail!("{} not found: build the services first (cargo build --workspace --bins, as tests/run.sh does)", path.display());
    }
    Ok(path)
}

/// A free port on 127.0.0.1, below the ephemeral range (32768 and up on Linux): a port the
/// kernel hands out for port 0 may be taken by an outgoing connection (a Kafka client) before
/// the service binds it.
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    // Spread test processes apart; step through the range within one.
    let seed = u16::try_from(std::process::id() % 1000).unwrap_or(0) * 12;
    for _ in 0..2000 {
        let step = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = 20_000 + (seed + step) % 12_000;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            return Ok(listener.local_addr()?);
        }
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Where the services' logs go: `target/system-tests/<run>/`.
fn log_dir(run: &str) -> anyhow::Result<PathBuf> {
    let mut dir = binary("ingest")?;
    dir.pop();
    let dir = dir.join("system-tests").join(run);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// How often [`poll_until`] looks again.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// Looks with `check` every 200 ms until it finds what it waits for (`Ok`) or `within` has
/// passed; then an error naming `what` and the last thing `check` saw (its `Err`).
pub async fn poll_until<T, F, Fut>(what: &str, within: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match check().await {
            Ok(found) => return Ok(found),
            Err(seen) if Instant::now() > deadline => {
                bail!("{what}: not within {within:?}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(POLL_EVERY).await,
        }
    }
}

/// The sample report shipped with ingest, under another company reference.
pub fn sample_report(reference: &str) -> serde_json::Value {
    let text = include_str!("../../services/ingest/examples/sample-report.json");
    let mut report: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    report["company_reference"] = serde_json::Value::String(reference.to_owned());
    report
}

/// Runs a command of a service binary against `database_url`; returns its standard output.
pub async fn run_cli(name: &str, database_url: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(binary(name)?)
        .args(args)
        .env("PW_DATABASE_URL", database_url)
        .output()
        .await?;
    if !output.status.success() {
        bail!(
            "{name} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The API key a command printed on its `api key: ` line.
pub fn printed_api_key(stdout: &str) -> anyhow::Result<String> {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("api key: "))
        .map(str::to_owned)
        .context("no api key printed")
}

/// Registers a company with `ingest create-company` and returns its API key.
pub async fn create_company(database_url: &str, id: &str) -> anyhow::Result<String> {
    let args = [
        "create-company",
        "--id",
        id,
        "--name",
        "ACME Chemicals GmbH",
        "--country",
        "DE",
    ];
    printed_api_key(&run_cli("ingest", database_url, &args).await?)
}

/// One running service process.
pub struct Service {
    pub name: &'static str,
    pub admin: SocketAddr,
    child: Child,
}

impl Service {
    /// The process id, while the process runs (for reading its `/proc` figures).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit; true when it exited successfully.
    pub async fn terminate(mut self, within: Duration) -> anyhow::Result<bool> {
        let Some(pid) = self.child.id() else {
            return Ok(false);
        };
        Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await?;
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => Ok(status?.success()),
            Err(_) => {
                self.child.kill().await?;
                Ok(false)
            }
        }
    }
}

impl Pipeline {
    /// Kills a service with SIGKILL, as a crash would, and starts it again with the same
    /// arguments; waits until it is ready. When it was killed, and when it was ready again.
    pub async fn crash_and_restart(
        &mut self,
        name: &'static str,
        args: &[&str],
    ) -> anyhow::Result<(std::time::Instant, std::time::Instant)> {
        let index = self
            .services
            .iter()
            .position(|service| service.name == name)
            .with_context(|| format!("no service {name}"))?;
        let mut service = self.services.remove(index);
        service.child.kill().await?;
        let killed = std::time::Instant::now();
        self.spawn(name, args).await?;
        self.wait_ready(Duration::from_secs(60)).await?;
        Ok((killed, std::time::Instant::now()))
    }

    /// The members of the pipeline's consumer group `group` (such as `matcher`) that hold
    /// partitions, as the broker sees them,
    /// once the group is stable (an empty list while it rebalances).
    pub async fn group_members(&self, group: &str) -> anyhow::Result<Vec<String>> {
        use rdkafka::consumer::{BaseConsumer, Consumer as _};
        let (brokers, group) = (
            self.brokers.clone(),
            self.namespace.apply(group).into_owned(),
        );
        tokio::task::spawn_blocking(move || {
            let client: BaseConsumer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .create()?;
            let groups = client.fetch_group_list(Some(&group), Duration::from_secs(5))?;
            let members = groups
                .groups()
                .iter()
                .filter(|info| info.state() == "Stable")
                .flat_map(|info| info.members())
                // The consumer protocol's assignment: a version (2 bytes), then the number of
                // topics assigned (4 bytes, big-endian).
                .filter(|member| {
                    member
                        .assignment()
                        .and_then(|bytes| bytes.get(2..6))
                        .is_some_and(|count| count.iter().any(|byte| *byte != 0))
                })
                .map(|member| member.id().to_owned())
                .collect();
            Ok(members)
        })
        .await?
    }

    /// How long after `since` consumer group `group` was stable again with partitions held by
    /// a member not among `before` (the restarted instance), waiting at most `within`.
    pub async fn partitions_taken_over(
        &self,
        group: &str,
        before: &[String],
        since: std::time::Instant,
        within: Duration,
    ) -> anyhow::Result<Duration> {
        loop {
            let members = self.group_members(group).await.unwrap_or_default();
            if members.iter().any(|member| !before.contains(member)) {
                return Ok(since.elapsed());
            }
            if since.elapsed() > within {
                bail!("no new member of {group} held partitions {within:?} after the restart");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Pipeline {
    /// The services whose process has exited, taken out of the pipeline, with their exit
    /// status.
    pub fn exited(&mut self) -> anyhow::Result<Vec<(&'static str, std::process::ExitStatus)>> {
        let mut exited = Vec::new();
        let mut running = Vec::new();
        for mut service in std::mem::take(&mut self.services) {
            match service.child.try_wait()? {
                Some(status) => exited.push((service.name, status)),
                None => running.push(service),
            }
        }
        self.services = running;
        Ok(exited)
    }

    /// What to look at when a test of the pipeline fails: the services that exited, with their
    /// status, and each service's last warnings and errors but for the connection errors a
    /// broker's restart makes by the hundred.
    pub fn diagnosis(&mut self) -> String {
        let mut text = String::new();
        match self.exited() {
            Ok(exited) => {
                for (name, status) in exited {
                    text.push_str(&format!("{name} exited: {status}\n"));
                }
            }
            Err(error) => text.push_str(&format!("cannot tell which services exited: {error}\n")),
        }
        let Ok(entries) = std::fs::read_dir(&self.log_dir) else {
            return text;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
        files.sort();
        for path in files {
            let Ok(log) = std::fs::read_to_string(&path) else {
                continue;
            };
            let noteworthy: Vec<&str> = log
                .lines()
                .filter(|line| line.contains("WARN") || line.contains("ERROR"))
                .filter(|line| {
                    ![
                        "Connect to ipv4",
                        "brokers are down",
                        "BrokerTransportFailure",
                    ]
                    .iter()
                    .any(|noise| line.contains(noise))
                })
                .collect();
            text.push_str(&format!(
                "--- {} ({} warnings and errors, the last 15):\n",
                path.display(),
                noteworthy.len()
            ));
            for line in &noteworthy[noteworthy.len().saturating_sub(15)..] {
                text.push_str(line);
                text.push('\n');
            }
        }
        text
    }

    /// The text of every log file of the service `name` (each of its instances), one after the
    /// other.
    pub fn logs_of(&self, name: &str) -> anyhow::Result<String> {
        let mut text = String::new();
        for entry in std::fs::read_dir(&self.log_dir)? {
            let path = entry?.path();
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if file.starts_with(&format!("{name}.")) && file.ends_with(".log") {
                text.push_str(&std::fs::read_to_string(&path)?);
            }
        }
        Ok(text)
    }

    /// Stops a service with SIGTERM; fails when it did not exit cleanly.
    pub async fn stop_service(&mut self, name: &'static str) -> anyhow::Result<()> {
        let index = self
            .services
            .iter()
            .position(|service| service.name == name)
            .with_context(|| format!("no service {name}"))?;
        let service = self.services.remove(index);
        if !service.terminate(Duration::from_secs(20)).await? {
            bail!(
                "{name} did not shut down cleanly; see {}",
                self.log_dir.display()
            );
        }
        Ok(())
    }

    /// Starts a service again with `args` and waits until it is ready.
    pub async fn start_service(&mut self, name: &'static str, args: &[&str]) -> anyhow::Result<()> {
        self.spawn(name, args).await?;
        self.wait_ready(Duration::from_secs(60)).await
    }

    /// A service's `/metrics` page.
    pub async fn metrics(&self, name: &str) -> anyhow::Result<String> {
        let service = self
            .services
            .iter()
            .find(|service| service.name == name)
            .with_context(|| format!("no service {name}"))?;
        let url = format!("http://{}/metrics", service.admin);
        Ok(reqwest::get(url).await?.error_for_status()?.text().await?)
    }

    /// Starts the web console over the pipeline's services (sampled every second, the operators'
    /// token of the pipeline) and waits until it is ready; returns its url.
    pub async fn start_console(&mut self) -> anyhow::Result<String> {
        let http = free_addr()?;
        let watched: Vec<String> = self
            .services
            .iter()
            .map(|service| format!("{}=http://{}", service.name, service.admin))
            .collect();
        let (http_arg, services, token) = (
            http.to_string(),
            watched.join(","),
            self.admin_token.clone(),
        );
        self.spawn(
            "web-console",
            &[
                "serve",
                "--http-addr",
                &http_arg,
                "--operator-token",
                &token,
                "--service",
                &services,
                "--sample-seconds",
                "1",
                "--stream-poll-ms",
                "200",
            ],
        )
        .await?;
        self.wait_ready(Duration::from_secs(60)).await?;
        Ok(format!("http://{http}"))
    }

    /// The address ingest listens on, for restarting it with other flags.
    pub fn ingest_addr(&self) -> &str {
        self.ingest_url.trim_start_matches("http://")
    }
}

/// The services running as processes over one Kafka and one database.
pub struct Pipeline {
    pub run: String,
    pub ingest_url: String,
    /// The authority API (and its admin API).
    pub authority_url: String,
    /// The operators' token of the admin API.
    pub admin_token: String,
    pub database_url: String,
    pub brokers: String,
    /// The prefix of the pipeline's topics and consumer groups on the shared broker: pipelines
    /// of tests running side by side never see each other's messages.
    pub namespace: kafka::Namespace,
    pub api_key: String,
    pub services: Vec<Service>,
    pub log_dir: PathBuf,
}

impl Pipeline {
    /// Creates a fresh database and a company, starts ingest, matcher, router and authorities in
    /// a namespace of their own on the shared broker, and waits until each is ready.
    pub async fn start() -> anyhow::Result<Self> {
        let run = format!("run-{}", uuid::Uuid::new_v4().simple());
        let namespace = kafka::Namespace::new(format!("{run}."))?;
        let database_url = store::testing::fresh_postgres_url().await?;
        let brokers = kafka_brokers();
        let log_dir = log_dir(&run)?;
        let http = free_addr()?;
        let authority_http = free_addr()?;

        let api_key = create_company(&database_url, "acme-chemicals").await?;

        let mut pipeline = Self {
            admin_token: format!("operator-{run}"),
            run,
            ingest_url: format!("http://{http}"),
            authority_url: format!("http://{authority_http}"),
            database_url,
            brokers,
            namespace,
            api_key,
            services: Vec::new(),
            log_dir,
        };
        pipeline
            .spawn("ingest", &["serve", "--http-addr", &http.to_string()])
            .await?;
        pipeline.spawn("matcher", &["serve"]).await?;
        pipeline.spawn("router", &["serve"]).await?;
        let token = pipeline.admin_token.clone();
        pipeline
            .spawn(
                "authorities",
                &[
                    "serve",
                    "--http-addr",
                    &authority_http.to_string(),
                    "--admin-token",
                    &token,
                    "--stream-poll-ms",
                    "100",
                ],
            )
            .await?;
        pipeline.wait_ready(Duration::from_secs(90)).await?;
        Ok(pipeline)
    }

    /// Starts one service binary with the pipeline's settings.
    pub async fn spawn(&mut self, name: &'static str, args: &[&str]) -> anyhow::Result<()> {
        let admin = free_addr()?;
        // A restarted or second instance logs to a file of its own: `matcher.log`,
        // `matcher.2.log`, ...
        let path = (1..)
            .map(|n| match n {
                1 => self.log_dir.join(format!("{name}.log")),
                n => self.log_dir.join(format!("{name}.{n}.log")),
            })
            .find(|path| !path.exists())
            .context("no free log file name")?;
        let log = std::fs::File::create(path)?;
        let child = Command::new(binary(name)?)
            .args(args)
            .env("PW_DATABASE_URL", &self.database_url)
            .env("PW_KAFKA_BROKERS", &self.brokers)
            .env("PW_KAFKA_NAMESPACE", self.namespace.prefix())
            // A static member of its service's group, as in the Kubernetes manifests: the
            // instance restarted after a crash takes the partitions back at once.
            .env("PW_KAFKA_INSTANCE_ID", name)
            .env("PW_ADMIN_ADDR", admin.to_string())
            .env("PW_SHUTDOWN_GRACE_SECONDS", "10")
            // Load tests submit faster than a company may; a test of the limit passes --rate-limit.
            .env("PW_RATE_LIMIT", "0")
            .env(
                "RUST_LOG",
                std::env::var("PW_TEST_RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        self.services.push(Service { name, admin, child });
        Ok(())
    }

    /// Waits until every service answers `/readyz`.
    pub async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + within;
        for service in &mut self.services {
            loop {
                if let Some(status) = service.child.try_wait()? {
                    bail!(
                        "{} exited with {status} at start; see {}",
                        service.name,
                        self.log_dir.display()
                    );
                }
                let url = format!("http://{}/readyz", service.admin);
                if let Ok(response) = client.get(&url).send().await {
                    if response.status().is_success() {
                        break;
                    }
                }
                if Instant::now() > deadline {
                    bail!(
                        "{} not ready within {within:?}; see {}",
                        service.name,
                        self.log_dir.display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Submits a report as the pipeline's company.
    pub async fn submit(
        &self,
        client: &reqwest::Client,
        report: &serde_json::Value,
    ) -> anyhow::Result<reqwest::Response> {
        Ok(client
            .post(format!("{}/v1/reports", self.ingest_url))
            .bearer_auth(&self.api_key)
            .json(report)
            .send()
            .await?)
    }

    /// Submits a report that must be accepted (202); its report id.
    pub async fn submit_accepted(
        &self,
        client: &reqwest::Client,
        report: &serde_json::Value,
    ) -> anyhow::Result<String> {
        let response = self.submit(client, report).await?;
        if response.status() != reqwest::StatusCode::ACCEPTED {
            bail!(
                "report refused with {}: {}",
                response.status(),
                response.text().await?
            );
        }
        let receipt: serde_json::Value = response.json().await?;
        receipt["report_id"]
            .as_str()
            .map(str::to_owned)
            .context("no report_id in the receipt")
    }

    /// A request to the authorities' admin API with the operators' token: its status and body
    /// (null when it has none).
    pub async fn admin(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = client
            .request(method, format!("{}{path}", self.authority_url))
            .bearer_auth(&self.admin_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or_default())
            }
            Err(error) => (0, serde_json::Value::String(error.to_string())),
        }
    }

    /// A report's status once the matcher's screening came back (no longer `received`),
    /// waiting at most `within`.
    pub async fn status_once_screened(
        &self,
        client: &reqwest::Client,
        report_id: &str,
        within: Duration,
    ) -> anyhow::Result<serde_json::Value> {
        poll_until(&format!("report {report_id} screened"), within, || async {
            let status = self
                .status(client, report_id)
                .await
                .map_err(|error| format!("{error:#}"))?;
            if status["status"] != "received" {
                Ok(status)
            } else {
                Err(status.to_string())
            }
        })
        .await
    }

    /// A report's status as its company sees it.
    pub async fn status(
        &self,
        client: &reqwest::Client,
        report_id: &str,
    ) -> anyhow::Result<serde_json::Value> {
        Ok(client
            .get(format!("{}/v1/reports/{report_id}", self.ingest_url))
            .bearer_auth(&self.api_key)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// The broker's name of the pipeline's topic `name` (such as `orders.submitted`), for
    /// producing to it or reading it with a plain Kafka client.
    pub fn topic(&self, name: &str) -> String {
        self.namespace.apply(name).into_owned()
    }

    /// Kafka settings of the pipeline's services: the shared broker, the pipeline's namespace.
    pub fn kafka_args(&self) -> kafka::KafkaArgs {
        kafka::KafkaArgs::new(self.brokers.clone()).in_namespace(self.namespace.clone())
    }

    /// A plain Kafka consumer of the pipeline's topics `topics` (such as `alerts.NL`), as an
    /// authority would run it; alerts come back under the topics' names as given.
    pub fn alert_reader(&self, topics: &[&str]) -> anyhow::Result<AlertReader> {
        AlertReader::in_namespace(&self.brokers, self.namespace.clone(), topics)
    }

    /// Waits, at most `within`, until the running consumer services have committed every
    /// message on their input topics, so a test's last alerts are out before its services stop.
    pub async fn drain(&self, within: Duration) -> anyhow::Result<()> {
        let args = self.kafka_args();
        let deadline = Instant::now() + within;
        for (group, topic) in [
            ("matcher", "orders.submitted"),
            ("router", "alerts.detected"),
            ("ingest", "orders.screened"),
        ] {
            if !self.services.iter().any(|service| service.name == group) {
                continue;
            }
            let probe = std::sync::Arc::new(kafka::GroupLag::new(&args, group, topic)?);
            let left = deadline.saturating_duration_since(Instant::now());
            poll_until(&format!("{group} taking all of {topic}"), left, || async {
                let measuring = probe.clone();
                let lag =
                    tokio::task::spawn_blocking(move || measuring.measure(Duration::from_secs(5)))
                        .await
                        .map_err(|error| error.to_string())?
                        .map_err(|error| format!("{error:#}"))?;
                match lag {
                    0 => Ok(()),
                    lag => Err(format!("{lag} messages still to take")),
                }
            })
            .await?;
        }
        Ok(())
    }

    /// Lets the consumer services finish what is on their topics (see [`Pipeline::drain`]),
    /// then stops every service with SIGTERM and deletes the pipeline's topics; fails when a
    /// service did not exit cleanly.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Err(error) = self.drain(Duration::from_secs(60)).await {
            // Stop anyway: the topics go with the pipeline.
            eprintln!("pipeline {}: {error:#}", self.run);
        }
        let mut unclean = Vec::new();
        for service in std::mem::take(&mut self.services) {
            let name = service.name;
            if !service.terminate(Duration::from_secs(20)).await? {
                unclean.push(name);
            }
        }
        // What a single broker keeps of every topic it holds slows its restarts down: a suite
        // leaves none of its pipelines' topics behind.
        let deleted = delete_topics(&self.brokers, &self.namespace).await;
        if !unclean.is_empty() {
            bail!(
                "{unclean:?} did not shut down cleanly; see {}",
                self.log_dir.display()
            );
        }
        deleted
    }
}

/// Deletes every topic in `namespace` (which must not be empty) on `brokers`.
pub async fn delete_topics(brokers: &str, namespace: &kafka::Namespace) -> anyhow::Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    anyhow::ensure!(
        !namespace.prefix().is_empty(),
        "refusing to delete the topics of the empty namespace"
    );
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))?;
    let names: Vec<&str> = metadata
        .topics()
        .iter()
        .map(|topic| topic.name())
        .filter(|name| name.starts_with(namespace.prefix()))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.delete_topics(&names, &options).await? {
        if let Err((name, code)) = result {
            if code != RDKafkaErrorCode::UnknownTopicOrPartition {
                bail!("cannot delete topic {name}: {code}");
            }
        }
    }
    Ok(())
}

/// Loads the console's sign-in form as a browser would: the anti-forgery cookie it sets
/// (`name=value`) and the token in the form.
pub async fn sign_in_form(
    client: &reqwest::Client,
    console: &str,
) -> anyhow::Result<(String, String)> {
    let form = client.get(format!("{console}/login")).send().await?;
    let cookie = form
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .context("no anti-forgery cookie")?
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let html = form.text().await?;
    let token = html
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no anti-forgery token in the sign-in form")?
        .to_owned();
    Ok((cookie, token))
}

/// Signs in to the web console at `console` (`http://host:port`) with an operator token or an
/// authority key, as a browser's form would; returns a client that does not follow redirects and
/// the session cookie (`pw_console=...`) to send with it.
pub async fn console_session(
    console: &str,
    credential: &str,
) -> anyhow::Result<(reqwest::Client, String)> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let (form_cookie, form_token) = sign_in_form(&client, console).await?;
    let signed_in = client
        .post(format!("{console}/login"))
        .header(reqwest::header::ORIGIN, console)
        .header(reqwest::header::COOKIE, form_cookie)
        .form(&[("key", credential), ("form_token", &form_token)])
        .send()
        .await?;
    if signed_in.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("sign-in refused: {}", signed_in.status());
    }
    let cookie = signed_in
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .context("no session cookie")?
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok((client, cookie))
}

/// A console page (`path` such as `/`) as the session with `cookie` sees it.
pub async fn console_page(
    client: &reqwest::Client,
    console: &str,
    cookie: &str,
    path: &str,
) -> anyhow::Result<String> {
    Ok(client
        .get(format!("{console}{path}"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await?
        .text()
        .await?)
}

/// A plain Kafka consumer of authority topics, as an authority would run it.
pub struct AlertReader {
    consumer: StreamConsumer,
    /// Taken off the topics' names in what it returns.
    namespace: kafka::Namespace,
}

impl AlertReader {
    /// Reads the given topics from the beginning in a group of its own.
    pub fn new(brokers: &str, topics: &[&str]) -> anyhow::Result<Self> {
        Self::in_namespace(brokers, kafka::Namespace::default(), topics)
    }

    /// Reads the given topics of `namespace` from the beginning in a group of its own; returns
    /// alerts under the topics' names without the namespace.
    pub fn in_namespace(
        brokers: &str,
        namespace: kafka::Namespace,
        topics: &[&str],
    ) -> anyhow::Result<Self> {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", format!("system-test-{}", uuid::Uuid::new_v4()))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("topic.metadata.refresh.interval.ms", "500")
            .create()?;
        let topics: Vec<String> = topics
            .iter()
            .map(|topic| namespace.apply(topic).into_owned())
            .collect();
        consumer.subscribe(&topics.iter().map(String::as_str).collect::<Vec<_>>())?;
        Ok(Self {
            consumer,
            namespace,
        })
    }

    /// Reads until `done` says enough or `within` passes; returns the alerts by topic.
    pub async fn read_until(
        &self,
        within: Duration,
        mut done: impl FnMut(&HashMap<String, Vec<Alert>>) -> bool,
    ) -> anyhow::Result<HashMap<String, Vec<Alert>>> {
        let mut seen: HashMap<String, Vec<Alert>> = HashMap::new();
        // A rebalance (a topic created while reading) rewinds to the earliest offset: a message
        // read again is the same message, not a duplicate on the topic.
        let mut positions: std::collections::HashSet<(String, i32, i64)> = Default::default();
        let deadline = tokio::time::Instant::now() + within;
        while !done(&seen) {
            let message = match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(message)) => message,
                // A topic the router has not created yet.
                Ok(Err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::UnknownTopicOrPartition,
                ))) => continue,
                Ok(Err(error)) => return Err(error.into()),
                Err(_) => break,
            };
            let position = (
                message.topic().to_owned(),
                message.partition(),
                message.offset(),
            );
            if !positions.insert(position) {
                continue;
            }
            let alert: Alert = events::decode(message.payload().unwrap_or_default())?;
            seen.entry(self.namespace.strip(message.topic()).to_owned())
                .or_default()
                .push(alert);
        }
        Ok(seen)
    }

    /// The alert of report `report_id` on `topic`, read for at most `within`.
    pub async fn alert_of(
        &self,
        topic: &str,
        report_id: &str,
        within: Duration,
    ) -> anyhow::Result<Alert> {
        let on_topic = |seen: &HashMap<String, Vec<Alert>>| {
            seen.get(topic)
                .and_then(|alerts| alerts.iter().find(|alert| alert.report_id == report_id))
                .cloned()
        };
        let seen = self
            .read_until(within, |seen| on_topic(seen).is_some())
            .await?;
        on_topic(&seen)
            .with_context(|| format!("no alert of {report_id} on {topic} within {within:?}"))
    }
}
