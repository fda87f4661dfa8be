use sqlx::Row as _;

use crate::{Store, StoreError};

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
    pub(crate) async fn enqueue(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        message: &OutboxMessage,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO outbox (topic, message_key, payload, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&message.topic)
        .bind(&message.key)
        .bind(&message.payload)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The oldest unpublished messages, in the order they were written.
    pub async fn pending_messages(&self, limit: i64) -> Result<Vec<PendingMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, topic, message_key, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
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
            .collect()
    }

    /// Marks messages published.
    pub async fn mark_published(&self, ids: &[i64], now: i64) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (0..ids.len())
            .map(|index| format!("${}", index + 2))
            .collect();
        let sql = format!(
            "UPDATE outbox SET published_at = $1 WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now);
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// How many messages wait to be published.
    pub async fn outbox_depth(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS depth FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("depth")?)
    }
}
