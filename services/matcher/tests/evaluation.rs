//! Precision and recall of the engine on a labelled set of order lines it was not built from:
//! `tests/data/evaluation.jsonl`, at least a third of it negatives and look-alikes.

use std::collections::BTreeSet;

use matcher::{Amount, CasInput, Engine, LineInput, ReferenceData};
use serde::Deserialize;

#[derive(Deserialize)]
struct Labelled {
    description: String,
    cas: Option<String>,
    hs_code: Option<String>,
    concentration_pct: Option<f64>,
    expected: Vec<String>,
}

/// Precision and recall over a labelled file, with the lines the engine got wrong.
struct Score {
    lines: usize,
    negatives: usize,
    precision: f64,
    recall: f64,
}

fn score(engine: &Engine, name: &str, text: &str) -> Score {
    let (mut true_positives, mut false_positives, mut false_negatives) = (0usize, 0usize, 0usize);
    let (mut lines, mut negatives) = (0usize, 0usize);
    let mut mistakes = Vec::new();
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
    {
        let labelled: Labelled =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", number + 1));
        lines += 1;
        negatives += usize::from(labelled.expected.is_empty());
        let input = LineInput {
            description: &labelled.description,
            cas: labelled.cas.as_deref().map(CasInput::Text),
            hs_code: labelled.hs_code.as_deref(),
        };
        // A component out of scope under every regime that lists it, at least one of them by a
        // mixture exemption (iodine tincture at 2 %), identifies nothing.
        let amount = Amount {
            quantity: None,
            unit: None,
            concentration_pct: labelled.concentration_pct,
        };
        let found: BTreeSet<String> = matcher::findings(engine, 1, input, amount)
            .into_iter()
            .filter(|finding| {
                let classifications = &finding.classifications;
                let exempt = classifications.iter().all(|c| !c.in_scope)
                    && classifications
                        .iter()
                        .any(|c| c.scope_note.contains("exemption"));
                !exempt
            })
            .map(|finding| finding.substance_id)
            .collect();
        let expected: BTreeSet<String> = labelled.expected.into_iter().collect();
        true_positives += found.intersection(&expected).count();
        let extra: Vec<&String> = found.difference(&expected).collect();
        let missed: Vec<&String> = expected.difference(&found).collect();
        false_positives += extra.len();
        false_negatives += missed.len();
        if !extra.is_empty() || !missed.is_empty() {
            mistakes.push(format!(
                "line {}: {:?} extra {extra:?} missed {missed:?}",
                number + 1,
                labelled.description
            ));
        }
    }
    let precision = true_positives as f64 / (true_positives + false_positives).max(1) as f64;
    let recall = true_positives as f64 / (true_positives + false_negatives).max(1) as f64;
    println!("{name}: {lines} lines ({negatives} negatives), {true_positives} identifications right, {false_positives} wrong, {false_negatives} missed");
    println!("{name}: precision {precision:.4}, recall {recall:.4}");
    for mistake in &mistakes {
        println!("  {mistake}");
    }
    Score {
        lines,
        negatives,
        precision,
        recall,
    }
}

#[test]
fn precision_and_recall_are_at_least_98_percent() {
    let engine = Engine::new(ReferenceData::builtin().expect("builtin data")).expect("engine");
    let Score {
        lines,
        negatives,
        precision,
        recall,
    } = score(&engine, "evaluation", include_str!("data/evaluation.jsonl"));
    assert!(
        lines >= 300 && negatives * 3 >= lines,
        "the set must have 300 lines, a third negatives"
    );
    assert!(precision >= 0.98, "precision {precision:.4} below 0.98");
    assert!(recall >= 0.98, "recall {recall:.4} below 0.98");
}

/// Fails when a set scores below the floors.
fn assert_floors(name: &str, text: &str, floor_precision: f64, floor_recall: f64) {
    let engine = Engine::new(ReferenceData::builtin().expect("builtin data")).expect("engine");
    let Score {
        precision, recall, ..
    } = score(&engine, name, text);
    assert!(
        precision >= floor_precision,
        "{name}: precision {precision:.4} below {floor_precision}"
    );
    assert!(
        recall >= floor_recall,
        "{name}: recall {recall:.4} below {floor_recall}"
    );
}

