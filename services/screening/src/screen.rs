//! Screening a whole order report: findings per line, then the screening result and, when
//! something was identified, the alert.

use events::{
    Alert, Finding, IndicatorHit, LineField, MatchKind, OrderContext, OrderReport, Outcome,
    ScreeningResult,
};
use indicators::RuleSet;

use crate::engine::{CasInput, Engine, LineInput, LineResult};
use crate::scope::{self, Amount};

mod concentration;

/// Namespace of alert ids: an alert id is the UUID v5 of its report id.
const ALERT_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x5f1c_2a9e_7b64_4d0b_9a53_3c8e_1f27_d604);

/// What screening one report produced.
#[derive(Debug, Clone)]
pub struct Screening {
    pub result: ScreeningResult,
    pub alert: Option<Alert>,
}

/// The findings of one line, with each regime's scope decided.
pub fn findings(
    engine: &Engine,
    line_number: i32,
    input: LineInput<'_>,
    amount: Amount,
) -> Vec<Finding> {
    findings_of(
        engine,
        line_number,
        input.description,
        engine.screen_line(input),
        amount,
    )
}

/// The findings of a line already screened. Without a concentration on the line, a percentage
/// written beside a substance's name in the description is its concentration ("sodium
/// hypophosphite 25%", "with 1.5% hypophosphorous acid").
pub fn findings_of(
    engine: &Engine,
    line_number: i32,
    description: &str,
    result: LineResult,
    amount: Amount,
) -> Vec<Finding> {
    let tokens = match amount.concentration_pct {
        None => concentration::tokens(description),
        Some(_) => Vec::new(),
    };
    result
        .identifications
        .into_iter()
        .map(|identification| {
            let substance = &engine.substances()[identification.substance];
            let written = (identification.field == LineField::Description
                && identification.kind != MatchKind::Cas)
                .then(|| concentration::beside(&tokens, &identification.matched_text))
                .flatten();
            let amount = Amount {
                concentration_pct: amount.concentration_pct.or(written),
                ..amount
            };
            Finding {
                line_number,
                substance_id: substance.id.clone(),
                substance_name: substance.name.clone(),
                match_kind: identification.kind,
                matched_field: identification.field,
                matched_text: identification.matched_text,
                match_score: identification.score,
                classifications: scope::evaluate(substance, identification.kind, amount),
            }
        })
        .collect()
}

/// Every finding of every line of the report.
pub fn report_findings(engine: &Engine, report: &OrderReport) -> Vec<Finding> {
    report
        .lines
        .iter()
        .flat_map(|line| {
            let input = LineInput {
                description: &line.description,
                cas: line.cas.as_ref().map(CasInput::Checked),
                hs_code: line.hs_code.as_deref(),
            };
            let amount = Amount {
                quantity: Some(line.quantity.value()),
                unit: Some(line.unit),
                concentration_pct: line.concentration_pct,
            };
            findings(engine, line.line_number, input, amount)
        })
        .collect()
}

/// What the indicators made of a report: the hits under one rule set, and the buyer they
/// looked at.
#[derive(Debug, Clone)]
pub struct Assessment<'a> {
    pub rules: &'a RuleSet,
    pub hits: Vec<IndicatorHit>,
    pub party_id: String,
    pub party_rule: String,
}

impl<'a> Assessment<'a> {
    /// No indicator looked at (no history, no party): identification alone.
    pub fn identification_only(rules: &'a RuleSet) -> Self {
        Self {
            rules,
            hits: Vec::new(),
            party_id: String::new(),
            party_rule: String::new(),
        }
    }
}

/// Screens every line of the report by identification alone: an alert is raised when some
/// finding is in scope of at least one regime.
pub fn screen_report(
    engine: &Engine,
    report: &OrderReport,
    rules: &RuleSet,
    now: i64,
) -> Screening {
    let findings = report_findings(engine, report);
    conclude(
        engine,
        report,
        findings,
        &Assessment::identification_only(rules),
        now,
    )
}

