//! What each authority receives: its preferences (minimum severity, regimes and categories,
//! watch-list findings), and the payload its role in the order calls for.

use events::{Alert, Classification, JurisdictionRole, Regime, Severity};
use store::Authority;

/// Why an authority's preferences turn an alert away, or `None` when they accept it.
pub fn refusal(authority: &Authority, alert: &Alert) -> Option<String> {
    let minimum = match authority.min_severity.as_str() {
        "MEDIUM" => Severity::Medium,
        "HIGH" => Severity::High,
        "CRITICAL" => Severity::Critical,
        _ => Severity::Low,
    };
    if alert.severity < minimum {
        return Some(format!(
            "severity {} below the authority's minimum {}",
            alert.severity.as_str(),
            authority.min_severity
        ));
    }
    // The classifications that made the alert: those in scope, or all of them when the
    // indicators alone raised it.
    let all: Vec<&Classification> = alert
        .findings
        .iter()
        .flat_map(|finding| &finding.classifications)
        .collect();
    let in_scope: Vec<&Classification> = all.iter().copied().filter(|c| c.in_scope).collect();
    let considered = if in_scope.is_empty() { all } else { in_scope };
    if !authority.regimes.is_empty()
        && !considered.iter().any(|c| {
            authority
                .regimes
                .iter()
                .any(|r| r == regime_symbol(c.regime))
        })
    {
        return Some(format!(
            "no finding under the regimes of interest ({})",
            authority.regimes.join(", ")
        ));
    }
    // "Table I" names Table I (and "Table I (salts)"), not Table II.
    let names = |category: &str, wanted: &str| {
        let (category, wanted) = (category.to_ascii_lowercase(), wanted.to_ascii_lowercase());
        category
            .strip_prefix(wanted.trim())
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()))
    };
    if !authority.categories.is_empty()
        && !considered.iter().any(|c| {
            authority
                .categories
                .iter()
                .any(|wanted| names(&c.category, wanted))
        })
    {
        return Some(format!(
            "no finding in the categories of interest ({})",
            authority.categories.join(", ")
        ));
    }
    if !authority.watch_list_findings
        && !considered.is_empty()
        && considered.iter().all(|c| c.regime == Regime::WatchList)
    {
        return Some("watch-list findings only, which the authority does not receive".into());
    }
    None
}

fn regime_symbol(regime: Regime) -> &'static str {
    match regime {
        Regime::Un1988 => "UN_1988",
        Regime::Eu => "EU",
        Regime::Us => "US",
        Regime::WatchList => "WATCH_LIST",
    }
}

