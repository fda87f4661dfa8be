//! Identifies controlled and watch-listed substances in an order line the way a precursor
//! specialist reads it: by CAS number (in its field or in the text), by name, synonym, salt,
//! ester or trade name in the description, by HS or CN code, and through misspellings that
//! cannot be mistaken for a look-alike chemical.
//!
//! What the engine knows is split by kind: the word tables are data
//! (`reference/vocabulary.toml`, [`vocabulary`]); [`patterns`] turns each entry into the
//! spellings it is written in; [`names`] finds them in a description and [`nomenclature`] reads
//! the words around them as a chemist would; [`codes`] identifies by CAS number and HS code;
//! [`fuzzy`] corrects misspellings; [`text`] folds text and finds CAS numbers in it.

mod codes;
mod fuzzy;
mod names;
mod nomenclature;
mod patterns;
mod text;
mod vocabulary;

use rustc_hash::FxHashMap as HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind as AcMatchKind};
use domain::CasNumber;
use events::{LineField, MatchKind};

use crate::reference::{ReferenceData, Substance};
use nomenclature::{ester_of_first, ring_names_as_listed};
use patterns::{Pattern, PatternKind, PatternsBuilder};
use vocabulary::Vocabulary;

pub use text::normalize;

/// Id suffix of the entries for medicinal products that contain a listed substance.
const MEDICINAL_SUFFIX: &str = "_medicinal_products";

/// One identification in one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Identification {
    /// Index of the entry in [`Engine::substances`].
    pub substance: usize,
    pub kind: MatchKind,
    pub field: LineField,
    /// The text that matched: the CAS number, the code, or the description's words (folded).
    pub matched_text: String,
    /// 1 for an exact match, lower for a misspelling.
    pub score: f64,
}

/// What the engine made of a line's CAS field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasField {
    Absent,
    Valid(CasNumber),
    /// Not a CAS number, or a wrong check digit: never an identification.
    Invalid(String),
}

/// Everything identified in one line.
#[derive(Debug, Clone, PartialEq)]
pub struct LineResult {
    pub identifications: Vec<Identification>,
    pub cas: CasField,
}

/// The part of an order line the engine reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineInput<'a> {
    pub description: &'a str,
    pub cas: Option<CasInput<'a>>,
    pub hs_code: Option<&'a str>,
}

