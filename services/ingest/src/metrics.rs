//! Ingest's metrics.

use kafka::ConsumerMetrics;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Every metric ingest exports.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Reports by result: accepted, duplicate, rejected, unauthorized, rate_limited, busy,
    /// backlog, unavailable, conflict, error.
    pub reports: IntCounterVec,
    /// Problems found in rejected reports, by problem code.
    pub problems: IntCounterVec,
    /// Time to accept or reject a report.
    pub request_seconds: Histogram,
    /// Reports committed together, per group.
    pub group_size: Histogram,
    /// Outbox messages published to Kafka.
    pub published: IntCounter,
    /// Outbox messages waiting to be published.
    pub outbox_depth: IntGauge,
    /// Reports on orders.submitted the matcher has not taken yet.
    pub matcher_lag: IntGauge,
    /// Outbox plus matcher lag: what back-pressure compares with --max-backlog.
    pub backlog: IntGauge,
    pub consumer: ConsumerMetrics,
}

impl Metrics {
    /// Creates the metrics on a registry of their own.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("pw_ingest".into()), None)?;
        let reports = IntCounterVec::new(
            Opts::new("reports_total", "Report submissions by result"),
            &["result"],
        )?;
        let problems = IntCounterVec::new(
            Opts::new(
                "report_problems_total",
                "Problems found in rejected reports, by code",
            ),
            &["code"],
        )?;
        let request_seconds = Histogram::with_opts(HistogramOpts::new(
            "submit_duration_seconds",
            "Time from request to receipt or rejection",
        ))?;
        let group_size = Histogram::with_opts(
            HistogramOpts::new(
                "write_group_reports",
                "Reports written in one transaction (group commit)",
            )
            .buckets(prometheus::exponential_buckets(1.0, 2.0, 10)?),
        )?;
        registry.register(Box::new(group_size.clone()))?;
        let published = IntCounter::new(
            "outbox_published_total",
            "Outbox messages published to Kafka",
        )?;
        let outbox_depth =
            IntGauge::new("outbox_depth", "Outbox messages waiting to be published")?;
        registry.register(Box::new(reports.clone()))?;
        registry.register(Box::new(problems.clone()))?;
        registry.register(Box::new(request_seconds.clone()))?;
        registry.register(Box::new(published.clone()))?;
        let matcher_lag = IntGauge::new(
            "matcher_lag",
            "Reports on orders.submitted the matcher has not committed yet",
        )?;
        let backlog = IntGauge::new(
            "backlog",
            "Reports accepted and not yet taken by the matcher (outbox plus matcher lag)",
        )?;
        registry.register(Box::new(outbox_depth.clone()))?;
        registry.register(Box::new(matcher_lag.clone()))?;
        registry.register(Box::new(backlog.clone()))?;
        let consumer = ConsumerMetrics::register(&registry)?;
        Ok(Self {
            registry,
            reports,
            problems,
            request_seconds,
            group_size,
            published,
            outbox_depth,
            matcher_lag,
            backlog,
            consumer,
        })
    }
}
