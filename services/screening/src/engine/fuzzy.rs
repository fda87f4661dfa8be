//! Misspellings: a word that is no known word gets corrected to the one listed name word it is
//! one edit away from (two for long words), unless a look-alike chemical's word is as close.
//! A word that only occurs in longer names ("piperonyl" of "piperonyl butoxide"), and any short
//! word ("acd", "ehter"), counts only beside another word of such a name ("phenylacetic acd",
//! "diethyl ehter"): elsewhere it neither corrects nor stands in the way of a correction.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::patterns::PatternKind;
use super::vocabulary::Words;

/// Words shorter than this are corrected only beside a word of the same listed name.
const MIN_WORD_CHARS: usize = 6;
/// Words shorter than this are never corrected.
const MIN_SHORT_WORD_CHARS: usize = 3;
/// Listed names' words shorter than this are never a correction.
const MIN_SHORT_TARGET_CHARS: usize = 4;
/// Words at least this long may be two edits away.
const TWO_EDITS_FROM: usize = 10;

/// The corrector over the words of the listed names.
pub(super) struct Corrector {
    /// Every word of every pattern, look-alikes included: never corrected.
    known: HashSet<String>,
    /// Candidate words.
    words: Vec<Target>,
    /// Each word with up to two letters deleted (one for short words) -> the words.
    deletes: HashMap<String, Vec<u32>>,
    /// (first letter, length) of every candidate word: a word with no candidate of the same
    /// first letter and a length within two is not looked up further.
    shapes: HashSet<(char, usize)>,
    /// The companions of the short candidate words: a short word with none of them beside it
    /// is not looked up further.
    short_companions: HashSet<String>,
}

/// A word a misspelling may be corrected to, or that stands in the way of a correction.
#[derive(Default)]
struct Target {
    word: String,
    /// Only look-alikes use it.
    look_alike: bool,
    /// The entries whose names use it.
    substances: Vec<usize>,
    /// The other words of the names it occurs in.
    companions: HashSet<String>,
    /// It is a name by itself (a one-word pattern).
    alone: bool,
}

impl Target {
    /// Whether it applies where `neighbours` stand beside the misspelled word: a short word,
    /// or a word only of longer names, needs one of its companions there.
    fn applies(&self, neighbours: [&str; 2]) -> bool {
        let short = self.word.chars().count() < MIN_WORD_CHARS;
        let needs_company = short || !self.alone;
        !needs_company
            || neighbours
                .iter()
                .any(|word| self.companions.contains(*word))
    }
}

impl Corrector {
    /// A corrector towards the words of the patterns `texts` (of `kinds`, for `substances`);
    /// `common` words are known but never a correction.
    pub(super) fn new(
        texts: &[String],
        kinds: &[PatternKind],
        substances: &[usize],
        common: &Words,
    ) -> Self {
        let mut known: HashSet<String> = common.iter().map(str::to_owned).collect();
        let mut targets: HashMap<String, Target> = HashMap::default();
        for ((text, kind), substance) in texts.iter().zip(kinds).zip(substances) {
            let words: Vec<&str> = text.split(' ').collect();
            for word in &words {
                known.insert((*word).to_owned());
                let eligible = word.chars().count() >= MIN_SHORT_TARGET_CHARS
                    && word.chars().all(char::is_alphabetic);
                if !eligible {
                    continue;
                }
                let look_alike = *kind == PatternKind::LookAlike;
                let target = targets.entry((*word).to_owned()).or_insert(Target {
                    word: (*word).to_owned(),
                    look_alike,
                    ..Target::default()
                });
                // A word of a listed name is a target even when a look-alike shares it.
                target.look_alike &= look_alike;
                if !look_alike && !target.substances.contains(substance) {
                    target.substances.push(*substance);
                }
                target.alone |= words.len() == 1;
                target.companions.extend(
                    words
                        .iter()
                        .filter(|other| *other != word)
                        .map(|other| (*other).to_owned()),
                );
            }
        }
        let mut words: Vec<Target> = targets.into_values().collect();
        words.sort_by(|a, b| a.word.cmp(&b.word));
        let mut deletes: HashMap<String, Vec<u32>> = HashMap::default();
        let mut shapes: HashSet<(char, usize)> = HashSet::default();
        let short_companions = words
            .iter()
            .filter(|target| target.word.chars().count() < MIN_WORD_CHARS)
            .flat_map(|target| target.companions.iter().cloned())
            .collect();
        for (id, target) in words.iter().enumerate() {
            let first = target.word.chars().next().unwrap_or(' ');
            let length = target.word.chars().count();
            for nearby in length.saturating_sub(2)..=length + 2 {
                shapes.insert((first, nearby));
            }
            let depth = if length >= TWO_EDITS_FROM { 2 } else { 1 };
            for variant in deletions(&target.word, depth) {
                deletes.entry(variant).or_default().push(id as u32);
            }
        }
        Self {
            known,
            words,
            deletes,
            shapes,
            short_companions,
        }
    }