/// A line's CAS number as the engine is given it.
#[derive(Debug, Clone, Copy)]
pub enum CasInput<'a> {
    /// Checked already: an order line ingest accepted.
    Checked(&'a CasNumber),
    /// As written (a line screened offline, a labelled example): checked here, and reported as
    /// [`CasField::Invalid`] when it is no CAS number.
    Text(&'a str),
}

/// The matching engine over one version of the reference data.
pub struct Engine {
    vocabulary: &'static Vocabulary,
    version: String,
    substances: Vec<Substance>,
    by_cas: HashMap<String, Vec<usize>>,
    by_code: HashMap<String, Vec<usize>>,
    /// Look-alike chemicals' CAS numbers -> the entries they must not be read as.
    by_look_alike_cas: HashMap<String, Vec<usize>>,
    automaton: AhoCorasick,
    patterns: Vec<Pattern>,
    fuzzy: fuzzy::Corrector,
    /// Per entry: its medicinal-product entry, and, for a medicinal-product entry, its active
    /// substance; resolved once so that screening a line looks nothing up by name.
    medicinal: Vec<(Option<usize>, Option<usize>)>,
    /// The names and synonyms of two words, for abbreviations.
    two_word_names: Vec<(String, String, usize)>,
}

impl Engine {
    /// Builds the indexes over the reference data.
    pub fn new(data: ReferenceData) -> anyhow::Result<Self> {
        let mut by_cas: HashMap<String, Vec<usize>> = HashMap::default();
        let mut by_code: HashMap<String, Vec<usize>> = HashMap::default();
        let mut by_look_alike_cas: HashMap<String, Vec<usize>> = HashMap::default();
        let vocabulary = Vocabulary::built_in()?;
        let mut builder = PatternsBuilder::new(vocabulary);
        for (index, substance) in data.substances.iter().enumerate() {
            for cas in &substance.look_alike_cas {
                by_look_alike_cas
                    .entry(cas.as_str().to_owned())
                    .or_default()
                    .push(index);
            }
            let forms_cas = substance
                .salt_forms
                .iter()
                .filter_map(|(_, cas)| cas.as_ref());
            for cas in substance.cas.iter().chain(forms_cas) {
                let entries = by_cas.entry(cas.as_str().to_owned()).or_default();
                if !entries.contains(&index) {
                    entries.push(index);
                }
            }
            for code in &substance.codes {
                let entries = by_code.entry(code.clone()).or_default();
                if !entries.contains(&index) {
                    entries.push(index);
                }
            }
            builder.add_substance(index, substance);
        }
        builder.add_salt_words();
        // A DFA: more memory, the fastest search.
        let automaton = AhoCorasick::builder()
            .match_kind(AcMatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&builder.texts)?;
        let fuzzy = fuzzy::Corrector::new(
            &builder.words,
            &builder.patterns.iter().map(|p| p.kind).collect::<Vec<_>>(),
            &builder
                .patterns
                .iter()
                .map(|p| p.substance)
                .collect::<Vec<_>>(),
            &vocabulary.common_words,
        );
        let position = |id: &str| data.substances.iter().position(|s| s.id == id);
        let medicinal = data
            .substances
            .iter()
            .map(
                |substance| match substance.id.strip_suffix(MEDICINAL_SUFFIX) {
                    Some(active) => (None, position(active)),
                    None => (
                        position(&format!("{}{MEDICINAL_SUFFIX}", substance.id)),
                        None,
                    ),
                },
            )
            .collect();
        let two_word_names = builder
            .words
            .iter()
            .zip(&builder.patterns)
            .filter(|(_, pattern)| matches!(pattern.kind, PatternKind::Name | PatternKind::Synonym))
            .filter_map(|(text, pattern)| {
                let (a, b) = text.split_once(' ')?;
                (!b.contains(' ')).then(|| (a.to_owned(), b.to_owned(), pattern.substance))
            })
            .collect();
        Ok(Self {
            vocabulary,
            two_word_names,
            version: data.version,
            substances: data.substances,
            by_cas,
            by_code,
            by_look_alike_cas,
            automaton,
            patterns: builder.patterns,
            fuzzy,
            medicinal,
        })
    }

    /// The version of the reference data in use.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The list entries, indexed by [`Identification::substance`].
    pub fn substances(&self) -> &[Substance] {
        &self.substances
    }

    /// Every substance identified in the line, at most one identification per substance, the
    /// strongest evidence first: CAS field, CAS in the text, description, HS/CN code.
    pub fn screen_line(&self, line: LineInput<'_>) -> LineResult {
        let mut found: Vec<Identification> = Vec::new();
        let cas = match line.cas {
            None => CasField::Absent,
            Some(CasInput::Checked(cas)) => CasField::Valid(cas.clone()),
            Some(CasInput::Text(text)) if text.trim().is_empty() => CasField::Absent,
            Some(CasInput::Text(text)) => match CasNumber::parse(text.trim()) {
                Ok(cas) => CasField::Valid(cas),
                Err(error) => {
                    CasField::Invalid(format!("{text:?} is not a valid CAS number: {error}"))
                }
            },
        };
        if let CasField::Valid(cas) = &cas {
            self.add_cas(&mut found, cas, LineField::Cas);
        }
        for candidate in text::cas_candidates(line.description) {
            if let Ok(cas) = CasNumber::parse(candidate) {
                self.add_cas(&mut found, &cas, LineField::Description);
            }
        }
        if line.description.len() > 3 && text::contains_ignore_case(line.description, "cas") {
            for candidate in text::labelled_cas_numbers(line.description) {
                if let Ok(cas) = CasNumber::parse(candidate) {
                    self.add_cas(&mut found, &cas, LineField::Description);
                }
            }
        }
        let normalized = ester_of_first(
            self.vocabulary,
            ring_names_as_listed(normalize(line.description)),
        );
        let mut names = self.find_names(&normalized);
        for identification in self.enumerated_esters(&normalized) {
            push_unique(&mut names, identification);
        }
        if names.is_empty() {
            if let Some(expanded) = self.expand_abbreviations(line.description, &normalized) {
                names = self.find_names(&expanded);
            }
        }
        // A valid CAS number says what the line is more precisely than a guess at a misspelling.
        let cas_given = matches!(cas, CasField::Valid(_));
        if names.is_empty() && !cas_given {
            if let Some((corrected, score)) = self.fuzzy.correct(&normalized) {
                names = self.find_names(&corrected);
                for identification in &mut names {
                    identification.kind = MatchKind::Fuzzy;
                    identification.score = score;
                }
            }
        }
        // The CAS field names a look-alike: the description's resemblance to the entry is
        // just that ("3-chloropropiophenone" with the CAS of beta-chloropropiophenone).
        if let CasField::Valid(number) = &cas {
            if let Some(entries) = self.by_look_alike_cas.get(number.as_str()) {
                names.retain(|identification| !entries.contains(&identification.substance));
            }
        }
        for identification in names {
            push_unique(&mut found, identification);
        }
        // A tariff code is coarser than a CAS number: when the CAS field names a substance, a
        // code pointing elsewhere is a misdeclared code, not a second substance.
        if let Some(code) = line.hs_code {
            let mut by_code = Vec::new();
            self.add_code(&mut by_code, code);
            for identification in by_code {
                // The CAS field's own identifications are already in `found`.
                let cas_agrees = found.iter().any(|earlier| {
                    earlier.field == LineField::Cas && earlier.substance == identification.substance
                });
                if !cas_given || cas_agrees {
                    push_unique(&mut found, identification);
                }
            }
        }
        self.add_implied(&mut found, &normalized);
        LineResult {
            identifications: found,
            cas,
        }
    }

    /// Entries that a found entry implies: a medicinal product implies its active substance, and
    /// an active substance in a dosage form implies the medicinal product entry.
    fn add_implied(&self, found: &mut Vec<Identification>, normalized: &str) {
        if found.is_empty() {
            return;
        }
        let dosage_form = normalized.split(' ').any(|word| {
            self.vocabulary.dosage_words.contains(word)
                || self
                    .vocabulary
                    .dosage_suffixes
                    .iter()
                    .any(|suffix| word.len() > suffix.len() && word.ends_with(suffix))
        });
        let mut implied = Vec::new();
        for identification in found.iter() {
            let (medicinal, active) = self.medicinal[identification.substance];
            let other = match (active, medicinal) {
                (Some(active), _) => Some(active),
                (None, Some(medicinal)) if dosage_form => Some(medicinal),
                _ => None,
            };
            if let Some(index) = other {
                implied.push(Identification {
                    substance: index,
                    ..identification.clone()
                });
            }
        }
        for identification in implied {
            push_unique(found, identification);
        }
    }
}

/// Keeps the first (strongest) identification of each substance.
fn push_unique(found: &mut Vec<Identification>, identification: Identification) {
    if !found
        .iter()
        .any(|seen| seen.substance == identification.substance)
    {
        found.push(identification);
    }
}

#[cfg(test)]
mod tests;
