//! The indicators of an order: the buyer recognised across suppliers, its history loaded, the
//! rules in force evaluated, and the order's purchases recorded for the orders after it.

use std::collections::{BTreeMap, HashMap, HashSet};

use events::{Finding, OrderReport};
use indicators::{Case, PartyKey, Purchase, RuleSet, RuleSets, Threshold, WatchedParty};
use store::{Buyer, Store, StoreError};

use screening::Assessment;
use screening::Engine;

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Most earlier purchases of one buyer looked at; the newest are kept.
const HISTORY_LIMIT: i64 = 5_000;
/// Purchases read beyond the limit, for the order's own that are left out.
const HISTORY_MARGIN: i64 = 64;

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

/// An order with findings whose indicators are to be weighed.
#[derive(Debug, Clone, Copy)]
pub struct Order<'a> {
    pub report: &'a OrderReport,
    pub findings: &'a [Finding],
    /// Days of the buyer's history the rules in force for the order look at.
    pub history_days: u32,
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
    let order = Order {
        report,
        findings,
        history_days,
    };
    let mut loaded = load_batch(store, engine, &[order], mode).await?;
    loaded
        .pop()
        .ok_or_else(|| StoreError::Conflict("an order without a result".into()))
}

/// Loads what the rules need for a batch of orders, in their order, with one read of each kind
/// for the whole batch (see [`read_batch`] and [`assemble`]), and records the batch's
/// purchases in one statement when `mode` says so.
pub async fn load_batch(
    store: &Store,
    engine: &Engine,
    orders: &[Order<'_>],
    mode: Mode,
) -> Result<Vec<Loaded>, StoreError> {
    let read = read_batch(store, orders, mode).await?;
    let loaded = assemble(engine, orders, read);
    if mode == Mode::Record {
        record(store, &loaded).await?;
    }
    Ok(loaded)
}

/// What the store knows about a batch's buyers, read once for the whole batch.
#[derive(Debug, Default)]
pub struct BatchReads {
    /// Each order's party id (empty when unknown and not recorded) and the rule that decided.
    parties: Vec<(String, String)>,
    /// Each party's purchases in the batch's widest window, newest first.
    histories: HashMap<String, Vec<Purchase>>,
    confirmations: HashMap<String, store::FeedbackRecord>,
    watched: Vec<WatchedParty>,
}

/// Reads what the rules need for a batch of orders: the buyers recognised together (created
/// when `mode` records), their histories, the watched parties of their countries and the
/// authorities' confirmations; one read of each kind.
pub async fn read_batch(
    store: &Store,
    orders: &[Order<'_>],
    mode: Mode,
) -> Result<BatchReads, StoreError> {
    if orders.is_empty() {
        return Ok(BatchReads::default());
    }
    let buyers: Vec<Buyer> = orders
        .iter()
        .map(|order| {
            let customer = &order.report.customer;
            Buyer {
                keys: PartyKey::of(
                    customer.country.as_str(),
                    &customer.name,
                    customer.registration_number.as_deref(),
                ),
                name: customer.name.clone(),
                at: order.report.submitted_at,
            }
        })
        .collect();
    let parties: Vec<(String, String)> = match mode {
        Mode::Record => store
            .resolve_parties(&buyers)
            .await?
            .into_iter()
            .map(|party| (party.party_id, party.rule))
            .collect(),
        Mode::ReadOnly => {
            let mut found = Vec::with_capacity(buyers.len());
            for buyer in &buyers {
                found.push(match store.find_party(&buyer.keys).await? {
                    Some(party) => (party.party_id, party.rule),
                    None => (String::new(), "new party".to_owned()),
                });
            }
            found
        }
    };
    let known: Vec<&str> = parties
        .iter()
        .map(|(party_id, _)| party_id.as_str())
        .filter(|party_id| !party_id.is_empty())
        .collect();
    let since = orders
        .iter()
        .map(|order| order.report.submitted_at - i64::from(order.history_days) * MICROS_PER_DAY)
        .min()
        .unwrap_or(0);
    let until = orders
        .iter()
        .map(|order| order.report.submitted_at)
        .max()
        .unwrap_or(0);
    let (histories, confirmations) = if known.is_empty() {
        Default::default()
    } else {
        // The margin leaves room for the purchases of the order itself, which do not count.
        (
            store
                .party_histories(&known, since, until, HISTORY_LIMIT + HISTORY_MARGIN)
                .await?,
            store.parties_confirmed_suspicious(&known).await?,
        )
    };
    let countries: Vec<&str> = orders
        .iter()
        .map(|order| order.report.customer.country.as_str())
        .collect();
    let watched = store.watched_parties_in(&countries).await?;
    Ok(BatchReads {
        parties,
        histories,
        confirmations,
        watched,
    })
}

/// Puts together what each order of the batch is judged on, from the batch's reads. An order
/// sees the purchases of the orders before it in the batch as if they had been recorded one
/// after the other. CPU work only, linear in the histories it hands out.
pub fn assemble(engine: &Engine, orders: &[Order<'_>], reads: BatchReads) -> Vec<Loaded> {
    let BatchReads {
        parties,
        mut histories,
        confirmations,
        watched,
    } = reads;
    // A batch handled again finds its own purchases recorded already: they count once, as the
    // batch's own.
    let in_batch: HashSet<&str> = orders
        .iter()
        .map(|order| order.report.report_id.as_str())
        .collect();
    for history in histories.values_mut() {
        history.retain(|purchase| !in_batch.contains(purchase.report_id.as_str()));
    }
    let mut loaded = Vec::with_capacity(orders.len());
    // The purchases of the batch so far, by party, oldest first.
    let mut earlier: HashMap<&str, Vec<Purchase>> = HashMap::new();
    for (order, (party_id, party_rule)) in orders.iter().zip(&parties) {
        let report = order.report;
        let purchases = indicators::purchases(report, order.findings);
        let since = report.submitted_at - i64::from(order.history_days) * MICROS_PER_DAY;
        let until = report.submitted_at;
        let history = if party_id.is_empty() {
            Vec::new()
        } else {
            let limit = HISTORY_LIMIT as usize;
            let mut history: Vec<Purchase> = earlier
                .get(party_id.as_str())
                .into_iter()
                .flatten()
                .rev()
                .filter(|purchase| purchase.at >= since && purchase.at <= until)
                .take(limit)
                .cloned()
                .collect();
            // Stored newest first: the window is one run of it.
            let stored = histories
                .get(party_id.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let first = stored.partition_point(|purchase| purchase.at > until);
            let end = stored.partition_point(|purchase| purchase.at >= since);
            let window = stored.get(first..end.max(first)).unwrap_or_default();
            let room = limit.saturating_sub(history.len());
            history.extend(window.iter().take(room).cloned());
            // Two runs, each newest first: merged in one pass.
            history.sort_by_key(|purchase| std::cmp::Reverse(purchase.at));
            history
        };
        let country = report.customer.country.as_str();
        let watched = watched
            .iter()
            .filter(|party| party.country == country)
            .cloned()
            .collect();
        let confirmed = confirmations
            .get(party_id.as_str())
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
            .unwrap_or_default();
        if !party_id.is_empty() {
            earlier
                .entry(party_id.as_str())
                .or_default()
                .extend(purchases.iter().cloned());
        }
        let thresholds = us_thresholds(engine, &purchases);
        loaded.push(Loaded {
            purchases,
            party_id: party_id.clone(),
            party_rule: party_rule.clone(),
            history,
            watched,
            confirmed,
            thresholds,
        });
    }
    loaded
}

/// Records the purchases of a batch's recognised buyers in one statement per few hundred.
pub async fn record(store: &Store, loaded: &[Loaded]) -> Result<(), StoreError> {
    let bought: Vec<(&str, &Purchase)> = loaded
        .iter()
        .filter(|loaded| !loaded.party_id.is_empty())
        .flat_map(|loaded| {
            loaded
                .purchases
                .iter()
                .map(|purchase| (loaded.party_id.as_str(), purchase))
        })
        .collect();
    store.record_purchase_batch(&bought).await
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
