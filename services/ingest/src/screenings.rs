//! Records the screening results of `orders.screened`, so a company can see its report's status.

use events::{Outcome, ScreeningResult};
use kafka::KafkaMessage as _;
use kafka::{Failure, Handler, Message};
use store::{ScreeningRecord, Store};

/// Stores each screening result.
pub struct RecordScreenings {
    pub store: Store,
}

impl Handler for RecordScreenings {
    async fn handle(&self, message: &Message) -> Result<(), Failure> {
        let payload = message.payload().unwrap_or_default();
        let result: ScreeningResult =
            events::decode(payload).map_err(|error| Failure::invalid("decode", error))?;
        let record = ScreeningRecord {
            report_id: result.report_id,
            outcome: match result.outcome {
                Outcome::Clear => "clear".into(),
                Outcome::Alert => "alert".into(),
            },
            alert_id: result.alert_id,
            findings: i32::try_from(result.findings.len()).unwrap_or(i32::MAX),
            reference_data_version: result.reference_data_version,
            screened_at: result.screened_at,
        };
        self.store
            .record_screening(&record)
            .await
            .map_err(|error| Failure::Transient(error.into()))
    }
}
