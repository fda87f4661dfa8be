//! Dispositions that authorities publish on `alerts.feedback`.

use events::Feedback;
use kafka::KafkaMessage as _;
use kafka::{Failure, Handler, Message};
use store::{FeedbackRecord, Store};

use crate::metrics::Metrics;

/// Stores each disposition of an authority on one of its own alerts.
pub struct RecordFeedback {
    pub store: Store,
    pub metrics: Metrics,
}

impl Handler for RecordFeedback {
    async fn handle(&self, message: &Message) -> Result<(), Failure> {
        let feedback: Feedback = events::decode(message.payload().unwrap_or_default())
            .map_err(|error| Failure::invalid("decode", error))?;
        let delivered = self
            .store
            .authority_alert(&feedback.country, &feedback.alert_id)
            .await
            .map_err(|error| Failure::Transient(error.into()))?;
        if delivered.is_none() {
            // An authority speaks only of its own alerts.
            return Err(Failure::invalid(
                "invalid",
                format!(
                    "alert {} was not delivered to the authority of {}",
                    feedback.alert_id, feedback.country
                ),
            ));
        }
        if feedback.author.trim().is_empty() {
            return Err(Failure::invalid("invalid", "author is empty"));
        }
        let disposition = feedback.disposition.as_str();
        let new = self
            .store
            .record_feedback(&FeedbackRecord {
                alert_id: feedback.alert_id,
                country: feedback.country,
                disposition: disposition.to_owned(),
                note: feedback.note,
                author: feedback.author,
                source: "topic".into(),
                recorded_at: feedback.recorded_at,
            })
            .await
            .map_err(|error| Failure::Transient(error.into()))?;
        if new {
            self.metrics
                .feedback
                .with_label_values(&[disposition, "topic"])
                .inc();
        }
        Ok(())
    }
}
