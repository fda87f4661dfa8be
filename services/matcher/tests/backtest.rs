//! The backtest over the real PostgreSQL: stored reports, screened and recorded as the service
//! does, re-run under a candidate rule set; alerts appear, disappear and change severity, and
//! nothing is written.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use events::{
    AddressType, Customer, CustomerType, Delivery, OrderLine, OrderReport, PaymentMethod,
};
use indicators::RuleSets;
use matcher::{report_findings, Engine, Mode, ReferenceData};
use store::{NewReport, Store};

const DAY: i64 = 86_400_000_000;
/// 2026-11-10T00:00:00Z.
const START: i64 = 1_794_268_800_000_000;

fn report(id: &str, company: &str, at: i64, payment: PaymentMethod, kg: f64) -> OrderReport {
    OrderReport {
        report_id: id.into(),
        company_id: company.into(),
        company_reference: format!("SO-{id}"),
        supplier_country: "DE".parse().unwrap(),
        order_date: 20_400,
        submitted_at: at,
        customer: Customer {
            id: "K-1".into(),
            name: "Polder Aroma B.V.".into(),
            customer_type: CustomerType::Company,
            country: "NL".parse().unwrap(),
            registration_number: Some("NL-KVK-44".into()),
        },
        delivery: Delivery {
            country: "NL".parse().unwrap(),
            address_type: AddressType::Business,
        },
        transit_countries: vec![],
        payment_method: payment,
        end_use: Some("flavour compounding for bakery products".into()),
        lines: vec![OrderLine {
            line_number: 1,
            description: "Benzaldehyde FCC".into(),
            cas: Some("100-52-7".parse().unwrap()),
            hs_code: None,
            quantity: domain::Quantity::new(kg).unwrap(),
            unit: "kg".parse().unwrap(),
            concentration_pct: None,
            packaging: None,
        }],
    }
}

async fn purchases(store: &Store, party: &str) -> usize {
    store
        .party_history(party, 0, i64::MAX, "", 1_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_candidate_rule_set_is_compared_without_writing_anything() {
    let url = store::testing::fresh_postgres_url().await.unwrap();
    let store = Store::connect(&url, 2).await.unwrap();
    let engine = Engine::new(ReferenceData::builtin().unwrap()).unwrap();
    let rules = RuleSets::builtin().unwrap();
    for company in ["acme", "borealis"] {
        store
            .create_company(company, company, "DE", 1)
            .await
            .unwrap();
    }
    // Two suppliers split 6 kg of benzaldehyde; a week later one sells 1 kg for cash.
    let reports = [
        report("r1", "acme", START, PaymentMethod::Invoice, 3.0),
        report("r2", "borealis", START + DAY, PaymentMethod::Invoice, 3.0),
        report("r3", "acme", START + 8 * DAY, PaymentMethod::Cash, 1.0),
    ];
    let mut party = String::new();
    for order in &reports {
        let event = events::encode(order).unwrap();
        let new = NewReport {
            id: order.report_id.clone(),
            company_id: order.company_id.clone(),
            company_reference: order.company_reference.clone(),
            customer_key: "k".into(),
            payload_sha256: order.report_id.clone(),
            event,
            received_at: order.submitted_at,
        };
        store.insert_report(&new, "orders.submitted").await.unwrap();
        // As the matcher does when it screens the report.
        let findings = report_findings(&engine, order);
        let loaded = matcher::load_assessment(&store, &engine, order, &findings, 400, Mode::Record)
            .await
            .unwrap();
        party = loaded.party_id;
    }
    let recorded = purchases(&store, &party).await;
    assert_eq!(recorded, 3);

    // The candidate ignores splitting and weighs cash much more.
    let mut candidate = rules.all()[0].clone();
    candidate.version = "candidate".into();
    candidate.weights.insert("order_splitting".into(), 0.0);
    candidate.weights.insert("payment_cash".into(), 70.0);
    let mut output = Vec::new();
    let progress = runtime::Progress::new(None, "reports");
    let summary = matcher::backtest(
        &matcher::Backtest {
            store: &store,
            engine: &engine,
            rules: &rules,
            baseline: None,
            candidate: &candidate,
            range: (START, START + 30 * DAY),
        },
        &mut output,
        &progress,
    )
    .await
    .unwrap();
    let output = String::from_utf8(output).unwrap();
    assert_eq!(summary.reports, 3, "{output}");
    assert_eq!(progress.done(), 3, "the progress bar counted every report");
    // Under the rules in force the split (r2) alerts, and r3 (still split, and cash) too.
    assert_eq!(summary.baseline_alerts, 2, "{output}");
    assert_eq!(summary.candidate_alerts, 1, "{output}");
    assert_eq!(
        (summary.appear, summary.disappear, summary.change),
        (0, 1, 1),
        "{output}"
    );
    assert!(
        output.contains("disappears r2 borealis/SO-r2: was low score 35 [order_splitting]"),
        "{output}"
    );
    assert!(
        output.contains(
            "changes    r3 acme/SO-r3: medium score 55 [payment_cash, order_splitting] -> high score 70 [payment_cash, order_splitting]"
        ),
        "{output}"
    );
    assert!(
        output.contains("0 appear, 1 disappear, 1 change severity"),
        "{output}"
    );
    // Read only.
    assert_eq!(purchases(&store, &party).await, recorded);

    // A range without the reports: nothing.
    let mut output = Vec::new();
    let progress = runtime::Progress::new(None, "reports");
    let empty = matcher::backtest(
        &matcher::Backtest {
            store: &store,
            engine: &engine,
            rules: &rules,
            baseline: None,
            candidate: &candidate,
            range: (START - 10 * DAY, START),
        },
        &mut output,
        &progress,
    )
    .await
    .unwrap();
    assert_eq!(empty.reports, 0);
}

/// A report screened again (a redelivery after a restart or a rebalance) is judged as the first
/// time, and its purchases are not counted twice.
#[tokio::test]
async fn a_report_screened_again_is_judged_the_same() {
    let url = store::testing::fresh_postgres_url().await.unwrap();
    let store = Store::connect(&url, 2).await.unwrap();
    let engine = Engine::new(ReferenceData::builtin().unwrap()).unwrap();
    let rules = RuleSets::builtin().unwrap();
    let rules = &rules.all()[0];
    let first = report("r1", "acme", START, PaymentMethod::Invoice, 3.0);
    let second = report("r2", "borealis", START + DAY, PaymentMethod::Invoice, 3.0);
    let judge = |order: OrderReport| {
        let store = store.clone();
        let engine = &engine;
        async move {
            let findings = report_findings(engine, &order);
            let loaded =
                matcher::load_assessment(&store, engine, &order, &findings, 400, Mode::Record)
                    .await
                    .unwrap();
            let hits = loaded.assess(&order, &findings, rules).hits;
            (loaded.party_id, hits)
        }
    };
    judge(first).await;
    let (party, once) = judge(second.clone()).await;
    assert!(
        once.iter().any(|hit| hit.indicator_id == "order_splitting"),
        "{once:?}"
    );
    let (_, again) = judge(second).await;
    assert_eq!(again, once);
    assert_eq!(purchases(&store, &party).await, 2);
}
