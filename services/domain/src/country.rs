//! ISO 3166-1 alpha-2 country codes.

mod codes;

use std::fmt;

/// Why a text is not a country code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryError {
    /// Not two letters, or two letters ISO 3166-1 does not assign.
    #[error("unknown ISO 3166-1 alpha-2 country code {0:?}")]
    Unknown(String),
}

/// An officially assigned ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses a two-letter code in either case, e.g. `de` or `DE`.
    pub fn parse(text: &str) -> Result<Self, CountryError> {
        let upper = text.trim().to_ascii_uppercase();
        let known = codes::COUNTRIES
            .binary_search_by(|(code, _)| (*code).cmp(upper.as_str()))
            .is_ok();
        match upper.as_bytes() {
            [a, b] if known => Ok(Self([*a, *b])),
            _ => Err(CountryError::Unknown(text.to_owned())),
        }
    }

    /// The code, e.g. `DE`.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The codes written one after the other with `separator` between them: `BE, DE`.
    pub fn join(codes: &[CountryCode], separator: &str) -> String {
        codes
            .iter()
            .map(CountryCode::as_str)
            .collect::<Vec<_>>()
            .join(separator)
    }

    /// The English short name, e.g. `Germany`.
    pub fn name(&self) -> &'static str {
        codes::COUNTRIES
            .binary_search_by(|(code, _)| (*code).cmp(self.as_str()))
            .map(|index| codes::COUNTRIES[index].1)
            .unwrap_or("unknown")
    }
}

impl std::str::FromStr for CountryCode {
    type Err = CountryError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A code equals its text in upper case: `CountryCode` "NL" == "NL".
impl PartialEq<str> for CountryCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CountryCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_complete() {
        assert!(codes::COUNTRIES
            .windows(2)
            .all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(codes::COUNTRIES.len(), 249);
    }

    #[test]
    fn parses_known_codes_in_any_case() {
        assert_eq!(
            CountryCode::parse("de").map(|c| c.to_string()),
            Ok("DE".into())
        );
        assert_eq!(
            CountryCode::parse("NL").map(|c| c.name()),
            Ok("Netherlands")
        );
    }

    #[test]
    fn rejects_unassigned_and_malformed_codes() {
        for text in ["XX", "UK", "DEU", "", "D"] {
            assert!(CountryCode::parse(text).is_err(), "{text}");
        }
    }
}
