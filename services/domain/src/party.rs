//! Parties and what they bought: recognising one buyer across suppliers (registration numbers
//! and names normalised the same way whoever reports them, and names that only look alike, a
//! Cyrillic "о" for a Latin "o", through their Unicode confusable skeletons, UTS #39), its
//! purchases, and the parties authorities watch.

/// One purchase of one identified substance, from the order screened or from the buyer's
/// history on the platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    pub report_id: String,
    pub company_id: String,
    pub line_number: i32,
    pub substance_id: String,
    pub substance_name: String,
    /// The pure amount in the base unit of its dimension.
    pub amount: f64,
    /// `kg`, `l` or `each`.
    pub unit: String,
    /// When it was ordered (the report's submission time), microseconds since the epoch.
    pub at: i64,
}

/// A party an authority has put on its watch list.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchedParty {
    /// Country code of the authority that listed it.
    pub authority: String,
    pub name: String,
    pub country: String,
    pub registration_number: Option<String>,
    pub reason: String,
}

/// Words of company names that say only the legal form.
const LEGAL_FORMS: &[&str] = &[
    "ab",
    "ag",
    "aps",
    "as",
    "bv",
    "bvba",
    "co",
    "company",
    "corp",
    "corporation",
    "cv",
    "doo",
    "eirl",
    "gmbh",
    "inc",
    "incorporated",
    "kft",
    "kg",
    "limited",
    "llc",
    "llp",
    "ltd",
    "mbh",
    "nv",
    "oy",
    "oyj",
    "plc",
    "pty",
    "sa",
    "sae",
    "sarl",
    "sas",
    "spa",
    "sro",
    "srl",
    "the",
    "ug",
    "zoo",
];

/// How a buyer is keyed: by registration number where one is given, by name, and by what the
/// name looks like, always with the country.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PartyKey {
    Registration {
        country: String,
        number: String,
    },
    Name {
        country: String,
        name: String,
    },
    /// The normalised name's confusable skeleton: names that are drawn alike share it.
    LookAlike {
        country: String,
        skeleton: String,
    },
}

impl PartyKey {
    /// The kind stored with the key: `registration` or `name`.
    pub fn kind(&self) -> &'static str {
        match self {
            PartyKey::Registration { .. } => "registration",
            PartyKey::Name { .. } => "name",
            PartyKey::LookAlike { .. } => "look_alike",
        }
    }

    /// The country of the key.
    pub fn country(&self) -> &str {
        match self {
            PartyKey::Registration { country, .. }
            | PartyKey::Name { country, .. }
            | PartyKey::LookAlike { country, .. } => country,
        }
    }

    /// The normalised value.
    pub fn value(&self) -> &str {
        match self {
            PartyKey::Registration { number, .. } => number,
            PartyKey::Name { name, .. } => name,
            PartyKey::LookAlike { skeleton, .. } => skeleton,
        }
    }

    /// The rule that recognised a buyer by this key, as recorded with the decision.
    pub fn rule(&self) -> String {
        match self {
            PartyKey::Registration { country, number } => {
                format!("same registration number {number} in {country}")
            }
            PartyKey::Name { country, name } => {
                format!("same normalised name \"{name}\" in {country}")
            }
            PartyKey::LookAlike { country, .. } => {
                format!("a name drawn alike in {country} (same Unicode confusable skeleton)")
            }
        }
    }

    /// The keys a customer is known by, the strongest first.
    pub fn of(country: &str, name: &str, registration: Option<&str>) -> Vec<PartyKey> {
        let mut keys = Vec::new();
        if let Some(number) = registration
            .map(normalize_registration)
            .filter(|n| !n.is_empty())
        {
            keys.push(PartyKey::Registration {
                country: country.to_owned(),
                number,
            });
        }
        let name = normalize_name(name);
        if !name.is_empty() {
            let skeleton = look_alike_skeleton(&name);
            keys.push(PartyKey::Name {
                country: country.to_owned(),
                name,
            });
            keys.push(PartyKey::LookAlike {
                country: country.to_owned(),
                skeleton,
            });
        }
        keys
    }
}

/// A name folded for comparison: lower case, accents and punctuation removed, legal forms
/// dropped, "&" read as "and": "ACME Chemicals B.V." and "Acme chemicals bv" are both
/// `acme chemicals`.
pub fn normalize_name(name: &str) -> String {
    let lower: String = name.chars().flat_map(char::to_lowercase).collect();
    let folded: String = crate::text::without_accents(&lower)
        .map(|c| if c == '&' { ' ' } else { c })
        .collect();
    // Dotted abbreviations are one word: "b.v." is "bv", "s.a." is "sa".
    let joined = folded.replace('.', "");
    joined
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty() && !LEGAL_FORMS.contains(word) && *word != "and")
        .collect::<Vec<_>>()
        .join(" ")
}

