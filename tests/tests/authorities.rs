//! The authorities' side over the real Kafka and PostgreSQL: a multi-country order reaches each
//! authority concerned once with its role, preferences filter, a transit authority gets less,
//! the authority API (paged query, SSE resumed with Last-Event-ID, feedback) shows each
//! authority its own alerts and nothing else, feedback arrives on alerts.feedback too, and a
//! buyer an authority confirmed suspicious is flagged on its next order.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::{Duration, Instant};

use events::{Alert, Disposition, Feedback, JurisdictionRole};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;
use system_tests::{poll_until, sample_report, Pipeline};

async fn get(
    client: &reqwest::Client,
    pipeline: &Pipeline,
    key: &str,
    path: &str,
) -> (u16, serde_json::Value) {
    let response = client
        .get(format!("{}{path}", pipeline.authority_url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Reads `count` events of the authority's stream, from `last_event_id` when given.
async fn stream(
    client: &reqwest::Client,
    pipeline: &Pipeline,
    key: &str,
    last_event_id: Option<&str>,
    count: usize,
) -> Vec<(String, serde_json::Value)> {
    let mut request = client
        .get(format!("{}/v1/alerts/stream", pipeline.authority_url))
        .bearer_auth(key);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let mut response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut text = String::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while events.len() < count && Instant::now() < deadline {
        let chunk = tokio::time::timeout(Duration::from_secs(30), response.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some((event, rest)) = text.split_once("\n\n") {
            let (mut id, mut data) = (String::new(), String::new());
            for line in event.lines() {
                if let Some(value) = line
                    .strip_prefix("id: ")
                    .or_else(|| line.strip_prefix("id:"))
                {
                    id = value.trim().to_owned();
                }
                if let Some(value) = line
                    .strip_prefix("data: ")
                    .or_else(|| line.strip_prefix("data:"))
                {
                    data.push_str(value);
                }
            }
            if !id.is_empty() {
                events.push((id, serde_json::from_str(&data).unwrap()));
            }
            text = rest.to_owned();
        }
    }
    events
}

fn order(reference: &str, litres: u32, registration: &str) -> serde_json::Value {
    let mut report = sample_report(reference);
    // Supplier DE, customer NL, delivered to GB through BE.
    report["customer"]["registration_number"] = registration.into();
    report["delivery"] = json!({"country": "GB", "address_type": "business"});
    report["transit_countries"] = json!(["BE"]);
    report["payment_method"] = "invoice".into();
    report["lines"][0]["quantity"] = litres.into();
    report
}

fn alert_of<'a>(alerts: &'a [Alert], report_id: &str) -> Vec<&'a Alert> {
    alerts
        .iter()
        .filter(|alert| alert.report_id == report_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorities_receive_their_own_alerts_and_nothing_else() {
    let pipeline = Pipeline::start().await.expect("pipeline starts");
    let client = reqwest::Client::new();
    let run = &pipeline.run;
    let registration = format!("NL-KVK-{}", &run[run.len() - 8..]);

    // The directory: GB wants only what the US lists; the others everything.
    for (country, body) in [
        ("DE", json!({"name": "Zoll", "contact": "zoll@example.de"})),
        (
            "NL",
            json!({"name": "Douane", "contact": "douane@example.nl"}),
        ),
        (
            "BE",
            json!({"name": "Douane/Douane", "contact": "be@example.be"}),
        ),
        (
            "GB",
            json!({"name": "HMRC", "contact": "hmrc@example.uk", "regimes": ["US"]}),
        ),
    ] {
        let (status, body) = pipeline
            .admin(
                &client,
                reqwest::Method::PUT,
                &format!("/admin/v1/authorities/{country}"),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = pipeline
        .admin(
            &client,
            reqwest::Method::PUT,
            "/admin/v1/authorities/XX",
            Some(json!({"name": "x", "contact": "y"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().starts_with("country:"),
        "{body}"
    );
    let mut keys = std::collections::HashMap::new();
    for country in ["NL", "GB", "BE"] {
        let (status, body) = pipeline
            .admin(
                &client,
                reqwest::Method::POST,
                &format!("/admin/v1/authorities/{country}/keys"),
                None,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        keys.insert(country, body["api_key"].as_str().unwrap().to_owned());
    }
    let (status, _) = get(&client, &pipeline, &pipeline.admin_token, "/v1/alerts").await;
    assert_eq!(status, 401, "the operator token is no authority key");
    let (status, _) = get(&client, &pipeline, &keys["NL"], "/admin/v1/authorities").await;
    assert_eq!(status, 401, "an authority key is no operator token");

    // 400 l of acetic anhydride (below the US threshold) and 5,000 l (above it).
    let small = pipeline
        .submit_accepted(&client, &order(&format!("{run}-small"), 400, &registration))
        .await
        .unwrap();
    let large = pipeline
        .submit_accepted(
            &client,
            &order(&format!("{run}-large"), 5000, &registration),
        )
        .await
        .unwrap();

    let reader = pipeline
        .alert_reader(&["alerts.DE", "alerts.NL", "alerts.BE", "alerts.GB"])
        .unwrap();
    let seen = reader
        .read_until(Duration::from_secs(90), |seen| {
            let has = |topic: &str, id: &str| {
                seen.get(topic)
                    .is_some_and(|alerts| alerts.iter().any(|a| a.report_id == id))
            };
            ["alerts.DE", "alerts.NL", "alerts.BE"]
                .iter()
                .all(|t| has(t, &small) && has(t, &large))
                && has("alerts.GB", &large)
        })
        .await
        .unwrap();
    // Each concerned authority once, with its role.
    let role = |topic: &str, report: &str| -> Vec<JurisdictionRole> {
        let alerts = alert_of(&seen[topic], report);
        assert_eq!(alerts.len(), 1, "{topic} has {report} once");
        let country = &topic["alerts.".len()..];
        alerts[0]
            .authorities
            .iter()
            .find(|a| a.country == country)
            .unwrap()
            .roles
            .clone()
    };
    assert_eq!(role("alerts.DE", &small), vec![JurisdictionRole::Export]);
    assert_eq!(
        role("alerts.NL", &small),
        vec![JurisdictionRole::CustomerDomicile]
    );
    assert_eq!(role("alerts.BE", &small), vec![JurisdictionRole::Transit]);
    assert_eq!(role("alerts.GB", &large), vec![JurisdictionRole::Import]);
    // GB's preferences turned the small order away (in scope of the UN and the EU only).
    assert!(alert_of(
        seen.get("alerts.GB").map_or(&[][..], |v| v.as_slice()),
        &small
    )
    .is_empty());
    // The transit authority gets the goods and the route, not the parties.
    let transit = alert_of(&seen["alerts.BE"], &small)[0];
    assert_eq!(transit.order.customer_name, "");
    assert_eq!(transit.company_reference, "");
    assert_eq!(transit.company_id, "", "nor the company that reported it");
    assert_eq!(transit.findings[0].substance_id, "acetic_anhydride");
    let domicile = alert_of(&seen["alerts.NL"], &small)[0];
    assert_eq!(
        domicile.order.customer_name,
        "Van Dijk Chemicals Trading B.V."
    );
    let small_alert = domicile.alert_id.clone();
    let large_alert = alert_of(&seen["alerts.NL"], &large)[0].alert_id.clone();

    // The paged API: each authority its own alerts only. (The router records a delivery just
    // after sending it, so the last row may come a moment after the topic showed it.)
    let numbers_of = |key: String| {
        let (client, pipeline) = (&client, &pipeline);
        async move {
            let (status, page) = get(client, pipeline, &key, "/v1/alerts?limit=10").await;
            assert_eq!(status, 200);
            page["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["seq"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    let reports_of = |key: String, expected: usize| {
        let (client, pipeline) = (&client, &pipeline);
        async move {
            poll_until(
                "the authority's alerts",
                Duration::from_secs(10),
                || async {
                    let (status, page) = get(client, pipeline, &key, "/v1/alerts?limit=10").await;
                    assert_eq!(status, 200);
                    let reports: Vec<String> = page["alerts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a["alert"]["report_id"].as_str().unwrap().to_owned())
                        .collect();
                    if reports.len() >= expected {
                        Ok(reports)
                    } else {
                        Err(format!("{reports:?}"))
                    }
                },
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(
        reports_of(keys["NL"].clone(), 2).await,
        [small.as_str(), large.as_str()]
    );
    assert_eq!(reports_of(keys["GB"].clone(), 1).await, [large.as_str()]);
    // Each authority's feed is numbered on its own: no authority can count the alerts of others.
    assert_eq!(numbers_of(keys["NL"].clone()).await, [1, 2]);
    assert_eq!(numbers_of(keys["GB"].clone()).await, [1]);
    let (status, _) = get(
        &client,
        &pipeline,
        &keys["GB"],
        &format!("/v1/alerts/{small_alert}"),
    )
    .await;
    assert_eq!(status, 404, "GB never received the small order's alert");
    let (status, body) = get(&client, &pipeline, &keys["NL"], "/v1/alerts?limit=0").await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().starts_with("limit:"));
    let (status, _) = get(&client, &pipeline, "pw_0123456789abcdef_nope", "/v1/alerts").await;
    assert_eq!(status, 401);
    let (_, page) = get(
        &client,
        &pipeline,
        &keys["BE"],
        &format!("/v1/alerts/{small_alert}"),
    )
    .await;
    assert_eq!(
        page["alert"]["order"]["customer_name"], "",
        "the API serves the authority's own copy"
    );

    // SSE: the first event, a disconnect, then a resume from its id gives the second only.
    let first = stream(&client, &pipeline, &keys["NL"], None, 1).await;
    assert_eq!(first[0].1["report_id"], small.as_str());
    let resumed = stream(&client, &pipeline, &keys["NL"], Some(&first[0].0), 1).await;
    assert_eq!(resumed[0].1["report_id"], large.as_str());
    assert_ne!(resumed[0].0, first[0].0);

    // Feedback through the API: on its own alert only.
    let post = |key: &str, alert: &str, body: serde_json::Value| {
        client
            .post(format!(
                "{}/v1/alerts/{alert}/feedback",
                pipeline.authority_url
            ))
            .bearer_auth(key.to_owned())
            .json(&body)
            .send()
    };
    let response = post(
        &keys["NL"],
        &small_alert,
        json!({"disposition": "CONFIRMED_SUSPICIOUS", "author": "inspector 12", "note": "seized"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let response = post(
        &keys["GB"],
        &small_alert,
        json!({"disposition": "LEGITIMATE", "author": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 404);
    let response = post(
        &keys["NL"],
        &small_alert,
        json!({"disposition": "MAYBE", "author": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("disposition:"));

    // Feedback through the topic.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &pipeline.brokers)
        .create()
        .unwrap();
    let feedback = Feedback {
        alert_id: large_alert.clone(),
        country: "GB".parse().unwrap(),
        disposition: Disposition::UnderReview,
        note: String::new(),
        author: "hmrc desk 3".into(),
        recorded_at: events::now_micros(),
    };
    let payload = events::encode(&feedback).unwrap();
    producer
        .send(
            FutureRecord::to(&pipeline.topic("alerts.feedback"))
                .key(large_alert.as_bytes())
                .payload(&payload),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let operators = poll_until(
        "the operators' feedback",
        Duration::from_secs(30),
        || async {
            let (_, list) = pipeline
                .admin(
                    &client,
                    reqwest::Method::GET,
                    &format!("/admin/v1/alerts/{large_alert}/feedback"),
                    None,
                )
                .await;
            if list.as_array().is_some_and(|l| !l.is_empty()) {
                Ok(list)
            } else {
                Err(list.to_string())
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(operators[0]["country"], "GB");
    assert_eq!(operators[0]["source"], "topic");
    let (_, own) = get(
        &client,
        &pipeline,
        &keys["NL"],
        &format!("/v1/alerts/{small_alert}/feedback"),
    )
    .await;
    assert_eq!(own[0]["disposition"], "CONFIRMED_SUSPICIOUS");

    // The buyer NL confirmed suspicious is flagged on its next order.
    let next = pipeline
        .submit_accepted(&client, &order(&format!("{run}-next"), 300, &registration))
        .await
        .unwrap();
    let later = reader
        .read_until(Duration::from_secs(60), |seen| {
            seen.get("alerts.NL")
                .is_some_and(|alerts| alerts.iter().any(|a| a.report_id == next))
        })
        .await
        .unwrap();
    let flagged = alert_of(&later["alerts.NL"], &next)[0];
    let hit = flagged
        .indicators
        .iter()
        .find(|hit| hit.indicator_id == "party_confirmed_suspicious")
        .expect("flagged");
    assert!(
        hit.evidence
            .contains("confirmed suspicious by the NL authority"),
        "{}",
        hit.evidence
    );

    // The company sees only that its report was referred.
    let status = pipeline.status(&client, &small).await.unwrap();
    assert_eq!(status["status"], "referred");
    let text = status.to_string();
    assert!(
        !text.contains("acetic") && !text.contains("indicator") && !text.contains("NL"),
        "{text}"
    );

    // Rotation: a second key for NL works; the first, revoked through the admin API, is
    // refused at once (even though the service had verified it before).
    let (status, body) = pipeline
        .admin(
            &client,
            reqwest::Method::POST,
            "/admin/v1/authorities/NL/keys",
            None,
        )
        .await;
    assert_eq!(status, 201);
    let second = body["api_key"].as_str().unwrap().to_owned();
    let first_id = keys["NL"].split('_').nth(1).unwrap().to_owned();
    let (status, _) = pipeline
        .admin(
            &client,
            reqwest::Method::DELETE,
            &format!("/admin/v1/keys/{first_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        get(&client, &pipeline, &keys["NL"], "/v1/alerts").await.0,
        401
    );
    assert_eq!(get(&client, &pipeline, &second, "/v1/alerts").await.0, 200);

    // Every operator action is in the audit log, with who did it and never a secret.
    let (status, audit) = pipeline
        .admin(
            &client,
            reqwest::Method::GET,
            "/admin/v1/audit?limit=1000",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let entries = audit.as_array().unwrap();
    let has = |action: &str, target: &str, actor: &str| {
        entries.iter().any(|entry| {
            entry["action"] == action && entry["target"] == target && entry["actor"] == actor
        })
    };
    assert!(
        has("company.create", "acme-chemicals", &store::cli_actor()),
        "{audit}"
    );
    assert!(has("authority.put", "NL", "admin-api"), "{audit}");
    assert!(has("authority.key.issue", "NL", "admin-api"), "{audit}");
    assert!(has("authority.key.revoke", "NL", "admin-api"), "{audit}");
    let text = audit.to_string();
    for key in keys.values().chain([&second]) {
        // The secret is base64url and may itself contain '_'.
        let (_, secret) = keys::split(key).unwrap();
        assert!(!text.contains(secret), "a secret in the audit log");
    }
    // Operators only.
    assert_eq!(
        get(&client, &pipeline, &second, "/admin/v1/audit").await.0,
        401
    );
    let (log_dir, database_url) = (pipeline.log_dir.clone(), pipeline.database_url.clone());
    let mut secrets: Vec<String> = keys
        .values()
        .chain([&second, &pipeline.api_key])
        .map(|key| keys::split(key).unwrap().1.to_owned())
        .collect();
    secrets.push(pipeline.admin_token.clone());
    pipeline.stop().await.unwrap();

    // No secret in any service's log: API keys, the operators' token, the database password.
    let credentials = database_url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(credentials, _)| credentials.to_owned())
        .unwrap();
    secrets.push(format!("{credentials}@"));
    for entry in std::fs::read_dir(&log_dir).unwrap() {
        let path = entry.unwrap().path();
        let log = std::fs::read_to_string(&path).unwrap();
        assert!(log.len() > 100, "{} is empty", path.display());
        for secret in &secrets {
            assert!(
                !log.contains(secret.as_str()),
                "a secret in {}",
                path.display()
            );
        }
    }
}
