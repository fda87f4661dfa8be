//! The audit log of operators' actions.

use sqlx::Row as _;

use crate::{Store, StoreError};

/// One operator action.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Position in the log; 0 for an entry not yet written.
    pub id: i64,
    /// When, in microseconds since the epoch.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl AuditEntry {
    /// An entry to write now.
    pub fn new(
        actor: impl Into<String>,
        action: &str,
        target: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            id: 0,
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| {
                    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
                }),
            actor: actor.into(),
            action: action.to_owned(),
            target: target.into(),
            detail: detail.into(),
        }
    }
}

/// The actor of a command run on this host: `cli:<user>`.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

impl Store {
    /// Appends an entry to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Entries after `after` (an entry id), oldest first, at most `limit`.
    pub async fn audit_log(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, detail FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}