/// The alert as an authority with these roles receives it. An authority that is only a transit
/// country gets the goods, the route and the risk (findings, classifications, indicators by id
/// and weight, score, severity), not the commercial parties: no reporting company, company
/// reference, customer id or name, buyer identity, indicator evidence (which names the buyer)
/// or indicator part of the explanation (see the README, "What a transit authority sees"). Every other role (export, import, domestic, customer's domicile) gets it whole.
pub fn for_roles(alert: &Alert, roles: &[JurisdictionRole]) -> Alert {
    let transit_only = !roles.is_empty() && roles.iter().all(|r| *r == JurisdictionRole::Transit);
    if !transit_only {
        return alert.clone();
    }
    let mut copy = alert.clone();
    copy.company_id = String::new();
    copy.company_reference = String::new();
    copy.order.customer_id = String::new();
    copy.order.customer_name = String::new();
    copy.party_id = String::new();
    copy.party_rule = String::new();
    for hit in &mut copy.indicators {
        hit.evidence = String::new();
    }
    if let Some((findings, _)) = copy
        .explanation
        .split_once(" Indicators of a suspicious order:")
    {
        copy.explanation = findings.to_owned();
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::{Finding, IndicatorHit, LineField, MatchKind};

    fn alert(severity: Severity, regime: Regime, category: &str, in_scope: bool) -> Alert {
        let mut alert: Alert = serde_json::from_value(serde_json::json!({
            "alert_id": "a", "report_id": "r", "company_id": "c", "company_reference": "SO-1",
            "order": {"supplier_country": "DE", "customer_id": "K-1", "customer_name": "Buyer BV",
                      "customer_country": "NL", "delivery_country": "GB", "transit_countries": ["BE"]},
            "lines": [1], "findings": [], "indicators": [],
            "score": 40.0, "severity": "LOW", "authorities": [],
            "explanation": "Line 1: acetic anhydride. Indicators of a suspicious order: payment in cash: customer \"Buyer BV\".",
            "reference_data_version": "v", "rule_set_version": "r",
            "party_id": "p", "party_rule": "same registration number", "submitted_at": 1, "detected_at": 2
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        alert.severity = severity;
        alert.findings = vec![Finding {
            line_number: 1,
            substance_id: "x".into(),
            substance_name: "x".into(),
            match_kind: MatchKind::Name,
            matched_field: LineField::Description,
            matched_text: "x".into(),
            match_score: 1.0,
            classifications: vec![Classification {
                regime,
                category: category.into(),
                legal_basis: String::new(),
                in_scope,
                scope_note: String::new(),
            }],
        }];
        alert.indicators = vec![IndicatorHit {
            indicator_id: "payment_cash".into(),
            weight: 20.0,
            evidence: "payment in cash by customer \"Buyer BV\"".into(),
        }];
        alert
    }

    fn authority() -> Authority {
        Authority {
            country: "NL".into(),
            name: "Douane".into(),
            contact: "x".into(),
            topic: "alerts.NL".into(),
            min_severity: "LOW".into(),
            regimes: vec![],
            categories: vec![],
            watch_list_findings: true,
            updated_at: 0,
        }
    }

    #[test]
    fn preferences_filter_by_severity_regime_category_and_watch_list() {
        let table_one = alert(Severity::High, Regime::Un1988, "Table I", true);
        assert_eq!(refusal(&authority(), &table_one), None);
        let strict = Authority {
            min_severity: "CRITICAL".into(),
            ..authority()
        };
        assert!(refusal(&strict, &table_one)
            .unwrap()
            .contains("below the authority's minimum CRITICAL"));
        let us_only = Authority {
            regimes: vec!["US".into()],
            ..authority()
        };
        assert!(refusal(&us_only, &table_one).is_some());
        assert!(refusal(&us_only, &alert(Severity::Low, Regime::Us, "List I", true)).is_none());
        let category_one = Authority {
            categories: vec!["table i".into()],
            ..authority()
        };
        assert!(refusal(&category_one, &table_one).is_none());
        assert!(refusal(
            &category_one,
            &alert(Severity::High, Regime::Un1988, "Table II", true)
        )
        .is_some());
        let no_watch = Authority {
            watch_list_findings: false,
            ..authority()
        };
        let watched = alert(Severity::Medium, Regime::WatchList, "watch list", true);
        assert!(refusal(&no_watch, &watched)
            .unwrap()
            .contains("watch-list findings only"));
        assert!(refusal(&authority(), &watched).is_none());
    }

    #[test]
    fn a_transit_authority_gets_the_goods_and_the_route_not_the_parties() {
        let full = alert(Severity::High, Regime::Un1988, "Table I", true);
        let transit = for_roles(&full, &[JurisdictionRole::Transit]);
        assert_eq!(transit.company_reference, "");
        assert_eq!(transit.company_id, "");
        assert_eq!(transit.order.customer_name, "");
        assert_eq!(transit.party_id, "");
        assert_eq!(transit.indicators[0].indicator_id, "payment_cash");
        assert_eq!(transit.indicators[0].evidence, "");
        assert_eq!(transit.explanation, "Line 1: acetic anhydride.");
        assert_eq!(transit.findings, full.findings);
        assert_eq!(transit.order.transit_countries, vec!["BE"]);
        let import = for_roles(&full, &[JurisdictionRole::Import]);
        assert_eq!(import, full);
        let both = for_roles(
            &full,
            &[
                JurisdictionRole::Transit,
                JurisdictionRole::CustomerDomicile,
            ],
        );
        assert_eq!(both, full);
    }
}
