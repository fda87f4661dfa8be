//! The store's behaviour, the same on the real PostgreSQL and on SQLite.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use domain::party::{PartyKey, Purchase, WatchedParty};
use store::{
    AlertSearch, AuthorityAlert, DeliveryRecord, FeedbackRecord, Inserted, NewReport,
    ScreeningRecord, Status, Store,
};

fn report(id: &str, reference: &str) -> NewReport {
    NewReport {
        id: id.into(),
        company_id: "acme".into(),
        company_reference: reference.into(),
        customer_key: "acme/C-1".into(),
        payload_sha256: format!("sha-{id}"),
        event: vec![1, 2, 3],
        received_at: 1_000,
    }
}

/// Companies are created once; their keys rotate, and a key is revoked by its own company only.
async fn keys_rotate_and_are_revoked_by_their_own_company_only(store: &Store) {
    store.create_company("acme", "ACME", "DE", 1).await.unwrap();
    assert!(matches!(
        store.create_company("acme", "ACME", "DE", 2).await,
        Err(store::StoreError::Conflict(_))
    ));
    store
        .create_company("other", "Other", "FR", 1)
        .await
        .unwrap();
    store.add_api_key("k1", "acme", "hash", 1).await.unwrap();
    // A statement the database refuses (the key exists) is a refusal, not an outage.
    let refused = store
        .add_api_key("k1", "acme", "hash", 1)
        .await
        .unwrap_err();
    assert!(refused.is_refusal(), "{refused}");
    let key = store.api_key("k1").await.unwrap().unwrap();
    assert_eq!(
        (
            key.company_id.as_str(),
            key.secret_hash.as_str(),
            key.revoked
        ),
        ("acme", "hash", false)
    );
    assert!(store.api_key("nope").await.unwrap().is_none());

    // Rotation: a second key, the first revoked (by its own company only), both listed.
    store.add_api_key("k2", "acme", "hash2", 2).await.unwrap();
    assert!(!store.revoke_api_key("other", "k1", 3).await.unwrap());
    assert!(store.revoke_api_key("acme", "k1", 3).await.unwrap());
    assert!(
        !store.revoke_api_key("acme", "k1", 4).await.unwrap(),
        "revoked once"
    );
    assert!(store.api_key("k1").await.unwrap().unwrap().revoked);
    assert!(!store.api_key("k2").await.unwrap().unwrap().revoked);
    let listed = store.api_keys_of("acme").await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|key| (key.key_id.as_str(), key.revoked_at))
            .collect::<Vec<_>>(),
        [("k1", Some(3)), ("k2", None)]
    );
}

/// The audit log keeps its entries in order and pages through them.
async fn the_audit_log_keeps_order_and_pages(store: &Store) {
    for action in ["company.create", "company.key.issue", "company.key.revoke"] {
        store
            .audit(&store::AuditEntry::new(
                "cli:test", action, "acme", "detail",
            ))
            .await
            .unwrap();
    }
    let all = store.audit_log(0, 10).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|entry| entry.action.as_str())
            .collect::<Vec<_>>(),
        ["company.create", "company.key.issue", "company.key.revoke"]
    );
    let rest = store.audit_log(all[0].id, 1).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].action, "company.key.issue");
    assert!(all[0].at > 0 && all[0].actor == "cli:test");
}

