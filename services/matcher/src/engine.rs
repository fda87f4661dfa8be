//! Identifies controlled substances in order lines, by CAS number and by name or synonym.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind as AcMatchKind};
use domain::CasNumber;
use events::{Classification, Finding, LineField, MatchKind, OrderLine};

use crate::reference::{ReferenceData, Substance};

/// Shortest name or synonym matched inside free text; shorter abbreviations ("AA") collide
/// with ordinary words and product codes.
const MIN_NAME_CHARS: usize = 3;

/// The matching engine over one version of the reference data.
pub struct Engine {
    version: String,
    substances: Vec<Substance>,
    by_cas: HashMap<String, Vec<usize>>,
    names: AhoCorasick,
    /// For each pattern: the substance and whether the pattern is its primary name.
    patterns: Vec<(usize, MatchKind)>,
}

/// The part of an order line the engine reads.
#[derive(Debug, Clone, Copy)]
pub struct LineInput<'a> {
    pub line_number: i32,
    pub description: &'a str,
    pub cas: Option<&'a str>,
}

impl<'a> From<&'a OrderLine> for LineInput<'a> {
    fn from(line: &'a OrderLine) -> Self {
        Self {
            line_number: line.line_number,
            description: &line.description,
            cas: line.cas.as_deref(),
        }
    }
}

impl Engine {
    /// Builds the indexes over the reference data.
    pub fn new(data: ReferenceData) -> anyhow::Result<Self> {
        let mut by_cas: HashMap<String, Vec<usize>> = HashMap::new();
        let mut pattern_texts = Vec::new();
        let mut patterns = Vec::new();
        let mut seen = HashMap::new();
        for (index, substance) in data.substances.iter().enumerate() {
            for cas in &substance.cas {
                by_cas
                    .entry(cas.as_str().to_owned())
                    .or_default()
                    .push(index);
            }
            let names = std::iter::once((&substance.name, MatchKind::Name)).chain(
                substance
                    .synonyms
                    .iter()
                    .map(|synonym| (synonym, MatchKind::Synonym)),
            );
            for (name, kind) in names {
                let normalized = normalize(name);
                if normalized.chars().count() < MIN_NAME_CHARS {
                    continue;
                }
                // The same text for two entries would make a match ambiguous; keep the first.
                if seen.insert((normalized.clone(), index), ()).is_some() {
                    continue;
                }
                pattern_texts.push(normalized);
                patterns.push((index, kind));
            }
        }
        let names = AhoCorasick::builder()
            .match_kind(AcMatchKind::Standard)
            .build(&pattern_texts)?;
        Ok(Self {
            version: data.version,
            substances: data.substances,
            by_cas,
            names,
            patterns,
        })
    }

    /// The version of the reference data in use.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every substance identified in the line, at most one finding per substance; a CAS
    /// identification wins over a name.
    pub fn screen_line(&self, line: LineInput<'_>) -> Vec<Finding> {
        let mut found: Vec<(usize, MatchKind, LineField, String)> = Vec::new();
        if let Some(cas) = line.cas.and_then(|text| CasNumber::parse(text).ok()) {
            for &index in self.by_cas.get(cas.as_str()).into_iter().flatten() {
                found.push((index, MatchKind::Cas, LineField::Cas, cas.to_string()));
            }
        }
        for (index, kind, text) in self.find_names(line.description) {
            if !found.iter().any(|(seen, ..)| *seen == index) {
                found.push((index, kind, LineField::Description, text));
            }
        }
        found
            .into_iter()
            .map(|(index, match_kind, matched_field, matched_text)| {
                let substance = &self.substances[index];
                Finding {
                    line_number: line.line_number,
                    substance_id: substance.id.clone(),
                    substance_name: substance.name.clone(),
                    match_kind,
                    matched_field,
                    matched_text,
                    classifications: substance.classifications.clone(),
                }
            })
            .collect()
    }

