use sqlx::Row as _;

use crate::{Store, StoreError};

/// A stored API key: the company it belongs to and the hash of its secret.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub company_id: String,
    pub secret_hash: String,
    pub revoked: bool,
}

impl Store {
    /// Creates a company; `Conflict` when the id is taken.
    pub async fn create_company(
        &self,
        id: &str,
        name: &str,
        country: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO companies (id, name, country, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(country)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("company {id}")));
        }
        Ok(())
    }

    /// Every company, by id, with its number of active keys.
    pub async fn companies(&self) -> Result<Vec<Company>, StoreError> {
        let rows = sqlx::query(&format!("{COMPANY_SELECT} ORDER BY c.id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(company_from_row).collect()
    }

    /// One company, with its number of active keys.
    pub async fn company(&self, id: &str) -> Result<Option<Company>, StoreError> {
        let row = sqlx::query(&format!("{COMPANY_SELECT} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(company_from_row).transpose()
    }

    /// Whether a company exists.
    pub async fn company_exists(&self, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM companies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Stores the hash of a new API key of a company.
    pub async fn add_api_key(
        &self,
        key_id: &str,
        company_id: &str,
        secret_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO api_keys (key_id, company_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(key_id)
            .bind(company_id)
            .bind(secret_hash)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Looks an API key up by its public id.
    pub async fn api_key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT company_id, secret_hash, revoked_at FROM api_keys WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ApiKeyRecord {
            company_id: row.try_get("company_id")?,
            secret_hash: row.try_get("secret_hash")?,
            revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        }))
    }

    /// The API keys of a company, oldest first: id, created, revoked.
    pub async fn api_keys_of(&self, company_id: &str) -> Result<Vec<KeySummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT key_id, created_at, revoked_at FROM api_keys WHERE company_id = $1 ORDER BY created_at, key_id",
        )
        .bind(company_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeySummary {
                    key_id: row.try_get("key_id")?,
                    created_at: row.try_get("created_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Revokes a company's API key; false when the company has no such active key.
    pub async fn revoke_api_key(
        &self,
        company_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND company_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(key_id)
        .bind(company_id)
        .execute(&self.pool)
        .await?;
        let revoked = result.rows_affected() > 0;
        if revoked {
            // Services that keep keys in memory drop this one at once.
            self.announce(crate::Change::ApiKeyRevoked, key_id).await?;
        }
        Ok(revoked)
    }
}

const COMPANY_SELECT: &str = "SELECT c.id, c.name, c.country, c.created_at, \
     (SELECT COUNT(*) FROM api_keys k WHERE k.company_id = c.id AND k.revoked_at IS NULL) AS active_keys \
     FROM companies c";

fn company_from_row(row: &sqlx::any::AnyRow) -> Result<Company, StoreError> {
    Ok(Company {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        country: row.try_get("country")?,
        created_at: row.try_get("created_at")?,
        active_keys: row.try_get("active_keys")?,
    })
}

/// A reporting company as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Company {
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 code of its seat.
    pub country: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Keys not revoked.
    pub active_keys: i64,
}

/// An API key as operators see it: never its hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeySummary {
    pub key_id: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}
