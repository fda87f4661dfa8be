//! Folding text for comparison, and finding CAS numbers written in it.

/// Lower case, accents removed, every run of characters other than letters and digits folded
/// to one space: `(±)-Éphédrine  HCl` becomes `ephedrine hcl`.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let push = |c: char, out: &mut String, pending_space: &mut bool| {
        // Greek letters in chemical names are written out: α-chlorotoluene, γ-butyrolactone.
        let spelled = match c {
            'α' | 'Α' => Some("alpha"),
            'β' | 'Β' => Some("beta"),
            'γ' | 'Γ' => Some("gamma"),
            'δ' | 'Δ' => Some("delta"),
            _ => None,
        };
        if let Some(word) = spelled {
            if *pending_space && !out.is_empty() {
                out.push(' ');
            }
            *pending_space = false;
            out.push_str(word);
            return;
        }
        if c.is_alphanumeric() {
            if *pending_space && !out.is_empty() {
                out.push(' ');
            }
            *pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            *pending_space = true;
        }
    };
    if text.is_ascii() {
        // The common case, byte by byte.
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(char::from(byte.to_ascii_lowercase()));
            } else {
                pending_space = true;
            }
        }
    } else {
        for c in domain::text::without_accents(text) {
            push(c, &mut out, &mut pending_space);
        }
    }
    out
}

/// Pieces of the text written like a CAS number: 2 to 7 digits, hyphen, 2 digits, hyphen, 1 digit.
pub fn cas_candidates(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        // Most pieces are empty (one per letter): drop them before anything else.
        .filter(|piece| piece.len() >= 6)
        .map(|piece| piece.trim_matches('-'))
        .filter(|piece| {
            // Cheap tests first: most pieces are empty or a plain number.
            if piece.len() < 6
                || piece.len() > 12
                || piece.bytes().filter(|b| *b == b'-').count() != 2
            {
                return false;
            }
            let mut groups = piece.split('-');
            let (first, second, third) = (groups.next(), groups.next(), groups.next());
            matches!((first, second, third), (Some(a), Some(b), Some(c))
                if (2..=7).contains(&a.len()) && b.len() == 2 && c.len() == 1)
        })
}

/// Digit runs written right after a "CAS" label without hyphens ("CAS 28578167", "CAS-Nr.
/// 28578-16-7", "cas#108247"): a bare number elsewhere is too often a quantity or a code.
pub fn labelled_cas_numbers(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(offset) = lower[from..].find("cas") {
        let label_end = from + offset + 3;
        from = label_end;
        // A word of its own: not "casein", not "Picasso".
        let before_ok = lower[..label_end - 3]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if !before_ok {
            continue;
        }
        // Up to 8 characters of label ("-Nr. ", " No: ", "#") before the digits.
        let rest = &text[label_end..];
        let Some(start) = rest
            .char_indices()
            .take(9)
            .find(|(_, c)| c.is_ascii_digit())
            .map(|(index, _)| index)
        else {
            continue;
        };
        let label = &rest[..start].to_ascii_lowercase();
        if !label
            .split(|c: char| !c.is_alphabetic())
            .all(|word| matches!(word, "" | "no" | "nr" | "n" | "number" | "rn"))
        {
            continue;
        }
        let digits = &rest[start..];
        let end = digits
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(digits.len());
        let candidate = digits[..end].trim_end_matches('-');
        if (5..=12).contains(&candidate.len()) {
            found.push(candidate);
        }
    }
    found
}

/// Whether `text` contains the ASCII `needle`, in any case (no allocation).
pub(super) fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_case_accents_and_punctuation() {
        assert_eq!(normalize("  (±)-Éphédrine  HCl, 99%"), "ephedrine hcl 99");
        assert_eq!(normalize("Anhydride acétique"), "anhydride acetique");
        assert_eq!(normalize("Salzsäure 37 %"), "salzsaure 37");
        assert_eq!(normalize("γ-Butyrolacton"), "gamma butyrolacton");
    }

    #[test]
    fn cas_numbers_are_found_in_text() {
        let found: Vec<&str> =
            cas_candidates("Acetic anhydride (CAS 108-24-7), lot 2024-11-3, PO 12-34-56").collect();
        // Shaped like CAS numbers; the check digit decides later ("2024-11-3" fails it).
        assert_eq!(found, vec!["108-24-7", "2024-11-3"]);
    }

    #[test]
    fn a_number_after_a_cas_label_is_a_candidate_even_without_hyphens() {
        assert_eq!(
            labelled_cas_numbers("Ethyl glycidate, cas 28578167; CAS-Nr. 108-24-7; CAS#64197"),
            vec!["28578167", "108-24-7", "64197"]
        );
        assert!(labelled_cas_numbers("casein 12345678, Picasso 1234567, lot 28578167").is_empty());
    }
}
