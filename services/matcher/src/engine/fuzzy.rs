//! Misspellings: a word that is no known word gets corrected to the one listed name word it is
//! one edit away from (two for long words), unless a look-alike chemical's word is as close.

use std::collections::{HashMap, HashSet};

use super::PatternKind;

/// Words shorter than this are never corrected.
const MIN_WORD_CHARS: usize = 6;
/// Words at least this long may be two edits away.
const TWO_EDITS_FROM: usize = 10;

/// Words of order lines that are no chemical: never worth a correction.
const COMMON: &[&str] = &[
    "technical",
    "grade",
    "solution",
    "aqueous",
    "drum",
    "drums",
    "bottle",
    "bottles",
    "bag",
    "bags",
    "container",
    "containers",
    "canister",
    "jerrycan",
    "carboy",
    "pallet",
    "pallets",
    "sample",
    "samples",
    "pure",
    "purity",
    "purified",
    "crystals",
    "crystal",
    "crystalline",
    "powder",
    "liquid",
    "granules",
    "flakes",
    "pellets",
    "reagent",
    "analytical",
    "industrial",
    "pharma",
    "pharmaceutical",
    "food",
    "cosmetic",
    "laboratory",
    "standard",
    "extra",
    "approx",
    "approximately",
    "batch",
    "against",
    "delivery",
    "shipment",
    "order",
    "product",
    "quality",
    "certified",
    "tablets",
    "capsules",
    "syrup",
    "injection",
    "ampoules",
    "natural",
    "synthetic",
    "mixture",
    "blend",
    "cleaner",
    "cleaning",
    "solvent",
    "solvents",
    "additive",
    "intermediate",
    "material",
    "bulk",
    "stainless",
    "plastic",
    "packaging",
];

/// The corrector over the words of the listed names.
pub(super) struct Corrector {
    /// Every word of every pattern, look-alikes included: never corrected.
    known: HashSet<String>,
    /// Candidate words and whether each belongs to a look-alike only.
    words: Vec<(String, bool)>,
    /// Each word with up to two letters deleted (one for short words) -> the words.
    deletes: HashMap<String, Vec<u32>>,
}

impl Corrector {
    pub(super) fn new(texts: &[String], kinds: &[PatternKind]) -> Self {
        let mut known: HashSet<String> = COMMON.iter().map(|word| (*word).to_owned()).collect();
        let mut targets: HashMap<String, bool> = HashMap::new();
        for (text, kind) in texts.iter().zip(kinds) {
            for word in text.split(' ') {
                known.insert(word.to_owned());
                let eligible =
                    word.chars().count() >= MIN_WORD_CHARS && word.chars().all(char::is_alphabetic);
                if !eligible {
                    continue;
                }
                let look_alike = *kind == PatternKind::LookAlike;
                let entry = targets.entry(word.to_owned()).or_insert(look_alike);
                // A word of a listed name is a target even when a look-alike shares it.
                *entry &= look_alike;
            }
        }
        let mut words: Vec<(String, bool)> = targets.into_iter().collect();
        words.sort();
        let mut deletes: HashMap<String, Vec<u32>> = HashMap::new();
        for (id, (word, _)) in words.iter().enumerate() {
            let depth = if word.chars().count() >= TWO_EDITS_FROM {
                2
            } else {
                1
            };
            for variant in deletions(word, depth) {
                deletes.entry(variant).or_default().push(id as u32);
            }
        }
        Self {
            known,
            words,
            deletes,
        }
    }

    /// The text with its misspelled words corrected, and a score (1 minus the edits per
    /// character), when anything was corrected.
    pub(super) fn correct(&self, normalized: &str) -> Option<(String, f64)> {
        let mut corrected = Vec::new();
        let mut edits = 0usize;
        let mut corrected_chars = 0usize;
        for word in normalized.split(' ') {
            match self.correct_word(word) {
                Some((target, distance)) => {
                    edits += distance;
                    corrected_chars += target.chars().count();
                    corrected.push(target);
                }
                None => corrected.push(word),
            }
        }
        if edits == 0 {
            return None;
        }
        let score = 1.0 - edits as f64 / corrected_chars.max(1) as f64;
        Some((corrected.join(" "), score))
    }

    fn correct_word<'a>(&'a self, word: &str) -> Option<(&'a str, usize)> {
        let length = word.chars().count();
        if length < MIN_WORD_CHARS
            || !word.chars().all(char::is_alphabetic)
            || self.known.contains(word)
        {
            return None;
        }
        let allowed = if length >= TWO_EDITS_FROM { 2 } else { 1 };
        let mut candidates: HashSet<u32> = HashSet::new();
        for variant in deletions(word, 1) {
            if let Some(ids) = self.deletes.get(&variant) {
                candidates.extend(ids);
            }
        }
        let mut best: Option<(&str, usize)> = None;
        let mut tied = false;
        let mut closest_look_alike = usize::MAX;
        for id in candidates {
            let (candidate, look_alike) = &self.words[id as usize];
            let distance = strsim::damerau_levenshtein(word, candidate);
            if distance > allowed {
                continue;
            }
            if *look_alike {
                closest_look_alike = closest_look_alike.min(distance);
                continue;
            }
            match best {
                Some((_, best_distance)) if distance > best_distance => {}
                Some((_, best_distance)) if distance == best_distance => tied = true,
                _ => {
                    best = Some((candidate.as_str(), distance));
                    tied = false;
                }
            }
        }
        let (target, distance) = best?;
        // Ambiguous, or as close to a look-alike: leave the word as written.
        if tied || closest_look_alike <= distance {
            return None;
        }
        Some((target, distance))
    }
}

/// The word itself and every word made by deleting up to `depth` letters.
fn deletions(word: &str, depth: usize) -> HashSet<String> {
    let mut all = HashSet::from([word.to_owned()]);
    let mut frontier = vec![word.to_owned()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for current in &frontier {
            let chars: Vec<char> = current.chars().collect();
            for skip in 0..chars.len() {
                let variant: String = chars
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, c)| c)
                    .collect();
                if all.insert(variant.clone()) {
                    next.push(variant);
                }
            }
        }
        frontier = next;
    }
    all
}