/// A report is stored once with its outbox message, leaves the outbox when published, and is
/// received, screened, then referred as its screening and its deliveries are recorded; another
/// company sees nothing of it.
async fn a_report_goes_through_outbox_screening_and_delivery(store: &Store) {
    store.create_company("acme", "ACME", "DE", 1).await.unwrap();
    store
        .create_company("other", "Other", "FR", 1)
        .await
        .unwrap();
    // A report is stored with its outbox message; the same reference returns the first receipt.
    let first = store
        .insert_report(&report("r1", "SO-1"), "orders.submitted")
        .await
        .unwrap();
    let Inserted::New(receipt) = first else {
        panic!("first insert must be new")
    };
    let again = store
        .insert_report(&report("r2", "SO-1"), "orders.submitted")
        .await
        .unwrap();
    assert_eq!(again, Inserted::Existing(receipt.clone()));
    assert_eq!(store.report_event("r1").await.unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(store.report_event("r2").await.unwrap(), None);
    let received = store.reports_received(0, 2_000, None, 10).await.unwrap();
    assert_eq!(received, vec![("r1".to_owned(), 1_000, vec![1, 2, 3])]);
    assert!(store
        .reports_received(0, 2_000, Some((1_000, "r1")), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .reports_received(0, 1_000, None, 10)
        .await
        .unwrap()
        .is_empty());

    // Only one message waits, the first, carrying the report's event; what the publisher
    // acknowledges leaves the outbox.
    assert_eq!(store.outbox_depth().await.unwrap(), 1);
    store
        .insert_report(
            &NewReport {
                event: vec![3],
                ..report("r3", "SO-3")
            },
            "orders.submitted",
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    let published = store
        .publish_outbox(10, |pending| {
            seen = pending.iter().map(|p| p.message.payload[0]).collect();
            let first = pending[0].id;
            async move { vec![first] }
        })
        .await
        .unwrap();
    assert_eq!((published, seen), (Some(1), vec![1, 3]));
    assert_eq!(store.outbox_depth().await.unwrap(), 1);
    let published = store
        .publish_outbox(10, |pending| async move {
            pending.iter().map(|p| p.id).collect()
        })
        .await
        .unwrap();
    assert_eq!(published, Some(1));
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
    assert_eq!(
        store
            .publish_outbox(10, |_| async { Vec::new() })
            .await
            .unwrap(),
        Some(0)
    );

    // Status: received, then screened, then referred; another company sees nothing.
    let status = store.report_status("acme", "r1").await.unwrap().unwrap();
    assert_eq!((status.status, status.receipt), (Status::Received, receipt));
    assert!(store.report_status("other", "r1").await.unwrap().is_none());
    let screening = ScreeningRecord {
        report_id: "r1".into(),
        outcome: "alert".into(),
        alert_id: Some("a1".into()),
        findings: 1,
        reference_data_version: "v1".into(),
        screened_at: 10,
    };
    store.record_screening(&screening).await.unwrap();
    store.record_screening(&screening).await.unwrap();
    assert_eq!(
        store
            .report_status("acme", "r1")
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Screened
    );

    let delivery = DeliveryRecord {
        alert_id: "a1".into(),
        country: "DE".into(),
        report_id: "r1".into(),
        roles: "export".into(),
        topic: "alerts.DE".into(),
        partition: 0,
        offset: 7,
        delivered_at: 11,
    };
    assert!(!store.is_delivered("a1", "DE").await.unwrap());
    // An attempt under way, then where it landed.
    store
        .record_delivery(&DeliveryRecord {
            partition: -1,
            offset: -1,
            ..delivery.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.delivery_offset("a1", "DE").await.unwrap(), Some(-1));
    assert!(!store.is_delivered("a1", "DE").await.unwrap());
    assert_eq!(
        store
            .report_status("acme", "r1")
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Screened,
        "an attempt under way is no referral yet"
    );
    store.record_delivery(&delivery).await.unwrap();
    store
        .record_delivery(&DeliveryRecord {
            offset: 8,
            ..delivery.clone()
        })
        .await
        .unwrap();
    assert!(store.is_delivered("a1", "DE").await.unwrap());
    assert_eq!(
        store.deliveries_for_report("r1").await.unwrap(),
        vec![delivery]
    );
    assert_eq!(
        store
            .report_status("acme", "r1")
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Referred
    );
    assert!(store.ping().await);
}

fn purchase(report: &str, company: &str, amount: f64, at: i64) -> Purchase {
    Purchase {
        report_id: report.into(),
        company_id: company.into(),
        line_number: 1,
        substance_id: "acetic_anhydride".into(),
        substance_name: "Acetic anhydride".into(),
        amount,
        unit: "l".into(),
        at,
    }
}

/// One buyer reported by two suppliers, once with a registration number and once by name only.
async fn parties_are_recognised_across_spellings_and_suppliers(store: &Store) {
    let with_number = PartyKey::of("NL", "Polder Coatings B.V.", Some("KvK 12345678"));
    let first = store
        .resolve_party(&with_number, "Polder Coatings B.V.", 10)
        .await
        .unwrap();
    assert_eq!(first.rule, "new party");
    // The same registration, another spelling of the name.
    let again = store
        .resolve_party(
            &PartyKey::of("NL", "POLDER COATINGS BV", Some("kvk-12345678")),
            "POLDER COATINGS BV",
            11,
        )
        .await
        .unwrap();
    assert_eq!(again.party_id, first.party_id);
    assert!(
        again.rule.contains("registration number KVK12345678 in NL"),
        "{}",
        again.rule
    );
    // Another supplier knows only the name.
    let by_name = store
        .resolve_party(
            &PartyKey::of("NL", "Polder Coatings", None),
            "Polder Coatings",
            12,
        )
        .await
        .unwrap();
    assert_eq!(by_name.party_id, first.party_id);
    assert!(
        by_name
            .rule
            .contains("normalised name \"polder coatings\" in NL"),
        "{}",
        by_name.rule
    );
    // The same name in another country is another party.
    let elsewhere = store
        .resolve_party(
            &PartyKey::of("BE", "Polder Coatings", None),
            "Polder Coatings",
            13,
        )
        .await
        .unwrap();
    assert_ne!(elsewhere.party_id, first.party_id);
    assert!(store
        .find_party(&PartyKey::of("FR", "Nobody", None))
        .await
        .unwrap()
        .is_none());

    // History: recorded once however often, read back newest first, without the report asked
    // about, pruned by age.
    let bought = [
        purchase("p1", "acme", 240.0, 100),
        purchase("p2", "other", 230.0, 200),
    ];
    store
        .record_purchases(&first.party_id, &bought)
        .await
        .unwrap();
    store
        .record_purchases(&first.party_id, &bought)
        .await
        .unwrap();
    let history = store
        .party_history(&first.party_id, 0, 1_000, "p3", 100)
        .await
        .unwrap();
    assert_eq!(history, vec![bought[1].clone(), bought[0].clone()]);
    let without = store
        .party_history(&first.party_id, 0, 1_000, "p2", 100)
        .await
        .unwrap();
    assert_eq!(without, vec![bought[0].clone()]);
    assert_eq!(store.prune_purchases(150).await.unwrap(), 1);
    assert_eq!(
        store
            .party_history(&first.party_id, 0, 1_000, "", 100)
            .await
            .unwrap()
            .len(),
        1
    );

    // Watch list.
    let watched = WatchedParty {
        authority: "NL".into(),
        name: "Polder Coatings".into(),
        country: "NL".into(),
        registration_number: None,
        reason: "seizure".into(),
    };
    let id = store.add_watched_party(&watched, 5).await.unwrap();
    assert_eq!(
        store.watched_parties("NL").await.unwrap(),
        vec![(id, watched)]
    );
    assert!(store.watched_parties("BE").await.unwrap().is_empty());
    assert!(store.remove_watched_party(id).await.unwrap());
    assert!(!store.remove_watched_party(id).await.unwrap());
}

fn delivered(country: &str, alert: &str, severity: &str, json: &str, at: i64) -> AuthorityAlert {
    AuthorityAlert {
        seq: 0,
        country: country.into(),
        alert_id: alert.into(),
        report_id: format!("report-{alert}"),
        party_id: "party-1".into(),
        severity: severity.into(),
        alert_json: json.into(),
        delivered_at: at,
    }
}

/// The operators' console: a feed across authorities, a search, one alert's deliveries and the
/// volumes per authority.
async fn the_overview_searches_counts_and_traces(store: &Store) {
    // The reports it traces.
    a_report_goes_through_outbox_screening_and_delivery(store).await;
    let alerts = [
        delivered(
            "NL",
            "a1",
            "HIGH",
            r#"{"substance":"Acetic anhydride"}"#,
            100,
        ),
        delivered(
            "BE",
            "a1",
            "HIGH",
            r#"{"substance":"Acetic anhydride"}"#,
            110,
        ),
        delivered("NL", "a2", "LOW", r#"{"note":"50%_off"}"#, 200),
        delivered("DE", "a3", "CRITICAL", r#"{"substance":"APAAN"}"#, 300),
    ];
    for alert in &alerts {
        store.record_authority_alert(alert).await.unwrap();
    }
    let feedback = FeedbackRecord {
        alert_id: "a1".into(),
        country: "NL".into(),
        disposition: "CONFIRMED_SUSPICIOUS".into(),
        note: String::new(),
        author: "inspector".into(),
        source: "api".into(),
        recorded_at: 400,
    };
    store.record_feedback(&feedback).await.unwrap();

    let all = store.alert_feed(None, 0, 10).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    let dutch = store.alert_feed(Some("NL"), 0, 10).await.unwrap();
    assert_eq!(
        dutch
            .iter()
            .map(|alert| alert.alert_id.as_str())
            .collect::<Vec<_>>(),
        ["a1", "a2"]
    );
    // Each authority's feed is numbered on its own: NL's second alert is its number 2, though
    // BE got one in between; the platform-wide numbers count every copy.
    let numbers = |alerts: &[AuthorityAlert]| alerts.iter().map(|a| a.seq).collect::<Vec<_>>();
    assert_eq!(numbers(&dutch), [1, 2]);
    let belgian = store.alert_feed(Some("BE"), 0, 10).await.unwrap();
    assert_eq!(numbers(&belgian), [1]);
    assert_eq!(
        numbers(&store.alert_feed(Some("NL"), 1, 10).await.unwrap()),
        [2]
    );
    assert_eq!(
        store
            .authority_alert("NL", "a2")
            .await
            .unwrap()
            .unwrap()
            .seq,
        2
    );
    assert_eq!(all[2].alert_id, "a2");
    assert_eq!(
        all[2].seq - all[0].seq,
        2,
        "a2 is the third copy platform-wide"
    );
    // A copy stored again is ignored and keeps its number.
    store.record_authority_alert(&alerts[2]).await.unwrap();
    assert_eq!(
        store
            .authority_alert("NL", "a2")
            .await
            .unwrap()
            .unwrap()
            .seq,
        2
    );
    let after_first = store.alert_feed(None, all[0].seq, 2).await.unwrap();
    assert_eq!(after_first.len(), 2);
    assert_eq!(after_first[0].seq, all[1].seq);

    let ids = |alerts: Vec<AuthorityAlert>| -> Vec<(String, String)> {
        alerts
            .into_iter()
            .map(|alert| (alert.country, alert.alert_id))
            .collect()
    };
    let search = |text: &str| AlertSearch {
        text: Some(text.into()),
        limit: 10,
        ..AlertSearch::default()
    };
    // Any text of the alert, case-insensitive; newest first.
    assert_eq!(
        ids(store
            .search_alerts(&search("acetic ANHYDRIDE"))
            .await
            .unwrap()),
        [("BE".into(), "a1".into()), ("NL".into(), "a1".into())]
    );
    // LIKE wildcards in the text are literal.
    assert_eq!(
        ids(store.search_alerts(&search("50%_")).await.unwrap()),
        [("NL".into(), "a2".into())]
    );
    assert!(store
        .search_alerts(&search("5_%"))
        .await
        .unwrap()
        .is_empty());
    // By id, restricted to a country and a severity, paged.
    assert_eq!(
        ids(store.search_alerts(&search("report-a3")).await.unwrap()),
        [("DE".into(), "a3".into())]
    );
    let restricted = AlertSearch {
        country: Some("NL".into()),
        severity: Some("HIGH".into()),
        limit: 10,
        ..AlertSearch::default()
    };
    assert_eq!(
        ids(store.search_alerts(&restricted).await.unwrap()),
        [("NL".into(), "a1".into())]
    );
    let first_page = AlertSearch {
        limit: 2,
        ..AlertSearch::default()
    };
    let page = store.search_alerts(&first_page).await.unwrap();
    assert_eq!(
        ids(page.clone()),
        [("DE".into(), "a3".into()), ("NL".into(), "a2".into())]
    );
    let next_page = AlertSearch {
        before: Some(page[1].seq),
        ..first_page
    };
    assert_eq!(
        ids(store.search_alerts(&next_page).await.unwrap()),
        [("BE".into(), "a1".into()), ("NL".into(), "a1".into())]
    );

    let deliveries = store.alert_deliveries("a1").await.unwrap();
    assert_eq!(
        deliveries
            .iter()
            .map(|alert| alert.country.as_str())
            .collect::<Vec<_>>(),
        ["BE", "NL"]
    );

    // A report traced by its id or its alert's (the reports above): r1 screened with
    // alert a1 delivered once, r3 not screened yet.
    let traced = store.report_trace("r1").await.unwrap().unwrap();
    assert_eq!(
        (
            traced.company_reference.as_str(),
            traced.received_at,
            traced.screened_at,
            traced.outcome.as_deref(),
            traced.alert_id.as_deref(),
            traced.deliveries
        ),
        ("SO-1", 1_000, Some(10), Some("alert"), Some("a1"), 1)
    );
    assert_eq!(store.report_trace("a1").await.unwrap(), Some(traced));
    let waiting = store.report_trace("r3").await.unwrap().unwrap();
    assert_eq!((waiting.screened_at, waiting.deliveries), (None, 0));
    assert_eq!(store.report_trace("nope").await.unwrap(), None);

    let volumes = store.authority_volumes(150).await.unwrap();
    type Row<'a> = (&'a str, i64, i64, i64, i64, Option<i64>);
    let summary: Vec<Row> = volumes
        .iter()
        .map(|volume| {
            (
                volume.country.as_str(),
                volume.total,
                volume.recent,
                volume.high,
                volume.with_feedback,
                volume.last_delivered_at,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("BE", 1, 0, 1, 0, Some(110)),
            ("DE", 1, 1, 1, 0, Some(300)),
            ("NL", 2, 1, 1, 1, Some(200)),
        ]
    );
}

/// The batch statements the pipeline's stages use: one group of reports, one batch of buyers,
/// purchases, histories and deliveries.
async fn batches_are_written_whole_and_idempotently(store: &Store) {
    store
        .create_company("batch", "Batch", "DE", 1)
        .await
        .unwrap();
    let new = |id: &str, reference: &str| NewReport {
        id: id.into(),
        company_id: "batch".into(),
        company_reference: reference.into(),
        customer_key: format!("batch/{id}"),
        payload_sha256: format!("sha-{id}"),
        event: id.as_bytes().to_vec(),
        received_at: 5_000,
    };
    // A group: two new reports, a reference used twice within the group, one used before.
    store
        .insert_report(&new("g0", "G-0"), "orders.submitted")
        .await
        .unwrap();
    let inserted = store
        .insert_reports(
            &[
                new("g1", "G-1"),
                new("g2", "G-2"),
                new("g3", "G-1"),
                new("g4", "G-0"),
            ],
            "orders.submitted",
        )
        .await
        .unwrap();
    let ids: Vec<(bool, &str)> = inserted
        .iter()
        .map(|inserted| match inserted {
            Inserted::New(receipt) => (true, receipt.report_id.as_str()),
            Inserted::Existing(receipt) => (false, receipt.report_id.as_str()),
        })
        .collect();
    assert_eq!(
        ids,
        [(true, "g1"), (true, "g2"), (false, "g1"), (false, "g0")]
    );
    // The outbox names each new report once and publishes its stored event.
    let mut published = Vec::new();
    while let Some(count) = store
        .publish_outbox(100, |pending| {
            published.extend(pending.iter().map(|p| p.message.payload.clone()));
            async move { pending.iter().map(|p| p.id).collect() }
        })
        .await
        .unwrap()
    {
        if count == 0 {
            break;
        }
    }
    assert_eq!(published, [b"g0".to_vec(), b"g1".to_vec(), b"g2".to_vec()]);
    assert_eq!(store.outbox_depth().await.unwrap(), 0);

    // Buyers in one batch: the second finds the party the first created, by name; a third is
    // known by a key recorded before the batch.
    let before = store
        .resolve_party(
            &PartyKey::of("PL", "Wisla Chem Sp. z o.o.", None),
            "Wisla",
            1,
        )
        .await
        .unwrap();
    let buyer = |name: &str, number: Option<&str>, country: &str| store::Buyer {
        keys: PartyKey::of(country, name, number),
        name: name.into(),
        at: 2,
    };
    let parties = store
        .resolve_parties(&[
            buyer("Oder Trade GmbH", Some("HRB 77"), "DE"),
            buyer("ODER TRADE GMBH", None, "DE"),
            buyer("Wisla Chem Sp. z o.o.", None, "PL"),
        ])
        .await
        .unwrap();
    assert_eq!(parties[0].rule, "new party");
    assert_eq!(parties[1].party_id, parties[0].party_id);
    assert_ne!(parties[1].rule, "new party");
    assert_eq!(parties[2].party_id, before.party_id);
    // Recognised again in a later batch: the same parties, none new.
    let again = store
        .resolve_parties(&[buyer("Oder Trade GmbH", None, "DE")])
        .await
        .unwrap();
    assert_eq!(again[0].party_id, parties[0].party_id);

    let bought = |report: &str, at: i64| Purchase {
        report_id: report.into(),
        company_id: "batch".into(),
        line_number: 1,
        substance_id: "acetone".into(),
        substance_name: "Acetone".into(),
        amount: 1.0,
        unit: "l".into(),
        at,
    };
    let (oder, wisla) = (parties[0].party_id.as_str(), before.party_id.as_str());
    let purchases = [
        bought("b1", 10),
        bought("b2", 20),
        bought("b3", 30),
        bought("b4", 15),
    ];
    let batch: Vec<(&str, &Purchase)> = vec![
        (oder, &purchases[0]),
        (oder, &purchases[1]),
        (oder, &purchases[2]),
        (wisla, &purchases[3]),
    ];
    store.record_purchase_batch(&batch).await.unwrap();
    store.record_purchase_batch(&batch).await.unwrap();
    let histories = store
        .party_histories(&[oder, wisla, "nobody"], 15, 30, 2)
        .await
        .unwrap();
    let reports = |party: &str| -> Vec<String> {
        histories[party]
            .iter()
            .map(|purchase| purchase.report_id.clone())
            .collect()
    };
    // Newest first, at most the limit, within the window; a party with none is absent.
    assert_eq!(reports(oder), ["b3", "b2"]);
    assert_eq!(reports(wisla), ["b4"]);
    assert!(!histories.contains_key("nobody"));

    // The ledger: read, begun, completed, for several deliveries at once.
    let delivery = |alert: &str, country: &str| DeliveryRecord {
        alert_id: alert.into(),
        country: country.into(),
        report_id: "g1".into(),
        roles: "import".into(),
        topic: format!("alerts.{country}"),
        partition: -1,
        offset: -1,
        delivered_at: 1,
    };
    store
        .begin_deliveries(&[
            delivery("x1", "NL"),
            delivery("x1", "BE"),
            delivery("x2", "NL"),
        ])
        .await
        .unwrap();
    let landed = |alert: &str, country: &str, offset: i64| {
        (
            DeliveryRecord {
                partition: 0,
                offset,
                delivered_at: 2,
                ..delivery(alert, country)
            },
            AuthorityAlert {
                seq: 0,
                country: country.into(),
                alert_id: alert.into(),
                report_id: "g1".into(),
                party_id: oder.into(),
                severity: "HIGH".into(),
                alert_json: "{}".into(),
                delivered_at: 2,
            },
        )
    };
    store
        .complete_deliveries(&[landed("x1", "NL", 40), landed("x2", "NL", 41)])
        .await
        .unwrap();
    // Completed twice: the first landing stays.
    store
        .complete_deliveries(&[landed("x1", "NL", 99)])
        .await
        .unwrap();
    let known = store
        .delivery_offsets(&[("x1", "NL"), ("x1", "BE"), ("x2", "NL"), ("x3", "NL")])
        .await
        .unwrap();
    let offset =
        |alert: &str, country: &str| known.get(&(alert.to_owned(), country.to_owned())).copied();
    assert_eq!(
        (
            offset("x1", "NL"),
            offset("x1", "BE"),
            offset("x2", "NL"),
            offset("x3", "NL")
        ),
        (Some(40), Some(-1), Some(41), None)
    );
    assert!(store.authority_alert("NL", "x2").await.unwrap().is_some());
    assert!(store.authority_alert("BE", "x1").await.unwrap().is_none());

    // Screenings in one statement; a report's first result stays.
    let screening = |report: &str, outcome: &str| ScreeningRecord {
        report_id: report.into(),
        outcome: outcome.into(),
        alert_id: None,
        findings: 0,
        reference_data_version: "v1".into(),
        screened_at: 3,
    };
    store
        .record_screenings(&[screening("g1", "clear"), screening("g2", "clear")])
        .await
        .unwrap();
    store
        .record_screenings(&[screening("g1", "alert")])
        .await
        .unwrap();
    // g1's alert landed with two authorities above; g2 was only screened.
    let status = |report: &'static str| async move {
        store
            .report_status("batch", report)
            .await
            .unwrap()
            .unwrap()
            .status
    };
    assert_eq!(
        (status("g1").await, status("g2").await),
        (Status::Referred, Status::Screened)
    );
}

/// A fresh PostgreSQL database, migrated; its url.
async fn postgres() -> (Store, String) {
    let url = store::testing::fresh_postgres_url().await.unwrap();
    let store = Store::connect(&url, 4).await.unwrap();
    assert_eq!(store.backend(), store::Backend::Postgres);
    (store, url)
}

/// A fresh SQLite file, migrated; the directory holding it lives as long as the guard.
async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("store.db").display()
    );
    let store = Store::connect(&url, 4).await.unwrap();
    assert_eq!(store.backend(), store::Backend::Sqlite);
    (store, dir)
}

/// Each behaviour, tested on a fresh PostgreSQL database and on a fresh SQLite file.
macro_rules! on_both_backends {
    ($($behaviour:ident),* $(,)?) => {
        $(
            mod $behaviour {
                #[tokio::test]
                async fn on_postgres() {
                    let (store, _url) = super::postgres().await;
                    super::$behaviour(&store).await;
                }

                #[tokio::test]
                async fn on_sqlite() {
                    let (store, _dir) = super::sqlite().await;
                    super::$behaviour(&store).await;
                }
            }
        )*
    };
}

on_both_backends!(
    keys_rotate_and_are_revoked_by_their_own_company_only,
    the_audit_log_keeps_order_and_pages,
    a_report_goes_through_outbox_screening_and_delivery,
    parties_are_recognised_across_spellings_and_suppliers,
    the_overview_searches_counts_and_traces,
    batches_are_written_whole_and_idempotently,
);

/// PostgreSQL only (SQLite has one writer): while one instance publishes the outbox, another
/// finds it taken; and the migrations run again on the next start without harm.
#[tokio::test]
async fn on_postgres_one_instance_publishes_the_outbox_at_a_time() {
    let (store, url) = postgres().await;
    store.create_company("acme", "ACME", "DE", 1).await.unwrap();
    // While one instance publishes, another finds the outbox taken.
    store
        .insert_report(&report("r9", "SO-9"), "orders.submitted")
        .await
        .unwrap();
    let (entered, inside) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn({
        let url = url.clone();
        async move {
            let store = Store::connect(&url, 2).await.unwrap();
            store
                .publish_outbox(10, |_| async move {
                    entered.send(()).unwrap();
                    released.await.unwrap();
                    Vec::new()
                })
                .await
                .unwrap()
        }
    });
    inside.await.unwrap();
    assert_eq!(
        store
            .publish_outbox(10, |_| async { Vec::new() })
            .await
            .unwrap(),
        None
    );
    release.send(()).unwrap();
    assert_eq!(holder.await.unwrap(), Some(0));
    // Migrations run again on the next start without harm.
    Store::connect(&url, 1).await.unwrap();
}

#[tokio::test]
async fn an_unknown_database_scheme_is_refused_with_the_setting_named() {
    let error = Store::connect("mysql://x", 1).await.unwrap_err();
    assert!(format!("{error:#}").contains("--database-url"), "{error:#}");
}
