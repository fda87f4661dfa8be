//! Text as the domain compares and accepts it: accents folded away for comparison, and the
//! characters no text field of the APIs accepts: control characters (which break logs, CSV
//! exports and the lines of an authority's case system, and which no order document needs) and
//! the invisible bidirectional controls that make text read differently than it is stored.

use unicode_normalization::UnicodeNormalization as _;

/// The characters of `text` without their accents (canonical decomposition, combining marks
/// dropped): "Éphédrine" gives "Ephedrine", "Société" "Societe". Case is kept.
pub fn without_accents(text: &str) -> impl Iterator<Item = char> + '_ {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
}

/// The first character of `text` that no text field accepts, if any. `line_breaks` lets LF and
/// CR through, for prose such as an authority's note.
pub fn forbidden_char(text: &str, line_breaks: bool) -> Option<char> {
    text.chars().find(|&c| {
        let line_break = matches!(c, '\n' | '\r');
        (c.is_control() && !(line_breaks && line_break)) || is_bidi_control(c)
    })
}

/// The reason a text field is refused, naming the character: `contains the control character
/// U+0009`.
pub fn forbidden_reason(c: char) -> String {
    let kind = if is_bidi_control(c) {
        "the bidirectional control"
    } else {
        "the control character"
    };
    format!("contains {kind} U+{:04X}", u32::from(c))
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

#[cfg(test)]
mod tests {
    #[test]
    fn accents_are_folded_and_case_kept() {
        let folded: String = super::without_accents("Éphédrine, Société, Ærø, ǅ").collect();
        assert_eq!(folded, "Ephedrine, Societe, Ærø, ǅ");
    }

    use super::*;

    #[test]
    fn control_and_bidirectional_characters_are_refused() {
        assert_eq!(forbidden_char("SO-2026-0001", false), None);
        assert_eq!(forbidden_char("Ethanol 96 % – Äther", false), None);
        for (text, bad) in [
            ("SO\r\n1", '\r'),
            ("a\tb", '\t'),
            ("nul\0", '\0'),
            ("x\u{7f}", '\u{7f}'),
            ("evil\u{202E}txt.exe", '\u{202E}'),
        ] {
            assert_eq!(forbidden_char(text, false), Some(bad), "{text:?}");
        }
        assert_eq!(forbidden_char("line one\r\nline two", true), None);
        assert_eq!(forbidden_char("line\0two", true), Some('\0'));
        assert_eq!(
            forbidden_reason('\t'),
            "contains the control character U+0009"
        );
        assert_eq!(
            forbidden_reason('\u{202E}'),
            "contains the bidirectional control U+202E"
        );
    }
}
