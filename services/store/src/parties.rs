//! Buyers across suppliers: the parties, the keys they are recognised by, what each bought, and
//! the parties the authorities watch.

use indicators::{PartyKey, Purchase, WatchedParty};
use sqlx::Row as _;

use crate::{Store, StoreError};

/// Namespace of party ids: a party's id is the UUID v5 of the first key it was known by, so
/// recognising the same buyer twice yields the same id.
const PARTY_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x7d2e_41c0_8b5a_4f3e_a1d9_52c6_0e8b_3f17);

/// The party a customer was recognised as, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub party_id: String,
    /// The rule that decided it: which key matched, or that the party is new.
    pub rule: String,
}

impl Store {
    /// The party known by one of `keys` (the strongest first); a new party when none is. The
    /// keys the party was not known by yet are added, so the next report with only a name finds
    /// the party that a registration number first named.
    pub async fn resolve_party(
        &self,
        keys: &[PartyKey],
        name: &str,
        now: i64,
    ) -> Result<Party, StoreError> {
        let Some(first) = keys.first() else {
            return Err(StoreError::Conflict(
                "a customer with neither name nor registration number".into(),
            ));
        };
        let existing = self.find_party(keys).await?;
        let party_id = match &existing {
            Some(party) => party.party_id.clone(),
            None => {
                let party_id = uuid::Uuid::new_v5(
                    &PARTY_NAMESPACE,
                    format!("{}|{}|{}", first.kind(), first.country(), first.value()).as_bytes(),
                )
                .to_string();
                sqlx::query(
                    "INSERT INTO parties (party_id, country, name, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (party_id) DO NOTHING",
                )
                .bind(&party_id)
                .bind(first.country())
                .bind(name)
                .bind(now)
                .execute(&self.pool)
                .await?;
                party_id
            }
        };
        for key in keys {
            sqlx::query(
                "INSERT INTO party_keys (kind, country, value, party_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kind, country, value) DO NOTHING",
            )
            .bind(key.kind())
            .bind(key.country())
            .bind(key.value())
            .bind(&party_id)
            .execute(&self.pool)
            .await?;
        }
        if let Some(party) = existing {
            return Ok(party);
        }
        // Another instance may have created a party for the same key a moment earlier: the
        // key's owner is the party.
        let owner = self.find_party(keys).await?;
        Ok(match owner {
            Some(owner) if owner.party_id != party_id => owner,
            _ => Party {
                party_id,
                rule: "new party".into(),
            },
        })
    }

    /// The party known by one of `keys`, without recording anything.
    pub async fn find_party(&self, keys: &[PartyKey]) -> Result<Option<Party>, StoreError> {
        for key in keys {
            let row = sqlx::query(
                "SELECT party_id FROM party_keys WHERE kind = $1 AND country = $2 AND value = $3",
            )
            .bind(key.kind())
            .bind(key.country())
            .bind(key.value())
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return Ok(Some(Party {
                    party_id: row.try_get("party_id")?,
                    rule: key.rule(),
                }));
            }
        }
        Ok(None)
    }

    /// Records what a party bought; recording the same report again changes nothing.
    pub async fn record_purchases(
        &self,
        party_id: &str,
        purchases: &[Purchase],
    ) -> Result<(), StoreError> {
        for purchase in purchases {
            sqlx::query(
                "INSERT INTO party_purchases (report_id, line_number, substance_id, party_id, company_id, substance_name, amount, unit, ordered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (report_id, line_number, substance_id) DO NOTHING",
            )
            .bind(&purchase.report_id)
            .bind(purchase.line_number)
            .bind(&purchase.substance_id)
            .bind(party_id)
            .bind(&purchase.company_id)
            .bind(&purchase.substance_name)
            .bind(purchase.amount)
            .bind(&purchase.unit)
            .bind(purchase.at)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// What the party bought from `since` up to and including `until`, other than in report
    /// `excluding`, newest first, at most `limit` purchases.
    pub async fn party_history(
        &self,
        party_id: &str,
        since: i64,
        until: i64,
        excluding: &str,
        limit: i64,
    ) -> Result<Vec<Purchase>, StoreError> {
        let rows = sqlx::query(
            "SELECT report_id, line_number, substance_id, company_id, substance_name, amount, unit, ordered_at \
             FROM party_purchases WHERE party_id = $1 AND ordered_at >= $2 AND ordered_at <= $3 AND report_id <> $4 \
             ORDER BY ordered_at DESC LIMIT $5",
        )
        .bind(party_id)
        .bind(since)
        .bind(until)
        .bind(excluding)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Purchase {
                    report_id: row.try_get("report_id")?,
                    line_number: row.try_get("line_number")?,
                    substance_id: row.try_get("substance_id")?,
                    company_id: row.try_get("company_id")?,
                    substance_name: row.try_get("substance_name")?,
                    amount: row.try_get("amount")?,
                    unit: row.try_get("unit")?,
                    at: row.try_get("ordered_at")?,
                })
            })
            .collect()
    }

    /// Forgets purchases ordered before `before`; returns how many.
    pub async fn prune_purchases(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM party_purchases WHERE ordered_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Puts a party on an authority's watch list; returns its id.
    pub async fn add_watched_party(
        &self,
        party: &WatchedParty,
        now: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO watched_parties (authority, name, country, registration_number, reason, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&party.authority)
        .bind(&party.name)
        .bind(&party.country)
        .bind(&party.registration_number)
        .bind(&party.reason)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Takes a party off the watch list; whether it was there.
    pub async fn remove_watched_party(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM watched_parties WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The watched parties of a country, with their ids.
    pub async fn watched_parties(
        &self,
        country: &str,
    ) -> Result<Vec<(i64, WatchedParty)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, authority, name, country, registration_number, reason FROM watched_parties \
             WHERE country = $1 ORDER BY id",
        )
        .bind(country)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("id")?,
                    WatchedParty {
                        authority: row.try_get("authority")?,
                        name: row.try_get("name")?,
                        country: row.try_get("country")?,
                        registration_number: row.try_get("registration_number")?,
                        reason: row.try_get("reason")?,
                    },
                ))
            })
            .collect()
    }
}
