//! The console's own metrics.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Every metric the console exports.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Requests by route and status.
    pub requests: IntCounterVec,
    /// Sign-ins by result: operator, authority, refused.
    pub sign_ins: IntCounterVec,
    /// Live alert feeds open now.
    pub streams_open: IntGauge,
}

impl Metrics {
    /// Creates the metrics on a registry of their own.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("pw_console".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("requests_total", "Console requests by route and status"),
            &["route", "status"],
        )?;
        let sign_ins = IntCounterVec::new(
            Opts::new(
                "sign_ins_total",
                "Sign-ins by result (operator, authority, refused)",
            ),
            &["result"],
        )?;
        let streams_open = IntGauge::new("streams_open", "Live alert feeds open now")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(sign_ins.clone()))?;
        registry.register(Box::new(streams_open.clone()))?;
        Ok(Self {
            registry,
            requests,
            sign_ins,
            streams_open,
        })
    }
}
