//! The rules: each indicator decided over the order, its findings and the buyer's history.

use std::collections::{BTreeMap, BTreeSet};

use domain::{Dimension, Unit};
use events::{
    AddressType, CustomerType, Finding, IndicatorHit, OrderReport, PaymentMethod, Regime,
};

use crate::rules::{RuleSet, Threshold};
use domain::party::{
    name_similarity, normalize_name, normalize_registration, Purchase, WatchedParty,
};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Everything the rules look at for one order.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    pub report: &'a OrderReport,
    pub findings: &'a [Finding],
    /// The purchases of this order ([`purchases`]).
    pub purchases: &'a [Purchase],
    /// The same buyer's earlier purchases, from every supplier, within the rules' history.
    pub history: &'a [Purchase],
    /// Watch-listed parties that may be this buyer.
    pub watched: &'a [WatchedParty],
    /// Earlier alerts about this buyer that an authority confirmed suspicious, in words.
    pub confirmed: &'a [String],
    /// Threshold per substance id from the reference data (21 CFR 1310.04), for splitting.
    pub thresholds: &'a BTreeMap<String, Threshold>,
    /// The time the order is judged at: its submission time.
    pub now: i64,
}

/// The purchases of an order: one per line and identified substance, with the pure amount.
pub fn purchases(report: &OrderReport, findings: &[Finding]) -> Vec<Purchase> {
    findings
        .iter()
        .filter_map(|finding| {
            let line = report
                .lines
                .iter()
                .find(|line| line.line_number == finding.line_number)?;
            let unit: Unit = line.unit;
            let base = match unit.dimension() {
                Dimension::Mass => "kg",
                Dimension::Volume => "l",
                Dimension::Count => "each",
            };
            let pure =
                line.quantity.in_base(unit) * line.concentration_pct.unwrap_or(100.0) / 100.0;
            Some(Purchase {
                report_id: report.report_id.clone(),
                company_id: report.company_id.clone(),
                line_number: line.line_number,
                substance_id: finding.substance_id.clone(),
                substance_name: finding.substance_name.clone(),
                amount: pure,
                unit: base.to_owned(),
                at: report.submitted_at,
            })
        })
        .collect()
}

