//! The consumer of `orders.submitted`.

use std::sync::Arc;
use std::time::Instant;

use events::{topics, OrderReport};
use kafka::{Failure, Handler, KafkaMessage as _, Message, Producer};

use indicators::RuleSets;
use store::Store;

use crate::assess;
use crate::metrics::Metrics;
use crate::reload::SharedEngine;
use crate::screen::{conclude, report_findings, Assessment};

/// Reports with more lines are screened on a blocking thread.
const INLINE_LINES: usize = 50;

/// Screens each report, weighs its indicators and publishes what it produced.
pub struct ScreenReports {
    pub engine: SharedEngine,
    pub store: Store,
    pub rules: Arc<RuleSets>,
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
        let findings = if report.lines.len() > INLINE_LINES {
            // Long reports take more than a fraction of a millisecond: off the async threads.
            let (engine, report) = (engine.clone(), report.clone());
            tokio::task::spawn_blocking(move || report_findings(&engine, &report))
                .await
                .map_err(|error| Failure::Transient(error.into()))?
        } else {
            report_findings(&engine, &report)
        };
        // The rules in force on the day the report was accepted judge it, also when it is
        // screened again later.
        let rules = self.rules.at(report.submitted_at);
        let assessment = if findings.is_empty() {
            Assessment::identification_only(rules)
        } else {
            assess::load(
                &self.store,
                &engine,
                &report,
                &findings,
                rules.history_days,
                assess::Mode::Record,
            )
            .await
            .map_err(|error| Failure::Transient(error.into()))?
            .assess(&report, &findings, rules)
        };
        for hit in &assessment.hits {
            self.metrics
                .indicators
                .with_label_values(&[hit.indicator_id.as_str()])
                .inc();
        }
        let screening = conclude(
            &engine,
            &report,
            findings,
            &assessment,
            events::now_micros(),
        );
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
