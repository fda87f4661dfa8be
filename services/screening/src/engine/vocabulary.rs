//! The word tables the engine reads order lines with: data in `reference/vocabulary.toml`,
//! built into the binary and parsed once per process.

use std::sync::LazyLock;

use anyhow::Context as _;
use rustc_hash::FxHashSet as HashSet;
use serde::Deserialize;

use super::text::normalize;

/// The vocabulary file as the repository has it.
const BUILT_IN: &str = include_str!("../../reference/vocabulary.toml");

/// The word tables; each table's meaning is documented in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Vocabulary {
    pub salt_words: Words,
    pub cations: Words,
    pub alkyls: Words,
    pub substituents: Words,
    pub functional_suffixes: Words,
    pub functional_class_words: Words,
    pub class_words: Words,
    pub greek_locants: Words,
    pub dosage_words: Words,
    pub dosage_suffixes: Words,
    pub common_words: Words,
}

/// One table: its words in the file's order, and the same words to look one up.
#[derive(Debug)]
pub(super) struct Words {
    list: Vec<String>,
    set: HashSet<String>,
}

impl Words {
    pub fn contains(&self, word: &str) -> bool {
        self.set.contains(word)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(String::as_str)
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let list = Vec::<String>::deserialize(deserializer)?;
        let set = list.iter().cloned().collect();
        Ok(Self { list, set })
    }
}

impl Vocabulary {
    /// The built-in vocabulary.
    pub fn built_in() -> anyhow::Result<&'static Self> {
        static PARSED: LazyLock<Result<Vocabulary, String>> =
            LazyLock::new(|| Vocabulary::parse(BUILT_IN).map_err(|error| format!("{error:#}")));
        PARSED
            .as_ref()
            .map_err(|error| anyhow::anyhow!("reference/vocabulary.toml: {error}"))
    }

    /// Parses a vocabulary and checks that every word is written as the engine folds text and
    /// that no table repeats one.
    fn parse(text: &str) -> anyhow::Result<Self> {
        let vocabulary: Self = toml::from_str(text).context("not a vocabulary")?;
        for (table, words) in vocabulary.tables() {
            for word in words.iter() {
                anyhow::ensure!(
                    normalize(word) == word && !word.is_empty(),
                    "{table}: {word:?} is not written as folded text ({:?})",
                    normalize(word)
                );
            }
            anyhow::ensure!(
                words.set.len() == words.list.len(),
                "{table}: a word is listed twice"
            );
        }
        Ok(vocabulary)
    }

    fn tables(&self) -> [(&'static str, &Words); 11] {
        [
            ("salt_words", &self.salt_words),
            ("cations", &self.cations),
            ("alkyls", &self.alkyls),
            ("substituents", &self.substituents),
            ("functional_suffixes", &self.functional_suffixes),
            ("functional_class_words", &self.functional_class_words),
            ("class_words", &self.class_words),
            ("greek_locants", &self.greek_locants),
            ("dosage_words", &self.dosage_words),
            ("dosage_suffixes", &self.dosage_suffixes),
            ("common_words", &self.common_words),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_vocabulary_is_folded_and_has_no_repeats() {
        let vocabulary = Vocabulary::built_in().unwrap();
        assert!(vocabulary.alkyls.contains("tert butyl"));
        assert!(vocabulary.salt_words.contains("hydrochloride"));
        assert_eq!(vocabulary.cations.iter().next(), Some("sodium"));
    }

    #[test]
    fn a_word_not_folded_or_listed_twice_or_an_unknown_table_is_refused() {
        let mut text = BUILT_IN.replace("\"sodium\",", "\"Sodium\",");
        let error = Vocabulary::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("cations") && error.contains("Sodium"),
            "{error}"
        );
        text = BUILT_IN.replace("\"sodium\",", "\"potassium\",");
        let error = Vocabulary::parse(&text).unwrap_err().to_string();
        assert_eq!(error, "cations: a word is listed twice");
        text = format!("{BUILT_IN}\nanions = [\"chloride\"]\n");
        assert!(Vocabulary::parse(&text).is_err());
    }
}
