//! Buyers across suppliers: the parties, the keys they are recognised by, what each bought, and
//! the parties the authorities watch.

use std::collections::HashMap;

use domain::party::{PartyKey, Purchase, WatchedParty};
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

/// A buyer to recognise: the keys it is known by (the strongest first), its name as reported,
/// and when it was reported.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub keys: Vec<PartyKey>,
    pub name: String,
    pub at: i64,
}

/// A key as the `party_keys` table holds it.
type KeyRow = (String, String, String);

fn key_row(key: &PartyKey) -> KeyRow {
    (
        key.kind().to_owned(),
        key.country().to_owned(),
        key.value().to_owned(),
    )
}

/// Most rows one multi-row statement carries (PostgreSQL takes at most 65,535 parameters,
/// SQLite 32,766).
const ROWS_PER_STATEMENT: usize = 500;

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
        let buyer = Buyer {
            keys: keys.to_vec(),
            name: name.to_owned(),
            at: now,
        };
        let mut parties = self.resolve_parties(std::slice::from_ref(&buyer)).await?;
        parties
            .pop()
            .ok_or_else(|| StoreError::Conflict("a party without keys".into()))
    }

    /// Recognises a batch of buyers, in order, as [`Store::resolve_party`] would one after the
    /// other (a buyer later in the batch finds the party an earlier one created), with one read
    /// of the keys and one transaction for the new parties and keys.
    pub async fn resolve_parties(&self, buyers: &[Buyer]) -> Result<Vec<Party>, StoreError> {
        if let Some(_anonymous) = buyers.iter().find(|buyer| buyer.keys.is_empty()) {
            return Err(StoreError::Conflict(
                "a customer with neither name nor registration number".into(),
            ));
        }
        let all_keys: Vec<&PartyKey> = buyers.iter().flat_map(|buyer| &buyer.keys).collect();
        let mut owners = self.owners_of(&all_keys).await?;
        let mut parties = Vec::with_capacity(buyers.len());
        let mut new_parties: Vec<(String, &Buyer)> = Vec::new();
        let mut new_keys: Vec<(KeyRow, String)> = Vec::new();
        for buyer in buyers {
            let known = buyer.keys.iter().find_map(|key| {
                owners.get(&key_row(key)).map(|party_id| Party {
                    party_id: party_id.clone(),
                    rule: key.rule(),
                })
            });
            let party = match known {
                Some(party) => party,
                None => {
                    let party_id = new_party_id(&buyer.keys[0]);
                    new_parties.push((party_id.clone(), buyer));
                    Party {
                        party_id,
                        rule: "new party".into(),
                    }
                }
            };
            for key in &buyer.keys {
                let row = key_row(key);
                if !owners.contains_key(&row) {
                    owners.insert(row.clone(), party.party_id.clone());
                    new_keys.push((row, party.party_id.clone()));
                }
            }
            parties.push(party);
        }
        if new_keys.is_empty() {
            return Ok(parties);
        }
        let mut tx = self.pool.begin().await?;
        for chunk in new_parties.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO parties (party_id, country, name, created_at) VALUES {} \
                 ON CONFLICT (party_id) DO NOTHING",
                crate::placeholders(chunk.len(), 4)
            );
            let mut query = sqlx::query(&sql);
            for (party_id, buyer) in chunk {
                query = query
                    .bind(party_id)
                    .bind(buyer.keys[0].country())
                    .bind(&buyer.name)
                    .bind(buyer.at);
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in new_keys.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO party_keys (kind, country, value, party_id) VALUES {} \
                 ON CONFLICT (kind, country, value) DO NOTHING",
                crate::placeholders(chunk.len(), 4)
            );
            let mut query = sqlx::query(&sql);
            for ((kind, country, value), party_id) in chunk {
                query = query.bind(kind).bind(country).bind(value).bind(party_id);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        // Another instance may have recognised the same buyer a moment earlier and taken a key
        // first: the key's owner is the party.
        let written: Vec<&PartyKey> = buyers
            .iter()
            .zip(&parties)
            .filter(|(_, party)| party.rule == "new party")
            .flat_map(|(buyer, _)| &buyer.keys)
            .collect();
        let actual = self.owners_of(&written).await?;
        let mut replaced: HashMap<String, Party> = HashMap::new();
        for (buyer, party) in buyers.iter().zip(&parties) {
            if party.rule != "new party" {
                continue;
            }
            let owner = buyer.keys.iter().find_map(|key| {
                actual.get(&key_row(key)).map(|party_id| Party {
                    party_id: party_id.clone(),
                    rule: key.rule(),
                })
            });
            if let Some(owner) = owner.filter(|owner| owner.party_id != party.party_id) {
                replaced.insert(party.party_id.clone(), owner);
            }
        }
        if !replaced.is_empty() {
            for party in &mut parties {
                if let Some(owner) = replaced.get(&party.party_id) {
                    *party = owner.clone();
                }
            }
        }
        Ok(parties)
    }

    /// The party known by one of `keys`, without recording anything.
    pub async fn find_party(&self, keys: &[PartyKey]) -> Result<Option<Party>, StoreError> {
        let owners = self.owners_of(&keys.iter().collect::<Vec<_>>()).await?;
        Ok(keys.iter().find_map(|key| {
            owners.get(&key_row(key)).map(|party_id| Party {
                party_id: party_id.clone(),
                rule: key.rule(),
            })
        }))
    }

    /// The parties each of `keys` is known for, in one read per few hundred keys.
    async fn owners_of(&self, keys: &[&PartyKey]) -> Result<HashMap<KeyRow, String>, StoreError> {
        let mut unique: Vec<KeyRow> = keys.iter().map(|key| key_row(key)).collect();
        unique.sort();
        unique.dedup();
        let mut owners = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT kind, country, value, party_id FROM party_keys \
                 WHERE (kind, country, value) IN (VALUES {})",
                crate::placeholders(chunk.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (kind, country, value) in chunk {
                query = query.bind(kind).bind(country).bind(value);
            }
            for row in query.fetch_all(&self.pool).await? {
                owners.insert(
                    (
                        row.try_get("kind")?,
                        row.try_get("country")?,
                        row.try_get("value")?,
                    ),
                    row.try_get("party_id")?,
                );
            }
        }
        Ok(owners)
    }

    /// Records what a party bought; recording the same report again changes nothing.
    pub async fn record_purchases(
        &self,
        party_id: &str,
        purchases: &[Purchase],
    ) -> Result<(), StoreError> {
        let bought: Vec<(&str, &Purchase)> = purchases
            .iter()
            .map(|purchase| (party_id, purchase))
            .collect();
        self.record_purchase_batch(&bought).await
    }

    /// Records what several parties bought, in one statement per few hundred purchases;
    /// recording the same report again changes nothing.
    pub async fn record_purchase_batch(
        &self,
        purchases: &[(&str, &Purchase)],
    ) -> Result<(), StoreError> {
        for chunk in purchases.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO party_purchases (report_id, line_number, substance_id, party_id, company_id, substance_name, amount, unit, ordered_at) \
                 VALUES {} ON CONFLICT (report_id, line_number, substance_id) DO NOTHING",
                crate::placeholders(chunk.len(), 9)
            );
            let mut query = sqlx::query(&sql);
            for (party_id, purchase) in chunk {
                query = query
                    .bind(&purchase.report_id)
                    .bind(purchase.line_number)
                    .bind(&purchase.substance_id)
                    .bind(*party_id)
                    .bind(&purchase.company_id)
                    .bind(&purchase.substance_name)
                    .bind(purchase.amount)
                    .bind(&purchase.unit)
                    .bind(purchase.at);
            }
            query.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// What each of the parties bought from `since` up to and including `until`, newest first,
    /// at most `limit` purchases of each, in one read per few hundred parties.
    pub async fn party_histories(
        &self,
        party_ids: &[&str],
        since: i64,
        until: i64,
        limit: i64,
    ) -> Result<HashMap<String, Vec<Purchase>>, StoreError> {
        let mut unique: Vec<&str> = party_ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut histories: HashMap<String, Vec<Purchase>> = HashMap::new();
        for chunk in unique.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT party_id, report_id, line_number, substance_id, company_id, substance_name, amount, unit, ordered_at FROM ( \
                   SELECT *, ROW_NUMBER() OVER (PARTITION BY party_id ORDER BY ordered_at DESC) AS newest \
                   FROM party_purchases WHERE ordered_at >= $1 AND ordered_at <= $2 AND party_id IN ({}) \
                 ) recent WHERE newest <= ${} ORDER BY party_id, ordered_at DESC",
                (0..chunk.len())
                    .map(|index| format!("${}", index + 3))
                    .collect::<Vec<_>>()
                    .join(", "),
                chunk.len() + 3
            );
            let mut query = sqlx::query(&sql).bind(since).bind(until);
            for party_id in chunk {
                query = query.bind(*party_id);
            }
            for row in query.bind(limit).fetch_all(&self.pool).await? {
                let party_id: String = row.try_get("party_id")?;
                histories
                    .entry(party_id)
                    .or_default()
                    .push(purchase_from_row(&row)?);
            }
        }
        Ok(histories)
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
        rows.iter().map(purchase_from_row).collect()
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

    /// The watched parties of the countries, in one read.
    pub async fn watched_parties_in(
        &self,
        countries: &[&str],
    ) -> Result<Vec<WatchedParty>, StoreError> {
        let mut unique: Vec<&str> = countries.to_vec();
        unique.sort_unstable();
        unique.dedup();
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, authority, name, country, registration_number, reason FROM watched_parties \
             WHERE country IN ({}) ORDER BY id",
            (1..=unique.len())
                .map(|index| format!("${index}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut query = sqlx::query(&sql);
        for country in &unique {
            query = query.bind(*country);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| Ok(watched_from_row(row)?.1))
            .collect()
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
        rows.iter().map(watched_from_row).collect()
    }
}

fn watched_from_row(row: &sqlx::any::AnyRow) -> Result<(i64, WatchedParty), StoreError> {
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
}

fn purchase_from_row(row: &sqlx::any::AnyRow) -> Result<Purchase, StoreError> {
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
}

/// A new party's id: the UUID v5 of the first key it is known by.
fn new_party_id(first: &PartyKey) -> String {
    uuid::Uuid::new_v5(
        &PARTY_NAMESPACE,
        format!("{}|{}|{}", first.kind(), first.country(), first.value()).as_bytes(),
    )
    .to_string()
}
