use crate::{Store, StoreError};

/// The screening of one report, as recorded from `orders.screened`.
#[derive(Debug, Clone)]
pub struct ScreeningRecord {
    pub report_id: String,
    pub outcome: String,
    pub alert_id: Option<String>,
    pub findings: i32,
    pub reference_data_version: String,
    pub screened_at: i64,
}

impl Store {
    /// Records a screening; a second record for the same report is ignored.
    pub async fn record_screening(&self, screening: &ScreeningRecord) -> Result<(), StoreError> {
        self.record_screenings(std::slice::from_ref(screening))
            .await
    }

    /// Records screening results, one statement per few hundred; a report's first result stays.
    pub async fn record_screenings(
        &self,
        screenings: &[ScreeningRecord],
    ) -> Result<(), StoreError> {
        for chunk in screenings.chunks(500) {
            let sql = format!(
                "INSERT INTO screenings (report_id, outcome, alert_id, findings, reference_data_version, screened_at) \
                 VALUES {} ON CONFLICT (report_id) DO NOTHING",
                crate::placeholders(chunk.len(), 6)
            );
            let mut query = sqlx::query(&sql);
            for screening in chunk {
                query = query
                    .bind(&screening.report_id)
                    .bind(&screening.outcome)
                    .bind(&screening.alert_id)
                    .bind(screening.findings)
                    .bind(&screening.reference_data_version)
                    .bind(screening.screened_at);
            }
            query.execute(&self.pool).await?;
        }
        Ok(())
    }
}
