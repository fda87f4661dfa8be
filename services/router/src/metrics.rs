//! The router's metrics.

use kafka::ConsumerMetrics;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};

/// Every metric the router exports.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Alerts delivered, by authority country and severity.
    pub delivered: IntCounterVec,
    /// Alerts an authority's preferences turned away, by country.
    pub filtered: IntCounterVec,
    /// Time from acceptance by ingest to delivery on the authority topic.
    pub submit_to_delivery_seconds: Histogram,
    pub consumer: ConsumerMetrics,
}

impl Metrics {
    /// Creates the metrics on a registry of their own.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("pw_router".into()), None)?;
        let filtered = IntCounterVec::new(
            Opts::new(
                "alerts_filtered_total",
                "Alerts an authority's preferences turned away, by country",
            ),
            &["country"],
        )?;
        registry.register(Box::new(filtered.clone()))?;
        let delivered = IntCounterVec::new(
            Opts::new(
                "alerts_delivered_total",
                "Alerts delivered to authority topics, by country and severity",
            ),
            &["country", "severity"],
        )?;
        let submit_to_delivery_seconds = Histogram::with_opts(HistogramOpts::new(
            "submit_to_delivery_seconds",
            "Time from acceptance by ingest to delivery on the authority topic",
        ))?;
        registry.register(Box::new(delivered.clone()))?;
        registry.register(Box::new(submit_to_delivery_seconds.clone()))?;
        let consumer = ConsumerMetrics::register(&registry)?;
        Ok(Self {
            registry,
            delivered,
            filtered,
            submit_to_delivery_seconds,
            consumer,
        })
    }
}
