//! Identifies controlled and watch-listed substances in an order line the way a precursor
//! specialist reads it: by CAS number (in its field or in the text), by name, synonym, salt,
//! ester or trade name in the description, by HS or CN code, and through misspellings that
//! cannot be mistaken for a look-alike chemical.

mod fuzzy;
mod text;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind as AcMatchKind};
use domain::CasNumber;
use events::{LineField, MatchKind};

use crate::reference::{ReferenceData, Substance};

pub use text::normalize;

/// Shortest name or synonym matched inside free text; shorter abbreviations ("AA", "I2")
/// collide with ordinary words and product codes.
const MIN_NAME_CHARS: usize = 3;

/// Words that, right after a substance's name, say that the line is one of its salts or
/// hydrates.
const SALT_WORDS: &[&str] = &[
    "hydrochloride",
    "hcl",
    "dihydrochloride",
    "sulfate",
    "sulphate",
    "hemisulfate",
    "bisulfate",
    "maleate",
    "tartrate",
    "bitartrate",
    "citrate",
    "phosphate",
    "hydrobromide",
    "hbr",
    "hydroiodide",
    "mesylate",
    "fumarate",
    "succinate",
    "oxalate",
    "salt",
    "monohydrate",
    "hemihydrate",
    "dihydrate",
    "hydrate",
    "anhydrous",
    "base",
];

/// Cations that, before "<acid stem>ate", make a salt of a listed acid (sodium phenylacetate).
const CATIONS: &[&str] = &[
    "sodium",
    "potassium",
    "calcium",
    "lithium",
    "magnesium",
    "ammonium",
    "zinc",
    "barium",
];

/// Words that, right before a one-word name, make a substituted derivative of it
/// ("4-amino-1-Boc-piperidine", "N-nitroso...").
const SUBSTITUENTS: &[&str] = &[
    "amino",
    "boc",
    "cbz",
    "fmoc",
    "hydroxy",
    "oxo",
    "chloro",
    "bromo",
    "fluoro",
    "iodo",
    "nitro",
    "nitroso",
    "methoxy",
    "ethoxy",
    "cyano",
    "carboxy",
    "formyl",
    "acetyl",
    "benzoyl",
    "dimethylamino",
];

/// Words that, after a locant after a name, make it a substituent of another compound
/// ("piperidine-4-carboxylic acid", "piperidine-4-ol").
const FUNCTIONAL_SUFFIXES: &[&str] = &[
    "carboxylate",
    "carboxylic",
    "carboxamide",
    "carbonitrile",
    "carbaldehyde",
    "carboxaldehyde",
    "ol",
    "one",
    "amine",
    "methanol",
    "ethanol",
    "sulfonic",
    "sulfonate",
    "thiol",
    "yl",
];

/// Functional-class words that, right after a name, make another compound of it ("acetone
/// cyanohydrin", "methyl ethyl ketone peroxide", "acetone oxime").
const FUNCTIONAL_CLASS_WORDS: &[&str] = &[
    "cyanohydrin",
    "peroxide",
    "oxime",
    "hydrazone",
    "semicarbazone",
    "thiosemicarbazone",
    "azine",
    "acetal",
    "ketal",
    "imine",
    "sulfonic",
    "sulphonic",
    "sulfonyl",
    "sulfonate",
    "sulphonate",
    "sulfonamide",
    "amide",
    "diethylamide",
    "hydrazide",
    "anilide",
];

/// The class words a catalogue lists a name under ("Ketone, methyl isobutyl").
const CLASS_WORDS: &[&str] = &[
    "ketone",
    "acid",
    "ether",
    "anhydride",
    "chloride",
    "cyanide",
    "bromide",
];