/// The screening result and, when called for, the alert. An alert is raised when some finding
/// is in scope of at least one regime (a line whose only substance is exempt everywhere raises
/// nothing), or when something was identified and the indicators weigh at least the rule
/// set's minimum (orders split below a threshold, a watch-listed buyer).
pub fn conclude(
    engine: &Engine,
    report: &OrderReport,
    findings: Vec<Finding>,
    assessment: &Assessment<'_>,
    now: i64,
) -> Screening {
    let in_scope: Vec<Finding> = findings
        .iter()
        .filter(|finding| finding.classifications.iter().any(|c| c.in_scope))
        .cloned()
        .collect();
    let indicator_weight: f64 = assessment.hits.iter().map(|hit| hit.weight).sum();
    let alert_findings = if !in_scope.is_empty() {
        in_scope
    } else if !findings.is_empty() && indicator_weight >= assessment.rules.alert_min_indicator_score
    {
        findings.clone()
    } else {
        Vec::new()
    };
    let alert = (!alert_findings.is_empty())
        .then(|| build_alert(engine, report, &alert_findings, assessment, now));
    let result = ScreeningResult {
        report_id: report.report_id.clone(),
        company_id: report.company_id.clone(),
        company_reference: report.company_reference.clone(),
        outcome: if alert.is_some() {
            Outcome::Alert
        } else {
            Outcome::Clear
        },
        alert_id: alert.as_ref().map(|alert| alert.alert_id.clone()),
        lines_screened: i32::try_from(report.lines.len()).unwrap_or(i32::MAX),
        findings,
        reference_data_version: engine.version().to_owned(),
        submitted_at: report.submitted_at,
        screened_at: now,
    };
    Screening { result, alert }
}

fn build_alert(
    engine: &Engine,
    report: &OrderReport,
    findings: &[Finding],
    assessment: &Assessment<'_>,
    now: i64,
) -> Alert {
    let mut lines: Vec<i32> = findings.iter().map(|finding| finding.line_number).collect();
    lines.dedup();
    let rules = assessment.rules;
    let score = indicators::score(findings, &assessment.hits, rules, None);
    let mut explanation = explain(report, findings);
    if !assessment.hits.is_empty() {
        let indicators: Vec<String> = assessment
            .hits
            .iter()
            .map(|hit| {
                let title = indicators::indicator(&hit.indicator_id)
                    .map_or(hit.indicator_id.as_str(), |indicator| indicator.title);
                format!("{title}: {}", hit.evidence)
            })
            .collect();
        explanation.push_str(&format!(
            " Indicators of a suspicious order: {}.",
            indicators.join("; ")
        ));
    }
    Alert {
        alert_id: uuid::Uuid::new_v5(&ALERT_NAMESPACE, report.report_id.as_bytes()).to_string(),
        report_id: report.report_id.clone(),
        company_id: report.company_id.clone(),
        company_reference: report.company_reference.clone(),
        order: OrderContext {
            supplier_country: report.supplier_country,
            customer_id: report.customer.id.clone(),
            customer_name: report.customer.name.clone(),
            customer_country: report.customer.country,
            delivery_country: report.delivery.country,
            transit_countries: report.transit_countries.clone(),
        },
        lines,
        findings: findings.to_vec(),
        indicators: assessment.hits.clone(),
        score,
        severity: indicators::severity(score, rules, None),
        authorities: Vec::new(),
        explanation,
        reference_data_version: engine.version().to_owned(),
        rule_set_version: rules.version.clone(),
        party_id: assessment.party_id.clone(),
        party_rule: assessment.party_rule.clone(),
        submitted_at: report.submitted_at,
        detected_at: now,
    }
}

