use super::*;
use crate::rules::RuleSets;
use events::{Classification, Customer, Delivery, LineField, MatchKind, OrderLine};

const DAY: i64 = MICROS_PER_DAY;
/// 2026-11-28T00:00:00Z, the injected clock.
const NOW: i64 = 1_795_824_000_000_000;

fn rules() -> RuleSet {
    RuleSets::builtin().expect("builtin rules").all()[0].clone()
}

/// A plain order: a registered company in NL buying one line, invoiced, business address,
/// with a plausible end use.
fn report(lines: &[(&str, f64, &str)]) -> OrderReport {
    OrderReport {
        report_id: "r-now".into(),
        company_id: "supplier-a".into(),
        company_reference: "SO-1".into(),
        supplier_country: "DE".parse().unwrap(),
        order_date: 20_000,
        submitted_at: NOW,
        customer: Customer {
            id: "C-1".into(),
            name: "Polder Coatings B.V.".into(),
            customer_type: CustomerType::Company,
            country: "NL".parse().unwrap(),
            registration_number: Some("NL-KVK-12345678".into()),
        },
        delivery: Delivery {
            country: "NL".parse().unwrap(),
            address_type: AddressType::Business,
        },
        transit_countries: vec![],
        payment_method: PaymentMethod::Invoice,
        end_use: Some("acetylation of cellulose for coatings production".into()),
        lines: lines
            .iter()
            .enumerate()
            .map(|(index, (description, quantity, unit))| OrderLine {
                line_number: index as i32 + 1,
                description: (*description).into(),
                cas: None,
                hs_code: None,
                quantity: domain::Quantity::new(*quantity).unwrap(),
                unit: (*unit).parse().unwrap(),
                concentration_pct: None,
                packaging: None,
            })
            .collect(),
    }
}

/// A finding of `id` on line `line`, in scope of EU `category`.
fn finding(line: i32, id: &str, category: &str) -> Finding {
    Finding {
        line_number: line,
        substance_id: id.into(),
        substance_name: id.replace('_', " "),
        match_kind: MatchKind::Name,
        matched_field: LineField::Description,
        matched_text: id.into(),
        match_score: 1.0,
        classifications: vec![Classification {
            regime: Regime::Eu,
            category: category.into(),
            legal_basis: String::new(),
            in_scope: true,
            scope_note: String::new(),
        }],
    }
}

fn past(report: &str, company: &str, id: &str, amount: f64, unit: &str, days_ago: i64) -> Purchase {
    Purchase {
        report_id: report.into(),
        company_id: company.into(),
        line_number: 1,
        substance_id: id.into(),
        substance_name: id.replace('_', " "),
        amount,
        unit: unit.into(),
        at: NOW - days_ago * DAY,
    }
}

struct Run {
    report: OrderReport,
    findings: Vec<Finding>,
    history: Vec<Purchase>,
    watched: Vec<WatchedParty>,
    confirmed: Vec<String>,
    thresholds: BTreeMap<String, Threshold>,
    rules: RuleSet,
}

impl Run {
    fn new(report: OrderReport, findings: Vec<Finding>) -> Self {
        // An established customer: one order of something else three months ago.
        Self {
            report,
            findings,
            history: vec![past("r-old", "supplier-a", "toluene", 100.0, "l", 90)],
            watched: vec![],
            confirmed: vec![],
            thresholds: BTreeMap::new(),
            rules: rules(),
        }
    }

    fn hits(&self) -> Vec<IndicatorHit> {
        let purchases = purchases(&self.report, &self.findings);
        evaluate(
            &Case {
                report: &self.report,
                findings: &self.findings,
                purchases: &purchases,
                history: &self.history,
                watched: &self.watched,
                confirmed: &self.confirmed,
                thresholds: &self.thresholds,
                now: NOW,
            },
            &self.rules,
        )
    }

    fn ids(&self) -> Vec<String> {
        self.hits()
            .into_iter()
            .map(|hit| hit.indicator_id)
            .collect()
    }

    fn evidence(&self, id: &str) -> String {
        self.hits()
            .into_iter()
            .find(|hit| hit.indicator_id == id)
            .map(|hit| hit.evidence)
            .unwrap_or_else(|| panic!("{id} did not fire: {:?}", self.ids()))
    }
}

fn anhydride(quantity: f64) -> Run {
    Run::new(
        report(&[("Acetic anhydride 99%", quantity, "l")]),
        vec![finding(1, "acetic_anhydride", "Category 2A")],
    )
}

