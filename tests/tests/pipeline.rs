//! The whole pipeline as separate processes over the real Kafka and PostgreSQL: a report with a
//! scheduled chemical reaches every authority concerned, a harmless one reaches none.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::Connection as _;
use sqlx::Row as _;
use system_tests::{create_company, printed_api_key, run_cli, sample_report, Pipeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_flow_from_ingest_to_the_authorities_concerned() {
    let pipeline = Pipeline::start().await.expect("pipeline starts");
    let client = reqwest::Client::new();
    let run = &pipeline.run;

    // The sample: acetic anhydride from DE, customer and delivery NL, through BE.
    let suspicious = sample_report(&format!("{run}-suspicious"));
    let response = pipeline.submit(&client, &suspicious).await.unwrap();
    assert_eq!(response.status(), 202);
    let receipt: serde_json::Value = response.json().await.unwrap();
    let suspicious_id = receipt["report_id"].as_str().unwrap().to_owned();
    assert_eq!(receipt["status"], "received");

    // The same reference again: the first receipt, no second report.
    let again = pipeline.submit(&client, &suspicious).await.unwrap();
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["report_id"], suspicious_id.as_str());
    assert_eq!(again["duplicate"], true);

    // The same reference with other content is a conflict, not a silent duplicate.
    let mut changed = suspicious.clone();
    changed["lines"][0]["quantity"] = 999.into();
    let response = pipeline.submit(&client, &changed).await.unwrap();
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "reference_reused");

    // A control character is refused with the field named.
    let mut control = sample_report(&format!("{run}-control"));
    control["customer"]["id"] = serde_json::Value::String("C-1\u{0}".to_owned());
    let response = pipeline.submit(&client, &control).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["problems"][0]["field"], "customer.id");
    assert_eq!(body["problems"][0]["code"], "invalid_characters");

    // A harmless report: table salt only.
    let mut harmless = sample_report(&format!("{run}-harmless"));
    harmless["lines"] = serde_json::json!([
        {"line_number": 1, "description": "Sodium chloride, food grade", "cas": "7647-14-5", "quantity": 25, "unit": "kg"}
    ]);
    let response = pipeline.submit(&client, &harmless).await.unwrap();
    assert_eq!(response.status(), 202);
    let harmless_id = response.json::<serde_json::Value>().await.unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An invalid report is refused with every problem named.
    let mut invalid = sample_report(&format!("{run}-invalid"));
    invalid["supplier_country"] = "XX".into();
    invalid["lines"][0]["cas"] = "108-24-8".into();
    let response = pipeline.submit(&client, &invalid).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["supplier_country", "lines[0].cas"]);

    // A wrong key is refused.
    let response = client
        .post(format!("{}/v1/reports", pipeline.ingest_url))
        .bearer_auth("pw_0000000000000000_wrong")
        .json(&harmless)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // An oversized body is refused before it is read whole.
    let mut huge = sample_report(&format!("{run}-huge"));
    huge["end_use"] = "x".repeat(3 * 1024 * 1024).into();
    let response = pipeline.submit(&client, &huge).await.unwrap();
    assert_eq!(response.status(), 413);

    // Each authority concerned receives the alert: DE (export), NL (import), BE (transit).
    let reader = pipeline
        .alert_reader(&["alerts.DE", "alerts.NL", "alerts.BE", "alerts.GB"])
        .unwrap();
    let alerts = reader
        .read_until(Duration::from_secs(90), |seen| {
            ["alerts.DE", "alerts.NL", "alerts.BE"].iter().all(|topic| {
                seen.get(*topic)
                    .is_some_and(|alerts| alerts.iter().any(|a| a.report_id == suspicious_id))
            })
        })
        .await
        .unwrap();
    for (topic, role) in [
        ("alerts.DE", "EXPORT"),
        ("alerts.NL", "IMPORT"),
        ("alerts.BE", "TRANSIT"),
    ] {
        let mine: Vec<_> = alerts
            .get(topic)
            .into_iter()
            .flatten()
            .filter(|a| a.report_id == suspicious_id)
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "{topic} should carry the alert exactly once, got {}",
            mine.len()
        );
        let alert = mine[0];
        assert_eq!(alert.findings[0].substance_id, "acetic_anhydride");
        assert_eq!(alert.findings[0].line_number, 1);
        assert!(
            alert.explanation.contains("Acetic anhydride"),
            "{}",
            alert.explanation
        );
        let country = topic.trim_start_matches("alerts.");
        let authority = alert
            .authorities
            .iter()
            .find(|a| a.country == country)
            .expect("authority listed");
        assert_eq!(serde_json::to_value(authority.roles[0]).unwrap(), role);
    }
    assert!(alerts
        .get("alerts.GB")
        .is_none_or(|alerts| alerts.iter().all(|a| a.report_id != suspicious_id)));

    // The harmless report was screened and raised nothing anywhere.
    let status = pipeline
        .status_once_screened(&client, &harmless_id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(status["status"], "screened");
    let all = alerts.values().flatten();
    assert!(
        all.clone().all(|alert| alert.report_id != harmless_id),
        "the harmless report raised an alert"
    );

    // Another company cannot see the report.
    let other_key = create_company(&pipeline.database_url, "other-company")
        .await
        .unwrap();
    let response = client
        .get(format!(
            "{}/v1/reports/{suspicious_id}",
            pipeline.ingest_url
        ))
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // Key rotation from the command line: a new key works, the old one revoked is refused.
    let db = &pipeline.database_url;
    let printed = run_cli("ingest", db, &["issue-key", "--company", "other-company"])
        .await
        .unwrap();
    let new_key = printed_api_key(&printed).unwrap();
    let old_id = other_key.split('_').nth(1).unwrap();
    let args = [
        "revoke-key",
        "--company",
        "other-company",
        "--key-id",
        old_id,
    ];
    run_cli("ingest", db, &args).await.unwrap();
    let listed = run_cli("ingest", db, &["list-keys", "--company", "other-company"])
        .await
        .unwrap();
    assert!(
        listed.contains(old_id) && listed.contains("revoked"),
        "{listed}"
    );
    for (key, expected) in [(&other_key, 401), (&new_key, 404)] {
        let response = client
            .get(format!(
                "{}/v1/reports/{suspicious_id}",
                pipeline.ingest_url
            ))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected);
    }
    // Another company's key cannot be revoked by naming the wrong company.
    let first_id = pipeline.api_key.split('_').nth(1).unwrap();
    let args = [
        "revoke-key",
        "--company",
        "other-company",
        "--key-id",
        first_id,
    ];
    let refused = run_cli("ingest", db, &args).await.unwrap_err();
    assert!(format!("{refused:#}").contains("--key-id"), "{refused:#}");

    // The same alert detected twice more (a matcher retry) is not delivered again: send two
    // copies, then a fresh report of the same customer, and wait for the fresh one's alert.
    let mut copy = alerts["alerts.DE"]
        .iter()
        .find(|a| a.report_id == suspicious_id)
        .unwrap()
        .clone();
    copy.authorities.clear();
    let payload = events::encode(&copy).unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &pipeline.brokers)
        .create()
        .unwrap();
    for _ in 0..2 {
        producer
            .send(
                FutureRecord::to(&pipeline.topic("alerts.detected"))
                    .key("acme-chemicals/C-4471")
                    .payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(error, _)| error)
            .unwrap();
    }
    let sentinel = pipeline
        .submit(&client, &sample_report(&format!("{run}-sentinel")))
        .await
        .unwrap();
    let sentinel_id = sentinel.json::<serde_json::Value>().await.unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let later = reader
        .read_until(Duration::from_secs(60), |seen| {
            seen.get("alerts.DE")
                .is_some_and(|alerts| alerts.iter().any(|a| a.report_id == sentinel_id))
        })
        .await
        .unwrap();
    let again: usize = later
        .values()
        .flatten()
        .filter(|a| a.report_id == suspicious_id)
        .count();
    assert_eq!(again, 0, "a re-detected alert was delivered again");
    assert!(later["alerts.DE"]
        .iter()
        .any(|a| a.report_id == sentinel_id));

    // The company sees its suspicious report referred, and the ledger holds one row per authority.
    let mut status = serde_json::Value::Null;
    for _ in 0..100 {
        status = pipeline.status(&client, &suspicious_id).await.unwrap();
        if status["status"] == "referred" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "referred");
    let mut db = sqlx::PgConnection::connect(&pipeline.database_url)
        .await
        .unwrap();
    let rows =
        sqlx::query("SELECT country, roles FROM deliveries WHERE report_id = $1 ORDER BY country")
            .bind(&suspicious_id)
            .fetch_all(&mut db)
            .await
            .unwrap();
    let ledger: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.get("country"), r.get("roles")))
        .collect();
    assert_eq!(
        ledger,
        vec![
            ("BE".into(), "transit".into()),
            ("DE".into(), "export".into()),
            ("NL".into(), "import".into())
        ]
    );
    let reports: i64 = sqlx::query("SELECT COUNT(*) AS n FROM reports")
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get("n");
    assert_eq!(
        reports, 3,
        "only the suspicious, harmless and sentinel reports are stored"
    );

    pipeline
        .stop()
        .await
        .expect("every service shuts down cleanly on SIGTERM");
}
