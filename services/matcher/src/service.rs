//! The consumer of `orders.submitted`.

use std::sync::Arc;
use std::time::Instant;

use events::{topics, OrderReport, Outcome};
use kafka::{Failure, Handler, KafkaMessage as _, Message, Producer};

use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::screen::screen_report;

/// Screens each report and publishes what it produced.
pub struct ScreenReports {
    pub engine: Arc<Engine>,
    pub producer: Producer,
    pub metrics: Metrics,
}

impl Handler for ScreenReports {
    async fn handle(&self, message: &Message) -> Result<(), Failure> {
        let report: OrderReport = events::decode(message.payload().unwrap_or_default())
            .map_err(|error| Failure::invalid("decode", error))?;
        if report.lines.is_empty() {
            return Err(Failure::invalid("invalid", "report has no lines"));
        }
        let started = Instant::now();
        let screening = screen_report(&self.engine, &report, events::now_micros());
        self.metrics
            .screen_seconds
            .observe(started.elapsed().as_secs_f64());

        let key = message.key().unwrap_or(report.report_id.as_bytes());
        // The alert goes first: once the screening result is out, the report counts as screened.
        if let Some(alert) = &screening.alert {
            let payload =
                events::encode(alert).map_err(|error| Failure::invalid("encode", error))?;
            self.producer
                .send(topics::ALERTS_DETECTED, key, &payload, None)
                .await
                .map_err(|error| Failure::Transient(error.into()))?;
        }
        let payload =
            events::encode(&screening.result).map_err(|error| Failure::invalid("encode", error))?;
        self.producer
            .send(topics::ORDERS_SCREENED, key, &payload, None)
            .await
            .map_err(|error| Failure::Transient(error.into()))?;

        let outcome = match screening.result.outcome {
            Outcome::Clear => "clear",
            Outcome::Alert => "alert",
        };
        self.metrics.screened.with_label_values(&[outcome]).inc();
        for finding in &screening.result.findings {
            if let Some(first) = finding.classifications.first() {
                let regime = match first.regime {
                    events::Regime::Un1988 => "un_1988",
                    events::Regime::Eu => "eu",
                    events::Regime::Us => "us",
                    events::Regime::WatchList => "watch_list",
                };
                self.metrics.findings.with_label_values(&[regime]).inc();
            }
        }
        let waited = (events::now_micros() - report.submitted_at).max(0) as f64 / 1e6;
        self.metrics.submit_to_screen_seconds.observe(waited);
        tracing::info!(
            report_id = report.report_id,
            outcome,
            findings = screening.result.findings.len(),
            "report screened"
        );
        Ok(())
    }
}
