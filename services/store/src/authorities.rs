//! The authorities: their directory and preferences, their keys, the alerts delivered to each
//! (for the authority API), and their feedback.

use sqlx::Row as _;

use crate::{Store, StoreError};

/// A national competent authority and what it wants to receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    pub name: String,
    pub contact: String,
    pub topic: String,
    /// `LOW`, `MEDIUM`, `HIGH` or `CRITICAL`.
    pub min_severity: String,
    /// Regimes of interest (`UN_1988`, `EU`, `US`, `WATCH_LIST`); empty for all.
    pub regimes: Vec<String>,
    /// Category prefixes of interest ("Table I", "Category 1"); empty for all.
    pub categories: Vec<String>,
    /// Whether it receives alerts whose only findings are watch-listed chemicals.
    pub watch_list_findings: bool,
    pub updated_at: i64,
}

/// An authority's API key, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityKey {
    pub country: String,
    pub secret_hash: String,
    pub revoked: bool,
}

/// An alert as delivered to one authority, with its number in that authority's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityAlert {
    pub seq: i64,
    pub country: String,
    pub alert_id: String,
    pub report_id: String,
    pub party_id: String,
    pub severity: String,
    pub alert_json: String,
    pub delivered_at: i64,
}

/// A disposition an authority recorded on one of its alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRecord {
    pub alert_id: String,
    pub country: String,
    pub disposition: String,
    pub note: String,
    pub author: String,
    /// `api` or `topic`.
    pub source: String,
    pub recorded_at: i64,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn authority_from_row(row: &sqlx::any::AnyRow) -> Result<Authority, StoreError> {
    let regimes: String = row.try_get("regimes")?;
    let categories: String = row.try_get("categories")?;
    let watch: i32 = row.try_get("watch_list_findings")?;
    Ok(Authority {
        country: row.try_get("country")?,
        name: row.try_get("name")?,
        contact: row.try_get("contact")?,
        topic: row.try_get("topic")?,
        min_severity: row.try_get("min_severity")?,
        regimes: list(&regimes),
        categories: list(&categories),
        watch_list_findings: watch != 0,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) fn alert_from_row(row: &sqlx::any::AnyRow) -> Result<AuthorityAlert, StoreError> {
    Ok(AuthorityAlert {
        seq: row.try_get("seq")?,
        country: row.try_get("country")?,
        alert_id: row.try_get("alert_id")?,
        report_id: row.try_get("report_id")?,
        party_id: row.try_get("party_id")?,
        severity: row.try_get("severity")?,
        alert_json: row.try_get("alert_json")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

/// Stores authorities' copies of alerts (a copy stored before is left as it is), each numbered
/// in its authority's feed. The numbers are taken from `authority_feeds`, whose rows stay locked
/// until the transaction commits: a feed's numbers become visible in the order they were given.
/// A copy stored before still uses up a number, so a feed may skip one.
pub(crate) async fn insert_alert_copies(
    connection: &mut sqlx::AnyConnection,
    copies: &[&AuthorityAlert],
) -> Result<(), StoreError> {
    if copies.is_empty() {
        return Ok(());
    }
    // Countries in one order, so that two routers lock their rows alike and never deadlock.
    let mut counts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for copy in copies {
        *counts.entry(copy.country.as_str()).or_default() += 1;
    }
    let sql = format!(
        "INSERT INTO authority_feeds (country, last_seq) VALUES {} \
         ON CONFLICT (country) DO UPDATE SET last_seq = authority_feeds.last_seq + excluded.last_seq \
         RETURNING country, last_seq",
        crate::placeholders(counts.len(), 2)
    );
    let mut query = sqlx::query(&sql);
    for (country, count) in &counts {
        query = query.bind(*country).bind(*count);
    }
    let rows = query.fetch_all(&mut *connection).await?;
    // The next number of each country: the first of those just taken.
    let mut next: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for row in rows {
        let country: String = row.try_get("country")?;
        let last: i64 = row.try_get("last_seq")?;
        let taken = counts.get(country.as_str()).copied().unwrap_or_default();
        next.insert(country, last - taken + 1);
    }
    let sql = format!(
        "INSERT INTO authority_alerts (country, feed_seq, alert_id, report_id, party_id, severity, alert_json, delivered_at) \
         VALUES {} ON CONFLICT (country, alert_id) DO NOTHING",
        crate::placeholders(copies.len(), 8)
    );
    let mut query = sqlx::query(&sql);
    for copy in copies {
        let number = next.entry(copy.country.clone()).or_insert(1);
        query = query
            .bind(&copy.country)
            .bind(*number)
            .bind(&copy.alert_id)
            .bind(&copy.report_id)
            .bind(&copy.party_id)
            .bind(&copy.severity)
            .bind(&copy.alert_json)
            .bind(copy.delivered_at);
        *number += 1;
    }
    query.execute(&mut *connection).await?;
    Ok(())
}

fn feedback_from_row(row: &sqlx::any::AnyRow) -> Result<FeedbackRecord, StoreError> {
    Ok(FeedbackRecord {
        alert_id: row.try_get("alert_id")?,
        country: row.try_get("country")?,
        disposition: row.try_get("disposition")?,
        note: row.try_get("note")?,
        author: row.try_get("author")?,
        source: row.try_get("source")?,
        recorded_at: row.try_get("recorded_at")?,
    })
}

const AUTHORITY_COLUMNS: &str = "country, name, contact, topic, min_severity, regimes, categories, watch_list_findings, updated_at";
pub(crate) const ALERT_COLUMNS: &str =
    "seq, country, alert_id, report_id, party_id, severity, alert_json, delivered_at";
/// The columns of an alert as one authority's feed numbers it: `seq` is its number there.
pub(crate) const FEED_COLUMNS: &str =
    "feed_seq AS seq, country, alert_id, report_id, party_id, severity, alert_json, delivered_at";
const FEEDBACK_COLUMNS: &str = "alert_id, country, disposition, note, author, source, recorded_at";

impl Store {
    /// Creates or replaces an authority's entry.
    pub async fn upsert_authority(&self, authority: &Authority) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO authorities (country, name, contact, topic, min_severity, regimes, categories, watch_list_findings, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (country) DO UPDATE SET name = excluded.name, contact = excluded.contact, \
             topic = excluded.topic, min_severity = excluded.min_severity, regimes = excluded.regimes, \
             categories = excluded.categories, watch_list_findings = excluded.watch_list_findings, \
             updated_at = excluded.updated_at",
        )
        .bind(&authority.country)
        .bind(&authority.name)
        .bind(&authority.contact)
        .bind(&authority.topic)
        .bind(&authority.min_severity)
        .bind(authority.regimes.join(","))
        .bind(authority.categories.join(","))
        .bind(i32::from(authority.watch_list_findings))
        .bind(authority.updated_at)
        .execute(&self.pool)
        .await?;
        // Routers keep the directory in memory.
        self.announce(crate::Change::Directory, &authority.country)
            .await?;
        Ok(())
    }

    /// One authority's entry.
    pub async fn authority(&self, country: &str) -> Result<Option<Authority>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {AUTHORITY_COLUMNS} FROM authorities WHERE country = $1"
        ))
        .bind(country)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| authority_from_row(&row)).transpose()
    }

    /// Every authority's entry, by country.
    pub async fn authorities(&self) -> Result<Vec<Authority>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUTHORITY_COLUMNS} FROM authorities ORDER BY country"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(authority_from_row).collect()
    }

    /// Stores an authority's new key (its hash only).
    pub async fn add_authority_key(
        &self,
        key_id: &str,
        country: &str,
        secret_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO authority_keys (key_id, country, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(key_id)
        .bind(country)
        .bind(secret_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An authority key by its id.
    pub async fn authority_key(&self, key_id: &str) -> Result<Option<AuthorityKey>, StoreError> {
        let row = sqlx::query(
            "SELECT country, secret_hash, revoked_at FROM authority_keys WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let revoked: Option<i64> = row.try_get("revoked_at")?;
            Ok(AuthorityKey {
                country: row.try_get("country")?,
                secret_hash: row.try_get("secret_hash")?,
                revoked: revoked.is_some(),
            })
        })
        .transpose()
    }

    /// Revokes an authority key; whether it was active.
    pub async fn revoke_authority_key(&self, key_id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE authority_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(key_id)
        .execute(&self.pool)
        .await?;
        let revoked = done.rows_affected() > 0;
        if revoked {
            // Streams opened with this key end at once.
            self.announce(crate::Change::AuthorityKeyRevoked, key_id)
                .await?;
        }
        Ok(revoked)
    }

    /// Keeps the copy of an alert delivered to an authority; a second copy is ignored.
    pub async fn record_authority_alert(&self, alert: &AuthorityAlert) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_alert_copies(&mut tx, &[alert]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One alert as delivered to the authority; `None` when it was not delivered to it.
    pub async fn authority_alert(
        &self,
        country: &str,
        alert_id: &str,
    ) -> Result<Option<AuthorityAlert>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {FEED_COLUMNS} FROM authority_alerts WHERE country = $1 AND alert_id = $2"
        ))
        .bind(country)
        .bind(alert_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| alert_from_row(&row)).transpose()
    }

    /// Records a disposition; whether it was new (the same one again is ignored).
    pub async fn record_feedback(&self, feedback: &FeedbackRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO feedback (alert_id, country, disposition, note, author, source, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (alert_id, country, recorded_at, disposition) DO NOTHING",
        )
        .bind(&feedback.alert_id)
        .bind(&feedback.country)
        .bind(&feedback.disposition)
        .bind(&feedback.note)
        .bind(&feedback.author)
        .bind(&feedback.source)
        .bind(feedback.recorded_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The dispositions on an alert, oldest first: one authority's, or all (for operators).
    pub async fn feedback_for(
        &self,
        alert_id: &str,
        country: Option<&str>,
    ) -> Result<Vec<FeedbackRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE alert_id = $1 AND ($2 = '' OR country = $2) \
             ORDER BY recorded_at, id"
        ))
        .bind(alert_id)
        .bind(country.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(feedback_from_row).collect()
    }

    /// The latest "confirmed suspicious" disposition on an earlier alert about each of the
    /// parties that has one, in one read per few hundred parties.
    pub async fn parties_confirmed_suspicious(
        &self,
        party_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, FeedbackRecord>, StoreError> {
        let mut unique: Vec<&str> = party_ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut newest = std::collections::HashMap::new();
        for chunk in unique.chunks(500) {
            let sql = format!(
                "SELECT a.party_id, f.alert_id, f.country, f.disposition, f.note, f.author, f.source, f.recorded_at \
                 FROM feedback f JOIN authority_alerts a ON a.alert_id = f.alert_id AND a.country = f.country \
                 WHERE f.disposition = 'CONFIRMED_SUSPICIOUS' AND a.party_id IN ({}) \
                 ORDER BY f.recorded_at DESC",
                (1..=chunk.len())
                    .map(|index| format!("${index}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut query = sqlx::query(&sql);
            for party_id in chunk {
                query = query.bind(*party_id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let party_id: String = row.try_get("party_id")?;
                if let std::collections::hash_map::Entry::Vacant(entry) = newest.entry(party_id) {
                    entry.insert(feedback_from_row(&row)?);
                }
            }
        }
        Ok(newest)
    }

    /// The latest "confirmed suspicious" disposition on an earlier alert about the party.
    pub async fn party_confirmed_suspicious(
        &self,
        party_id: &str,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT f.alert_id, f.country, f.disposition, f.note, f.author, f.source, f.recorded_at \
             FROM feedback f JOIN authority_alerts a ON a.alert_id = f.alert_id AND a.country = f.country \
             WHERE a.party_id = $1 AND f.disposition = 'CONFIRMED_SUSPICIOUS' \
             ORDER BY f.recorded_at DESC LIMIT 1",
        )
        .bind(party_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| feedback_from_row(&row)).transpose()
    }
}