/// Words of a medicine's dosage form: with an active substance, the line is a medicinal product.
const DOSAGE_WORDS: &[&str] = &[
    "tablet",
    "tablets",
    "tab",
    "tabs",
    "softgel",
    "softgels",
    "caplet",
    "caplets",
    "capsule",
    "capsules",
    "syrup",
    "injection",
    "ampoule",
    "ampoules",
    "ampule",
    "vial",
    "vials",
    "suppositories",
    "drops",
    "spray",
    "lozenges",
    // French, German, Spanish, Italian, Dutch, Polish.
    "comprime",
    "comprimes",
    "gelule",
    "gelules",
    "sirop",
    "tabletten",
    "kapseln",
    "comprimidos",
    "capsulas",
    "jarabe",
    "compresse",
    "capsule",
    "sciroppo",
    "tabletki",
    "kapsulki",
    "filmtabletten",
    "brausetabletten",
    "retardtabletten",
    "granulat",
    "nasenspray",
    "fiale",
    "fiala",
    "iniettabile",
    "inyectable",
    "injectable",
    "ampollas",
    "ampullen",
    "injektionslosung",
    "sirup",
];

/// Endings of German compound dosage words ("Erkältungssirup", "Filmtabletten").
const DOSAGE_SUFFIXES: &[&str] = &["tabletten", "sirup", "kapseln", "tropfen"];

/// Id suffix of the entries for medicinal products that contain a listed substance.
const MEDICINAL_SUFFIX: &str = "_medicinal_products";

/// Alkyl groups that, before "<acid stem>ate" or in "<acid> <alkyl> ester", make an ester.
const ALKYLS: &[&str] = &[
    "methyl",
    "ethyl",
    "propyl",
    "isopropyl",
    "butyl",
    "isobutyl",
    "tert butyl",
    "sec butyl",
    "benzyl",
    "amyl",
    "isoamyl",
    "pentyl",
    "isopentyl",
    "hexyl",
    "octyl",
];

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
    pub cas: Option<&'a str>,
    pub hs_code: Option<&'a str>,
}

/// What a pattern in the description stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatternKind {
    Name,
    Synonym,
    SaltForm,
    /// "<cation> <acid stem>ate": a salt of a listed acid.
    AcidSalt,
    /// "<alkyl> <acid stem>ate" or "<acid> <alkyl> ester".
    Ester,
    /// A chemical that must not be confused with the entry: whatever lies inside it does not
    /// identify anything.
    LookAlike,
    /// A salt descriptor ("hydrochloride"): never an identification by itself.
    SaltWord,
}

#[derive(Debug, Clone, Copy)]
struct Pattern {
    substance: usize,
    kind: PatternKind,
    /// Counts only where no other word stands right before it: "HCl" alone is hydrochloric
    /// acid, "Metformin HCl" is a salt of metformin.
    needs_free_start: bool,
}

