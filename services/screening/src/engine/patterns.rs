//! The patterns the engine looks for in a description: each entry's name, synonyms, salts,
//! esters and look-alikes, in the spellings and word orders they are written in.

use rustc_hash::FxHashSet as HashSet;

use super::text::normalize;
use super::vocabulary::Vocabulary;
use crate::reference::Substance;

/// Shortest name or synonym matched inside free text; shorter abbreviations ("AA", "I2")
/// collide with ordinary words and product codes.
const MIN_NAME_CHARS: usize = 3;

/// What a pattern in the description stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PatternKind {
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
pub(super) struct Pattern {
    pub substance: usize,
    pub kind: PatternKind,
    /// Counts only where no other word stands right before it: "HCl" alone is hydrochloric
    /// acid, "Metformin HCl" is a salt of metformin.
    pub needs_free_start: bool,
}

/// The patterns of a version of the reference data, as they are added.
pub(super) struct PatternsBuilder {
    vocabulary: &'static Vocabulary,
    /// The patterns without spaces, as the automaton matches them.
    pub texts: Vec<String>,
    /// The patterns with their words, as the misspelling corrector learns them.
    pub words: Vec<String>,
    pub patterns: Vec<Pattern>,
    seen: HashSet<(String, usize)>,
}

impl PatternsBuilder {
    pub fn new(vocabulary: &'static Vocabulary) -> Self {
        Self {
            vocabulary,
            texts: Vec::new(),
            words: Vec::new(),
            patterns: Vec::new(),
            seen: HashSet::default(),
        }
    }

    /// Adds an entry's names, synonyms (also in catalogue order), salt forms, esters and
    /// look-alikes.
    pub fn add_substance(&mut self, index: usize, substance: &Substance) {
        self.add_spellings(index, &substance.name, PatternKind::Name);
        for synonym in &substance.synonyms {
            self.add_spellings(index, synonym, PatternKind::Synonym);
        }
        // Catalogue order: "Permanganate, potassium", "Acid, phenylacetic". Safe for
        // two plain words; longer names change meaning when reordered.
        for name in std::iter::once(&substance.name).chain(&substance.synonyms) {
            let folded = normalize(name);
            if let Some((first, second)) = folded.split_once(' ') {
                let plain = |word: &str| word.len() >= 4 && word.chars().all(char::is_alphabetic);
                if plain(first) && plain(second) && !second.contains(' ') {
                    self.add(index, &format!("{second} {first}"), PatternKind::Synonym);
                }
            }
        }
        // "Ketone, methyl ethyl", "Acid, N-acetylanthranilic": the class word first.
        for name in std::iter::once(&substance.name).chain(&substance.synonyms) {
            let folded = normalize(name);
            if let Some((rest, last)) = folded.rsplit_once(' ') {
                if rest.contains(' ') && self.vocabulary.class_words.contains(last) {
                    self.add(index, &format!("{last} {rest}"), PatternKind::Synonym);
                }
            }
        }
        for (form, _) in &substance.salt_forms {
            // "methyl anthranilate": an ester, which regimes cover differently from salts.
            let ester = normalize(form)
                .split_once(' ')
                .is_some_and(|(first, rest)| {
                    self.vocabulary.alkyls.contains(first) && rest.ends_with("ate")
                });
            let kind = if ester {
                PatternKind::Ester
            } else {
                PatternKind::SaltForm
            };
            self.add_spellings(index, form, kind);
        }
        for look_alike in &substance.look_alikes {
            self.add_spellings(index, look_alike, PatternKind::LookAlike);
        }
        for stem in acid_stems(substance) {
            let anion = format!("{stem}ate");
            if substance.scope.un_salts || substance.scope.eu_salts || substance.scope.us_salts {
                for cation in self.vocabulary.cations.iter() {
                    self.add(index, &format!("{cation} {anion}"), PatternKind::AcidSalt);
                }
            }
            if substance.scope.us_esters {
                for alkyl in self.vocabulary.alkyls.iter() {
                    self.add(index, &format!("{alkyl} {anion}"), PatternKind::Ester);
                    self.add(
                        index,
                        &format!("{stem}ic acid {alkyl} ester"),
                        PatternKind::Ester,
                    );
                }
            }
        }
    }

    /// The salt descriptors, which identify nothing alone but make a name before them a salt.
    pub fn add_salt_words(&mut self) {
        for word in self.vocabulary.salt_words.iter() {
            self.add(usize::MAX, word, PatternKind::SaltWord);
        }
    }

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
            if !prefix.is_empty() && self.vocabulary.alkyls.contains(&alkyl.join(" ")) {
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
            && (folded
                .split(' ')
                .any(|word| self.vocabulary.salt_words.contains(word))
                || folded
                    .split(' ')
                    .next()
                    .is_some_and(|word| self.vocabulary.cations.contains(word)));
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
