use std::future::Future;

use sqlx::Row as _;

use crate::{Backend, Store, StoreError};

/// Key of the PostgreSQL advisory lock that lets one ingest instance at a time publish.
const PUBLISHER_LOCK: i64 = 0x7077_6f75_7462_6f78; // "pwoutbox"

/// A message to publish once the transaction that wrote it has committed.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub topic: String,
    pub key: String,
    pub payload: Vec<u8>,
}

/// An outbox message not yet published.
#[derive(Debug, Clone)]
pub struct PendingMessage {
    pub id: i64,
    pub message: OutboxMessage,
}

impl Store {
    /// Hands the oldest unpublished messages, in the order they were written, to `publish`, and
    /// removes the ids it returns from the outbox.
    ///
    /// On PostgreSQL the work runs under a transaction-scoped advisory lock, so among several
    /// ingest instances one publishes at a time and a customer's messages keep their order;
    /// returns `None` when another instance holds the lock.
    pub async fn publish_outbox<F, Fut>(
        &self,
        limit: i64,
        publish: F,
    ) -> Result<Option<usize>, StoreError>
    where
        F: FnOnce(Vec<PendingMessage>) -> Fut,
        Fut: Future<Output = Vec<i64>>,
    {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            let locked: bool = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                .bind(PUBLISHER_LOCK)
                .fetch_one(&mut *tx)
                .await?
                .try_get("locked")?;
            if !locked {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        let rows = sqlx::query(
            "SELECT o.id, o.topic, o.message_key, COALESCE(o.payload, r.event) AS payload \
             FROM outbox o LEFT JOIN reports r ON r.id = o.report_id \
             WHERE o.published_at IS NULL ORDER BY o.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let pending = rows
            .iter()
            .map(|row| {
                Ok(PendingMessage {
                    id: row.try_get("id")?,
                    message: OutboxMessage {
                        topic: row.try_get("topic")?,
                        key: row.try_get("message_key")?,
                        payload: row.try_get("payload")?,
                    },
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if pending.is_empty() {
            tx.commit().await?;
            return Ok(Some(0));
        }
        let published = publish(pending).await;
        if !published.is_empty() {
            for chunk in published.chunks(1000) {
                let placeholders: Vec<String> =
                    (1..=chunk.len()).map(|index| format!("${index}")).collect();
                let sql = format!(
                    "DELETE FROM outbox WHERE id IN ({})",
                    placeholders.join(", ")
                );
                let mut query = sqlx::query(&sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(Some(published.len()))
    }

    /// How many messages wait to be published.
    pub async fn outbox_depth(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS depth FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("depth")?)
    }
}
