//! Severity calibrated against people: 126 orders, each standing alone (a new buyer, no
//! history), whose expected severity band (no alert, LOW, MEDIUM, HIGH, CRITICAL) was written by
//! a precursor-compliance reviewer who had not seen the rules
//! (`tests/data/labelled_orders.json`, with the reason for each). The built-in reference data
//! and rule set screen each order as the matcher does; the agreement is printed and held above
//! a floor, so that a change to the rules that moves them away from expert judgement fails.
//!
//! The rule set in force since 2026-12-07 (`indicators-2026.2`, identifications weighed
//! 25/10/15) was calibrated on that set, so its agreement there flatters it: 60 more orders
//! labelled the same way after it was written (`tests/data/labelled_orders_holdout.json`)
//! measure it on orders it was not fitted to. The version before it is printed for comparison.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::BTreeMap;

use events::Severity;
use indicators::{Case, RuleSet, RuleSets};
use ingest::{Envelope, ReportRequest};
use matcher::{conclude, report_findings, Assessment, Engine, ReferenceData};

/// The bands in order, so that "one band apart" can be counted.
const BANDS: [&str; 5] = ["NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

#[derive(serde::Deserialize)]
struct Labelled {
    id: String,
    expected: String,
    why: String,
    report: ReportRequest,
}

fn band(severity: Option<Severity>) -> &'static str {
    match severity {
        None => "NONE",
        Some(Severity::Low) => "LOW",
        Some(Severity::Medium) => "MEDIUM",
        Some(Severity::High) => "HIGH",
        Some(Severity::Critical) => "CRITICAL",
    }
}

fn rank(band: &str) -> i32 {
    BANDS.iter().position(|b| *b == band).unwrap() as i32
}

/// The orders the candidate was calibrated on.
const CALIBRATION: &str = include_str!("data/labelled_orders.json");
/// Orders labelled after the rule set in force was calibrated.
const HELD_OUT: &str = include_str!("data/labelled_orders_holdout.json");

/// Agreement of one rule set with the labels of `set`: exactly, and within one band, in per
/// cent.
fn agreement(rules: &RuleSet, set: &str) -> (f64, f64) {
    let labelled: Vec<Labelled> = serde_json::from_str(set).unwrap();
    let engine = Engine::new(ReferenceData::builtin().unwrap()).unwrap();
    let rules = rules.clone();
    let now = events::now_micros();
    let mut confusion: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let (mut exact, mut within_one, mut far) = (0, 0, Vec::new());
    for order in &labelled {
        let envelope = Envelope {
            report_id: order.id.clone(),
            company_id: "calibration".into(),
            submitted_at: now,
        };
        let report = order
            .report
            .parse(envelope)
            .unwrap_or_else(|problems| panic!("{}: {problems:?}", order.id));
        let findings = report_findings(&engine, &report);
        let purchases = indicators::purchases(&report, &findings);
        let hits = indicators::evaluate(
            &Case {
                report: &report,
                findings: &findings,
                purchases: &purchases,
                history: &[],
                watched: &[],
                confirmed: &[],
                thresholds: &BTreeMap::new(),
                now,
            },
            &rules,
        );
        let assessment = Assessment {
            rules: &rules,
            hits,
            party_id: String::new(),
            party_rule: "new party".into(),
        };
        let screening = conclude(&engine, &report, findings, &assessment, now);
        let got = band(screening.alert.as_ref().map(|alert| alert.severity));
        let expected = BANDS
            .iter()
            .find(|b| **b == order.expected)
            .copied()
            .unwrap_or_else(|| panic!("{}: unknown band {}", order.id, order.expected));
        *confusion.entry((expected, got)).or_default() += 1;
        let distance = (rank(expected) - rank(got)).abs();
        exact += usize::from(distance == 0);
        within_one += usize::from(distance <= 1);
        if distance >= 2 {
            let score = screening.alert.as_ref().map_or(0.0, |alert| alert.score);
            far.push(format!(
                "{} expected {expected}, got {got} (score {score}): {}",
                order.id, order.why
            ));
        }
    }
    let total = labelled.len();
    let percent = |n: usize| 100.0 * n as f64 / total as f64;
    println!(
        "severity of {} against {total} blind-labelled orders:",
        rules.version
    );
    println!(
        "expected \\ got  {}",
        BANDS.map(|b| format!("{b:>9}")).join("")
    );
    for expected in BANDS {
        let row: String = BANDS
            .iter()
            .map(|got| format!("{:>9}", confusion.get(&(expected, *got)).unwrap_or(&0)))
            .collect();
        println!("{expected:>14}  {row}");
    }
    println!(
        "exact band: {exact} ({:.0} %), within one band: {within_one} ({:.0} %), two or more apart: {}",
        percent(exact),
        percent(within_one),
        far.len()
    );
    for line in &far {
        println!("  {line}");
    }
    (percent(exact), percent(within_one))
}

/// The rule sets built in: the one in force and the one it replaced.
fn versions() -> (RuleSet, RuleSet) {
    let builtin = RuleSets::builtin().unwrap();
    let in_force = builtin.at(events::now_micros()).clone();
    let before = builtin.version("indicators-2026.1").unwrap().clone();
    (in_force, before)
}

#[test]
fn severity_agrees_with_a_blind_expert_labelling() {
    assert!(
        serde_json::from_str::<Vec<Labelled>>(CALIBRATION)
            .unwrap()
            .len()
            >= 100
    );
    let (in_force, before) = versions();
    agreement(&before, CALIBRATION);
    let (exact, within_one) = agreement(&in_force, CALIBRATION);
    assert!(exact >= FLOOR_EXACT, "exact band: {exact:.0} %");
    assert!(
        within_one >= FLOOR_WITHIN_ONE,
        "within one band: {within_one:.0} %"
    );
}

#[test]
fn severity_agrees_on_orders_the_rules_were_not_fitted_to() {
    let (in_force, before) = versions();
    agreement(&before, HELD_OUT);
    let (exact, within_one) = agreement(&in_force, HELD_OUT);
    assert!(exact >= HELD_OUT_FLOOR_EXACT, "exact band: {exact:.0} %");
    assert!(
        within_one >= HELD_OUT_FLOOR_WITHIN_ONE,
        "within one band: {within_one:.0} %"
    );
}

// Floors a few orders below the agreement measured when each set was added. indicators-2026.2
// on the calibration set: 59 % exact, 95 % within one band (indicators-2026.1: 34 % and 62 %);
// on the held-out set: 58 % and 93 % (indicators-2026.1: 33 % and 60 %).

/// Least share of the calibration set in exactly the expected band, in per cent.
const FLOOR_EXACT: f64 = 55.0;
/// Least share of the calibration set at most one band from the expected one, in per cent.
const FLOOR_WITHIN_ONE: f64 = 90.0;
/// Least share of the held-out set in exactly the expected band, in per cent.
const HELD_OUT_FLOOR_EXACT: f64 = 52.0;
/// Least share of the held-out set at most one band from the expected one, in per cent.
const HELD_OUT_FLOOR_WITHIN_ONE: f64 = 88.0;