    /// Names and synonyms that stand as whole words in the text; a match inside a longer match
    /// (4-piperidone inside 1-boc-4-piperidone) does not count.
    fn find_names(&self, description: &str) -> Vec<(usize, MatchKind, String)> {
        let normalized = normalize(description);
        let bytes = normalized.as_bytes();
        let whole_words: Vec<aho_corasick::Match> = self
            .names
            .find_overlapping_iter(&normalized)
            .filter(|m| {
                (m.start() == 0 || bytes[m.start() - 1] == b' ')
                    && (m.end() == bytes.len() || bytes[m.end()] == b' ')
            })
            .collect();
        let mut found: Vec<(usize, MatchKind, String)> = Vec::new();
        for m in &whole_words {
            let inside_longer = whole_words.iter().any(|other| {
                other.start() <= m.start()
                    && other.end() >= m.end()
                    && (other.end() - other.start()) > (m.end() - m.start())
                    && self.patterns[other.pattern().as_usize()].0
                        != self.patterns[m.pattern().as_usize()].0
            });
            if inside_longer {
                continue;
            }
            let (index, kind) = self.patterns[m.pattern().as_usize()];
            match found.iter_mut().find(|(seen, ..)| *seen == index) {
                // Prefer the primary name over a synonym of the same entry.
                Some(existing) if existing.1 == MatchKind::Synonym && kind == MatchKind::Name => {
                    *existing = (index, kind, normalized[m.start()..m.end()].to_owned());
                }
                Some(_) => {}
                None => found.push((index, kind, normalized[m.start()..m.end()].to_owned())),
            }
        }
        found
    }
}

/// Lower case, every run of characters other than letters and digits folded to one space.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// The strongest control among the classifications, as a weight from 0 to 100.
pub fn weight(classifications: &[Classification]) -> f64 {
    classifications
        .iter()
        .map(|classification| {
            let category = classification.category.to_ascii_lowercase();
            let strict = category.starts_with("table i ")
                || category == "table i"
                || category.starts_with("table i(")
                || category.starts_with("category 1")
                || category.starts_with("list i ")
                || category == "list i";
            let listed = category.starts_with("table ii")
                || category.starts_with("category 2")
                || category.starts_with("category 3")
                || category.starts_with("list ii");
            if strict {
                60.0
            } else if listed {
                40.0
            } else {
                25.0
            }
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::new(ReferenceData::builtin().unwrap()).unwrap()
    }

    fn ids(engine: &Engine, description: &str, cas: Option<&str>) -> Vec<String> {
        engine
            .screen_line(LineInput {
                line_number: 1,
                description,
                cas,
            })
            .into_iter()
            .map(|finding| finding.substance_id)
            .collect()
    }

    #[test]
    fn identifies_by_cas_with_or_without_hyphens() {
        let engine = engine();
        assert_eq!(
            ids(&engine, "Product 4711", Some("108-24-7")),
            vec!["acetic_anhydride"]
        );
        assert_eq!(
            ids(&engine, "Product 4711", Some("108247")),
            vec!["acetic_anhydride"]
        );
    }

    #[test]
    fn a_wrong_check_digit_is_never_an_identification() {
        assert!(ids(&engine(), "Product 4711", Some("108-24-8")).is_empty());
    }

    #[test]
    fn identifies_names_and_synonyms_in_free_text() {
        let engine = engine();
        assert_eq!(
            ids(&engine, "Acetic Anhydride 99% 200L drum", None),
            vec!["acetic_anhydride"]
        );
        assert_eq!(
            ids(&engine, "ephedrine hydrochloride USP", None),
            vec!["ephedrine"]
        );
        let findings = engine.screen_line(LineInput {
            line_number: 3,
            description: "Heliotropine crystals",
            cas: None,
        });
        assert_eq!(findings[0].substance_id, "piperonal");
        assert_eq!(findings[0].match_kind, MatchKind::Synonym);
        assert_eq!(findings[0].line_number, 3);
    }

    #[test]
    fn look_alikes_are_not_identified() {
        let engine = engine();
        for harmless in [
            "Piperine 95% extract",
            "Phenylephrine HCl",
            "Sodium chloride",
            "Acetic acid 80%",
            "Nitromethane",
        ] {
            let found = ids(&engine, harmless, None);
            assert!(
                !found.iter().any(|id| id == "piperidine"
                    || id == "ephedrine"
                    || id == "acetic_anhydride"
                    || id == "nitroethane"),
                "{harmless}: {found:?}"
            );
        }
        assert_eq!(
            ids(&engine, "Pseudoephedrine sulfate", None),
            vec!["pseudoephedrine"]
        );
    }

    #[test]
    fn a_name_inside_a_longer_listed_name_counts_once() {
        let found = ids(&engine(), "1-Boc-4-piperidone 98%", None);
        assert_eq!(found, vec!["1boc4piperidone"]);
    }

    #[test]
    fn cas_and_name_of_different_substances_are_both_reported() {
        let found = ids(&engine(), "Acetone technical", Some("108-24-7"));
        assert_eq!(found, vec!["acetic_anhydride", "acetone"]);
    }

    #[test]
    fn normalize_folds_case_and_punctuation() {
        assert_eq!(normalize("  (±)-Ephedrine  HCl, 99%"), "ephedrine hcl 99");
    }
}
