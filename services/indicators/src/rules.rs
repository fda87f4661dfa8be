//! Rule sets: the weights of the indicators, their windows and thresholds, the synthesis routes
//! and the risk list, versioned with the date from which each applies. A version may weigh
//! indicators differently for one authority.

use std::collections::BTreeMap;

use anyhow::Context as _;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::catalog::INDICATORS;

/// The rule sets built into the binaries, oldest first.
const BUILTIN: &[&str] = &[
    include_str!("../rules/2026-01-01.json"),
    include_str!("../rules/2026-12-07.json"),
];

/// An amount of a substance, in the base unit of its dimension.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Threshold {
    pub quantity: f64,
    /// `kg`, `l` or `each`.
    pub unit: String,
}

/// The largest normal lot of a substance, in each unit it is traded in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "OneOrMore")]
pub struct NormalLot(Vec<Threshold>);

impl NormalLot {
    /// The lot in `unit`, when one is given in it.
    pub fn in_unit(&self, unit: &str) -> Option<&Threshold> {
        self.0.iter().find(|lot| lot.unit == unit)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMore {
    One(Threshold),
    More(Vec<Threshold>),
}

impl From<OneOrMore> for NormalLot {
    fn from(lots: OneOrMore) -> Self {
        match lots {
            OneOrMore::One(lot) => Self(vec![lot]),
            OneOrMore::More(lots) => Self(lots),
        }
    }
}

/// Score limits of each severity; below `medium` an alert is low.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SeverityThresholds {
    pub medium: f64,
    pub high: f64,
    pub critical: f64,
}

/// A synthesis route: its precursors in groups (one group per role, any member of it counts).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Route {
    pub id: String,
    /// What the route makes, as an inspector says it.
    pub name: String,
    pub groups: Vec<Vec<String>>,
    /// How many groups must be present for the combination to count.
    pub min_groups: usize,
}

/// What an identification weighs in the score, by the strongest control in scope.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentificationWeights {
    /// UN Table I, EU Category 1, US List I.
    pub first_tier: f64,
    /// UN Table II, EU Categories 2 to 4, US List II.
    pub second_tier: f64,
    /// Watch lists.
    pub watch_list: f64,
}

impl Default for IdentificationWeights {
    fn default() -> Self {
        Self {
            first_tier: 60.0,
            second_tier: 40.0,
            watch_list: 25.0,
        }
    }
}

/// What one authority weighs differently.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityRules {
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    pub severity: Option<SeverityThresholds>,
}

/// One version of the rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    pub version: String,
    /// The first day (UTC) on which reports are judged by this version.
    pub effective_from: NaiveDate,
    /// Weight of each indicator id, added to the score when it fires.
    pub weights: BTreeMap<String, f64>,
    /// What the strongest control among an order's identifications weighs.
    #[serde(default)]
    pub identification: IdentificationWeights,
    pub severity: SeverityThresholds,
    /// An order of an identified substance that is in scope of no regime still raises an alert
    /// when its indicators weigh at least this much (a split order, a watch-listed buyer).
    pub alert_min_indicator_score: f64,
    /// Days of a customer's history kept and looked at.
    pub history_days: u32,
    /// Earlier orders of the substance needed before "unusual for this customer" can be said.
    pub unusual_quantity_min_orders: usize,
    /// How many times the customer's median quantity is unusual.
    pub unusual_quantity_factor: f64,
    /// Largest normal lot per substance id: one amount, or a list with one per unit (a liquid
    /// sold by mass and by volume).
    #[serde(default)]
    pub normal_lots: BTreeMap<String, NormalLot>,
    /// Whether only a buyer with no usual quantity of its own (fewer earlier orders of the
    /// substance than `unusual_quantity_min_orders`) is compared with the normal lot; a buyer
    /// with one is compared with it alone. False (every buyer compared with the lot) in the rule
    /// sets before this field.
    #[serde(default)]
    pub normal_lots_for_new_buyers_only: bool,
    pub frequency_window_days: u32,
    /// Orders of one substance within the window that are frequent.
    pub frequency_min_orders: usize,
    /// How many times the customer's usual rate is unusual (when there is a usual rate).
    pub frequency_factor: f64,
    pub splitting_window_days: u32,
    /// Threshold per substance id that split orders stay below; substances without one use the
    /// US 21 CFR 1310.04 threshold from the reference data.
    #[serde(default)]
    pub splitting_thresholds: BTreeMap<String, Threshold>,
    pub combination_window_days: u32,
    pub routes: Vec<Route>,
    /// Countries (ISO 3166-1 alpha-2) on the authorities' risk list.
    #[serde(default)]
    pub risk_countries: Vec<String>,
    /// Normalised end-use statements that say nothing.
    #[serde(default)]
    pub vague_end_uses: Vec<String>,
    /// Name similarity (0 to 1) from which a customer matches a watch-listed party.
    pub watch_list_min_similarity: f64,
    /// Weights and severity limits of single authorities, by country code.
    #[serde(default)]
    pub authorities: BTreeMap<String, AuthorityRules>,
}

