//! The matcher's metrics.

use kafka::ConsumerMetrics;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

/// Every metric the matcher exports.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Reports screened, by outcome.
    pub screened: IntCounterVec,
    /// Findings, by regime of their strongest classification.
    pub findings: IntCounterVec,
    /// Time to screen one report.
    pub screen_seconds: Histogram,
    /// Time from acceptance by ingest to the screening result.
    pub submit_to_screen_seconds: Histogram,
    /// Reference data reloads, by result: ok, invalid.
    pub reference_reloads: IntCounterVec,
    /// Indicators that fired, by indicator id.
    pub indicators: IntCounterVec,
    /// Purchases forgotten past the rules' history.
    pub purchases_pruned: IntCounter,
    pub consumer: ConsumerMetrics,
}

impl Metrics {
    /// Creates the metrics on a registry of their own.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("pw_matcher".into()), None)?;
        let screened = IntCounterVec::new(
            Opts::new("reports_screened_total", "Reports screened, by outcome"),
            &["outcome"],
        )?;
        let findings = IntCounterVec::new(
            Opts::new("findings_total", "Substances identified, by regime"),
            &["regime"],
        )?;
        let screen_seconds = Histogram::with_opts(
            HistogramOpts::new("screen_duration_seconds", "Time to screen one report")
                .buckets(prometheus::exponential_buckets(0.000_01, 4.0, 10)?),
        )?;
        let submit_to_screen_seconds = Histogram::with_opts(HistogramOpts::new(
            "submit_to_screen_seconds",
            "Time from acceptance by ingest to the screening result",
        ))?;
        let reference_reloads = IntCounterVec::new(
            Opts::new(
                "reference_reloads_total",
                "Reference data reloads, by result",
            ),
            &["result"],
        )?;
        let indicators = IntCounterVec::new(
            Opts::new("indicators_total", "Indicators that fired, by indicator id"),
            &["indicator"],
        )?;
        let purchases_pruned = IntCounter::new(
            "purchases_pruned_total",
            "Purchases forgotten past the rules' history",
        )?;
        registry.register(Box::new(indicators.clone()))?;
        registry.register(Box::new(purchases_pruned.clone()))?;
        registry.register(Box::new(reference_reloads.clone()))?;
        registry.register(Box::new(screened.clone()))?;
        registry.register(Box::new(findings.clone()))?;
        registry.register(Box::new(screen_seconds.clone()))?;
        registry.register(Box::new(submit_to_screen_seconds.clone()))?;
        let consumer = ConsumerMetrics::register(&registry)?;
        Ok(Self {
            registry,
            screened,
            findings,
            screen_seconds,
            submit_to_screen_seconds,
            reference_reloads,
            indicators,
            purchases_pruned,
            consumer,
        })
    }
}