/// A second set, written apart. Its first, blind run gave precision 0.9245 and recall 0.8376;
/// the classes of its misses (Dutch and German spellings, glycidate name orders, substituted
/// piperidines, missing synonyms) guided general changes. No longer blind: the floors keep it
/// where it is.
#[test]
fn held_out_precision_and_recall_do_not_regress() {
    assert_floors("holdout", include_str!("data/holdout.jsonl"), 0.98, 0.98);
}

/// A third set, written by another hand and run once blind: precision 0.9552, recall 0.9697.
/// Its misses (substituted derivatives read as the parent, short misspelled words, foreign
/// dosage forms) guided the rules for locants, functional-class words and short words. No
/// longer blind: the floors keep it where it is.
#[test]
fn second_held_out_set_does_not_regress() {
    assert_floors("holdout2", include_str!("data/holdout2.jsonl"), 0.98, 0.98);
}

/// A fourth set, written by another hand after the third's changes and run once, blind:
/// precision 0.9388, recall 0.9436. Its misses (residual "other" HS/CN codes read as
/// identifying, "safrole-free", a look-alike's CAS in the CAS field, names in more languages)
/// guided the next changes. No longer blind: the floors keep it where it is.
#[test]
fn third_held_out_set() {
    assert_floors("holdout3", include_str!("data/holdout3.jsonl"), 0.98, 0.98);
}

/// A fifth set, written by another hand after the fourth's changes and run once, blind:
/// precision 0.9342, recall 0.8068. Its misses (dotted abbreviations, transliterated and more
/// languages, brand-name medicines, esters named once for several alkyls, concentrations
/// written in the text) guided the next changes. No longer blind: the floors keep it where it
/// is.
#[test]
fn fourth_held_out_set() {
    assert_floors("holdout4", include_str!("data/holdout4.jsonl"), 0.97, 0.98);
}

/// A sixth set (300 lines, 124 negatives), written by another hand that saw neither the engine
/// nor the earlier sets. Its blind first run: precision 0.9485, recall 0.9634 (after correcting
/// two labels that called esters of phenylacetic and anthranilic acid harmless, which 21 CFR
/// 1310.02(a) lists with their acids). Its misses (N-alkyl ring derivatives, acetals and ethers
/// of a listed name, binary compounds of iodine, "new BMK/PMK", "ester of" name order, missing
/// synonyms) guided general changes. No longer blind.
#[test]
fn fifth_held_out_set() {
    assert_floors("holdout5", include_str!("data/holdout5.jsonl"), 0.98, 0.98);
}

/// A seventh set (300 lines, 125 negatives), written by another hand that saw neither the engine
/// nor the earlier sets. Its blind first run: precision 0.9947, recall 0.9639. Its misses (a CAS
/// number after a "CAS" label without hyphens, esters of further alkyls, "HCl 0.1 mol/L" in a
/// kit, "hydrochloric + nitric acid", German "Iod", sassafras oil, two misspelled words of one
/// name, an HS code contradicting the CAS field) guided general changes. No longer blind.
#[test]
fn sixth_held_out_set() {
    assert_floors("holdout6", include_str!("data/holdout6.jsonl"), 0.98, 0.98);
}

/// An eighth set (300 lines, 122 negatives), written by another hand that saw neither the engine
/// nor the earlier sets. Its blind first run: precision 0.9947, recall 0.9792 as scored here; the
/// writer labelled two iodine solutions at 2 % as iodine, which this test's convention counts as
/// identifying nothing (exempt under every regime that lists iodine); `matcher screen` names
/// iodine on both with the exemption, so by the writer's own convention the blind run was
/// precision 0.9948, recall 0.9896. Those two labels follow this test's convention here. Its
/// remaining misses (a glycol diethyl ether, Romanian "acid clorhidric", "benzo[d][1,3]dioxol")
/// guided general changes. No longer blind.
#[test]
fn seventh_held_out_set() {
    assert_floors("holdout7", include_str!("data/holdout7.jsonl"), 0.98, 0.98);
}
