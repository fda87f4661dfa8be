//! Dispositions that authorities publish on `alerts.feedback`.

use events::Feedback;
use kafka::{BatchHandler, Record, Rejection};
use store::{FeedbackRecord, Store};

use crate::metrics::Metrics;

/// Stores each disposition of an authority on one of its own alerts.
pub struct RecordFeedback {
    pub store: Store,
    pub metrics: Metrics,
}

impl BatchHandler for RecordFeedback {
    type Event = Feedback;

    /// Dispositions are few: each is checked against its alert and stored on its own.
    async fn handle(&self, batch: &[Record<Feedback>]) -> anyhow::Result<Vec<Rejection>> {
        let mut rejected = Vec::new();
        for record in batch {
            let feedback = &record.event;
            let delivered = self
                .store
                .authority_alert(&feedback.country, &feedback.alert_id)
                .await?;
            if delivered.is_none() {
                // An authority speaks only of its own alerts.
                rejected.push(record.reject(
                    "invalid",
                    format!(
                        "alert {} was not delivered to the authority of {}",
                        feedback.alert_id, feedback.country
                    ),
                ));
                continue;
            }
            if feedback.author.trim().is_empty() {
                rejected.push(record.reject("invalid", "author is empty"));
                continue;
            }
            let disposition = feedback.disposition.as_str();
            let new = self
                .store
                .record_feedback(&FeedbackRecord {
                    alert_id: feedback.alert_id.clone(),
                    country: feedback.country.clone(),
                    disposition: disposition.to_owned(),
                    note: feedback.note.clone(),
                    author: feedback.author.clone(),
                    source: "topic".into(),
                    recorded_at: feedback.recorded_at,
                })
                .await?;
            if new {
                self.metrics
                    .feedback
                    .with_label_values(&[disposition, "topic"])
                    .inc();
            }
        }
        Ok(rejected)
    }
}
