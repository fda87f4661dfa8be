//! Identification by number: CAS numbers (in their field or in the text) and HS or CN codes.

use domain::CasNumber;
use events::{LineField, MatchKind};

use super::{push_unique, Engine, Identification};

impl Engine {
    pub(super) fn add_cas(
        &self,
        found: &mut Vec<Identification>,
        cas: &CasNumber,
        field: LineField,
    ) {
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
    pub(super) fn add_code(&self, found: &mut Vec<Identification>, code: &str) {
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
}