/// One sentence per finding: the line, what matched where, and the lists that control it.
fn explain(report: &OrderReport, findings: &[Finding]) -> String {
    let mut sentences = Vec::new();
    for finding in findings {
        let description = report
            .lines
            .iter()
            .find(|line| line.line_number == finding.line_number)
            .map(|line| line.description.as_str())
            .unwrap_or_default();
        let how = match finding.match_kind {
            MatchKind::Cas => format!("CAS number {} matched", finding.matched_text),
            MatchKind::Name => format!("name \"{}\" matched", finding.matched_text),
            MatchKind::Synonym => format!("synonym \"{}\" matched", finding.matched_text),
            MatchKind::SaltForm => format!("salt form \"{}\" matched", finding.matched_text),
            MatchKind::Ester => format!("ester \"{}\" matched", finding.matched_text),
            MatchKind::HsCode => format!("HS/CN code {} is specific to it", finding.matched_text),
            MatchKind::Fuzzy => format!(
                "misspelled name read as \"{}\", score {:.2}",
                finding.matched_text, finding.match_score
            ),
        };
        let lists: Vec<String> = finding
            .classifications
            .iter()
            .filter(|c| c.in_scope)
            .map(|c| format!("{} {}", c.regime.label(), c.category))
            .collect();
        let control = if lists.is_empty() {
            let notes: Vec<&str> = finding
                .classifications
                .iter()
                .map(|c| c.scope_note.as_str())
                .collect();
            format!("in scope of no regime on its own ({})", notes.join("; "))
        } else {
            format!("controlled as {}", lists.join("; "))
        };
        sentences.push(format!(
            "Line {} \"{}\": {} ({how}); {control}.",
            finding.line_number, description, finding.substance_name,
        ));
    }
    sentences.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceData;
    use events::*;
    use indicators::RuleSets;

    fn report(lines: Vec<(&str, Option<&str>)>) -> OrderReport {
        OrderReport {
            report_id: "0193a5b0-0000-7000-8000-000000000001".into(),
            company_id: "acme".into(),
            company_reference: "SO-1".into(),
            supplier_country: "DE".parse().unwrap(),
            order_date: 20_000,
            submitted_at: 10,
            customer: Customer {
                id: "C-1".into(),
                name: "Buyer".into(),
                customer_type: CustomerType::Company,
                country: "NL".parse().unwrap(),
                registration_number: None,
            },
            delivery: Delivery {
                country: "NL".parse().unwrap(),
                address_type: AddressType::Business,
            },
            transit_countries: vec![],
            payment_method: PaymentMethod::Invoice,
            end_use: None,
            lines: lines
                .into_iter()
                .enumerate()
                .map(|(index, (description, cas))| OrderLine {
                    line_number: index as i32 + 1,
                    description: description.into(),
                    cas: cas.map(|cas| cas.parse().unwrap()),
                    hs_code: None,
                    quantity: domain::Quantity::new(1.0).unwrap(),
                    unit: "kg".parse().unwrap(),
                    concentration_pct: None,
                    packaging: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_report_with_a_scheduled_chemical_raises_an_explained_alert() {
        let engine = Engine::new(ReferenceData::builtin().unwrap()).unwrap();
        let rules = RuleSets::builtin().unwrap().all()[0].clone();
        let screening = screen_report(
            &engine,
            &report(vec![
                ("Sodium chloride", None),
                ("Acetic anhydride 99%", Some("108-24-7")),
            ]),
            &rules,
            99,
        );
        assert_eq!(screening.result.outcome, Outcome::Alert);
        let alert = screening.alert.expect("alert");
        assert_eq!(alert.lines, vec![2]);
        assert_eq!(alert.findings[0].substance_id, "acetic_anhydride");
        assert_eq!(alert.severity, Severity::High);
        assert!(
            alert.explanation.contains(
                "Line 2 \"Acetic anhydride 99%\": Acetic anhydride (CAS number 108-24-7 matched)"
            ),
            "{}",
            alert.explanation
        );
        assert!(
            alert.explanation.contains("UN 1988 Table I"),
            "{}",
            alert.explanation
        );
        assert_eq!(Some(alert.alert_id.clone()), screening.result.alert_id);
        // The same report always yields the same alert id.
        let again = screen_report(
            &engine,
            &report(vec![("Acetic anhydride", None)]),
            &rules,
            100,
        );
        assert_eq!(again.alert.unwrap().alert_id, alert.alert_id);
    }

    #[test]
    fn a_concentration_written_beside_the_name_decides_an_exemption() {
        let engine = Engine::new(ReferenceData::builtin().unwrap()).unwrap();
        let line = |description: &str| {
            findings(
                &engine,
                1,
                LineInput {
                    description,
                    cas: None,
                    hs_code: None,
                },
                Amount::default(),
            )
        };
        let dilute = line("Electroless nickel replenisher: sodium hypophosphite 25%, buffers");
        assert_eq!(dilute.len(), 1);
        assert!(
            dilute[0].classifications.iter().all(|c| !c.in_scope),
            "{:?}",
            dilute[0].classifications
        );
        let strong = line("Sodium hypophosphite 99%");
        assert!(strong[0].classifications.iter().any(|c| c.in_scope));
    }

    #[test]
    fn indicators_raise_the_score_and_can_raise_an_alert_alone() {
        let engine = Engine::new(ReferenceData::builtin().unwrap()).unwrap();
        let rules = RuleSets::builtin().unwrap().all()[0].clone();
        let hit = |id: &str| IndicatorHit {
            indicator_id: id.into(),
            weight: rules.weight(id, None),
            evidence: format!("evidence of {id}"),
        };
        // Benzaldehyde, 3 kg: below the US threshold of 4 kg, in scope nowhere.
        let mut order = report(vec![("Benzaldehyde FCC", None)]);
        order.lines[0].quantity = domain::Quantity::new(3.0).unwrap();
        let findings = report_findings(&engine, &order);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].classifications.iter().all(|c| !c.in_scope));
        let quiet = Assessment {
            hits: vec![hit("new_customer")],
            ..Assessment::identification_only(&rules)
        };
        let alone = conclude(&engine, &order, findings.clone(), &quiet, 5);
        assert!(alone.alert.is_none(), "a new customer alone raises nothing");
        let split = Assessment {
            rules: &rules,
            hits: vec![hit("order_splitting")],
            party_id: "party-1".into(),
            party_rule: "same registration number X in NL".into(),
        };
        let screening = conclude(&engine, &order, findings, &split, 5);
        let alert = screening.alert.expect("splitting raises an alert");
        assert_eq!(alert.indicators[0].indicator_id, "order_splitting");
        assert_eq!(alert.score, rules.weight("order_splitting", None));
        assert_eq!(alert.rule_set_version, rules.version);
        assert_eq!(alert.party_id, "party-1");
        assert!(
            alert.explanation.contains("in scope of no regime on its own")
                && alert.explanation.contains(
                    "orders split below a threshold within a window, across suppliers: evidence of order_splitting"
                ),
            "{}",
            alert.explanation
        );

        // On a controlled substance the indicators add to the identification's weight.
        let anhydride = report(vec![("Acetic anhydride 99%", None)]);
        let findings = report_findings(&engine, &anhydride);
        let cash = Assessment {
            hits: vec![hit("payment_cash")],
            ..Assessment::identification_only(&rules)
        };
        let alert = conclude(&engine, &anhydride, findings, &cash, 5)
            .alert
            .unwrap();
        assert_eq!(alert.score, 60.0 + rules.weight("payment_cash", None));
        assert_eq!(alert.severity, Severity::Critical);
    }

    #[test]
    fn a_harmless_report_is_clear() {
        let engine = Engine::new(ReferenceData::builtin().unwrap()).unwrap();
        let rules = RuleSets::builtin().unwrap().all()[0].clone();
        let screening = screen_report(
            &engine,
            &report(vec![("Sodium chloride", Some("7647-14-5"))]),
            &rules,
            1,
        );
        assert_eq!(screening.result.outcome, Outcome::Clear);
        assert!(screening.alert.is_none());
        assert_eq!(screening.result.lines_screened, 1);
    }
}
