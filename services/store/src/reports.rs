use sqlx::Row as _;

use crate::{Store, StoreError};

/// Most rows one multi-row statement carries.
const ROWS_PER_STATEMENT: usize = 500;

/// An accepted report to store, with the event that announces it.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub id: String,
    pub company_id: String,
    pub company_reference: String,
    pub customer_key: String,
    pub payload_sha256: String,
    pub event: Vec<u8>,
    pub received_at: i64,
}

/// What a company is given for an accepted report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub report_id: String,
    pub company_reference: String,
    pub payload_sha256: String,
    pub received_at: i64,
}

/// Whether a report was stored now or had been stored before under the same reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    New(Receipt),
    Existing(Receipt),
}

/// How far a report has come, as its company may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Stored and queued for screening.
    Received,
    /// Screened; nothing was passed to an authority.
    Screened,
    /// Screened and passed to at least one authority.
    Referred,
}

impl Status {
    /// The word used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Screened => "screened",
            Status::Referred => "referred",
        }
    }
}

/// A report's receipt and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportStatus {
    pub receipt: Receipt,
    pub status: Status,
    pub screened_at: Option<i64>,
}

impl Store {
    /// Stores a report and queues its event for `topic` in one transaction, unless the company
    /// already reported the same reference: then the first receipt is returned and nothing is
    /// written.
    pub async fn insert_report(
        &self,
        report: &NewReport,
        topic: &str,
    ) -> Result<Inserted, StoreError> {
        let mut inserted = self
            .insert_reports(std::slice::from_ref(report), topic)
            .await?;
        inserted
            .pop()
            .ok_or_else(|| StoreError::Conflict(format!("report {}", report.company_reference)))
    }