    /// The text with its misspelled words corrected, and a score (1 minus the edits per
    /// character), when anything was corrected.
    pub(super) fn correct(&self, normalized: &str) -> Option<(String, f64)> {
        let words: Vec<&str> = normalized.split(' ').collect();
        // Built only once a word is corrected: most lines have nothing to correct.
        let mut corrected: Option<Vec<&str>> = None;
        let mut edits = 0usize;
        let mut corrected_chars = 0usize;
        let mut guesses: Vec<Option<&str>> = vec![None; words.len()];
        for (index, word) in words.iter().enumerate() {
            let neighbours = [
                index.checked_sub(1).map_or("", |i| words[i]),
                words.get(index + 1).copied().unwrap_or(""),
            ];
            let assessment = self.assess(word, Some(neighbours));
            guesses[index] = assessment.guess;
            if let Some((target, distance)) = assessment.correction {
                edits += distance;
                corrected_chars += target.chars().count();
                corrected.get_or_insert_with(|| words.clone())[index] = target;
            }
        }
        // A word of a longer name needs its companion beside it; when the companion is
        // misspelled too ("potasium permangante"), each is read beside the other's correction
        // or best guess.
        for index in 0..words.len() {
            if corrected.as_ref().is_some_and(|c| c[index] != words[index]) {
                continue;
            }
            let best = |at: usize| match &corrected {
                Some(corrected) if corrected[at] != words[at] => Some(corrected[at]),
                _ => guesses[at],
            };
            let before = index.checked_sub(1).and_then(best);
            let after = (index + 1 < words.len()).then(|| best(index + 1)).flatten();
            if before.is_none() && after.is_none() {
                continue;
            }
            let neighbours = [
                before.unwrap_or_else(|| index.checked_sub(1).map_or("", |i| words[i])),
                after.unwrap_or_else(|| words.get(index + 1).copied().unwrap_or("")),
            ];
            if let Some((target, distance)) = self.assess(words[index], Some(neighbours)).correction
            {
                edits += distance;
                corrected_chars += target.chars().count();
                corrected.get_or_insert_with(|| words.clone())[index] = target;
            }
        }
        let corrected = corrected?;
        let score = 1.0 - edits as f64 / corrected_chars.max(1) as f64;
        Some((corrected.join(" "), score))
    }

    /// What `word` may be corrected to beside `neighbours` (`None`: wherever its companions
    /// stand).
    fn assess<'a>(&'a self, word: &str, neighbours: Option<[&str; 2]>) -> Assessment<'a> {
        const NOTHING: Assessment<'static> = Assessment {
            correction: None,
            guess: None,
        };
        let length = word.chars().count();
        if length < MIN_SHORT_WORD_CHARS
            || !word.chars().all(char::is_alphabetic)
            || self.known.contains(word)
        {
            return NOTHING;
        }
        // A misspelled first letter is not corrected: it keeps this look-up cheap.
        let first = word.chars().next().unwrap_or(' ');
        if !self.shapes.contains(&(first, length)) {
            return NOTHING;
        }
        if length < MIN_WORD_CHARS
            && !neighbours.is_some_and(|neighbours| {
                neighbours
                    .iter()
                    .any(|word| self.short_companions.contains(*word))
            })
        {
            return NOTHING;
        }
        let allowed = if length >= TWO_EDITS_FROM { 2 } else { 1 };
        // The word and each one-letter deletion of it, built in one buffer (no allocation per
        // variant: this runs on every unknown word of every line that named nothing).
        let mut candidates: Vec<u32> = Vec::new();
        let mut variant = String::with_capacity(word.len());
        for skip in std::iter::once(None).chain(word.char_indices().map(Some)) {
            variant.clear();
            match skip {
                None => variant.push_str(word),
                Some((offset, c)) => {
                    variant.push_str(&word[..offset]);
                    variant.push_str(&word[offset + c.len_utf8()..]);
                }
            }
            if let Some(ids) = self.deletes.get(variant.as_str()) {
                candidates.extend(ids);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut applicable = Closest::default();
        let mut anywhere = Closest::default();
        let mut closest_look_alike = usize::MAX;
        for id in candidates {
            let target = &self.words[id as usize];
            let distance = strsim::damerau_levenshtein(word, &target.word);
            if distance > allowed {
                continue;
            }
            if target.look_alike {
                closest_look_alike = closest_look_alike.min(distance);
                continue;
            }
            anywhere.offer(target, distance);
            if neighbours.is_none_or(|n| target.applies(n)) {
                applicable.offer(target, distance);
            }
        }
        // Ambiguous, or as close to a look-alike: leave the word as written.
        let clear = |closest: Closest<'a>| {
            closest
                .best
                .filter(|(_, distance, _)| !closest.tied && closest_look_alike > *distance)
                .map(|(target, distance, _)| (target, distance))
        };
        Assessment {
            correction: clear(applicable),
            guess: clear(anywhere).map(|(target, _)| target),
        }
    }
}

/// What a misspelled word may be: the correction where it stands, and the word it would be
/// corrected to if its companions stood beside it.
struct Assessment<'a> {
    correction: Option<(&'a str, usize)>,
    guess: Option<&'a str>,
}

/// The closest target seen so far, and whether another as close names other entries.
#[derive(Default, Clone, Copy)]
struct Closest<'a> {
    best: Option<(&'a str, usize, &'a [usize])>,
    tied: bool,
}

impl<'a> Closest<'a> {
    fn offer(&mut self, target: &'a Target, distance: usize) {
        match self.best {
            Some((_, best_distance, _)) if distance > best_distance => {}
            // Two words as close: ambiguous, unless both name the same entries
            // ("nitroethane", "nitroetano").
            Some((_, best_distance, best_substances)) if distance == best_distance => {
                self.tied |= best_substances != target.substances.as_slice();
            }
            _ => {
                self.best = Some((target.word.as_str(), distance, target.substances.as_slice()));
                self.tied = false;
            }
        }
    }
}

/// The word itself and every word made by deleting up to `depth` letters.
fn deletions(word: &str, depth: usize) -> HashSet<String> {
    let mut all = HashSet::default();
    all.insert(word.to_owned());
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
