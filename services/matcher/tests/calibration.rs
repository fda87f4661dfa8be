//! Severity calibrated against people: 126 orders, each standing alone (a new buyer, no
//! history), whose expected severity band (no alert, LOW, MEDIUM, HIGH, CRITICAL) was written by
//! a precursor-compliance reviewer who had not seen the rules
//! (`tests/data/labelled_orders.json`, with the reason for each). The built-in reference data
//! and rule set screen each order as the matcher does; the agreement is printed and held above
//! a floor, so that a change to the rules that moves them away from expert judgement fails.

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

/// Agreement of one rule set with the labels: exactly, and within one band, in per cent.
fn agreement(rules: &RuleSet) -> (f64, f64) {
    let labelled: Vec<Labelled> =
        serde_json::from_str(include_str!("data/labelled_orders.json")).unwrap();
    assert!(labelled.len() >= 100);
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
        "severity calibration of {} over {total} blind-labelled orders:",
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

#[test]
fn severity_agrees_with_a_blind_expert_labelling() {
    let in_force = RuleSets::builtin().unwrap();
    let (exact, within_one) = agreement(in_force.at(events::now_micros()));
    assert!(exact >= FLOOR_EXACT, "exact band: {exact:.0} %");
    assert!(
        within_one >= FLOOR_WITHIN_ONE,
        "within one band: {within_one:.0} %"
    );
    // The candidate calibrated on this set, for authorities to adopt with --rules.
    let candidate = RuleSet::from_json(include_str!(
        "../../indicators/rules/candidates/2027-01-01.json"
    ))
    .unwrap();
    let (exact, within_one) = agreement(&candidate);
    assert!(
        exact >= CANDIDATE_FLOOR_EXACT,
        "candidate, exact band: {exact:.0} %"
    );
    assert!(
        within_one >= CANDIDATE_FLOOR_WITHIN_ONE,
        "candidate, within one band: {within_one:.0} %"
    );
}

/// Least share of orders in exactly the expected band under the candidate, in per cent.
const CANDIDATE_FLOOR_EXACT: f64 = 55.0;
/// Least share at most one band from the expected one under the candidate, in per cent.
const CANDIDATE_FLOOR_WITHIN_ONE: f64 = 90.0;

// Floors a few orders below the agreement measured when the set was written (in force: 34 %
// exact, 62 % within one band; candidate: 59 % and 95 %, 60 % before the commodity lots).

/// Least share of orders in exactly the expected band under the rules in force, in per cent.
const FLOOR_EXACT: f64 = 30.0;
/// Least share at most one band from the expected one under the rules in force, in per cent.
const FLOOR_WITHIN_ONE: f64 = 58.0;