    /// Stores a group of reports and queues their events for `topic` in one transaction with
    /// one statement per table (group commit): each report is new, or the company already
    /// reported its reference (earlier, or earlier in the group) and the first receipt is
    /// returned for it. The outbox names the report; the event is stored once, with it.
    pub async fn insert_reports(
        &self,
        reports: &[NewReport],
        topic: &str,
    ) -> Result<Vec<Inserted>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut new_ids = std::collections::HashSet::new();
        for chunk in reports.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO reports (id, company_id, company_reference, customer_key, payload_sha256, event, received_at) \
                 VALUES {} ON CONFLICT (company_id, company_reference) DO NOTHING RETURNING id",
                crate::placeholders(chunk.len(), 7)
            );
            let mut query = sqlx::query(&sql);
            for report in chunk {
                query = query
                    .bind(&report.id)
                    .bind(&report.company_id)
                    .bind(&report.company_reference)
                    .bind(&report.customer_key)
                    .bind(&report.payload_sha256)
                    .bind(&report.event)
                    .bind(report.received_at);
            }
            for row in query.fetch_all(&mut *tx).await? {
                new_ids.insert(row.try_get::<String, _>("id")?);
            }
        }
        let queued: Vec<&NewReport> = reports
            .iter()
            .filter(|report| new_ids.contains(&report.id))
            .collect();
        for chunk in queued.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO outbox (topic, message_key, report_id, created_at) VALUES {}",
                crate::placeholders(chunk.len(), 4)
            );
            let mut query = sqlx::query(&sql);
            for report in chunk {
                query = query
                    .bind(topic)
                    .bind(&report.customer_key)
                    .bind(&report.id)
                    .bind(report.received_at);
            }
            query.execute(&mut *tx).await?;
        }
        // The first receipt of each reference reported again, read in the same transaction so
        // that a reference used twice in the group finds the first use.
        let reused: Vec<&NewReport> = reports
            .iter()
            .filter(|report| !new_ids.contains(&report.id))
            .collect();
        let mut existing = std::collections::HashMap::new();
        for chunk in reused.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT id, company_id, company_reference, payload_sha256, received_at FROM reports \
                 WHERE (company_id, company_reference) IN (VALUES {})",
                crate::placeholders(chunk.len(), 2)
            );
            let mut query = sqlx::query(&sql);
            for report in chunk {
                query = query
                    .bind(&report.company_id)
                    .bind(&report.company_reference);
            }
            for row in query.fetch_all(&mut *tx).await? {
                let company_id: String = row.try_get("company_id")?;
                let receipt = receipt_from_row(&row)?;
                existing.insert((company_id, receipt.company_reference.clone()), receipt);
            }
        }
        tx.commit().await?;
        reports
            .iter()
            .map(|report| {
                if new_ids.contains(&report.id) {
                    return Ok(Inserted::New(Receipt {
                        report_id: report.id.clone(),
                        company_reference: report.company_reference.clone(),
                        payload_sha256: report.payload_sha256.clone(),
                        received_at: report.received_at,
                    }));
                }
                existing
                    .get(&(report.company_id.clone(), report.company_reference.clone()))
                    .cloned()
                    .map(Inserted::Existing)
                    .ok_or_else(|| {
                        StoreError::Conflict(format!("report {}", report.company_reference))
                    })
            })
            .collect()
    }

    /// The status of one of the company's reports; `None` for another company's report.
    pub async fn report_status(
        &self,
        company_id: &str,
        report_id: &str,
    ) -> Result<Option<ReportStatus>, StoreError> {
        let row = sqlx::query(
            "SELECT r.id, r.company_reference, r.payload_sha256, r.received_at, s.screened_at, \
                    (SELECT COUNT(*) FROM deliveries d WHERE d.report_id = r.id AND d.kafka_offset >= 0) AS deliveries \
             FROM reports r LEFT JOIN screenings s ON s.report_id = r.id \
             WHERE r.id = $1 AND r.company_id = $2",
        )
        .bind(report_id)
        .bind(company_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let screened_at: Option<i64> = row.try_get("screened_at")?;
        let deliveries: i64 = row.try_get("deliveries")?;
        let status = match (screened_at, deliveries) {
            (_, n) if n > 0 => Status::Referred,
            (Some(_), _) => Status::Screened,
            (None, _) => Status::Received,
        };
        Ok(Some(ReportStatus {
            receipt: receipt_from_row(&row)?,
            status,
            screened_at,
        }))
    }

    /// Stored reports received in `[from, to)`, oldest first, after the report `after` (its
    /// receipt time and id) when given: at most `limit` of them, each with its receipt time and
    /// `orders.submitted` event.
    /// How many reports were received in `[from, to)` (microseconds).
    pub async fn count_reports_received(&self, from: i64, to: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM reports WHERE received_at >= $1 AND received_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn reports_received(
        &self,
        from: i64,
        to: i64,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<(String, i64, Vec<u8>)>, StoreError> {
        let (after_time, after_id) = after.unwrap_or((i64::MIN, ""));
        let rows = sqlx::query(
            "SELECT id, received_at, event FROM reports \
             WHERE received_at >= $1 AND received_at < $2 \
               AND (received_at > $3 OR (received_at = $3 AND id > $4)) \
             ORDER BY received_at, id LIMIT $5",
        )
        .bind(from)
        .bind(to)
        .bind(after_time)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("id")?,
                    row.try_get("received_at")?,
                    row.try_get("event")?,
                ))
            })
            .collect()
    }

    /// The stored `orders.submitted` event of a report.
    pub async fn report_event(&self, report_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT event FROM reports WHERE id = $1")
            .bind(report_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("event")).transpose()?)
    }
}

fn receipt_from_row(row: &sqlx::any::AnyRow) -> Result<Receipt, StoreError> {
    Ok(Receipt {
        report_id: row.try_get("id")?,
        company_reference: row.try_get("company_reference")?,
        payload_sha256: row.try_get("payload_sha256")?,
        received_at: row.try_get("received_at")?,
    })
}