impl RuleSet {
    /// Parses and checks one rule set: every weight names a known indicator.
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let rules: RuleSet = serde_json::from_str(text).context("invalid rule set")?;
        rules.check()?;
        Ok(rules)
    }

    fn check(&self) -> anyhow::Result<()> {
        let known = |id: &String| INDICATORS.iter().any(|indicator| indicator.id == id);
        for id in self.weights.keys() {
            anyhow::ensure!(
                known(id),
                "rule set {}: unknown indicator {id:?} in weights",
                self.version
            );
        }
        for (country, rules) in &self.authorities {
            for id in rules.weights.keys() {
                anyhow::ensure!(
                    known(id),
                    "rule set {}: unknown indicator {id:?} in the weights of authority {country}",
                    self.version
                );
            }
        }
        for indicator in INDICATORS {
            anyhow::ensure!(
                self.weights.contains_key(indicator.id),
                "rule set {}: no weight for indicator {:?}",
                self.version,
                indicator.id
            );
        }
        for (substance, lots) in &self.normal_lots {
            let mut units: Vec<&str> = lots.0.iter().map(|lot| lot.unit.as_str()).collect();
            let given = units.len();
            units.sort_unstable();
            units.dedup();
            anyhow::ensure!(
                given > 0 && units.len() == given,
                "rule set {}: the normal lot of {substance} needs one amount per unit",
                self.version
            );
            for lot in &lots.0 {
                anyhow::ensure!(
                    lot.quantity.is_finite() && lot.quantity > 0.0,
                    "rule set {}: the normal lot of {substance} must be a positive amount",
                    self.version
                );
                anyhow::ensure!(
                    matches!(lot.unit.as_str(), "kg" | "l" | "each"),
                    "rule set {}: the normal lot of {substance} is in {:?}; use kg, l or each",
                    self.version,
                    lot.unit
                );
            }
        }
        let s = &self.severity;
        anyhow::ensure!(
            s.medium <= s.high && s.high <= s.critical,
            "rule set {}: severity limits must rise from medium to critical",
            self.version
        );
        Ok(())
    }

    /// The weight of an indicator for an authority (its own when it has one).
    pub fn weight(&self, indicator: &str, authority: Option<&str>) -> f64 {
        authority
            .and_then(|country| self.authorities.get(country))
            .and_then(|rules| rules.weights.get(indicator))
            .or_else(|| self.weights.get(indicator))
            .copied()
            .unwrap_or(0.0)
    }

    /// The severity limits for an authority (its own when it has them).
    pub fn severity_for(&self, authority: Option<&str>) -> &SeverityThresholds {
        authority
            .and_then(|country| self.authorities.get(country))
            .and_then(|rules| rules.severity.as_ref())
            .unwrap_or(&self.severity)
    }
}

/// Every version in use, each applying from its date until the next one's.
#[derive(Debug, Clone)]
pub struct RuleSets {
    versions: Vec<RuleSet>,
}

