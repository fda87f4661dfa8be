//! The indicators of an order: the buyer recognised across suppliers, its history loaded, the
//! rules in force evaluated, and the order's purchases recorded for the orders after it.

use std::collections::BTreeMap;

use events::{Finding, OrderReport};
use indicators::{Case, PartyKey, Purchase, RuleSet, RuleSets, Threshold, WatchedParty};
use store::{Store, StoreError};

use crate::engine::Engine;
use crate::screen::Assessment;

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Most earlier purchases of one buyer looked at; the newest are kept.
const HISTORY_LIMIT: i64 = 5_000;

/// What the rules look at besides the order, loaded from the store.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub purchases: Vec<Purchase>,
    pub party_id: String,
    pub party_rule: String,
    pub history: Vec<Purchase>,
    pub watched: Vec<WatchedParty>,
    /// Earlier alerts about the buyer an authority confirmed suspicious, in words.
    pub confirmed: Vec<String>,
    pub thresholds: BTreeMap<String, Threshold>,
}

impl Loaded {
    /// The hits of one rule set over the order.
    pub fn assess<'a>(
        &self,
        report: &OrderReport,
        findings: &[Finding],
        rules: &'a RuleSet,
    ) -> Assessment<'a> {
        let hits = indicators::evaluate(
            &Case {
                report,
                findings,
                purchases: &self.purchases,
                history: &self.history,
                watched: &self.watched,
                confirmed: &self.confirmed,
                thresholds: &self.thresholds,
                now: report.submitted_at,
            },
            rules,
        );
        Assessment {
            rules,
            hits,
            party_id: self.party_id.clone(),
            party_rule: self.party_rule.clone(),
        }
    }
}

/// Whether loading may record: the service recognises and records; a backtest only reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Record,
    ReadOnly,
}

/// Loads what the rules need for an order with findings: the buyer (recognised, or created
/// when `mode` records), its purchases before the order within `history_days`, and the
/// watched parties of its country. Records the order's own purchases when `mode` says so.
pub async fn load(
    store: &Store,
    engine: &Engine,
    report: &OrderReport,
    findings: &[Finding],
    history_days: u32,
    mode: Mode,
) -> Result<Loaded, StoreError> {
    let purchases = indicators::purchases(report, findings);
    let customer = &report.customer;
    let keys = PartyKey::of(
        &customer.country,
        &customer.name,
        customer.registration_number.as_deref(),
    );
    let party = match mode {
        Mode::Record => Some(
            store
                .resolve_party(&keys, &customer.name, report.submitted_at)
                .await?,
        ),
        Mode::ReadOnly => store.find_party(&keys).await?,
    };
    let (party_id, party_rule) = party
        .map(|party| (party.party_id, party.rule))
        .unwrap_or_else(|| (String::new(), "new party".to_owned()));
    let history = if party_id.is_empty() {
        Vec::new()
    } else {
        let since = report.submitted_at - i64::from(history_days) * MICROS_PER_DAY;
        store
            .party_history(
                &party_id,
                since,
                report.submitted_at,
                &report.report_id,
                HISTORY_LIMIT,
            )
            .await?
    };
    let watched = store
        .watched_parties(&customer.country)
        .await?
        .into_iter()
        .map(|(_, party)| party)
        .collect();
    let confirmed = if party_id.is_empty() {
        Vec::new()
    } else {
        store
            .party_confirmed_suspicious(&party_id)
            .await?
            .filter(|feedback| feedback.recorded_at <= report.submitted_at)
            .map(|feedback| {
                let day = chrono::DateTime::from_timestamp_micros(feedback.recorded_at)
                    .map(|time| time.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                vec![format!(
                    "alert {} about this buyer was confirmed suspicious by the {} authority on {day}",
                    feedback.alert_id, feedback.country
                )]
            })
            .unwrap_or_default()
    };
    if mode == Mode::Record && !party_id.is_empty() {
        store.record_purchases(&party_id, &purchases).await?;
    }
    let thresholds = us_thresholds(engine, &purchases);
    Ok(Loaded {
        purchases,
        party_id,
        party_rule,
        history,
        watched,
        confirmed,
        thresholds,
    })
}

/// The 21 CFR 1310.04 threshold of each purchased substance in the unit it was bought in.
fn us_thresholds(engine: &Engine, purchases: &[Purchase]) -> BTreeMap<String, Threshold> {
    let mut thresholds = BTreeMap::new();
    for purchase in purchases {
        let Some(substance) = engine
            .substances()
            .iter()
            .find(|substance| substance.id == purchase.substance_id)
        else {
            continue;
        };
        let quantity = match purchase.unit.as_str() {
            "kg" => substance.scope.us_threshold_kg,
            "l" => substance.scope.us_threshold_l,
            _ => None,
        };
        if let Some(quantity) = quantity.filter(|quantity| *quantity > 0.0) {
            thresholds.insert(
                purchase.substance_id.clone(),
                Threshold {
                    quantity,
                    unit: purchase.unit.clone(),
                },
            );
        }
    }
    thresholds
}

/// The days of history the longest-looking rule set needs.
pub fn history_days(rules: &RuleSets) -> u32 {
    rules
        .all()
        .iter()
        .map(|rules| rules.history_days)
        .max()
        .unwrap_or(0)
}
