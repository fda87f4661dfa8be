//! CAS Registry Numbers: format and check digit.

use std::fmt;

/// Why a text is not a CAS Registry Number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CasError {
    /// Characters other than digits and separators, or groups in the wrong place.
    #[error("not a CAS number: expected digits in the form 1234567-12-1")]
    Format,
    /// The number has fewer than 5 or more than 10 digits.
    #[error("a CAS number has 5 to 10 digits, this one has {0}")]
    Length(usize),
    /// The last digit does not match the checksum of the others.
    #[error("check digit is {actual}, expected {expected}")]
    CheckDigit { expected: u32, actual: u32 },
}

/// A CAS Registry Number whose check digit has been verified, stored in canonical hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CasNumber(String);

impl CasNumber {
    /// Parses `103-79-7`, `103797`, ` 103–79–7 ` (en dash) and similar; the check digit must be right.
    ///
    /// Hyphens, when present, must separate the groups where CAS puts them: the last group has
    /// one digit, the middle one two.
    pub fn parse(text: &str) -> Result<Self, CasError> {
        let cleaned: String = text
            .trim()
            .chars()
            .map(|c| match c {
                '\u{2010}'..='\u{2015}' | '_' => '-',
                other => other,
            })
            .filter(|c| !c.is_whitespace())
            .collect();
        if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_ascii_digit() || c == '-') {
            return Err(CasError::Format);
        }
        if cleaned.contains('-') {
            let groups: Vec<&str> = cleaned.split('-').collect();
            let well_formed = groups.len() == 3
                && (2..=7).contains(&groups[0].len())
                && groups[1].len() == 2
                && groups[2].len() == 1;
            if !well_formed {
                return Err(CasError::Format);
            }
        }
        let digits: Vec<u32> = cleaned.chars().filter_map(|c| c.to_digit(10)).collect();
        if !(5..=10).contains(&digits.len()) {
            return Err(CasError::Length(digits.len()));
        }
        let (body, check) = digits.split_at(digits.len() - 1);
        let sum: u32 = body
            .iter()
            .rev()
            .zip(1u32..)
            .map(|(digit, weight)| digit * weight)
            .sum();
        let expected = sum % 10;
        if expected != check[0] {
            return Err(CasError::CheckDigit {
                expected,
                actual: check[0],
            });
        }
        let body: String = body
            .iter()
            .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
            .collect();
        let (first, second) = body.split_at(body.len() - 2);
        Ok(Self(format!("{first}-{second}-{}", check[0])))
    }

    /// The canonical form, e.g. `108-24-7`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for CasNumber {
    type Err = CasError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for CasNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_valid_numbers_in_any_common_spelling() {
        for text in [
            "103-79-7",
            "103797",
            " 103 - 79 - 7 ",
            "103\u{2013}79\u{2013}7",
            "2167189-50-4",
        ] {
            assert!(CasNumber::parse(text).is_ok(), "{text}");
        }
        assert_eq!(
            CasNumber::parse("108247").map(|c| c.0),
            Ok("108-24-7".into())
        );
    }

    #[test]
    fn rejects_a_wrong_check_digit() {
        assert_eq!(
            CasNumber::parse("1609-66-5"),
            Err(CasError::CheckDigit {
                expected: 1,
                actual: 5
            })
        );
        assert!(CasNumber::parse("1609-66-1").is_ok());
    }

    #[test]
    fn rejects_malformed_text() {
        assert_eq!(CasNumber::parse("abc"), Err(CasError::Format));
        assert_eq!(CasNumber::parse(""), Err(CasError::Format));
        assert_eq!(CasNumber::parse("10-379-7"), Err(CasError::Format));
        assert_eq!(CasNumber::parse("1037"), Err(CasError::Length(4)));
        assert_eq!(CasNumber::parse("12345678901"), Err(CasError::Length(11)));
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,24}") {
            let _ = CasNumber::parse(&text);
        }

        #[test]
        fn canonical_form_parses_to_itself(body in 1000u64..999_999_999) {
            let digits: Vec<u32> = body.to_string().chars().filter_map(|c| c.to_digit(10)).collect();
            let sum: u32 = digits.iter().rev().zip(1u32..).map(|(d, w)| d * w).sum();
            let text = format!("{body}{}", sum % 10);
            let cas = CasNumber::parse(&text).expect("a computed check digit is valid");
            prop_assert_eq!(CasNumber::parse(cas.as_str()), Ok(cas.clone()));
        }
    }
}