/// The matching engine over one version of the reference data.
pub struct Engine {
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
        let mut builder = PatternsBuilder::default();
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
            builder.add_spellings(index, &substance.name, PatternKind::Name);
            for synonym in &substance.synonyms {
                builder.add_spellings(index, synonym, PatternKind::Synonym);
            }
            // Catalogue order: "Permanganate, potassium", "Acid, phenylacetic". Safe for
            // two plain words; longer names change meaning when reordered.
            for name in std::iter::once(&substance.name).chain(&substance.synonyms) {
                let folded = normalize(name);
                if let Some((first, second)) = folded.split_once(' ') {
                    let plain =
                        |word: &str| word.len() >= 4 && word.chars().all(char::is_alphabetic);
                    if plain(first) && plain(second) && !second.contains(' ') {
                        builder.add(index, &format!("{second} {first}"), PatternKind::Synonym);
                    }
                }
            }
            // "Ketone, methyl ethyl", "Acid, N-acetylanthranilic": the class word first.
            for name in std::iter::once(&substance.name).chain(&substance.synonyms) {
                let folded = normalize(name);
                if let Some((rest, last)) = folded.rsplit_once(' ') {
                    if rest.contains(' ') && CLASS_WORDS.contains(&last) {
                        builder.add(index, &format!("{last} {rest}"), PatternKind::Synonym);
                    }
                }
            }
            for (form, _) in &substance.salt_forms {
                // "methyl anthranilate": an ester, which regimes cover differently from salts.
                let ester = normalize(form)
                    .split_once(' ')
                    .is_some_and(|(first, rest)| ALKYLS.contains(&first) && rest.ends_with("ate"));
                let kind = if ester {
                    PatternKind::Ester
                } else {
                    PatternKind::SaltForm
                };
                builder.add_spellings(index, form, kind);
            }
            for look_alike in &substance.look_alikes {
                builder.add_spellings(index, look_alike, PatternKind::LookAlike);
            }
            for stem in acid_stems(substance) {
                let anion = format!("{stem}ate");
                if substance.scope.un_salts || substance.scope.eu_salts || substance.scope.us_salts
                {
                    for cation in CATIONS {
                        builder.add(index, &format!("{cation} {anion}"), PatternKind::AcidSalt);
                    }
                }
                if substance.scope.us_esters {
                    for alkyl in ALKYLS {
                        builder.add(index, &format!("{alkyl} {anion}"), PatternKind::Ester);
                        builder.add(
                            index,
                            &format!("{stem}ic acid {alkyl} ester"),
                            PatternKind::Ester,
                        );
                    }
                }
            }
        }
        for word in SALT_WORDS {
            builder.add(usize::MAX, word, PatternKind::SaltWord);
        }
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
        let cas = match line.cas.map(str::trim).filter(|text| !text.is_empty()) {
            None => CasField::Absent,
            Some(text) => match CasNumber::parse(text) {
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
        if line.description.len() > 3 && contains_ignore_case(line.description, "cas") {
            for candidate in text::labelled_cas_numbers(line.description) {
                if let Ok(cas) = CasNumber::parse(candidate) {
                    self.add_cas(&mut found, &cas, LineField::Description);
                }
            }
        }
        let normalized = ester_of_first(ring_names_as_listed(normalize(line.description)));
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

    fn add_cas(&self, found: &mut Vec<Identification>, cas: &CasNumber, field: LineField) {
        for &substance in self.by_cas.get(cas.as_str()).into_iter().flatten() {
            let identification = Identification {
                substance,
                kind: MatchKind::Cas,
                field,
                matched_text: cas.to_string(),
                score: 1.0,
            };
            push_unique(found, identification);
        }
    }

    /// An HS or CN code identifies a substance only when no other entry shares it and it is no
    /// residual "other" subdivision (HS subheadings ending in 9, CN subdivisions 9x), which
    /// covers unlisted chemicals as well.
    fn add_code(&self, found: &mut Vec<Identification>, code: &str) {
        let digits: String = code.chars().filter(char::is_ascii_digit).collect();
        let residual =
            digits.as_bytes().get(5) == Some(&b'9') || digits.as_bytes().get(6) == Some(&b'9');
        if residual {
            return;
        }
        let candidates = self
            .by_code
            .get(&digits)
            .or_else(|| digits.get(..6).and_then(|hs6| self.by_code.get(hs6)));
        if let Some([substance]) = candidates.map(Vec::as_slice) {
            let identification = Identification {
                substance: *substance,
                kind: MatchKind::HsCode,
                field: LineField::HsCode,
                matched_text: digits,
                score: 1.0,
            };
            push_unique(found, identification);
        }
    }

    /// Names, synonyms, salts and esters that stand as whole words in the folded text, minus
    /// those inside a longer match or inside a look-alike's name, and those a neighbouring word
    /// turns into another compound ("dimethyl ether", "piperidine derivative").
    ///
    /// Matching ignores the spaces between words, so "methylbenzylketone", "phenyl acetic acid"
    /// and "pseudo-ephedrine" read as the listed names, but a match must begin and end where the
    /// text's words do.
    fn find_names(&self, normalized: &str) -> Vec<Identification> {
        let text = Compact::new(normalized);
        let whole_words: Vec<aho_corasick::Match> = self
            .automaton
            .find_overlapping_iter(&text.compact)
            .filter(|m| text.boundary[m.start()] && text.boundary[m.end()])
            .collect();
        let kind_of = |m: &aho_corasick::Match| self.patterns[m.pattern().as_usize()].kind;
        let mut found: Vec<Identification> = Vec::new();
        for m in &whole_words {
            let pattern = self.patterns[m.pattern().as_usize()];
            if matches!(pattern.kind, PatternKind::LookAlike | PatternKind::SaltWord) {
                continue;
            }
            let (start, end) = text.span(m.start(), m.end());
            let before = normalized[..start]
                .trim_end()
                .rsplit(' ')
                .next()
                .unwrap_or_default();
            let after = normalized[end..]
                .trim_start()
                .split(' ')
                .next()
                .unwrap_or_default();
            if pattern.needs_free_start
                && before.chars().any(char::is_alphabetic)
                && !is_molar_concentration(&normalized[end..])
            {
                continue;
            }
            if is_derivative(normalized, start, end, before, after) {
                continue;
            }
            let covered = whole_words.iter().any(|other| {
                let contains =
                    other.start() <= m.start() && other.end() >= m.end() && other.len() > m.len();
                // Inside a look-alike, or inside a longer name: of another entry (4-piperidone in
                // 1-boc-4-piperidone) or of a form of the same one (its ester).
                contains && kind_of(other) != PatternKind::SaltWord
            });
            if covered {
                continue;
            }
            let mut kind = match pattern.kind {
                PatternKind::Name => MatchKind::Name,
                PatternKind::Synonym => MatchKind::Synonym,
                PatternKind::SaltForm | PatternKind::AcidSalt => MatchKind::SaltForm,
                PatternKind::Ester => MatchKind::Ester,
                PatternKind::LookAlike | PatternKind::SaltWord => continue,
            };
            let mut matched_end = end;
            // "ephedrine hydrochloride", "pseudoephedrine sulphate": the salt of the entry.
            if let Some(salt) = whole_words
                .iter()
                .find(|other| other.start() == m.end() && kind_of(other) == PatternKind::SaltWord)
            {
                if matches!(kind, MatchKind::Name | MatchKind::Synonym) {
                    kind = MatchKind::SaltForm;
                }
                matched_end = text.span(salt.start(), salt.end()).1;
            }
            let identification = Identification {
                substance: pattern.substance,
                kind,
                field: LineField::Description,
                matched_text: normalized[start..matched_end].to_owned(),
                score: 1.0,
            };
            push_unique(&mut found, identification);
        }
        found
    }

    /// Esters named once for several alkyls: "propyl, isopropyl and sec-butyl
    /// 2-methyl-3-phenylglycidate", "propyl and butyl esters of ...-2-carboxylic acid". Each
    /// alkyl is read with the name, as if written out.
    fn enumerated_esters(&self, normalized: &str) -> Vec<Identification> {
        // Most lines name no alkyl twice: nothing to read.
        if normalized.matches("yl ").nth(1).is_none() {
            return Vec::new();
        }
        let words: Vec<&str> = normalized.split(' ').collect();
        let mut found = Vec::new();
        let mut index = 0;
        while index < words.len() {
            let (alkyls, end) = alkyl_run(&words, index);
            if alkyls.len() < 2 {
                index += 1;
                continue;
            }
            let rest = &words[end..];
            let texts: Vec<String> = match rest {
                ["esters" | "ester", "of", acid @ ..] => {
                    let Some(position) = acid.iter().position(|word| *word == "acid") else {
                        index = end;
                        continue;
                    };
                    let named = &acid[..position];
                    let Some((last, body)) = named.split_last() else {
                        index = end;
                        continue;
                    };
                    let Some(stem) = last.strip_suffix("ic") else {
                        index = end;
                        continue;
                    };
                    alkyls
                        .iter()
                        .flat_map(|alkyl| {
                            [
                                format!("{alkyl} {} {stem}ate", body.join(" ")),
                                format!("{} acid {alkyl} ester", named.join(" ")),
                            ]
                        })
                        .collect()
                }
                _ => alkyls
                    .iter()
                    .map(|alkyl| format!("{alkyl} {}", rest.join(" ")))
                    .collect(),
            };
            for text in texts {
                for identification in self.find_names(&text) {
                    if self.patterns_kind_is_ester(&identification) {
                        push_unique(&mut found, identification);
                    }
                }
            }
            index = end;
        }
        found
    }

    fn patterns_kind_is_ester(&self, identification: &Identification) -> bool {
        let id = &self.substances[identification.substance].id;
        // The alkyl ester entries (glycidates) and the esters a regime covers.
        id.ends_with("_glycidate") || identification.kind == MatchKind::Ester
    }

    /// The description with its dotted abbreviations written out, where two neighbouring words
    /// begin exactly one listed two-word name: "Acet. anhydr." is "acetic anhydride", "Pot.
    /// perm." is "potassium permanganate".
    fn expand_abbreviations(&self, description: &str, normalized: &str) -> Option<String> {
        let dotted_word = description
            .as_bytes()
            .windows(2)
            .any(|pair| pair[0].is_ascii_alphabetic() && pair[1] == b'.');
        if !dotted_word {
            return None;
        }
        let abbreviated: Vec<String> = description
            .split(|c: char| c.is_whitespace() || c == '|' || c == ',' || c == '/')
            .filter_map(|token| token.strip_suffix('.'))
            .map(normalize)
            .filter(|word| word.len() >= 3 && word.chars().all(char::is_alphabetic))
            .collect();
        if abbreviated.is_empty() {
            return None;
        }
        let words: Vec<&str> = normalized.split(' ').collect();
        let mut expanded: Vec<String> = words.iter().map(|word| (*word).to_owned()).collect();
        let mut changed = false;
        for index in 0..words.len().saturating_sub(1) {
            let (first, second) = (words[index], words[index + 1]);
            let dotted = abbreviated
                .iter()
                .any(|word| word == first || word == second);
            let plain = |word: &str| word.len() >= 3 && word.chars().all(char::is_alphabetic);
            if !dotted || !plain(first) || !plain(second) {
                continue;
            }
            let mut candidates = self
                .two_word_names
                .iter()
                .filter(|(a, b, _)| a.starts_with(first) && b.starts_with(second));
            let Some((a, b, substance)) = candidates.next() else {
                continue;
            };
            if candidates.all(|(_, _, other)| other == substance) {
                expanded[index] = a.clone();
                expanded[index + 1] = b.clone();
                changed = true;
            }
        }
        changed.then(|| expanded.join(" "))
    }

    /// Entries that a found entry implies: a medicinal product implies its active substance, and
    /// an active substance in a dosage form implies the medicinal product entry.
    fn add_implied(&self, found: &mut Vec<Identification>, normalized: &str) {
        if found.is_empty() {
            return;
        }
        let dosage_form = normalized.split(' ').any(|word| {
            DOSAGE_WORDS.contains(&word)
                || DOSAGE_SUFFIXES
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

/// The folded text without its spaces, with where each of its bytes stood in the folded text
/// and where words begin and end.
struct Compact {
    compact: String,
    /// For each byte offset of `compact`, and its end, the offset in the folded text.
    original: Vec<u32>,
    /// Whether a word begins or ends at each byte offset of `compact`.
    boundary: Vec<bool>,
}

impl Compact {
    /// The folded text's byte range of a match over the compact text.
    fn span(&self, start: usize, end: usize) -> (usize, usize) {
        (
            self.original[start] as usize,
            self.original[end - 1] as usize + 1,
        )
    }

    fn new(normalized: &str) -> Self {
        let mut compact = String::with_capacity(normalized.len());
        let mut original = Vec::with_capacity(normalized.len() + 1);
        let mut boundary = Vec::with_capacity(normalized.len() + 1);
        let mut word_start = true;
        for (offset, c) in normalized.char_indices() {
            if c == ' ' {
                word_start = true;
                continue;
            }
            for byte in 0..c.len_utf8() {
                // Descriptions are at most a few kilobytes (ingest caps them).
                original.push(u32::try_from(offset + byte).unwrap_or(u32::MAX));
                boundary.push(word_start && byte == 0);
            }
            word_start = false;
            compact.push(c);
        }
        original.push(u32::try_from(normalized.len()).unwrap_or(u32::MAX));
        boundary.push(true);
        Self {
            compact,
            original,
            boundary,
        }
    }
}

/// Whether the words around a name found at `start..end` of the folded text make it part of
/// another compound's name, as a chemist reads them:
/// - a substituent right before a one-word name: "dimethyl ether", "heliotropyl acetone",
///   "4-phenyl-2-butanone", "N-nitroso...";
/// - an alkyl with a locant before it: "1-methyl-4-piperidone", "3-methyl-2-butanone";
/// - "N-" before an alkyl: "methyl N-methylanthranilate" (n-propyl and n-butyl are plain
///   alkyls);
/// - a locant and a functional suffix after it: "piperidine-4-carboxylate";
/// - a functional-class word after it: "acetone cyanohydrin", "methyl ethyl ketone peroxide",
///   "lysergic acid amide" (but "diethyl ether, peroxide-free" is the ether);
/// - "free" after it: "safrole-free camphor oil" has none.
fn is_derivative(normalized: &str, start: usize, end: usize, before: &str, after: &str) -> bool {
    let name = &normalized[start..end];
    // A leading locant belongs to the name: "2 butanone" is one name word.
    let name_words = name
        .split(' ')
        .skip_while(|word| is_locant(word) || GREEK_LOCANTS.contains(word))
        .count();
    // "benzodioxol-5-yl butan-2-one": a lone "yl" ends a substituent's name.
    if before == "yl" {
        return true;
    }
    let substituent = (before.len() > 3 && before.ends_with("yl") && !ALKYLS.contains(&before))
        || SUBSTITUENTS.contains(&before);
    if name_words == 1 && substituent {
        return true;
    }
    let mut preceding = normalized[..start].split_whitespace().rev();
    let _ = preceding.next();
    let before_before = preceding.next().unwrap_or_default();
    if ALKYLS.contains(&before) && is_locant(before_before) && before_before != "n" {
        return true;
    }
    // "N-methyl-4-piperidone": an alkyl on the nitrogen of a ring named with locants (n-propyl
    // and n-butyl are plain alkyls).
    let name_has_locant = name.split(' ').next().is_some_and(is_locant);
    if before_before == "n"
        && name_has_locant
        && !matches!(before, "propyl" | "butyl")
        && ALKYLS.contains(&before)
    {
        return true;
    }
    // "new BMK", "new PMK": street names of the glycidic derivatives, not the ketones.
    if before == "new" && (name.starts_with("bmk") || name.starts_with("pmk")) {
        return true;
    }
    // "methyl ether", "glycol ether", "crown ether": "ether" alone is diethyl ether only
    // without another alkyl or class before it.
    if name == "ether"
        && ((before.ends_with("yl") && !matches!(before, "ethyl" | "diethyl"))
            || matches!(before, "glycol" | "crown" | "petroleum"))
    {
        return true;
    }
    // "diethylene glycol diethyl ether": a glycol's ether, not diethyl ether.
    if name.ends_with("ether") && before.ends_with("glycol") {
        return true;
    }
    if before == "n" {
        let first = name.split(' ').next().unwrap_or_default();
        let plain_alkyl = ["propyl", "butyl"].iter().any(|a| first.starts_with(a));
        if ALKYLS.iter().any(|a| first.starts_with(a)) && !plain_alkyl {
            return true;
        }
    }
    let mut following = normalized[end..].split_whitespace();
    let _ = following.next();
    let after_after = following.next().unwrap_or_default();
    if is_locant(after) && after != "n" && FUNCTIONAL_SUFFIXES.contains(&after_after) {
        return true;
    }
    // "safrole-free", "acetone-free": the line says the name is absent ("free base" is not).
    let absent = after == "free" && !matches!(after_after, "base" | "acid" | "flowing");
    // "benzaldehyde dimethyl acetal", "1,4-butanediol diglycidyl ether": the name is one part
    // of an ether or acetal.
    if after.ends_with("yl") && matches!(after_after, "ether" | "acetal" | "ketal") {
        return true;
    }
    // "iodine monochloride", "phosphorus pentoxide": an element's binary compound.
    if name_words == 1 && is_binary_compound_word(after) {
        return true;
    }
    absent
        || matches!(
            after,
            "derivative" | "derivatives" | "deriv" | "diisocyanate"
        )
        || (FUNCTIONAL_CLASS_WORDS.contains(&after) && after_after != "free")
}

/// "0 1 mol l", "1 m", "0 5 n": a molar or normal concentration follows, as it does after an
/// acid ("HCl 0.1 mol/L") and never after a salt's name ("Metformin HCl 500 mg").
fn is_molar_concentration(after: &str) -> bool {
    let mut words = after.split_whitespace();
    let mut word = words.next().unwrap_or_default();
    if !word.bytes().all(|b| b.is_ascii_digit()) || word.is_empty() {
        return false;
    }
    // "0 1" is "0.1" folded.
    for next in words.by_ref() {
        word = next;
        if !word.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
    }
    matches!(word, "mol" | "m" | "n" | "molar" | "normal" | "mmol")
}

/// Whether `text` contains the ASCII `needle`, in any case (no allocation).
fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Ring names written the other usual way, as the catalogue writes them: "benzo[d][1,3]dioxol"
/// is "1,3-benzodioxol".
fn ring_names_as_listed(normalized: String) -> String {
    if normalized.contains("benzo d 1 3 dioxol") {
        normalized.replace("benzo d 1 3 dioxol", "1 3 benzodioxol")
    } else {
        normalized
    }
}

/// "isobutyl ester of P-2-P methyl glycidic acid" read in the catalogue's order, "P-2-P methyl
/// glycidic acid isobutyl ester", so the ester is recognised as such.
fn ester_of_first(normalized: String) -> String {
    if !normalized.contains("ester of ") {
        return normalized;
    }
    let words: Vec<&str> = normalized.split(' ').collect();
    let Some(ester) = words.windows(2).position(|pair| pair == ["ester", "of"]) else {
        return normalized;
    };
    let mut first_alkyl = ester;
    while first_alkyl > 0
        && (ALKYLS.contains(&words[first_alkyl - 1])
            || matches!(words[first_alkyl - 1], "sec" | "tert" | "n"))
    {
        first_alkyl -= 1;
    }
    let acid = words[ester + 2..]
        .iter()
        .take(8)
        .position(|word| *word == "acid")
        .map(|offset| ester + 2 + offset);
    let (Some(acid), true) = (acid, first_alkyl < ester) else {
        return normalized;
    };
    let mut reordered: Vec<&str> = words[..first_alkyl].to_vec();
    reordered.extend_from_slice(&words[ester + 2..=acid]);
    reordered.extend_from_slice(&words[first_alkyl..=ester]);
    reordered.extend_from_slice(&words[acid + 1..]);
    reordered.join(" ")
}

/// "monochloride", "trichloride", "pentoxide", "oxide": the anion word of a binary compound.
fn is_binary_compound_word(word: &str) -> bool {
    let stem = [
        "mono", "di", "tri", "tetra", "penta", "hexa", "hepta", "sesqui",
    ]
    .iter()
    .find_map(|prefix| word.strip_prefix(prefix))
    .unwrap_or(word);
    matches!(
        stem,
        "chloride" | "bromide" | "fluoride" | "oxide" | "xide" | "iodide" | "sulfide" | "sulphide"
    ) || word == "pentoxide"
}

/// Greek-letter positions written out, as the folded text has them ("gamma-butyrolactone").
const GREEK_LOCANTS: &[&str] = &["alpha", "beta", "gamma", "delta"];

/// The alkyls named in a row from `start` ("propyl isopropyl and sec butyl"), and where the
/// row ends.
fn alkyl_run(words: &[&str], start: usize) -> (Vec<String>, usize) {
    let mut alkyls = Vec::new();
    let mut index = start;
    while index < words.len() {
        let word = words[index];
        if matches!(word, "and" | "or" | "n") && !alkyls.is_empty() {
            index += 1;
            continue;
        }
        if matches!(word, "sec" | "tert") && words.get(index + 1) == Some(&"butyl") {
            alkyls.push(format!("{word} butyl"));
            index += 2;
            continue;
        }
        if ALKYLS.contains(&word) && word != "benzyl" {
            alkyls.push(word.to_owned());
            index += 1;
            continue;
        }
        break;
    }
    (alkyls, index)
}

/// A position number in a systematic name: "4" in "piperidine-4-carboxylate", "N" in
/// "N-methyl".
fn is_locant(word: &str) -> bool {
    matches!(word, "n" | "o")
        || (word.len() == 1 && word.bytes().all(|b| (b'1'..=b'9').contains(&b)))
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

/// "phenylacetic acid" -> "phenylacet": the stem its salts and esters are named from.
fn acid_stems(substance: &Substance) -> Vec<String> {
    let mut stems = Vec::new();
    for name in std::iter::once(&substance.name).chain(&substance.synonyms) {
        let folded = normalize(name);
        if let Some(stem) = folded.strip_suffix("ic acid") {
            if stem.len() >= 6 && !stems.contains(&stem.to_owned()) {
                stems.push(stem.to_owned());
            }
        }
    }
    stems
}

/// The folded text with each word respelled where `respell` says, when any word was.
fn respell(folded: &str, respell: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut changed = false;
    let words: Vec<String> = folded
        .split(' ')
        .map(|word| match respell(word) {
            Some(spelling) => {
                changed = true;
                spelling
            }
            None => word.to_owned(),
        })
        .collect();
    changed.then(|| words.join(" "))
}

#[derive(Default)]
struct PatternsBuilder {
    /// The patterns without spaces, as the automaton matches them.
    texts: Vec<String>,
    /// The patterns with their words, as the misspelling corrector learns them.
    words: Vec<String>,
    patterns: Vec<Pattern>,
    seen: HashSet<(String, usize)>,
}

impl PatternsBuilder {
    /// Adds a name with the spellings it is also written in: for an alkyl glycidate, the other
    /// orders ester names take ("isopropyl BMK glycidate", "BMK glycidic acid isopropyl ester");
    /// and each of those without the final "e" of its "-one", "-ine", "-ole", "-ate" words, as
    /// in German and Dutch (Aceton, Ephedrin, Safrol), and with Dutch "-aat" for "-ate"
    /// (glycidaat).
    fn add_spellings(&mut self, substance: usize, text: &str, kind: PatternKind) {
        let folded = normalize(text);
        let mut orders = vec![folded.clone()];
        let words: Vec<&str> = folded.split(' ').collect();
        if words.len() >= 3 && words.last() == Some(&"glycidate") {
            let body = &words[..words.len() - 1];
            let alkyl_words = if body.len() >= 3
                && matches!(body[body.len() - 2], "tert" | "sec" | "n" | "iso")
            {
                2
            } else {
                1
            };
            let (prefix, alkyl) = body.split_at(body.len() - alkyl_words);
            if !prefix.is_empty() && ALKYLS.contains(&alkyl.join(" ").as_str()) {
                let (prefix, alkyl) = (prefix.join(" "), alkyl.join(" "));
                orders.push(format!("{alkyl} {prefix} glycidate"));
                orders.push(format!("{prefix} glycidic acid {alkyl} ester"));
                if matches!(alkyl.as_str(), "propyl" | "butyl") {
                    orders.push(format!("{prefix} n {alkyl} glycidate"));
                }
            }
        }
        for order in orders {
            self.add(substance, &order, kind);
            let shortened = respell(&order, |word| {
                let germanic = ["one", "ine", "ide", "ate", "ene", "yde", "ane", "ole"]
                    .iter()
                    .any(|end| word.ends_with(end));
                (germanic && word.len() >= 6).then(|| word[..word.len() - 1].to_owned())
            });
            let dutch = respell(&order, |word| {
                (word.len() >= 6 && word.ends_with("ate"))
                    .then(|| format!("{}aat", &word[..word.len() - 3]))
            });
            for spelling in [shortened, dutch].into_iter().flatten() {
                self.add(substance, &spelling, kind);
            }
        }
    }

    fn add(&mut self, substance: usize, text: &str, kind: PatternKind) {
        let folded = normalize(text);
        if folded.chars().count() < MIN_NAME_CHARS && kind != PatternKind::SaltWord {
            return;
        }
        if !self.seen.insert((folded.clone(), substance)) {
            return;
        }
        // A synonym that names a salt ("ephedrine hydrochloride", "sodium phenylacetate") is one.
        let names_a_salt = folded.contains(' ')
            && (folded.split(' ').any(|word| SALT_WORDS.contains(&word))
                || folded
                    .split(' ')
                    .next()
                    .is_some_and(|word| CATIONS.contains(&word)));
        let kind = if kind == PatternKind::Synonym && names_a_salt {
            PatternKind::SaltForm
        } else {
            kind
        };
        // "HCl" after another word is that word's hydrochloride salt ("Metformin HCl").
        let needs_free_start = kind == PatternKind::Synonym && folded == "hcl";
        self.texts.push(folded.replace(' ', ""));
        self.words.push(folded);
        self.patterns.push(Pattern {
            substance,
            kind,
            needs_free_start,
        });
    }
}

#[cfg(test)]
mod tests;
