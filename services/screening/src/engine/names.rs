//! Names in the description: the entries' names, synonyms, salts and esters found as whole
//! words of the folded text, esters named once for several alkyls, and dotted abbreviations.

use events::{LineField, MatchKind};

use super::nomenclature::{alkyl_run, is_derivative, is_molar_concentration};
use super::patterns::PatternKind;
use super::text::normalize;
use super::{push_unique, Engine, Identification};

impl Engine {
    /// Names, synonyms, salts and esters that stand as whole words in the folded text, minus
    /// those inside a longer match or inside a look-alike's name, and those a neighbouring word
    /// turns into another compound ("dimethyl ether", "piperidine derivative").
    ///
    /// Matching ignores the spaces between words, so "methylbenzylketone", "phenyl acetic acid"
    /// and "pseudo-ephedrine" read as the listed names, but a match must begin and end where the
    /// text's words do.
    pub(super) fn find_names(&self, normalized: &str) -> Vec<Identification> {
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
            if is_derivative(self.vocabulary, normalized, start, end, before, after) {
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
    pub(super) fn enumerated_esters(&self, normalized: &str) -> Vec<Identification> {
        // Most lines name no alkyl twice: nothing to read.
        if normalized.matches("yl ").nth(1).is_none() {
            return Vec::new();
        }
        let words: Vec<&str> = normalized.split(' ').collect();
        let mut found = Vec::new();
        let mut index = 0;
        while index < words.len() {
            let (alkyls, end) = alkyl_run(self.vocabulary, &words, index);
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
    pub(super) fn expand_abbreviations(
        &self,
        description: &str,
        normalized: &str,
    ) -> Option<String> {
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
