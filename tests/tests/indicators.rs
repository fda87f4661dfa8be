//! Indicators that only a shared platform sees, over the real Kafka and PostgreSQL: one buyer
//! splitting a purchase across two suppliers below the threshold raises an alert that neither
//! supplier's report raises alone.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use system_tests::{create_company, poll_until, Pipeline};

/// 3 kg of benzaldehyde (US List I, threshold 4 kg, listed nowhere else): in scope nowhere by
/// itself. The buyer is written differently by each supplier.
fn order(reference: &str, customer_name: &str, registration: &str) -> serde_json::Value {
    serde_json::json!({
        "company_reference": reference,
        "supplier_country": "DE",
        "order_date": "2026-11-20",
        "customer": {
            "id": "K-77",
            "name": customer_name,
            "type": "company",
            "country": "NL",
            "registration_number": registration
        },
        "delivery": {"country": "NL", "address_type": "business"},
        "transit_countries": [],
        "payment_method": "invoice",
        "end_use": "flavour compounding for bakery products",
        "lines": [
            {"line_number": 1, "description": "Benzaldehyde FCC 99%", "cas": "100-52-7",
             "quantity": 3, "unit": "kg", "concentration_pct": 99}
        ]
    })
}

async fn submit(
    client: &reqwest::Client,
    pipeline: &Pipeline,
    api_key: &str,
    report: &serde_json::Value,
) -> String {
    let response = client
        .post(format!("{}/v1/reports", pipeline.ingest_url))
        .bearer_auth(api_key)
        .json(report)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    response.json::<serde_json::Value>().await.unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Polls the report's status until it is `wanted` or a minute has passed; the last status.
async fn wait_for_status(
    client: &reqwest::Client,
    pipeline: &Pipeline,
    api_key: &str,
    report_id: &str,
    wanted: &str,
) -> String {
    let status = || async {
        let status: serde_json::Value = client
            .get(format!("{}/v1/reports/{report_id}", pipeline.ingest_url))
            .bearer_auth(api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = status["status"].as_str().unwrap().to_owned();
        if status == wanted {
            Ok(status)
        } else {
            Err(status)
        }
    };
    poll_until(
        &format!("report {report_id} {wanted}"),
        Duration::from_secs(60),
        status,
    )
    .await
    .unwrap_or_else(|error| error.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_split_across_two_suppliers_raises_an_alert_neither_raises_alone() {
    let pipeline = Pipeline::start().await.expect("pipeline starts");
    let client = reqwest::Client::new();
    let run = &pipeline.run;
    let second_key = create_company(&pipeline.database_url, "borealis-flavours")
        .await
        .unwrap();
    // A buyer of this run only: reports of earlier runs may still be on the shared topics.
    let tag = &run[run.len() - 8..];
    let registration = format!("NL-KVK-{tag}");
    let (name, other_spelling) = (
        format!("Polder Aroma {tag} B.V."),
        format!("POLDER AROMA {} BV", tag.to_uppercase()),
    );

    // The first supplier's report alone: screened, nothing referred.
    let first = submit(
        &client,
        &pipeline,
        &pipeline.api_key,
        &order(&format!("{run}-a"), &name, &registration),
    )
    .await;
    let status = wait_for_status(&client, &pipeline, &pipeline.api_key, &first, "screened").await;
    assert_eq!(status, "screened", "the first order alone raises nothing");

    // The second supplier's report of the same buyer, with the name written otherwise.
    let second = submit(
        &client,
        &pipeline,
        &second_key,
        &order(
            &format!("{run}-b"),
            &other_spelling,
            &registration.to_lowercase().replace('-', " "),
        ),
    )
    .await;
    let status = wait_for_status(&client, &pipeline, &second_key, &second, "referred").await;
    assert_eq!(status, "referred", "together the two orders are split");

    let reader = pipeline.alert_reader(&["alerts.DE", "alerts.NL"]).unwrap();
    let alerts = reader
        .read_until(Duration::from_secs(60), |seen| {
            ["alerts.DE", "alerts.NL"].iter().all(|topic| {
                seen.get(*topic)
                    .is_some_and(|alerts| alerts.iter().any(|a| a.report_id == second))
            })
        })
        .await
        .unwrap();
    let alert = alerts["alerts.NL"]
        .iter()
        .find(|alert| alert.report_id == second)
        .expect("the split order reaches the buyer's authority");
    let splitting = alert
        .indicators
        .iter()
        .find(|hit| hit.indicator_id == "order_splitting")
        .expect("the splitting indicator fired");
    assert_eq!(
        splitting.evidence,
        format!(
            "2 orders of Benzaldehyde by customer \"{other_spelling}\" (NL) from 2 suppliers (acme-chemicals, borealis-flavours) within 30 days, 5.94 kg in total, each below 4 kg"
        )
    );
    let key = format!("registration number NLKVK{} in NL", tag.to_uppercase());
    assert!(alert.party_rule.contains(&key), "{}", alert.party_rule);
    assert_eq!(alert.rule_set_version, "indicators-2026.2");
    assert!(alert.explanation.contains("orders split below a threshold"));
    // The first report stays screened, and neither topic carries an alert of it.
    let status = wait_for_status(&client, &pipeline, &pipeline.api_key, &first, "screened").await;
    assert_eq!(status, "screened");
    for topic in ["alerts.DE", "alerts.NL"] {
        assert!(alerts[topic].iter().all(|alert| alert.report_id != first));
    }

    // A look-alike letter does not hide a buyer: the same name, without a registration number,
    // with a Cyrillic "О" (U+041E) for the Latin "O" at the second supplier.
    let (latin, cyrillic) = (
        format!("Omega Chem {tag} Ltd"),
        format!("\u{041E}mega Chem {tag} Ltd"),
    );
    let third = submit(
        &client,
        &pipeline,
        &pipeline.api_key,
        &order(&format!("{run}-c"), &latin, ""),
    )
    .await;
    let status = wait_for_status(&client, &pipeline, &pipeline.api_key, &third, "screened").await;
    assert_eq!(status, "screened");
    let fourth = submit(
        &client,
        &pipeline,
        &second_key,
        &order(&format!("{run}-d"), &cyrillic, ""),
    )
    .await;
    let status = wait_for_status(&client, &pipeline, &second_key, &fourth, "referred").await;
    assert_eq!(status, "referred", "the look-alike name is the same buyer");
    let alert = reader
        .alert_of("alerts.NL", &fourth, Duration::from_secs(60))
        .await
        .unwrap();
    let evidence = |id: &str| {
        alert
            .indicators
            .iter()
            .find(|hit| hit.indicator_id == id)
            .map(|hit| hit.evidence.clone())
            .unwrap_or_else(|| panic!("{id} did not fire: {:?}", alert.indicators))
    };
    assert!(evidence("order_splitting")
        .contains("from 2 suppliers (acme-chemicals, borealis-flavours)"));
    assert!(
        evidence("name_mixed_scripts").contains("(Cyrillic and Latin)"),
        "{}",
        evidence("name_mixed_scripts")
    );
    assert!(
        alert
            .party_rule
            .contains("a name drawn alike in NL (same Unicode confusable skeleton)"),
        "{}",
        alert.party_rule
    );
    pipeline.stop().await.unwrap();
}

/// 50 t of acetic anhydride to a buyer no supplier has sold it to before: twice a road tanker,
/// the substance's normal lot, is unusual for a buyer with no usual quantity of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_buyers_bulk_order_is_more_than_the_substances_normal_lot() {
    let pipeline = Pipeline::start().await.expect("pipeline starts");
    let client = reqwest::Client::new();
    let run = &pipeline.run;
    let tag = &run[run.len() - 8..];
    let mut report = order(
        &format!("{run}-bulk"),
        &format!("Acetyl Werke {tag} GmbH"),
        &format!("NL-KVK-B{tag}"),
    );
    report["end_use"] = "cellulose acetate production".into();
    report["lines"] = serde_json::json!([
        {"line_number": 1, "description": "Acetic anhydride 99%", "cas": "108-24-7",
         "quantity": 50, "unit": "t", "concentration_pct": 99}
    ]);
    let id = submit(&client, &pipeline, &pipeline.api_key, &report).await;
    let status = wait_for_status(&client, &pipeline, &pipeline.api_key, &id, "referred").await;
    assert_eq!(status, "referred");
    let reader = pipeline.alert_reader(&["alerts.NL"]).unwrap();
    let alert = reader
        .alert_of("alerts.NL", &id, Duration::from_secs(60))
        .await
        .unwrap();
    let evidence = alert
        .indicators
        .iter()
        .find(|hit| hit.indicator_id == "unusual_quantity_substance")
        .map(|hit| hit.evidence.clone())
        .unwrap_or_else(|| panic!("not unusual: {:?}", alert.indicators));
    assert!(
        evidence.contains(
            "49500 kg of Acetic anhydride is more than its normal lot of 25000 kg (2.0 times), \
             to a buyer with no usual quantity of its own (0 earlier orders)"
        ),
        "{evidence}"
    );
    println!(
        "50 t of acetic anhydride to a new buyer: {:?} {} ({evidence})",
        alert.severity, alert.score
    );
    pipeline.stop().await.unwrap();
}
