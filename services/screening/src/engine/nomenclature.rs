//! How a chemist reads the words around a name: whether they make it part of another
//! compound's name (a substituent, a functional class, a derivative), and the usual other
//! orders and spellings of systematic names.

use super::vocabulary::Vocabulary;

/// Whether the words around a name found at `start..end` of the folded text make it part of
/// another compound's name, as a chemist reads them:
/// - a substituent right before a one-word name: "dimethyl ether", "heliotropyl acetone",
///   "4-phenyl-2-butanone", "N-nitroso...";
/// - an alkyl with a locant before it: "1-methyl-4-piperidone", "3-methyl-2-butanone";
/// - "N-" before an alkyl: "methyl N-methylanthranilate" (n-propyl and n-butyl are plain
///   alkyls);
/// - a locant and a functional suffix after it: "piperidine-4-carboxylate";
/// - a functional-class word after it: "acetone cyanohydrin", "methyl ethyl ketone peroxide",
///   "lysergic acid amide" (but "diethyl ether, peroxide-free" is the ether);
/// - "free" after it: "safrole-free camphor oil" has none.
pub(super) fn is_derivative(
    vocabulary: &Vocabulary,
    normalized: &str,
    start: usize,
    end: usize,
    before: &str,
    after: &str,
) -> bool {
    let name = &normalized[start..end];
    // A leading locant belongs to the name: "2 butanone" is one name word.
    let name_words = name
        .split(' ')
        .skip_while(|word| is_locant(word) || vocabulary.greek_locants.contains(word))
        .count();
    // "benzodioxol-5-yl butan-2-one": a lone "yl" ends a substituent's name.
    if before == "yl" {
        return true;
    }
    let substituent =
        (before.len() > 3 && before.ends_with("yl") && !vocabulary.alkyls.contains(before))
            || vocabulary.substituents.contains(before);
    if name_words == 1 && substituent {
        return true;
    }
    let mut preceding = normalized[..start].split_whitespace().rev();
    let _ = preceding.next();
    let before_before = preceding.next().unwrap_or_default();
    if vocabulary.alkyls.contains(before) && is_locant(before_before) && before_before != "n" {
        return true;
    }
    // "N-methyl-4-piperidone": an alkyl on the nitrogen of a ring named with locants (n-propyl
    // and n-butyl are plain alkyls).
    let name_has_locant = name.split(' ').next().is_some_and(is_locant);
    if before_before == "n"
        && name_has_locant
        && !matches!(before, "propyl" | "butyl")
        && vocabulary.alkyls.contains(before)
    {
        return true;
    }
    // "new BMK", "new PMK": street names of the glycidic derivatives, not the ketones.
    if before == "new" && (name.starts_with("bmk") || name.starts_with("pmk")) {
        return true;
    }
    // "methyl ether", "glycol ether", "crown ether": "ether" alone is diethyl ether only
    // without another alkyl or class before it.
    if name == "ether"
        && ((before.ends_with("yl") && !matches!(before, "ethyl" | "diethyl"))
            || matches!(before, "glycol" | "crown" | "petroleum"))
    {
        return true;
    }
    // "diethylene glycol diethyl ether": a glycol's ether, not diethyl ether.
    if name.ends_with("ether") && before.ends_with("glycol") {
        return true;
    }
    if before == "n" {
        let first = name.split(' ').next().unwrap_or_default();
        let plain_alkyl = ["propyl", "butyl"].iter().any(|a| first.starts_with(a));
        if vocabulary.alkyls.iter().any(|a| first.starts_with(a)) && !plain_alkyl {
            return true;
        }
    }
    let mut following = normalized[end..].split_whitespace();
    let _ = following.next();
    let after_after = following.next().unwrap_or_default();
    if is_locant(after) && after != "n" && vocabulary.functional_suffixes.contains(after_after) {
        return true;
    }
    // "safrole-free", "acetone-free": the line says the name is absent ("free base" is not).
    let absent = after == "free" && !matches!(after_after, "base" | "acid" | "flowing");
    // "benzaldehyde dimethyl acetal", "1,4-butanediol diglycidyl ether": the name is one part
    // of an ether or acetal.
    if after.ends_with("yl") && matches!(after_after, "ether" | "acetal" | "ketal") {
        return true;
    }
    // "iodine monochloride", "phosphorus pentoxide": an element's binary compound.
    if name_words == 1 && is_binary_compound_word(after) {
        return true;
    }
    absent
        || matches!(
            after,
            "derivative" | "derivatives" | "deriv" | "diisocyanate"
        )
        || (vocabulary.functional_class_words.contains(after) && after_after != "free")
}