/// The UTS #39 confusable skeleton of a normalised name, in lower case: "оmega chem" with a
/// Cyrillic "о" and "0mega chem" with a zero both draw like "omega chem".
pub fn look_alike_skeleton(name: &str) -> String {
    let skeleton: String = unicode_security::skeleton(name).collect();
    skeleton.chars().flat_map(char::to_lowercase).collect()
}

/// The words of `name` that mix writing systems (Latin letters among Cyrillic ones, say), each
/// with the scripts it mixes: how a look-alike letter shows. Scripts used together in one
/// writing system (Han with Hiragana and Katakana) do not count.
pub fn mixed_script_words(name: &str) -> Vec<(String, Vec<&'static str>)> {
    use unicode_script::{Script, UnicodeScript as _};
    use unicode_security::MixedScript as _;
    name.split_whitespace()
        .filter(|word| !word.is_single_script())
        .map(|word| {
            let mut scripts: Vec<&'static str> = Vec::new();
            for c in word.chars() {
                let script = c.script();
                if !matches!(script, Script::Common | Script::Inherited | Script::Unknown)
                    && !scripts.contains(&script.full_name())
                {
                    scripts.push(script.full_name());
                }
            }
            (word.to_owned(), scripts)
        })
        .collect()
}

/// A registration, licence or VAT number folded for comparison: letters and digits only,
/// upper case.
pub fn normalize_registration(number: &str) -> String {
    number
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// How alike two normalised names are, from 0 to 1: Jaro-Winkler over the words in order and
/// sorted, whichever is higher ("Chemicals Acme" is "Acme Chemicals").
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let sorted = |text: &str| {
        let mut words: Vec<&str> = text.split(' ').collect();
        words.sort_unstable();
        words.join(" ")
    };
    strsim::jaro_winkler(a, b).max(strsim::jaro_winkler(&sorted(a), &sorted(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn legal_forms_punctuation_and_case_do_not_matter() {
        assert_eq!(normalize_name("ACME Chemicals B.V."), "acme chemicals");
        assert_eq!(normalize_name("Acme chemicals bv"), "acme chemicals");
        assert_eq!(normalize_name("Société Chimique S.A."), "societe chimique");
        assert_eq!(normalize_name("Smith & Sons Ltd"), "smith sons");
        assert_eq!(
            normalize_registration("nl 8123.45.678 B01"),
            "NL812345678B01"
        );
    }

    #[test]
    fn look_alike_letters_share_a_skeleton_and_show_as_mixed_scripts() {
        // "Оmega" with a Cyrillic capital O (U+041E).
        let cyrillic = "\u{041E}mega Chem Ltd";
        assert_ne!(normalize_name(cyrillic), normalize_name("Omega Chem Ltd"));
        let skeleton = |name: &str| look_alike_skeleton(&normalize_name(name));
        assert_eq!(skeleton(cyrillic), skeleton("Omega Chem Ltd"));
        assert_eq!(skeleton("0mega Chem"), skeleton("Omega Chem"));
        assert_ne!(skeleton("Omega Chem"), skeleton("Alpha Chem"));
        let keys = PartyKey::of("NL", cyrillic, None);
        assert_eq!(
            keys.iter().map(PartyKey::kind).collect::<Vec<_>>(),
            ["name", "look_alike"]
        );
        assert_eq!(
            mixed_script_words(cyrillic),
            [("\u{041E}mega".to_owned(), vec!["Cyrillic", "Latin"])]
        );
        for honest in [
            "Omega Chem Ltd",
            "ООО Химпром",
            "東京化学 株式会社",
            "ACME Россия",
            "3M Co.",
        ] {
            assert!(mixed_script_words(honest).is_empty(), "{honest}");
        }
    }

    #[test]
    fn keys_prefer_the_registration_number() {
        let keys = PartyKey::of("NL", "Acme BV", Some("KvK 1234"));
        assert_eq!(keys[0].kind(), "registration");
        assert_eq!(keys[0].value(), "KVK1234");
        assert_eq!(keys[1].value(), "acme");
        assert_eq!(PartyKey::of("NL", "Acme BV", Some(" ")).len(), 2);
        assert_eq!(keys[2].kind(), "look_alike");
    }

    #[test]
    fn similar_names_score_high_and_others_low() {
        assert!(name_similarity("acme chemicals", "acme chemical") > 0.95);
        assert!(name_similarity("chemicals acme", "acme chemicals") > 0.99);
        assert!(name_similarity("acme chemicals", "borealis polymers") < 0.7);
    }

    proptest! {
        #[test]
        fn normalising_twice_changes_nothing(name in "\\PC{0,40}") {
            let once = normalize_name(&name);
            prop_assert_eq!(normalize_name(&once), once.clone());
        }

        #[test]
        fn similarity_is_between_zero_and_one(a in "[a-z ]{0,20}", b in "[a-z ]{0,20}") {
            let similarity = name_similarity(&a, &b);
            prop_assert!((0.0..=1.0).contains(&similarity));
        }
    }
}
