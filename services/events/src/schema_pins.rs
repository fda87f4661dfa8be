//! Pins every Rust event type to its `.avsc`: the schema derived from the type must have the same
//! Parsing Canonical Form as the file, and the file must document every field.

use apache_avro::{AvroSchema, Schema};

use crate::codec::Event;
use crate::{Alert, DeadLetter, Feedback, OrderReport, ScreeningResult};

fn assert_pinned<E: Event + AvroSchema>() {
    // Derived schemas carry no logical types; the files do. Compare the structure, and leave the
    // logical types to the codec round trips.
    let mut file_json: serde_json::Value =
        serde_json::from_str(E::SCHEMA_JSON).expect("schema file is JSON");
    strip_logical_types(&mut file_json);
    let from_file = Schema::parse(&file_json).expect("schema file parses");
    let from_type = E::get_schema();
    assert_eq!(
        from_type.canonical_form(),
        from_file.canonical_form(),
        "the Rust type and the .avsc of {} differ",
        std::any::type_name::<E>()
    );
}

fn strip_logical_types(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.remove("logicalType").is_some() && map.len() == 1 {
                if let Some(primitive) = map.remove("type") {
                    *value = primitive;
                    return;
                }
            }
            map.values_mut().for_each(strip_logical_types);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_logical_types),
        _ => {}
    }
}

/// Every field of every record, nested ones included, has a `doc`.
fn assert_documented(json: &str) {
    fn walk(value: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Array(fields)) = map.get("fields") {
                    for field in fields {
                        let name = field.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                        if field.get("doc").is_none() {
                            missing.push(format!("{path}.{name}"));
                        }
                        if let Some(field_type) = field.get("type") {
                            walk(field_type, &format!("{path}.{name}"), missing);
                        }
                    }
                }
                if let Some(items) = map.get("items") {
                    walk(items, path, missing);
                }
            }
            serde_json::Value::Array(branches) => {
                for branch in branches {
                    walk(branch, path, missing);
                }
            }
            _ => {}
        }
    }
    let value: serde_json::Value = serde_json::from_str(json).expect("schema file is JSON");
    let mut missing = Vec::new();
    walk(&value, "", &mut missing);
    assert!(missing.is_empty(), "fields without doc: {missing:?}");
}

#[test]
fn rust_types_match_their_schema_files() {
    assert_pinned::<OrderReport>();
    assert_pinned::<ScreeningResult>();
    assert_pinned::<Alert>();
    assert_pinned::<DeadLetter>();
    assert_pinned::<Feedback>();
}

#[test]
fn every_field_of_every_schema_is_documented() {
    for json in [
        OrderReport::SCHEMA_JSON,
        ScreeningResult::SCHEMA_JSON,
        Alert::SCHEMA_JSON,
        DeadLetter::SCHEMA_JSON,
    ] {
        assert_documented(json);
    }
}

/// Sample events used by the codec tests.
pub(crate) mod samples {
    use crate::*;

    pub fn order_report() -> OrderReport {
        OrderReport {
            report_id: "0193a5b0-0000-7000-8000-000000000001".into(),
            company_id: "acme".into(),
            company_reference: "SO-1".into(),
            supplier_country: "DE".parse().unwrap(),
            order_date: 20_400,
            submitted_at: 1_764_000_000_000_000,
            customer: Customer {
                id: "C-1".into(),
                name: "Example Trading BV".into(),
                customer_type: CustomerType::Distributor,
                country: "NL".parse().unwrap(),
                registration_number: None,
            },
            delivery: Delivery {
                country: "GB".parse().unwrap(),
                address_type: AddressType::PoBox,
            },
            transit_countries: vec!["BE".parse().unwrap()],
            payment_method: PaymentMethod::Cash,
            end_use: Some("cleaning".into()),
            lines: vec![OrderLine {
                line_number: 1,
                description: "Acetic anhydride 99%".into(),
                cas: Some("108-24-7".parse().unwrap()),
                hs_code: Some("291524".into()),
                quantity: domain::Quantity::new(200.0).unwrap(),
                unit: "l".parse().unwrap(),
                concentration_pct: Some(99.0),
                packaging: None,
            }],
        }
    }

    pub fn finding() -> Finding {
        Finding {
            line_number: 1,
            substance_id: "acetic_anhydride".into(),
            substance_name: "Acetic anhydride".into(),
            match_kind: MatchKind::Cas,
            matched_field: LineField::Cas,
            matched_text: "108-24-7".into(),
            match_score: 1.0,
            classifications: vec![Classification {
                regime: Regime::Un1988,
                category: "Table I".into(),
                legal_basis: "1988 UN Convention".into(),
                in_scope: true,
                scope_note: "listed substance".into(),
            }],
        }
    }

    pub fn alert() -> Alert {
        Alert {
            alert_id: "a".into(),
            report_id: "r".into(),
            company_id: "acme".into(),
            company_reference: "SO-1".into(),
            order: OrderContext {
                supplier_country: "DE".parse().unwrap(),
                customer_id: "C-1".into(),
                customer_name: "Example".into(),
                customer_country: "NL".parse().unwrap(),
                delivery_country: "GB".parse().unwrap(),
                transit_countries: vec!["BE".parse().unwrap()],
            },
            lines: vec![1],
            findings: vec![finding()],
            indicators: vec![IndicatorHit {
                indicator_id: "cash".into(),
                weight: 10.0,
                evidence: "paid in cash".into(),
            }],
            score: 70.0,
            severity: Severity::High,
            authorities: vec![AuthorityConcerned {
                country: "DE".parse().unwrap(),
                roles: vec![JurisdictionRole::Export, JurisdictionRole::CustomerDomicile],
            }],
            explanation: "x".into(),
            reference_data_version: "v1".into(),
            rule_set_version: "indicators-2026.1".into(),
            party_id: "p".into(),
            party_rule: "new party".into(),
            submitted_at: 1,
            detected_at: 2,
        }
    }

    pub fn screening_result() -> ScreeningResult {
        ScreeningResult {
            report_id: "r".into(),
            company_id: "acme".into(),
            company_reference: "SO-1".into(),
            outcome: Outcome::Alert,
            alert_id: Some("a".into()),
            lines_screened: 1,
            findings: vec![finding()],
            reference_data_version: "v1".into(),
            submitted_at: 1,
            screened_at: 2,
        }
    }

    pub fn dead_letter() -> DeadLetter {
        DeadLetter {
            topic: "orders.submitted".into(),
            partition: 2,
            offset: 42,
            key: Some(Bytes(b"k".to_vec())),
            payload: Bytes(vec![0, 1, 2, 255]),
            error_class: "decode".into(),
            error_message: "bad".into(),
            service: "matcher".into(),
            failed_at: 3,
        }
    }

    pub fn feedback() -> Feedback {
        Feedback {
            alert_id: "alert-1".into(),
            country: "NL".parse().unwrap(),
            disposition: Disposition::ConfirmedSuspicious,
            note: "seized at the border".into(),
            author: "officer 7".into(),
            recorded_at: 4,
        }
    }
}