/// "0 1 mol l", "1 m", "0 5 n": a molar or normal concentration follows, as it does after an
/// acid ("HCl 0.1 mol/L") and never after a salt's name ("Metformin HCl 500 mg").
pub(super) fn is_molar_concentration(after: &str) -> bool {
    let mut words = after.split_whitespace();
    let mut word = words.next().unwrap_or_default();
    if !word.bytes().all(|b| b.is_ascii_digit()) || word.is_empty() {
        return false;
    }
    // "0 1" is "0.1" folded.
    for next in words.by_ref() {
        word = next;
        if !word.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
    }
    matches!(word, "mol" | "m" | "n" | "molar" | "normal" | "mmol")
}

/// Ring names written the other usual way, as the catalogue writes them: "benzo[d][1,3]dioxol"
/// is "1,3-benzodioxol".
pub(super) fn ring_names_as_listed(normalized: String) -> String {
    if normalized.contains("benzo d 1 3 dioxol") {
        normalized.replace("benzo d 1 3 dioxol", "1 3 benzodioxol")
    } else {
        normalized
    }
}

/// "isobutyl ester of P-2-P methyl glycidic acid" read in the catalogue's order, "P-2-P methyl
/// glycidic acid isobutyl ester", so the ester is recognised as such.
pub(super) fn ester_of_first(vocabulary: &Vocabulary, normalized: String) -> String {
    if !normalized.contains("ester of ") {
        return normalized;
    }
    let words: Vec<&str> = normalized.split(' ').collect();
    let Some(ester) = words.windows(2).position(|pair| pair == ["ester", "of"]) else {
        return normalized;
    };
    let mut first_alkyl = ester;
    while first_alkyl > 0
        && (vocabulary.alkyls.contains(words[first_alkyl - 1])
            || matches!(words[first_alkyl - 1], "sec" | "tert" | "n"))
    {
        first_alkyl -= 1;
    }
    let acid = words[ester + 2..]
        .iter()
        .take(8)
        .position(|word| *word == "acid")
        .map(|offset| ester + 2 + offset);
    let (Some(acid), true) = (acid, first_alkyl < ester) else {
        return normalized;
    };
    let mut reordered: Vec<&str> = words[..first_alkyl].to_vec();
    reordered.extend_from_slice(&words[ester + 2..=acid]);
    reordered.extend_from_slice(&words[first_alkyl..=ester]);
    reordered.extend_from_slice(&words[acid + 1..]);
    reordered.join(" ")
}

/// "monochloride", "trichloride", "pentoxide", "oxide": the anion word of a binary compound.
fn is_binary_compound_word(word: &str) -> bool {
    let stem = [
        "mono", "di", "tri", "tetra", "penta", "hexa", "hepta", "sesqui",
    ]
    .iter()
    .find_map(|prefix| word.strip_prefix(prefix))
    .unwrap_or(word);
    matches!(
        stem,
        "chloride" | "bromide" | "fluoride" | "oxide" | "xide" | "iodide" | "sulfide" | "sulphide"
    ) || word == "pentoxide"
}

/// The alkyls named in a row from `start` ("propyl isopropyl and sec butyl"), and where the
/// row ends.
pub(super) fn alkyl_run(
    vocabulary: &Vocabulary,
    words: &[&str],
    start: usize,
) -> (Vec<String>, usize) {
    let mut alkyls = Vec::new();
    let mut index = start;
    while index < words.len() {
        let word = words[index];
        if matches!(word, "and" | "or" | "n") && !alkyls.is_empty() {
            index += 1;
            continue;
        }
        if matches!(word, "sec" | "tert") && words.get(index + 1) == Some(&"butyl") {
            alkyls.push(format!("{word} butyl"));
            index += 2;
            continue;
        }
        if vocabulary.alkyls.contains(word) && word != "benzyl" {
            alkyls.push(word.to_owned());
            index += 1;
            continue;
        }
        break;
    }
    (alkyls, index)
}

/// A position number in a systematic name: "4" in "piperidine-4-carboxylate", "N" in
/// "N-methyl".
pub(super) fn is_locant(word: &str) -> bool {
    matches!(word, "n" | "o")
        || (word.len() == 1 && word.bytes().all(|b| (b'1'..=b'9').contains(&b)))
}