/// The indicators that fire for the case, one hit per indicator with all its evidence, in the
/// catalogue's order.
pub fn evaluate(case: &Case<'_>, rules: &RuleSet) -> Vec<IndicatorHit> {
    let mut evidence: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut fire = |id: &'static str, text: String| evidence.entry(id).or_default().push(text);
    let report = case.report;
    let customer = format!(
        "customer \"{}\" ({})",
        report.customer.name, report.customer.country
    );
    let in_scope: Vec<&Finding> = case
        .findings
        .iter()
        .filter(|finding| finding.classifications.iter().any(|c| c.in_scope))
        .collect();
    let scheduled_names = names(in_scope.iter().map(|finding| &finding.substance_name));

    unusual_quantity(case, rules, &mut fire);
    unusual_frequency(case, rules, &mut fire);
    if case.history.is_empty() && !case.purchases.is_empty() {
        fire(
            "new_customer",
            format!(
                "first order of a listed substance by {customer} on the platform ({})",
                names(case.purchases.iter().map(|p| &p.substance_name))
            ),
        );
    }

    let payment = match report.payment_method {
        PaymentMethod::Cash => Some(("payment_cash", "payment in cash")),
        PaymentMethod::ThirdParty => Some(("payment_third_party", "payment by a third party")),
        PaymentMethod::MoneyTransfer => Some((
            "payment_money_transfer",
            "payment through a money transfer service",
        )),
        PaymentMethod::Cryptocurrency => {
            Some(("payment_cryptocurrency", "payment in cryptocurrency"))
        }
        _ => None,
    };
    if let Some((id, text)) = payment {
        fire(id, text.to_owned());
    }
    let delivery = match report.delivery.address_type {
        AddressType::PoBox => Some(("delivery_po_box", "delivery to a post office box")),
        AddressType::Residential => {
            Some(("delivery_residential", "delivery to a residential address"))
        }
        AddressType::Forwarder => Some(("delivery_forwarder", "delivery to a freight forwarder")),
        AddressType::FreeZone => Some(("delivery_free_zone", "delivery to a free trade zone")),
        AddressType::CustomerCollection => {
            Some(("customer_collection", "the customer collects the goods"))
        }
        _ => None,
    };
    if let Some((id, text)) = delivery {
        fire(id, format!("{text} ({})", report.delivery.country));
    }
    if report.delivery.country != report.customer.country {
        fire(
            "delivery_country_differs",
            format!(
                "delivery to {} while {customer} is registered in {}",
                report.delivery.country, report.customer.country
            ),
        );
    }
    if !report.transit_countries.is_empty() {
        fire(
            "transit",
            format!(
                "shipment through {}",
                domain::CountryCode::join(&report.transit_countries, ", ")
            ),
        );
    }
    let risky: Vec<String> = std::iter::once((&report.delivery.country, "destination"))
        .chain(report.transit_countries.iter().map(|c| (c, "transit")))
        .filter(|(country, _)| {
            rules
                .risk_countries
                .iter()
                .any(|risky| **country == risky.as_str())
        })
        .map(|(country, role)| format!("{country} ({role})"))
        .collect();
    if !risky.is_empty() {
        fire(
            "destination_risk",
            format!("{} on the authorities' risk list", risky.join(", ")),
        );
    }
    match report
        .end_use
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => fire("end_use_missing", "no end-use statement".into()),
        Some(text) => {
            let folded = normalize_name(text);
            let letters = folded.chars().filter(|c| c.is_alphabetic()).count();
            if letters < 4 || rules.vague_end_uses.contains(&folded) {
                fire(
                    "end_use_implausible",
                    format!(
                        "end-use statement \"{text}\" does not say what the chemical is used for"
                    ),
                );
            }
        }
    }
    let unregistered = report
        .customer
        .registration_number
        .as_deref()
        .is_none_or(|number| normalize_registration(number).is_empty());
    if unregistered {
        let requiring: Vec<String> = in_scope
            .iter()
            .flat_map(|finding| {
                finding
                    .classifications
                    .iter()
                    .filter(|c| c.in_scope && c.regime == Regime::Eu)
                    .filter(|c| {
                        let category = c.category.to_ascii_lowercase();
                        category.starts_with("category 1") || category.starts_with("category 2")
                    })
                    .map(move |c| format!("{} (EU {})", finding.substance_name, c.category))
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !requiring.is_empty() {
            fire(
                "licence_missing",
                format!(
                    "no licence or registration number for the buyer of {}, which the EU requires of customers of Categories 1 and 2",
                    requiring.join(", ")
                ),
            );
        }
    }
    if report.customer.customer_type == CustomerType::Individual && !in_scope.is_empty() {
        fire(
            "individual_buyer",
            format!("{customer} is an individual buying {scheduled_names}"),
        );
    }
    let mixed = domain::party::mixed_script_words(&report.customer.name);
    if !mixed.is_empty() {
        let words: Vec<String> = mixed
            .iter()
            .map(|(word, scripts)| format!("\"{word}\" ({})", scripts.join(" and ")))
            .collect();
        fire(
            "name_mixed_scripts",
            format!(
                "the name of {customer} mixes writing systems within a word, as look-alike letters do: {}",
                words.join(", ")
            ),
        );
    }
    order_splitting(case, rules, &customer, &mut fire);
    route_combination(case, rules, &mut fire);
    watch_list(case, rules, &mut fire);
    for confirmed in case.confirmed {
        fire("party_confirmed_suspicious", confirmed.clone());
    }

    crate::catalog::INDICATORS
        .iter()
        .filter_map(|indicator| {
            let texts = evidence.get(indicator.id)?;
            Some(IndicatorHit {
                indicator_id: indicator.id.to_owned(),
                weight: rules.weight(indicator.id, None),
                evidence: texts.join("; "),
            })
        })
        .collect()
}

fn unusual_quantity(case: &Case<'_>, rules: &RuleSet, fire: &mut impl FnMut(&'static str, String)) {
    for purchase in case.purchases {
        let mut earlier: Vec<f64> = case
            .history
            .iter()
            .filter(|past| past.substance_id == purchase.substance_id && past.unit == purchase.unit)
            .map(|past| past.amount)
            .collect();
        let has_usual = earlier.len() >= rules.unusual_quantity_min_orders.max(1);
        if has_usual {
            earlier.sort_by(f64::total_cmp);
            let median = earlier[earlier.len() / 2];
            if median > 0.0 && purchase.amount > rules.unusual_quantity_factor * median {
                fire(
                    "unusual_quantity_customer",
                    format!(
                        "line {}: {} of {} is {:.1} times this customer's usual {} (median of {} earlier orders)",
                        purchase.line_number,
                        amount(purchase.amount, &purchase.unit),
                        purchase.substance_name,
                        purchase.amount / median,
                        amount(median, &purchase.unit),
                        earlier.len()
                    ),
                );
            }
        }
        // A buyer with a usual quantity of its own is measured against it, above; where the
        // rule set says so, only one without (a new buyer, or too few orders to say) is also
        // measured against the substance's normal trade lot.
        if has_usual && rules.normal_lots_for_new_buyers_only {
            continue;
        }
        let lot = rules
            .normal_lots
            .get(&purchase.substance_id)
            .and_then(|lots| lots.in_unit(&purchase.unit));
        if let Some(lot) = lot.filter(|lot| purchase.amount > lot.quantity) {
            fire(
                "unusual_quantity_substance",
                format!(
                    "line {}: {} of {} is more than its normal lot of {} ({:.1} times){}",
                    purchase.line_number,
                    amount(purchase.amount, &purchase.unit),
                    purchase.substance_name,
                    amount(lot.quantity, &lot.unit),
                    purchase.amount / lot.quantity,
                    if has_usual {
                        String::new()
                    } else {
                        format!(
                            ", to a buyer with no usual quantity of its own ({} earlier orders)",
                            earlier.len()
                        )
                    }
                ),
            );
        }
    }
}