#[test]
fn a_plain_order_of_an_established_customer_fires_nothing() {
    assert_eq!(anhydride(200.0).ids(), Vec::<String>::new());
}

#[test]
fn purchases_are_pure_amounts_in_base_units() {
    let mut order = report(&[("Acetic anhydride 60%", 500.0, "ml")]);
    order.lines[0].concentration_pct = Some(60.0);
    let bought = purchases(&order, &[finding(1, "acetic_anhydride", "Category 2A")]);
    assert_eq!(bought.len(), 1);
    assert!((bought[0].amount - 0.3).abs() < 1e-9);
    assert_eq!(bought[0].unit, "l");
}

#[test]
fn unusual_quantity_against_the_customers_own_history() {
    let mut run = anhydride(900.0);
    run.history = vec![
        past("r1", "supplier-a", "acetic_anhydride", 200.0, "l", 120),
        past("r2", "supplier-a", "acetic_anhydride", 180.0, "l", 80),
        past("r3", "supplier-b", "acetic_anhydride", 220.0, "l", 40),
    ];
    let evidence = run.evidence("unusual_quantity_customer");
    assert!(evidence.contains("900 l of acetic anhydride is 4.5 times this customer's usual 200 l (median of 3 earlier orders)"), "{evidence}");
    // The usual quantity, or too little history, says nothing.
    run.report.lines[0].quantity = domain::Quantity::new(400.0).unwrap();
    assert!(!run.ids().contains(&"unusual_quantity_customer".to_owned()));
    run.report.lines[0].quantity = domain::Quantity::new(900.0).unwrap();
    run.history.truncate(2);
    assert!(!run.ids().contains(&"unusual_quantity_customer".to_owned()));
}

#[test]
fn unusual_quantity_against_normal_lots() {
    let run = Run::new(
        report(&[("Ephedrine HCl", 250.0, "kg")]),
        vec![finding(1, "ephedrine", "Category 1")],
    );
    let evidence = run.evidence("unusual_quantity_substance");
    assert!(
        evidence.contains("250 kg of ephedrine is more than its normal lot of 100 kg"),
        "{evidence}"
    );
    let small = Run::new(
        report(&[("Ephedrine HCl", 25.0, "kg")]),
        vec![finding(1, "ephedrine", "Category 1")],
    );
    assert!(!small
        .ids()
        .contains(&"unusual_quantity_substance".to_owned()));
}

/// An established buyer's history: three orders of `amount` kg of `substance` in the last four
/// months, from one supplier.
fn three_orders_of(substance: &str, amount: f64) -> Vec<Purchase> {
    [120, 80, 40]
        .iter()
        .enumerate()
        .map(|(n, days)| {
            past(
                &format!("r{n}"),
                "supplier-a",
                substance,
                amount,
                "kg",
                *days,
            )
        })
        .collect()
}

/// The rule set in force from 2026-12-07, with the bulk precursors' lots.
fn rules_2026_2() -> RuleSet {
    RuleSets::builtin()
        .expect("builtin rules")
        .version("indicators-2026.2")
        .expect("indicators-2026.2 is built in")
        .clone()
}

#[test]
fn a_new_buyers_bulk_order_is_measured_against_the_substances_trade_lots() {
    let order = |quantity: f64, unit: &str| {
        let mut run = Run::new(
            report(&[("Acetic anhydride 99%", quantity, unit)]),
            vec![finding(1, "acetic_anhydride", "Category 2A")],
        );
        run.rules = rules_2026_2();
        run
    };
    // 50 t and 1,000 t of acetic anhydride to a buyer with no usual quantity of its own: more
    // than a road tanker (25 t, 23,000 l), by mass and by volume.
    for (quantity, unit, times) in [
        (50_000.0, "kg", "2.0 times"),
        (1_000_000.0, "kg", "40.0 times"),
        (50_000.0, "l", "2.2 times"),
    ] {
        let evidence = order(quantity, unit).evidence("unusual_quantity_substance");
        assert!(evidence.contains(times), "{evidence}");
        assert!(
            evidence.contains("to a buyer with no usual quantity of its own (0 earlier orders)"),
            "{evidence}"
        );
    }
    // A tanker load is a normal lot.
    assert!(!order(20_000.0, "kg")
        .ids()
        .contains(&"unusual_quantity_substance".to_owned()));
    // A buyer whose own orders are this large is measured against them instead.
    let mut regular = order(50_000.0, "kg");
    regular.history = three_orders_of("acetic_anhydride", 45_000.0);
    let ids = regular.ids();
    assert!(
        !ids.contains(&"unusual_quantity_substance".to_owned())
            && !ids.contains(&"unusual_quantity_customer".to_owned()),
        "{ids:?}"
    );
    // The rule set before it had no lot for acetic anhydride, and still has none.
    let mut before = order(50_000.0, "kg");
    before.rules = rules();
    assert!(!before
        .ids()
        .contains(&"unusual_quantity_substance".to_owned()));
}

