//! The consumer of `orders.submitted`.

use std::sync::Arc;
use std::time::Instant;

use events::{topics, Finding, OrderReport};
use kafka::{BatchHandler, DeadLetterClass, Producer, Record, Rejection};

use indicators::RuleSets;
use store::Store;

use crate::assess::{self, Order};
use crate::metrics::Metrics;
use crate::reload::SharedEngine;
use screening::{conclude, report_findings, Assessment, Screening};

/// Runs CPU work of a batch (screening, weighing indicators) without holding up the other
/// tasks of the runtime: on a multi-threaded runtime they move to another thread meanwhile.
fn cpu<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// Screens each report, weighs its indicators and publishes what it produced.
pub struct ScreenReports {
    pub engine: SharedEngine,
    pub store: Store,
    pub rules: Arc<RuleSets>,
    pub producer: Producer,
    pub metrics: Metrics,
}

impl BatchHandler for ScreenReports {
    type Event = OrderReport;

    /// Screens the batch, weighs the indicators of the reports with findings with one read and
    /// one write of the buyers' histories for the whole batch, then sends every alert, and
    /// once they are acknowledged every screening result.
    async fn handle(&self, batch: &[Record<OrderReport>]) -> anyhow::Result<Vec<Rejection>> {
        let started = Instant::now();
        let mut rejected = Vec::new();
        let reports: Vec<&Record<OrderReport>> = batch
            .iter()
            .filter(|record| {
                if record.event.lines.is_empty() {
                    rejected.push(record.reject(DeadLetterClass::Invalid, "report has no lines"));
                    return false;
                }
                true
            })
            .collect();
        // The version in use when the batch arrived screens all of it.
        let engine = self.engine.load_full();
        let findings: Vec<Vec<Finding>> = cpu(|| {
            reports
                .iter()
                .map(|record| report_findings(&engine, &record.event))
                .collect()
        });
        // The rules in force on the day a report was accepted judge it, also when it is
        // screened again later.
        let rules: Vec<_> = reports
            .iter()
            .map(|record| self.rules.at(record.event.submitted_at))
            .collect();
        let orders: Vec<Order<'_>> = reports
            .iter()
            .zip(&findings)
            .zip(&rules)
            .filter(|((_, findings), _)| !findings.is_empty())
            .map(|((record, findings), rules)| Order {
                report: &record.event,
                findings,
                history_days: rules.history_days,
            })
            .collect();
        let reads = assess::read_batch(&self.store, &orders, assess::Mode::Record).await?;
        let (loaded, screenings) = cpu(|| {
            let loaded = assess::assemble(&engine, &orders, reads);
            let mut assessed = loaded.iter();
            let mut screenings: Vec<(&Record<OrderReport>, Screening)> =
                Vec::with_capacity(reports.len());
            for ((record, findings), rules) in reports.iter().zip(findings.clone()).zip(&rules) {
                let report = &record.event;
                let assessment = if findings.is_empty() {
                    Assessment::identification_only(rules)
                } else {
                    match assessed.next() {
                        Some(loaded) => loaded.assess(report, &findings, rules),
                        // assemble() gives one result per order with findings.
                        None => Assessment::identification_only(rules),
                    }
                };
                for hit in &assessment.hits {
                    self.metrics
                        .indicators
                        .with_label_values(&[hit.indicator_id.as_str()])
                        .inc();
                }
                let screening =
                    conclude(&engine, report, findings, &assessment, events::now_micros());
                screenings.push((*record, screening));
            }
            (loaded, screenings)
        });
        // The batch's purchases are the history of the orders after it.
        assess::record(&self.store, &loaded).await?;
        self.metrics
            .screen_seconds
            .observe(started.elapsed().as_secs_f64());

        // The alerts go first: once a screening result is out, its report counts as screened.
        let mut alerts = Vec::new();
        let mut results = Vec::new();
        for (record, screening) in &screenings {
            let key = record
                .key()
                .unwrap_or(record.event.report_id.as_bytes())
                .to_vec();
            let result = events::encode(&screening.result);
            let alert = screening.alert.as_ref().map(events::encode).transpose();
            match (alert, result) {
                (Ok(alert), Ok(result)) => {
                    if let Some(alert) = alert {
                        alerts.push((record.offset(), key.clone(), alert));
                    }
                    results.push((record.offset(), key, result));
                }
                (Err(error), _) | (_, Err(error)) => {
                    rejected.push(record.reject(DeadLetterClass::Encode, error))
                }
            }
        }
        let refused = self
            .send_all(topics::ALERTS_DETECTED, &alerts, &mut rejected)
            .await?;
        results.retain(|(offset, _, _)| !refused.contains(offset));
        self.send_all(topics::ORDERS_SCREENED, &results, &mut rejected)
            .await?;

        for (record, screening) in &screenings {
            if rejected
                .iter()
                .any(|rejection| rejection.offset == record.offset())
            {
                continue;
            }
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
                .observe(events::seconds_since(record.event.submitted_at));
            tracing::info!(
                report_id = record.event.report_id,
                outcome,
                findings = screening.result.findings.len(),
                "report screened"
            );
        }
        Ok(rejected)
    }
}

impl ScreenReports {
    /// Sends the messages (input offset, key, payload) to `topic`, all in flight at once.
    /// A message the broker can never take rejects its input record; returns those offsets.
    /// Any other failure fails the batch, after every send has settled.
    async fn send_all(
        &self,
        topic: &str,
        messages: &[(i64, Vec<u8>, Vec<u8>)],
        rejected: &mut Vec<Rejection>,
    ) -> anyhow::Result<Vec<i64>> {
        let sends = messages
            .iter()
            .map(|(_, key, payload)| self.producer.send(topic, key, payload, None));
        let results = futures::future::join_all(sends).await;
        let mut refused = Vec::new();
        let mut transient = None;
        for ((offset, _, _), result) in messages.iter().zip(results) {
            match result {
                Ok(_) => {}
                Err(error) if kafka::is_permanent(&error) => {
                    refused.push(*offset);
                    rejected.push(Rejection {
                        offset: *offset,
                        class: DeadLetterClass::Produce,
                        reason: error.to_string(),
                    });
                }
                Err(error) => transient = Some(error),
            }
        }
        match transient {
            Some(error) => {
                Err(anyhow::Error::new(error).context(format!("cannot send to {topic}")))
            }
            None => Ok(refused),
        }
    }
}
