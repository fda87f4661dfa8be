//! The consumer of `orders.submitted`.

use std::sync::Arc;
use std::time::Instant;

use events::{topics, OrderReport};
use kafka::{Failure, Handler, KafkaMessage as _, Message, Producer};

use crate::metrics::Metrics;
use crate::reload::SharedEngine;
use crate::screen::screen_report;

/// Reports with more lines are screened on a blocking thread.
const INLINE_LINES: usize = 50;

/// Screens each report and publishes what it produced.
pub struct ScreenReports {
    pub engine: SharedEngine,
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
        // The version in use when the report arrived screens all of it.
        let engine = self.engine.load_full();
        let report = Arc::new(report);
        let screening = if report.lines.len() > INLINE_LINES {
            // Long reports take more than a fraction of a millisecond: off the async threads.
            let (engine, report) = (engine.clone(), report.clone());
            tokio::task::spawn_blocking(move || {
                screen_report(&engine, &report, events::now_micros())
            })
            .await
            .map_err(|error| Failure::Transient(error.into()))?
        } else {
            screen_report(&engine, &report, events::now_micros())
        };
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
                .map_err(Failure::from)?;
        }
        let payload =
            events::encode(&screening.result).map_err(|error| Failure::invalid("encode", error))?;
        self.producer
            .send(topics::ORDERS_SCREENED, key, &payload, None)
            .await
            .map_err(Failure::from)?;

        let outcome = screening.result.outcome.as_str();
        self.metrics.screened.with_label_values(&[outcome]).inc();
        for finding in &screening.result.findings {
            if let Some(first) = finding.classifications.first() {
                self.metrics
                    .findings
                    .with_label_values(&[first.regime.as_str()])
                    .inc();
            }
        }
        self.metrics
            .submit_to_screen_seconds
            .observe(events::seconds_since(report.submitted_at));
        tracing::info!(
            report_id = report.report_id,
            outcome,
            findings = screening.result.findings.len(),
            "report screened"
        );
        Ok(())
    }
}
