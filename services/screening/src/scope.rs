//! Regime consequences: whether a line is in scope of each regime that lists what was
//! identified, given the form (salt, ester), the concentration and the quantity.

use domain::{Dimension, Unit};
use events::{Classification, MatchKind, Regime};

use crate::reference::Substance;

/// The amount on an order line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Amount {
    pub quantity: Option<f64>,
    pub unit: Option<Unit>,
    pub concentration_pct: Option<f64>,
}

/// The entry's classifications with `in_scope` and `scope_note` decided for this line.
pub fn evaluate(substance: &Substance, kind: MatchKind, amount: Amount) -> Vec<Classification> {
    substance
        .classifications
        .iter()
        .map(|base| {
            let (in_scope, scope_note) = decide(substance, base, kind, amount);
            Classification {
                in_scope,
                scope_note,
                ..base.clone()
            }
        })
        .collect()
}

fn decide(
    substance: &Substance,
    base: &Classification,
    kind: MatchKind,
    amount: Amount,
) -> (bool, String) {
    let category = base.category.to_ascii_lowercase();
    if category.contains("pending") || category.contains("proposed") {
        return (
            false,
            format!(
                "{} listing not in force yet ({})",
                base.regime.label(),
                base.category
            ),
        );
    }
    let scope = &substance.scope;
    match (base.regime, kind) {
        (Regime::WatchList, _) => {
            return (true, "on a watch list of non-scheduled chemicals".into())
        }
        (Regime::Un1988 | Regime::Eu, MatchKind::Ester) => {
            return (
                false,
                format!(
                    "{} does not extend to esters of this substance",
                    base.regime.label()
                ),
            );
        }
        (Regime::Us, MatchKind::Ester) if !scope.us_esters => {
            return (
                false,
                "US listing does not extend to esters of this substance".into(),
            );
        }
        (Regime::Un1988, MatchKind::SaltForm) if !scope.un_salts => {
            return (
                false,
                "the 1988 Convention does not extend to these salts".into(),
            );
        }
        (Regime::Eu, MatchKind::SaltForm) if !scope.eu_salts => {
            return (false, "EU listing does not extend to these salts".into());
        }
        (Regime::Us, MatchKind::SaltForm) if !scope.us_salts && category.starts_with("list") => {
            return (
                false,
                "US listing does not extend to salts of this substance".into(),
            );
        }
        _ => {}
    }
    if base.regime != Regime::Us {
        return (
            true,
            format!("listed in {} {}", base.regime.label(), base.category),
        );
    }
    us_scope(substance, amount)
}

/// 21 CFR 1310.12 mixture exemptions and 1310.04 thresholds, on the pure-substance amount.
fn us_scope(substance: &Substance, amount: Amount) -> (bool, String) {
    let scope = &substance.scope;
    if let (Some(pct), Some(limit)) = (amount.concentration_pct, scope.us_mixture_exempt_pct) {
        if pct <= limit {
            return (
                false,
                format!(
                    "a mixture at {pct}% is at or below the {limit}% exemption of 21 CFR 1310.12"
                ),
            );
        }
    }
    if scope.us_threshold_kg == Some(0.0) || scope.us_threshold_l == Some(0.0) {
        return (
            true,
            "every transaction is regulated, whatever the quantity (21 CFR 1310.04)".into(),
        );
    }
    let (Some(quantity), Some(unit)) = (amount.quantity, amount.unit) else {
        return (
            true,
            "listed chemical; no quantity to compare with the threshold".into(),
        );
    };
    let pure = quantity * unit.to_base() * amount.concentration_pct.unwrap_or(100.0) / 100.0;
    let threshold = match unit.dimension() {
        Dimension::Mass => scope.us_threshold_kg.map(|t| (t, "kg")),
        Dimension::Volume => scope.us_threshold_l.map(|t| (t, "l")),
        Dimension::Count => None,
    };
    match threshold {
        Some((limit, symbol)) if pure < limit => (
            false,
            format!(
                "{pure:.3} {symbol} of pure substance is below the 21 CFR 1310.04 threshold of {limit} {symbol} for one transaction (cumulative monthly amounts are not checked here)"
            ),
        ),
        Some((limit, symbol)) => (
            true,
            format!("{pure:.3} {symbol} of pure substance reaches the 21 CFR 1310.04 threshold of {limit} {symbol}"),
        ),
        None if scope.us_threshold_kg.is_some() || scope.us_threshold_l.is_some() => {
            (true, format!("quantity in {unit} cannot be compared with the 21 CFR 1310.04 threshold"))
        }
        None => (true, "listed chemical without a quantity threshold".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceData;

    fn entry(id: &str) -> Substance {
        let data = ReferenceData::builtin().unwrap();
        data.substances.into_iter().find(|s| s.id == id).unwrap()
    }

    fn us(substance: &Substance, kind: MatchKind, amount: Amount) -> (bool, String) {
        let all = evaluate(substance, kind, amount);
        let us = all
            .iter()
            .find(|c| c.regime == Regime::Us)
            .expect("US listed");
        (us.in_scope, us.scope_note.clone())
    }

    #[test]
    fn us_thresholds_compare_the_pure_amount() {
        let anhydride = entry("acetic_anhydride");
        let big = Amount {
            quantity: Some(2000.0),
            unit: Some(Unit::Kilogram),
            concentration_pct: Some(99.0),
        };
        assert!(us(&anhydride, MatchKind::Name, big).0);
        let small = Amount {
            quantity: Some(200.0),
            unit: Some(Unit::Kilogram),
            concentration_pct: None,
        };
        let (in_scope, note) = us(&anhydride, MatchKind::Name, small);
        assert!(!in_scope, "{note}");
        assert!(note.contains("below"), "{note}");
    }

    #[test]
    fn dilute_mixtures_are_exempt_in_the_us_only() {
        let anhydride = entry("acetic_anhydride");
        let dilute = Amount {
            quantity: Some(5000.0),
            unit: Some(Unit::Litre),
            concentration_pct: Some(10.0),
        };
        let all = evaluate(&anhydride, MatchKind::Name, dilute);
        let us = all.iter().find(|c| c.regime == Regime::Us).unwrap();
        assert!(
            !us.in_scope && us.scope_note.contains("1310.12"),
            "{}",
            us.scope_note
        );
        assert!(all
            .iter()
            .filter(|c| c.regime != Regime::Us)
            .all(|c| c.in_scope));
    }

    #[test]
    fn every_ephedrine_transaction_is_regulated() {
        let tiny = Amount {
            quantity: Some(1.0),
            unit: Some(Unit::Gram),
            concentration_pct: None,
        };
        assert!(us(&entry("ephedrine"), MatchKind::SaltForm, tiny).0);
    }

    #[test]
    fn esters_are_in_scope_only_where_the_regime_covers_them() {
        let all = evaluate(
            &entry("phenylacetic_acid"),
            MatchKind::Ester,
            Amount::default(),
        );
        let scoped: Vec<(Regime, bool)> = all.iter().map(|c| (c.regime, c.in_scope)).collect();
        assert!(scoped.contains(&(Regime::Us, true)), "{scoped:?}");
        assert!(scoped.contains(&(Regime::Un1988, false)), "{scoped:?}");
    }
}
