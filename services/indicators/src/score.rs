//! Score and severity: the strongest control among the identifications plus the weights of the
//! indicators that fired, capped at 100.

use events::{Classification, Finding, IndicatorHit, Severity};

use crate::rules::{IdentificationWeights, RuleSet};

/// The strongest control among the classifications in scope of all findings: UN Table I, EU
/// Category 1 or US List I weigh the first tier (60 by default); Table II, Categories 2 to 4 or
/// List II the second (40); watch lists 25.
pub fn identification_weight(findings: &[Finding], weights: &IdentificationWeights) -> f64 {
    findings
        .iter()
        .map(|finding| classification_weight(&finding.classifications, weights))
        .fold(0.0, f64::max)
}

fn classification_weight(
    classifications: &[Classification],
    weights: &IdentificationWeights,
) -> f64 {
    classifications
        .iter()
        .filter(|classification| classification.in_scope)
        .map(|classification| {
            let category = classification.category.to_ascii_lowercase();
            let first_word = |prefix: &str| {
                category
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '(', ';']))
            };
            if first_word("table i") || first_word("category 1") || first_word("list i") {
                weights.first_tier
            } else if category.starts_with("table ii")
                || category.starts_with("category 2")
                || category.starts_with("category 3")
                || category.starts_with("category 4")
                || category.starts_with("list ii")
            {
                weights.second_tier
            } else {
                weights.watch_list
            }
        })
        .fold(0.0, f64::max)
}

/// The score of an alert for an authority (`None`: the rule set's own weights).
pub fn score(
    findings: &[Finding],
    hits: &[IndicatorHit],
    rules: &RuleSet,
    authority: Option<&str>,
) -> f64 {
    let indicators: f64 = hits
        .iter()
        .map(|hit| rules.weight(&hit.indicator_id, authority))
        .sum();
    (identification_weight(findings, &rules.identification) + indicators).min(100.0)
}

/// The severity of a score for an authority.
pub fn severity(score: f64, rules: &RuleSet, authority: Option<&str>) -> Severity {
    let limits = rules.severity_for(authority);
    if score >= limits.critical {
        Severity::Critical
    } else if score >= limits.high {
        Severity::High
    } else if score >= limits.medium {
        Severity::Medium
    } else {
        Severity::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{AuthorityRules, RuleSets, SeverityThresholds};
    use events::Regime;

    fn finding(category: &str, in_scope: bool) -> Finding {
        Finding {
            line_number: 1,
            substance_id: "x".into(),
            substance_name: "x".into(),
            match_kind: events::MatchKind::Name,
            matched_field: events::LineField::Description,
            matched_text: "x".into(),
            match_score: 1.0,
            classifications: vec![Classification {
                regime: Regime::Un1988,
                category: category.into(),
                legal_basis: String::new(),
                in_scope,
                scope_note: String::new(),
            }],
        }
    }

    fn hit(id: &str) -> IndicatorHit {
        IndicatorHit {
            indicator_id: id.into(),
            weight: 0.0,
            evidence: String::new(),
        }
    }

    #[test]
    fn the_strongest_control_in_scope_sets_the_base() {
        assert_eq!(
            identification_weight(
                &[finding("Table I", true)],
                &IdentificationWeights::default()
            ),
            60.0
        );
        assert_eq!(
            identification_weight(
                &[finding("Table II", true)],
                &IdentificationWeights::default()
            ),
            40.0
        );
        assert_eq!(
            identification_weight(
                &[finding("Table I", false)],
                &IdentificationWeights::default()
            ),
            0.0
        );
        assert_eq!(
            identification_weight(
                &[finding("Table II", true), finding("Table I", true)],
                &IdentificationWeights::default()
            ),
            60.0
        );
    }

    #[test]
    fn indicators_add_up_to_at_most_100_and_authorities_weigh_their_own() {
        let mut rules = RuleSets::builtin().expect("rules").all()[0].clone();
        let findings = [finding("Table II", true)];
        let hits = [hit("payment_cash"), hit("delivery_po_box")];
        let base = score(&findings, &hits, &rules, None);
        assert_eq!(
            base,
            40.0 + rules.weight("payment_cash", None) + rules.weight("delivery_po_box", None)
        );
        assert_eq!(severity(base, &rules, None), Severity::Critical);
        rules.authorities.insert(
            "NL".into(),
            AuthorityRules {
                weights: [
                    ("payment_cash".to_owned(), 0.0),
                    ("delivery_po_box".to_owned(), 0.0),
                ]
                .into(),
                severity: Some(SeverityThresholds {
                    medium: 50.0,
                    high: 70.0,
                    critical: 90.0,
                }),
            },
        );
        let dutch = score(&findings, &hits, &rules, Some("NL"));
        assert_eq!(dutch, 40.0);
        assert_eq!(severity(dutch, &rules, Some("NL")), Severity::Low);
        let everything: Vec<IndicatorHit> = crate::INDICATORS.iter().map(|i| hit(i.id)).collect();
        assert_eq!(score(&findings, &everything, &rules, None), 100.0);
    }
}
