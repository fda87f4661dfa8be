//! Records the screening results of `orders.screened`, so a company can see its report's status.

use events::{Outcome, ScreeningResult};
use kafka::{BatchHandler, Record, Rejection};
use store::{ScreeningRecord, Store};

/// Stores each batch of screening results in one statement.
pub struct RecordScreenings {
    pub store: Store,
}

impl BatchHandler for RecordScreenings {
    type Event = ScreeningResult;

    async fn handle(&self, batch: &[Record<ScreeningResult>]) -> anyhow::Result<Vec<Rejection>> {
        let records: Vec<ScreeningRecord> = batch
            .iter()
            .map(|record| {
                let result = &record.event;
                ScreeningRecord {
                    report_id: result.report_id.clone(),
                    outcome: match result.outcome {
                        Outcome::Clear => "clear".into(),
                        Outcome::Alert => "alert".into(),
                    },
                    alert_id: result.alert_id.clone(),
                    findings: i32::try_from(result.findings.len()).unwrap_or(i32::MAX),
                    reference_data_version: result.reference_data_version.clone(),
                    screened_at: result.screened_at,
                }
            })
            .collect();
        self.store.record_screenings(&records).await?;
        Ok(Vec::new())
    }
}