impl RuleSets {
    /// The versions built into the binaries.
    pub fn builtin() -> anyhow::Result<Self> {
        Self::new(
            BUILTIN
                .iter()
                .map(|text| RuleSet::from_json(text))
                .collect::<anyhow::Result<_>>()?,
        )
    }

    /// The built-in versions and those in `files` (`--rules`).
    pub fn load(files: &[std::path::PathBuf]) -> anyhow::Result<Self> {
        let mut versions = Self::builtin()?.versions;
        for path in files {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read rule set {} (--rules)", path.display()))?;
            versions.push(
                RuleSet::from_json(&text)
                    .with_context(|| format!("invalid rule set {} (--rules)", path.display()))?,
            );
        }
        Self::new(versions)
    }

    /// The built-in versions and more, e.g. from `--rules` files. Versions must be unique.
    pub fn new(mut versions: Vec<RuleSet>) -> anyhow::Result<Self> {
        anyhow::ensure!(!versions.is_empty(), "no rule set");
        versions.sort_by_key(|rules| rules.effective_from);
        for (index, rules) in versions.iter().enumerate() {
            anyhow::ensure!(
                versions[..index]
                    .iter()
                    .all(|other| other.version != rules.version),
                "rule set version {} given twice",
                rules.version
            );
        }
        Ok(Self { versions })
    }

    /// The version that applies at `micros` (UTC): the latest effective on that day, or the
    /// oldest for earlier times.
    pub fn at(&self, micros: i64) -> &RuleSet {
        let day = chrono::DateTime::from_timestamp_micros(micros)
            .map(|time| time.date_naive())
            .unwrap_or_default();
        self.versions
            .iter()
            .rev()
            .find(|rules| rules.effective_from <= day)
            .unwrap_or(&self.versions[0])
    }

    /// The version with this name.
    pub fn version(&self, version: &str) -> Option<&RuleSet> {
        self.versions.iter().find(|rules| rules.version == version)
    }

    /// Every version, oldest first.
    pub fn all(&self) -> &[RuleSet] {
        &self.versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_rules_weigh_every_indicator() {
        let sets = RuleSets::builtin().expect("builtin rules");
        let rules = &sets.all()[0];
        for indicator in INDICATORS {
            assert!(rules.weight(indicator.id, None) > 0.0, "{}", indicator.id);
        }
    }

    #[test]
    fn the_version_in_force_is_chosen_by_date() {
        let base = RuleSets::builtin().expect("builtin").all()[0].clone();
        let later = RuleSet {
            version: "later".into(),
            effective_from: NaiveDate::from_ymd_opt(2027, 3, 1).expect("date"),
            ..base.clone()
        };
        let sets = RuleSets::new(vec![later, base.clone()]).expect("sets");
        let day = |y, m, d| {
            NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|date| date.and_hms_opt(12, 0, 0))
                .map(|time| time.and_utc().timestamp_micros())
                .expect("time")
        };
        assert_eq!(sets.at(day(2027, 2, 28)).version, base.version);
        assert_eq!(sets.at(day(2027, 3, 1)).version, "later");
        assert!(RuleSets::new(vec![base.clone(), base]).is_err());
    }

    #[test]
    fn an_authority_can_weigh_an_indicator_differently() {
        let mut rules = RuleSets::builtin().expect("builtin").all()[0].clone();
        rules.authorities.insert(
            "NL".into(),
            AuthorityRules {
                weights: [("payment_cash".to_owned(), 50.0)].into(),
                severity: None,
            },
        );
        assert_eq!(rules.weight("payment_cash", Some("NL")), 50.0);
        assert_ne!(rules.weight("payment_cash", Some("DE")), 50.0);
    }

    #[test]
    fn unknown_indicators_are_refused() {
        let text = include_str!("../rules/2026-01-01.json")
            .replace("\"payment_cash\"", "\"payment_gold\"");
        let error = RuleSet::from_json(&text).expect_err("unknown id");
        assert!(format!("{error:#}").contains("payment_gold"), "{error:#}");
    }
}
