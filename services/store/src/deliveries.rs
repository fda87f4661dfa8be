use sqlx::Row as _;

use std::collections::HashMap;

use crate::{AuthorityAlert, Store, StoreError};

/// Most rows one multi-row statement carries.
const ROWS_PER_STATEMENT: usize = 500;

/// An alert delivered to one authority's topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub alert_id: String,
    pub country: String,
    pub report_id: String,
    pub roles: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub delivered_at: i64,
}

impl Store {
    /// What the ledger knows of the alert's delivery to the country's authority: nothing, a
    /// delivery under way (offset -1: an attempt began and may or may not have sent it), or the
    /// offset it was delivered at.
    pub async fn delivery_offset(
        &self,
        alert_id: &str,
        country: &str,
    ) -> Result<Option<i64>, StoreError> {
        let row =
            sqlx::query("SELECT kafka_offset FROM deliveries WHERE alert_id = $1 AND country = $2")
                .bind(alert_id)
                .bind(country)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|row| row.try_get("kafka_offset")).transpose()?)
    }

    /// What the ledger knows of each (alert, country) delivery that it has: the offset it was
    /// delivered at, or -1 for a delivery under way. One read per few hundred deliveries.
    pub async fn delivery_offsets(
        &self,
        deliveries: &[(&str, &str)],
    ) -> Result<HashMap<(String, String), i64>, StoreError> {
        let mut known = HashMap::new();
        for chunk in deliveries.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT alert_id, country, kafka_offset FROM deliveries \
                 WHERE (alert_id, country) IN (VALUES {})",
                crate::placeholders(chunk.len(), 2)
            );
            let mut query = sqlx::query(&sql);
            for (alert_id, country) in chunk {
                query = query.bind(*alert_id).bind(*country);
            }
            for row in query.fetch_all(&self.pool).await? {
                known.insert(
                    (row.try_get("alert_id")?, row.try_get("country")?),
                    row.try_get("kafka_offset")?,
                );
            }
        }
        Ok(known)
    }

    /// Records that the deliveries begin (their partition and offset -1), one statement per few
    /// hundred; a delivery the ledger has already stays as it is. Each (alert, country) at most
    /// once in `deliveries`.
    pub async fn begin_deliveries(&self, deliveries: &[DeliveryRecord]) -> Result<(), StoreError> {
        for chunk in deliveries.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO deliveries (alert_id, country, report_id, roles, topic, kafka_partition, kafka_offset, delivered_at) \
                 VALUES {} ON CONFLICT (alert_id, country) DO NOTHING",
                crate::placeholders(chunk.len(), 8)
            );
            bind_deliveries(sqlx::query(&sql), chunk)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Records where the deliveries landed and each authority's copy of its alert, in one
    /// transaction; a delivery recorded as landed stays as it is. Each (alert, country) at most
    /// once in `landed`.
    pub async fn complete_deliveries(
        &self,
        landed: &[(DeliveryRecord, AuthorityAlert)],
    ) -> Result<(), StoreError> {
        if landed.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in landed.chunks(ROWS_PER_STATEMENT) {
            let copies: Vec<&AuthorityAlert> = chunk.iter().map(|(_, alert)| alert).collect();
            crate::authorities::insert_alert_copies(&mut tx, &copies).await?;
            let sql = format!(
                "INSERT INTO deliveries (alert_id, country, report_id, roles, topic, kafka_partition, kafka_offset, delivered_at) \
                 VALUES {} ON CONFLICT (alert_id, country) DO UPDATE SET \
                 kafka_partition = excluded.kafka_partition, kafka_offset = excluded.kafka_offset, \
                 delivered_at = excluded.delivered_at WHERE deliveries.kafka_offset < 0",
                crate::placeholders(chunk.len(), 8)
            );
            let records: Vec<DeliveryRecord> =
                chunk.iter().map(|(record, _)| record.clone()).collect();
            bind_deliveries(sqlx::query(&sql), &records)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the alert was delivered to the country's authority.
    pub async fn is_delivered(&self, alert_id: &str, country: &str) -> Result<bool, StoreError> {
        Ok(self
            .delivery_offset(alert_id, country)
            .await?
            .is_some_and(|offset| offset >= 0))
    }

    /// Records that a delivery begins (`partition` and `offset` -1) or where it landed; a
    /// delivery recorded as landed stays as it is.
    pub async fn record_delivery(&self, delivery: &DeliveryRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deliveries (alert_id, country, report_id, roles, topic, kafka_partition, kafka_offset, delivered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (alert_id, country) DO UPDATE SET \
             kafka_partition = excluded.kafka_partition, kafka_offset = excluded.kafka_offset, \
             delivered_at = excluded.delivered_at WHERE deliveries.kafka_offset < 0",
        )
        .bind(&delivery.alert_id)
        .bind(&delivery.country)
        .bind(&delivery.report_id)
        .bind(&delivery.roles)
        .bind(&delivery.topic)
        .bind(delivery.partition)
        .bind(delivery.offset)
        .bind(delivery.delivered_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The deliveries of a report's alerts.
    pub async fn deliveries_for_report(
        &self,
        report_id: &str,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT alert_id, country, report_id, roles, topic, kafka_partition, kafka_offset, delivered_at \
             FROM deliveries WHERE report_id = $1 ORDER BY country",
        )
        .bind(report_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryRecord {
                    alert_id: row.try_get("alert_id")?,
                    country: row.try_get("country")?,
                    report_id: row.try_get("report_id")?,
                    roles: row.try_get("roles")?,
                    topic: row.try_get("topic")?,
                    partition: row.try_get("kafka_partition")?,
                    offset: row.try_get("kafka_offset")?,
                    delivered_at: row.try_get("delivered_at")?,
                })
            })
            .collect()
    }
}

fn bind_deliveries<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    deliveries: &'q [DeliveryRecord],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for delivery in deliveries {
        query = query
            .bind(&delivery.alert_id)
            .bind(&delivery.country)
            .bind(&delivery.report_id)
            .bind(&delivery.roles)
            .bind(&delivery.topic)
            .bind(delivery.partition)
            .bind(delivery.offset)
            .bind(delivery.delivered_at);
    }
    query
}
