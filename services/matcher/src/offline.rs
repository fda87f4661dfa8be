//! `matcher screen`: screens JSON Lines of order lines offline, for compliance officers, with the
//! same engine as the service.

use std::io::{BufRead, Write};

use runtime::Progress;
use serde::{Deserialize, Serialize};

use screening::findings_of;
use screening::Amount;
use screening::{CasField, CasInput, Engine, LineInput};

/// One input line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputLine {
    description: String,
    cas: Option<String>,
    hs_code: Option<String>,
    quantity: Option<f64>,
    unit: Option<String>,
    concentration_pct: Option<f64>,
}

/// One output line.
#[derive(Debug, Serialize)]
struct OutputLine {
    /// Number of the input line, from 1.
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cas_field: Option<String>,
    matches: Vec<Match>,
    reference_data_version: String,
}

#[derive(Debug, Serialize)]
struct Match {
    substance_id: String,
    substance_name: String,
    match_kind: &'static str,
    matched_field: &'static str,
    matched_text: String,
    score: f64,
    confidential: bool,
    regimes: Vec<RegimeOutcome>,
}

#[derive(Debug, Serialize)]
struct RegimeOutcome {
    regime: &'static str,
    category: String,
    legal_basis: String,
    in_scope: bool,
    note: String,
}

/// Screens every line of `input` and writes one JSON object per line to `output`, in order.
/// Returns how many input lines could not be read; those get an `error` and no matches.
pub fn screen_lines(
    engine: &Engine,
    input: impl BufRead,
    mut output: impl Write,
    progress: &Progress,
) -> anyhow::Result<usize> {
    let mut failures = 0;
    for (index, text) in input.lines().enumerate() {
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        let mut out = OutputLine {
            line: index + 1,
            error: None,
            cas_field: None,
            matches: Vec::new(),
            reference_data_version: engine.version().to_owned(),
        };
        match serde_json::from_str::<InputLine>(&text) {
            Ok(line) => screen_one(engine, &line, &mut out),
            Err(error) => {
                failures += 1;
                out.error = Some(format!("not an order line: {error}"));
            }
        }
        serde_json::to_writer(&mut output, &out)?;
        output.write_all(b"\n")?;
        progress.inc(1);
    }
    output.flush()?;
    Ok(failures)
}

fn screen_one(engine: &Engine, line: &InputLine, out: &mut OutputLine) {
    let input = LineInput {
        description: &line.description,
        cas: line.cas.as_deref().map(CasInput::Text),
        hs_code: line.hs_code.as_deref(),
    };
    let result = engine.screen_line(input);
    out.cas_field = match &result.cas {
        CasField::Absent => None,
        CasField::Valid(cas) => Some(format!("valid: {cas}")),
        CasField::Invalid(reason) => Some(format!("invalid: {reason}")),
    };
    let amount = Amount {
        quantity: line.quantity,
        unit: line.unit.as_deref().and_then(|unit| unit.parse().ok()),
        concentration_pct: line.concentration_pct,
    };
    for finding in findings_of(engine, 0, &line.description, result, amount) {
        let confidential = engine
            .substances()
            .iter()
            .any(|substance| substance.id == finding.substance_id && substance.confidential);
        out.matches.push(Match {
            substance_id: finding.substance_id,
            substance_name: finding.substance_name,
            match_kind: finding.match_kind.as_str(),
            matched_field: match finding.matched_field {
                events::LineField::Description => "description",
                events::LineField::Cas => "cas",
                events::LineField::HsCode => "hs_code",
            },
            matched_text: finding.matched_text,
            score: finding.match_score,
            confidential,
            regimes: finding
                .classifications
                .into_iter()
                .map(|c| RegimeOutcome {
                    regime: c.regime.as_str(),
                    category: c.category,
                    legal_basis: c.legal_basis,
                    in_scope: c.in_scope,
                    note: c.scope_note,
                })
                .collect(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use screening::ReferenceData;

    #[test]
    fn writes_one_object_per_input_line_in_order() {
        let engine = Engine::new(ReferenceData::builtin().unwrap()).unwrap();
        let input = concat!(
            "{\"description\": \"Acetic anhydride 99%\", \"quantity\": 200, \"unit\": \"l\"}\n",
            "{\"description\": \"Sodium chloride\"}\n",
            "not json\n",
            "{\"description\": \"Product 4711\", \"cas\": \"108-24-8\"}\n",
        );
        let mut output = Vec::new();
        let progress = Progress::new(None, "lines");
        let failures = screen_lines(&engine, input.as_bytes(), &mut output, &progress).unwrap();
        assert_eq!(progress.done(), 4);
        assert_eq!(failures, 1);
        let lines: Vec<serde_json::Value> = String::from_utf8(output)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["matches"][0]["substance_id"], "acetic_anhydride");
        assert_eq!(lines[0]["matches"][0]["match_kind"], "name");
        assert!(lines[0]["matches"][0]["regimes"].as_array().unwrap().len() >= 3);
        assert_eq!(lines[1]["matches"].as_array().unwrap().len(), 0);
        assert!(lines[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("not an order line"));
        assert_eq!(lines[3]["line"], 4);
        assert!(lines[3]["cas_field"]
            .as_str()
            .unwrap()
            .starts_with("invalid"));
        assert_eq!(lines[3]["matches"].as_array().unwrap().len(), 0);
    }
}
