//! Precision and recall of the engine on a labelled set of order lines it was not built from:
//! `tests/data/evaluation.jsonl`, at least a third of it negatives and look-alikes.

use std::collections::BTreeSet;

use matcher::{Amount, Engine, LineInput, ReferenceData};
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
            cas: labelled.cas.as_deref(),
            hs_code: labelled.hs_code.as_deref(),
        };
        // A component exempt under every regime that lists it (iodine tincture at 2 %)
        // identifies nothing.
        let amount = Amount {
            quantity: None,
            unit: None,
            concentration_pct: labelled.concentration_pct,
        };
        let found: BTreeSet<String> = matcher::findings(engine, 1, input, amount)
            .into_iter()
            .filter(|finding| {
                !finding
                    .classifications
                    .iter()
                    .all(|c| !c.in_scope && c.scope_note.contains("exemption"))
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

/// A second set, written apart: its first, blind run gave precision 0.9245 and recall 0.8376.
/// The classes of its misses (Dutch and German spellings, glycidate name orders, substituted
/// piperidines) then guided general changes, which raised it to 0.9640 and 0.9145; it is no
/// longer blind. The bars keep it from getting worse.
#[test]
fn held_out_precision_and_recall_do_not_regress() {
    let engine = Engine::new(ReferenceData::builtin().expect("builtin data")).expect("engine");
    let Score {
        precision, recall, ..
    } = score(&engine, "holdout", include_str!("data/holdout.jsonl"));
    assert!(
        precision >= 0.92,
        "held-out precision {precision:.4} fell below its first measure 0.92"
    );
    assert!(
        recall >= 0.83,
        "held-out recall {recall:.4} fell below its first measure 0.83"
    );
}

/// A third set, written while the engine was last changed and run once, blind: precision
/// 0.9552, recall 0.9697, short of the 0.98 target. The bars keep that from getting worse.
#[test]
fn second_held_out_set_does_not_regress() {
    let engine = Engine::new(ReferenceData::builtin().expect("builtin data")).expect("engine");
    let Score {
        precision, recall, ..
    } = score(&engine, "holdout2", include_str!("data/holdout2.jsonl"));
    assert!(
        precision >= 0.95,
        "second held-out precision {precision:.4} fell below its first measure 0.95"
    );
    assert!(
        recall >= 0.96,
        "second held-out recall {recall:.4} fell below its first measure 0.96"
    );
}