#[test]
fn the_rule_set_before_compares_every_buyer_with_the_lot() {
    // An established buyer of 250 kg of ephedrine, more than its normal lot (100 kg).
    let mut run = Run::new(
        report(&[("Ephedrine HCl", 250.0, "kg")]),
        vec![finding(1, "ephedrine", "Category 1")],
    );
    run.history = three_orders_of("ephedrine", 250.0);
    let evidence = run.evidence("unusual_quantity_substance");
    assert!(
        evidence.ends_with("is more than its normal lot of 100 kg (2.5 times)"),
        "{evidence}"
    );
    run.rules = rules_2026_2();
    assert!(!run.ids().contains(&"unusual_quantity_substance".to_owned()));
}

#[test]
fn a_normal_lot_needs_one_positive_amount_per_unit() {
    let with_lot = |lot: &str| {
        let mut value: serde_json::Value =
            serde_json::from_str(include_str!("../../rules/2026-01-01.json")).unwrap();
        value["normal_lots"]["acetone"] = serde_json::from_str(lot).unwrap();
        RuleSet::from_json(&value.to_string())
    };
    assert!(with_lot(r#"{"quantity": 10, "unit": "kg"}"#).is_ok());
    assert!(with_lot(r#"[{"quantity": 10, "unit": "kg"}, {"quantity": 12, "unit": "l"}]"#).is_ok());
    for wrong in [
        r#"[{"quantity": 10, "unit": "kg"}, {"quantity": 12, "unit": "kg"}]"#,
        r#"[]"#,
        r#"{"quantity": 0, "unit": "kg"}"#,
        r#"{"quantity": 10, "unit": "t"}"#,
    ] {
        let error = with_lot(wrong).unwrap_err();
        assert!(
            format!("{error:#}").contains("normal lot of acetone"),
            "{wrong}: {error:#}"
        );
    }
}

#[test]
fn unusual_frequency_needs_more_orders_than_usual() {
    let mut run = anhydride(200.0);
    // Three in the last 30 days, one in the ten months before.
    run.history = vec![
        past("r1", "supplier-a", "acetic_anhydride", 200.0, "l", 300),
        past("r2", "supplier-a", "acetic_anhydride", 200.0, "l", 20),
        past("r3", "supplier-b", "acetic_anhydride", 200.0, "l", 10),
        past("r4", "supplier-b", "acetic_anhydride", 200.0, "l", 5),
    ];
    let evidence = run.evidence("unusual_frequency");
    assert!(
        evidence
            .starts_with("4 orders of acetic anhydride by this customer within 30 days (usually"),
        "{evidence}"
    );
    // A customer who always orders this often is usual.
    run.history.extend((0..10).map(|month| {
        past(
            &format!("m{month}"),
            "supplier-a",
            "acetic_anhydride",
            200.0,
            "l",
            40 + 30 * month,
        )
    }));
    run.history.extend((0..20).map(|month| {
        past(
            &format!("n{month}"),
            "supplier-a",
            "acetic_anhydride",
            200.0,
            "l",
            45 + 15 * month,
        )
    }));
    assert!(
        !run.ids().contains(&"unusual_frequency".to_owned()),
        "{:?}",
        run.hits()
    );
}

#[test]
fn the_first_listed_order_of_a_new_customer() {
    let mut run = anhydride(200.0);
    run.history.clear();
    let evidence = run.evidence("new_customer");
    assert!(
        evidence.contains(
            "first order of a listed substance by customer \"Polder Coatings B.V.\" (NL)"
        ),
        "{evidence}"
    );
}

#[test]
fn payment_and_delivery_indicators() {
    let cases = [
        (PaymentMethod::Cash, AddressType::Business, "payment_cash"),
        (
            PaymentMethod::ThirdParty,
            AddressType::Business,
            "payment_third_party",
        ),
        (
            PaymentMethod::MoneyTransfer,
            AddressType::Business,
            "payment_money_transfer",
        ),
        (
            PaymentMethod::Cryptocurrency,
            AddressType::Business,
            "payment_cryptocurrency",
        ),
        (
            PaymentMethod::Invoice,
            AddressType::PoBox,
            "delivery_po_box",
        ),
        (
            PaymentMethod::Invoice,
            AddressType::Residential,
            "delivery_residential",
        ),
        (
            PaymentMethod::Invoice,
            AddressType::Forwarder,
            "delivery_forwarder",
        ),
        (
            PaymentMethod::Invoice,
            AddressType::FreeZone,
            "delivery_free_zone",
        ),
        (
            PaymentMethod::Invoice,
            AddressType::CustomerCollection,
            "customer_collection",
        ),
    ];
    for (payment, address, id) in cases {
        let mut run = anhydride(200.0);
        run.report.payment_method = payment;
        run.report.delivery.address_type = address;
        assert_eq!(run.ids(), vec![id.to_owned()]);
    }
    for payment in [
        PaymentMethod::BankTransfer,
        PaymentMethod::Card,
        PaymentMethod::Unstated,
    ] {
        let mut run = anhydride(200.0);
        run.report.payment_method = payment;
        assert!(run.ids().is_empty());
    }
}

#[test]
fn routing_indicators() {
    let mut run = anhydride(200.0);
    run.report.delivery.country = "BE".parse().unwrap();
    run.report.transit_countries = vec!["FR".parse().unwrap()];
    assert_eq!(run.ids(), vec!["delivery_country_differs", "transit"]);
    assert!(run
        .evidence("delivery_country_differs")
        .contains("delivery to BE while customer"));
    run.rules.risk_countries = vec!["FR".into()];
    assert_eq!(
        run.evidence("destination_risk"),
        "FR (transit) on the authorities' risk list"
    );
}

#[test]
fn end_use_missing_or_vague() {
    let mut run = anhydride(200.0);
    run.report.end_use = None;
    assert_eq!(run.ids(), vec!["end_use_missing"]);
    run.report.end_use = Some("  ".into());
    assert_eq!(run.ids(), vec!["end_use_missing"]);
    for vague in ["Resale", "n/a", "private use", "xx"] {
        run.report.end_use = Some(vague.into());
        assert_eq!(run.ids(), vec!["end_use_implausible"], "{vague}");
    }
    run.report.end_use = Some("Synthesis of cellulose acetate".into());
    assert!(run.ids().is_empty());
}

#[test]
fn licence_missing_only_where_the_eu_requires_one() {
    let mut run = anhydride(200.0);
    run.report.customer.registration_number = None;
    assert!(run
        .evidence("licence_missing")
        .contains("acetic anhydride (EU Category 2A)"));
    let mut toluene = Run::new(
        report(&[("Toluene", 200.0, "l")]),
        vec![finding(1, "toluene", "Category 3")],
    );
    toluene.report.customer.registration_number = None;
    assert!(toluene.ids().is_empty());
}

#[test]
fn an_individual_buying_a_scheduled_chemical() {
    let mut run = anhydride(20.0);
    run.report.customer.customer_type = CustomerType::Individual;
    assert!(run
        .evidence("individual_buyer")
        .contains("is an individual buying acetic anhydride"));
    run.findings[0].classifications[0].in_scope = false;
    assert!(!run.ids().contains(&"individual_buyer".to_owned()));
}

#[test]
fn orders_split_below_a_threshold_across_suppliers() {
    let mut run = anhydride(240.0);
    run.rules.splitting_thresholds.insert(
        "acetic_anhydride".into(),
        Threshold {
            quantity: 250.0,
            unit: "l".into(),
        },
    );
    run.history = vec![
        past("r1", "supplier-b", "acetic_anhydride", 245.0, "l", 6),
        past("r2", "supplier-a", "acetic_anhydride", 230.0, "l", 3),
        // Outside the window: not counted.
        past("r0", "supplier-c", "acetic_anhydride", 240.0, "l", 45),
    ];
    assert_eq!(
        run.evidence("order_splitting"),
        "3 orders of acetic anhydride by customer \"Polder Coatings B.V.\" (NL) from 2 suppliers (supplier-a, supplier-b) within 30 days, 715 l in total, each below 250 l"
    );
    // One order at or above the threshold is not splitting.
    run.report.lines[0].quantity = domain::Quantity::new(260.0).unwrap();
    assert!(!run.ids().contains(&"order_splitting".to_owned()));
    // Nor is a single order below it.
    run.report.lines[0].quantity = domain::Quantity::new(240.0).unwrap();
    run.history.truncate(0);
    assert!(!run.ids().contains(&"order_splitting".to_owned()));
}

#[test]
fn splitting_uses_the_reference_threshold_when_the_rules_have_none() {
    let mut run = Run::new(
        report(&[("Benzaldehyde", 3.0, "kg")]),
        vec![finding(1, "benzaldehyde", "List I")],
    );
    run.thresholds.insert(
        "benzaldehyde".into(),
        Threshold {
            quantity: 4.0,
            unit: "kg".into(),
        },
    );
    assert!(!run.ids().contains(&"order_splitting".to_owned()));
    run.history
        .push(past("r1", "supplier-b", "benzaldehyde", 3.0, "kg", 2));
    assert!(run
        .evidence("order_splitting")
        .contains("2 orders of benzaldehyde"));
}

#[test]
fn precursors_of_one_route_on_one_order_or_within_the_window() {
    let run = Run::new(
        report(&[("Ephedrine HCl", 5.0, "kg"), ("Red phosphorus", 1.0, "kg")]),
        vec![
            finding(1, "ephedrine", "Category 1"),
            finding(2, "red_phosphorus", "Category 2A"),
        ],
    );
    let evidence = run.evidence("route_combination");
    assert!(
        evidence.contains("ephedrine (this order), red phosphorus (this order)"),
        "{evidence}"
    );
    assert!(
        evidence.contains("methamphetamine by reduction"),
        "{evidence}"
    );

    let mut later = Run::new(
        report(&[("Iodine", 2.0, "kg")]),
        vec![finding(1, "iodine", "List I")],
    );
    later
        .history
        .push(past("r1", "supplier-b", "pseudoephedrine", 5.0, "kg", 12));
    assert!(later
        .evidence("route_combination")
        .contains("pseudoephedrine (order of 2026-11-16, another supplier)"));
    // Outside the window, or one route component only: nothing.
    later.history = vec![past("r1", "supplier-b", "pseudoephedrine", 5.0, "kg", 45)];
    assert!(!later.ids().contains(&"route_combination".to_owned()));
}

#[test]
fn a_customer_on_an_authoritys_watch_list() {
    let mut run = anhydride(200.0);
    run.watched = vec![WatchedParty {
        authority: "NL".into(),
        name: "POLDER COATINGS".into(),
        country: "NL".into(),
        registration_number: None,
        reason: "seizure 2026-03".into(),
    }];
    let evidence = run.evidence("watch_listed_party");
    assert!(evidence.contains("matches \"POLDER COATINGS\" on the watch list of the NL authority (name similarity 1.00)"), "{evidence}");
    // Same registration number, whatever the name.
    run.watched[0].name = "Other Name Holding".into();
    run.watched[0].registration_number = Some("nl kvk 12345678".into());
    assert!(run
        .evidence("watch_listed_party")
        .contains("same registration number"));
    // Another country, or another name: no match.
    run.watched[0].registration_number = None;
    assert!(!run.ids().contains(&"watch_listed_party".to_owned()));
    run.watched[0].name = "Polder Coatings".into();
    run.watched[0].country = "BE".into();
    assert!(!run.ids().contains(&"watch_listed_party".to_owned()));
}

#[test]
fn hits_carry_the_rule_sets_weights() {
    let mut run = anhydride(200.0);
    run.report.payment_method = PaymentMethod::Cash;
    let hits = run.hits();
    assert_eq!(hits[0].weight, run.rules.weight("payment_cash", None));
}

#[test]
fn a_buyer_an_authority_confirmed_suspicious() {
    let mut run = anhydride(200.0);
    assert!(run.ids().is_empty());
    run.confirmed = vec![
        "alert a-1 about this buyer was confirmed suspicious by the NL authority on 2026-11-02"
            .into(),
    ];
    assert_eq!(run.ids(), vec!["party_confirmed_suspicious"]);
    assert!(run
        .evidence("party_confirmed_suspicious")
        .contains("confirmed suspicious by the NL authority"));
}