fn unusual_frequency(
    case: &Case<'_>,
    rules: &RuleSet,
    fire: &mut impl FnMut(&'static str, String),
) {
    let window = i64::from(rules.frequency_window_days) * MICROS_PER_DAY;
    let window_start = case.now - window;
    for (substance, name) in substances(case.purchases) {
        let of_substance = || case.history.iter().filter(|p| p.substance_id == substance);
        let recent: BTreeSet<&str> = of_substance()
            .filter(|p| p.at >= window_start)
            .map(|p| p.report_id.as_str())
            .collect();
        let count = recent.len() + 1;
        if count < rules.frequency_min_orders {
            continue;
        }
        let before: BTreeSet<&str> = of_substance()
            .filter(|p| p.at < window_start)
            .map(|p| p.report_id.as_str())
            .collect();
        let earliest = of_substance().map(|p| p.at).min().unwrap_or(case.now);
        let windows_before = (window_start - earliest) as f64 / window as f64;
        let days = rules.frequency_window_days;
        let usual = if windows_before >= 1.0 {
            let rate = before.len() as f64 / windows_before;
            if count as f64 <= rules.frequency_factor * rate {
                continue;
            }
            format!("usually {rate:.1} per {days} days")
        } else {
            "no earlier period to compare".to_owned()
        };
        fire(
            "unusual_frequency",
            format!("{count} orders of {name} by this customer within {days} days ({usual})"),
        );
    }
}

fn order_splitting(
    case: &Case<'_>,
    rules: &RuleSet,
    customer: &str,
    fire: &mut impl FnMut(&'static str, String),
) {
    let window_start = case.now - i64::from(rules.splitting_window_days) * MICROS_PER_DAY;
    for (substance, name) in substances(case.purchases) {
        let Some(threshold) = rules
            .splitting_thresholds
            .get(substance)
            .or_else(|| case.thresholds.get(substance))
            .filter(|threshold| threshold.quantity > 0.0)
        else {
            continue;
        };
        // Amount per order (report) of the substance, in the threshold's unit.
        let mut orders: BTreeMap<&str, (f64, &str)> = BTreeMap::new();
        let recent = case
            .history
            .iter()
            .filter(|p| p.at >= window_start && p.at <= case.now)
            .chain(case.purchases);
        for purchase in recent.filter(|p| p.substance_id == substance && p.unit == threshold.unit) {
            let order = orders
                .entry(&purchase.report_id)
                .or_insert((0.0, &purchase.company_id));
            order.0 += purchase.amount;
        }
        let total: f64 = orders.values().map(|(amount, _)| amount).sum();
        let each_below = orders
            .values()
            .all(|(amount, _)| *amount < threshold.quantity);
        if orders.len() >= 2 && each_below && total >= threshold.quantity {
            let suppliers: BTreeSet<&str> = orders.values().map(|(_, company)| *company).collect();
            let suppliers: Vec<&str> = suppliers.into_iter().collect();
            fire(
                "order_splitting",
                format!(
                    "{} orders of {name} by {customer} from {} supplier{} ({}) within {} days, {} in total, each below {}",
                    orders.len(),
                    suppliers.len(),
                    if suppliers.len() == 1 { "" } else { "s" },
                    suppliers.join(", "),
                    rules.splitting_window_days,
                    amount(total, &threshold.unit),
                    amount(threshold.quantity, &threshold.unit)
                ),
            );
        }
    }
}

fn route_combination(
    case: &Case<'_>,
    rules: &RuleSet,
    fire: &mut impl FnMut(&'static str, String),
) {
    let window_start = case.now - i64::from(rules.combination_window_days) * MICROS_PER_DAY;
    for route in &rules.routes {
        let mut present = Vec::new();
        let mut touches_this_order = false;
        for group in &route.groups {
            let current = case
                .purchases
                .iter()
                .find(|p| group.contains(&p.substance_id));
            let earlier = case
                .history
                .iter()
                .filter(|p| p.at >= window_start && group.contains(&p.substance_id))
                .max_by_key(|p| p.at);
            match (current, earlier) {
                (Some(purchase), _) => {
                    touches_this_order = true;
                    present.push(format!("{} (this order)", purchase.substance_name));
                }
                (None, Some(purchase)) => {
                    let whose = if purchase.company_id == case.report.company_id {
                        "same supplier"
                    } else {
                        "another supplier"
                    };
                    present.push(format!(
                        "{} (order of {}, {whose})",
                        purchase.substance_name,
                        date(purchase.at)
                    ));
                }
                (None, None) => {}
            }
        }
        if touches_this_order && present.len() >= route.min_groups.max(2) {
            fire(
                "route_combination",
                format!(
                    "{} within {} days: precursors of {}",
                    present.join(", "),
                    rules.combination_window_days,
                    route.name
                ),
            );
        }
    }
}

fn watch_list(case: &Case<'_>, rules: &RuleSet, fire: &mut impl FnMut(&'static str, String)) {
    let customer = &case.report.customer;
    let name = normalize_name(&customer.name);
    let registration = customer
        .registration_number
        .as_deref()
        .map(normalize_registration)
        .unwrap_or_default();
    for party in case
        .watched
        .iter()
        .filter(|party| customer.country == party.country.as_str())
    {
        let listed_registration = party
            .registration_number
            .as_deref()
            .map(normalize_registration)
            .unwrap_or_default();
        let how = if !registration.is_empty() && registration == listed_registration {
            "same registration number".to_owned()
        } else {
            let similarity = name_similarity(&name, &normalize_name(&party.name));
            if similarity < rules.watch_list_min_similarity {
                continue;
            }
            format!("name similarity {similarity:.2}")
        };
        fire(
            "watch_listed_party",
            format!(
                "customer \"{}\" ({}) matches \"{}\" on the watch list of the {} authority ({how}): {}",
                customer.name, customer.country, party.name, party.authority, party.reason
            ),
        );
    }
}

/// The distinct substances of the purchases, with their names, in order of appearance.
fn substances(purchases: &[Purchase]) -> Vec<(&str, &str)> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for purchase in purchases {
        if !seen.iter().any(|(id, _)| *id == purchase.substance_id) {
            seen.push((&purchase.substance_id, &purchase.substance_name));
        }
    }
    seen
}

/// Distinct names, joined: "acetic anhydride, toluene".
fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for name in names {
        if !distinct.contains(&name.as_str()) {
            distinct.push(name);
        }
    }
    distinct.join(", ")
}

/// "980 kg", "2.5 l", "0.125 kg".
fn amount(value: f64, unit: &str) -> String {
    let text = if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    };
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} {unit}")
}

/// The UTC day of a time in microseconds.
fn date(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|time| time.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
