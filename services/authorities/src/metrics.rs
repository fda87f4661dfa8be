//! The authorities service's metrics.

use kafka::ConsumerMetrics;
use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Every metric the service exports.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Dispositions recorded, by disposition and source (api, topic).
    pub feedback: IntCounterVec,
    /// Requests of the authority API, by route and status class.
    pub requests: IntCounterVec,
    /// Open alert streams.
    pub streams: IntGauge,
    pub consumer: ConsumerMetrics,
}

impl Metrics {
    /// Creates the metrics on a registry of their own.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("pw_authorities".into()), None)?;
        let feedback = IntCounterVec::new(
            Opts::new(
                "feedback_total",
                "Dispositions recorded, by disposition and source",
            ),
            &["disposition", "source"],
        )?;
        let requests = IntCounterVec::new(
            Opts::new(
                "requests_total",
                "Authority API requests, by route and status class",
            ),
            &["route", "status"],
        )?;
        let streams = IntGauge::new("streams_open", "Open alert streams")?;
        registry.register(Box::new(feedback.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(streams.clone()))?;
        let consumer = ConsumerMetrics::register(&registry)?;
        Ok(Self {
            registry,
            feedback,
            requests,
            streams,
            consumer,
        })
    }
}
