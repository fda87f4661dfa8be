//! Folding text for comparison, and finding CAS numbers written in it.

use unicode_normalization::UnicodeNormalization as _;

/// Lower case, accents removed, every run of characters other than letters and digits folded
/// to one space: `(±)-Éphédrine  HCl` becomes `ephedrine hcl`.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let push = |c: char, out: &mut String, pending_space: &mut bool| {
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
        for c in text.chars() {
            push(c, &mut out, &mut pending_space);
        }
    } else {
        for c in text
            .nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        {
            push(c, &mut out, &mut pending_space);
        }
    }
    out
}

/// Pieces of the text written like a CAS number: 2 to 7 digits, hyphen, 2 digits, hyphen, 1 digit.
pub fn cas_candidates(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .map(|piece| piece.trim_matches('-'))
        .filter(|piece| {
            let groups: Vec<&str> = piece.split('-').collect();
            groups.len() == 3
                && (2..=7).contains(&groups[0].len())
                && groups[1].len() == 2
                && groups[2].len() == 1
                && groups
                    .iter()
                    .all(|group| group.chars().all(|c| c.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_case_accents_and_punctuation() {
        assert_eq!(normalize("  (±)-Éphédrine  HCl, 99%"), "ephedrine hcl 99");
        assert_eq!(normalize("Anhydride acétique"), "anhydride acetique");
        assert_eq!(normalize("Salzsäure 37 %"), "salzsaure 37");
    }

    #[test]
    fn cas_numbers_are_found_in_text() {
        let found: Vec<&str> =
            cas_candidates("Acetic anhydride (CAS 108-24-7), lot 2024-11-3, PO 12-34-56").collect();
        // Shaped like CAS numbers; the check digit decides later ("2024-11-3" fails it).
        assert_eq!(found, vec!["108-24-7", "2024-11-3"]);
    }
}
