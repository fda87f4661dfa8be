//! What the operators' console reads across authorities: the alerts as delivered (a feed, a
//! search, one alert's deliveries) and the volumes per authority.

use sqlx::Row as _;

use crate::authorities::{alert_from_row, ALERT_COLUMNS, FEED_COLUMNS};
use crate::{AuthorityAlert, Store, StoreError};

/// A search among delivered alerts; empty fields do not restrict it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertSearch {
    /// Only alerts delivered to this country's authority.
    pub country: Option<String>,
    /// Only alerts of this severity (`LOW` ... `CRITICAL`).
    pub severity: Option<String>,
    /// An alert, report or party id, or any text of the alert (a substance, a company
    /// reference, a customer), case-insensitive.
    pub text: Option<String>,
    /// Only alerts numbered below this (the next page, newest first).
    pub before: Option<i64>,
    pub limit: i64,
}

/// How many alerts one authority received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityVolume {
    pub country: String,
    pub total: i64,
    /// Alerts delivered at or after the `since` the volumes were asked with.
    pub recent: i64,
    /// Alerts of severity HIGH or CRITICAL.
    pub high: i64,
    /// Alerts the authority recorded feedback on.
    pub with_feedback: i64,
    /// When its last alert was delivered (microseconds), if ever.
    pub last_delivered_at: Option<i64>,
}

/// Where one report stands, for operators: received, screened with what outcome, its alert and
/// how many authorities received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTrace {
    pub report_id: String,
    pub company_id: String,
    pub company_reference: String,
    pub received_at: i64,
    /// Not yet screened while `None`.
    pub screened_at: Option<i64>,
    pub outcome: Option<String>,
    pub alert_id: Option<String>,
    pub findings: Option<i32>,
    pub reference_data_version: Option<String>,
    /// Authorities the alert was delivered to.
    pub deliveries: i64,
}

/// `text` as a LIKE pattern matching it anywhere, with LIKE's wildcards taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for character in text.to_lowercase().chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

impl Store {
    /// Alerts as delivered numbered after `after`, oldest first, at most `limit`: to one
    /// country's authority, or to every authority (one row per delivery).
    pub async fn alert_feed(
        &self,
        country: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuthorityAlert>, StoreError> {
        // One authority's feed is numbered on its own; every authority's together, by `seq`.
        let sql = match country {
            Some(_) => format!(
                "SELECT {FEED_COLUMNS} FROM authority_alerts WHERE country = $1 AND feed_seq > $2 \
                 ORDER BY feed_seq LIMIT $3"
            ),
            None => format!(
                "SELECT {ALERT_COLUMNS} FROM authority_alerts WHERE $1 = '' AND seq > $2 \
                 ORDER BY seq LIMIT $3"
            ),
        };
        let rows = sqlx::query(&sql)
            .bind(country.unwrap_or(""))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// The newest alerts as delivered that fit the search, newest first.
    pub async fn search_alerts(
        &self,
        search: &AlertSearch,
    ) -> Result<Vec<AuthorityAlert>, StoreError> {
        let text = search.text.as_deref().map(str::trim).unwrap_or_default();
        // Searched within one authority's copies, the numbers are that authority's own.
        let (columns, seq) = match search.country {
            Some(_) => (FEED_COLUMNS, "feed_seq"),
            None => (ALERT_COLUMNS, "seq"),
        };
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM authority_alerts \
             WHERE ($1 = '' OR country = $1) AND ($2 = '' OR severity = $2) \
             AND ($3 = '' OR alert_id = $3 OR report_id = $3 OR party_id = $3 \
                  OR LOWER(alert_json) LIKE $4 ESCAPE '\\') \
             AND ($5 = 0 OR {seq} < $5) ORDER BY {seq} DESC LIMIT $6"
        ))
        .bind(search.country.as_deref().unwrap_or(""))
        .bind(search.severity.as_deref().unwrap_or(""))
        .bind(text)
        .bind(contains_pattern(text))
        .bind(search.before.unwrap_or(0))
        .bind(search.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// Every delivery of one alert, by country.
    pub async fn alert_deliveries(
        &self,
        alert_id: &str,
    ) -> Result<Vec<AuthorityAlert>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM authority_alerts WHERE alert_id = $1 ORDER BY country"
        ))
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// The report with this id, or whose screening raised the alert with this id; `None` when
    /// neither is known.
    pub async fn report_trace(&self, id: &str) -> Result<Option<ReportTrace>, StoreError> {
        let row = sqlx::query(
            "SELECT r.id AS report_id, r.company_id, r.company_reference, r.received_at,                     s.screened_at, s.outcome, s.alert_id, s.findings, s.reference_data_version,                     (SELECT COUNT(*) FROM deliveries d WHERE d.report_id = r.id AND d.kafka_offset >= 0) AS deliveries              FROM reports r LEFT JOIN screenings s ON s.report_id = r.id              WHERE r.id = $1 OR s.alert_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ReportTrace {
            report_id: row.try_get("report_id")?,
            company_id: row.try_get("company_id")?,
            company_reference: row.try_get("company_reference")?,
            received_at: row.try_get("received_at")?,
            screened_at: row.try_get("screened_at")?,
            outcome: row.try_get("outcome")?,
            alert_id: row.try_get("alert_id")?,
            findings: row.try_get("findings")?,
            reference_data_version: row.try_get("reference_data_version")?,
            deliveries: row.try_get("deliveries")?,
        }))
    }

    /// The alerts each authority received, in all and since `since` (microseconds), by
    /// country; authorities that received none are not listed.
    pub async fn authority_volumes(&self, since: i64) -> Result<Vec<AuthorityVolume>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.country AS country, COUNT(*) AS total, \
             SUM(CASE WHEN a.delivered_at >= $1 THEN 1 ELSE 0 END) AS recent, \
             SUM(CASE WHEN a.severity IN ('HIGH', 'CRITICAL') THEN 1 ELSE 0 END) AS high, \
             SUM(CASE WHEN EXISTS (SELECT 1 FROM feedback f WHERE f.alert_id = a.alert_id AND f.country = a.country) \
                 THEN 1 ELSE 0 END) AS with_feedback, \
             MAX(a.delivered_at) AS last_delivered_at \
             FROM authority_alerts a GROUP BY a.country ORDER BY a.country",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuthorityVolume {
                    country: row.try_get("country")?,
                    total: row.try_get("total")?,
                    recent: row.try_get("recent")?,
                    high: row.try_get("high")?,
                    with_feedback: row.try_get("with_feedback")?,
                    last_delivered_at: row.try_get("last_delivered_at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_in_a_search_are_literal() {
        assert_eq!(super::contains_pattern("Acetic"), "%acetic%");
        assert_eq!(super::contains_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}
