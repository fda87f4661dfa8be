//! Reference data: the controlled and watch-listed substances, loaded from CSV and versioned by
//! the digest of its content.

use std::collections::HashMap;

use anyhow::Context as _;
use domain::CasNumber;
use events::{Classification, Regime};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The reference data shipped with the matcher.
pub const BUILTIN_CSV: &str = include_str!("../reference/substances.csv");

/// One list entry.
#[derive(Debug, Clone, Default)]
pub struct Substance {
    /// Stable id slug, e.g. `acetic_anhydride`.
    pub id: String,
    pub name: String,
    pub synonyms: Vec<String>,
    pub cas: Vec<CasNumber>,
    /// Named salts, hydrates and other forms of the entry, with their own CAS number when known.
    pub salt_forms: Vec<(String, Option<CasNumber>)>,
    /// Names of other chemicals this entry must not be confused with.
    pub look_alikes: Vec<String>,
    /// CAS numbers of those chemicals: a line whose CAS field carries one is that chemical,
    /// whatever its description resembles.
    pub look_alike_cas: Vec<CasNumber>,
    /// HS 6-digit and EU CN 8-digit codes, digits only.
    pub codes: Vec<String>,
    pub classifications: Vec<Classification>,
    pub scope: Scope,
    /// Whether the entry must never be disclosed to the reporting company.
    pub confidential: bool,
}

/// What each regime covers of an entry beyond the substance itself, and its US thresholds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub un_salts: bool,
    pub eu_salts: bool,
    pub us_salts: bool,
    pub us_esters: bool,
    /// 21 CFR 1310.04 threshold; 0 when every transaction is regulated.
    pub us_threshold_kg: Option<f64>,
    pub us_threshold_l: Option<f64>,
    /// 21 CFR 1310.12: mixtures at or below this concentration are exempt.
    pub us_mixture_exempt_pct: Option<f64>,
}

/// A version of the reference data.
#[derive(Debug, Clone)]
pub struct ReferenceData {
    pub version: String,
    pub substances: Vec<Substance>,
}

#[derive(Debug, Deserialize)]
struct Row {
    id: String,
    name: String,
    synonyms: String,
    cas: String,
    hs_code: String,
    un1988_table: String,
    eu_category: String,
    us_dea_list: String,
    notes: String,
    #[serde(default)]
    cn_code: String,
    #[serde(default)]
    salt_forms: String,
    #[serde(default)]
    un_salts: String,
    #[serde(default)]
    eu_salts: String,
    #[serde(default)]
    us_threshold_kg: String,
    #[serde(default)]
    us_threshold_l: String,
    #[serde(default)]
    us_mixture_exempt_pct: String,
    #[serde(default)]
    confidential: String,
    #[serde(default)]
    look_alikes: String,
    #[serde(default)]
    look_alike_cas: String,
}

const UN_BASIS: &str = "1988 UN Convention against Illicit Traffic in Narcotic Drugs and Psychotropic Substances, art. 12";
const EU_BASIS: &str = "Regulation (EC) No 273/2004 and Council Regulation (EC) No 111/2005";
const US_BASIS: &str = "21 CFR 1310.02 (Controlled Substances Act listed chemicals)";
const WATCH_BASIS: &str = "non-scheduled substance on a watch list (INCB limited international special surveillance list or national list)";

impl ReferenceData {
    /// The data shipped with the matcher.
    pub fn builtin() -> anyhow::Result<Self> {
        Self::from_csv(BUILTIN_CSV)
    }

    /// The version a CSV text gets: `substances@` and the start of its SHA-256.
    pub fn version_of(text: &str) -> String {
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        format!("substances@{}", &digest[..12])
    }

    /// Parses the CSV; every entry must have a unique id and valid CAS numbers.
    pub fn from_csv(text: &str) -> anyhow::Result<Self> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut substances = Vec::new();
        let mut seen = HashMap::new();
        for (index, row) in reader.deserialize::<Row>().enumerate() {
            let line = index + 2;
            let row = row.with_context(|| format!("reference data line {line}"))?;
            anyhow::ensure!(!row.id.is_empty(), "reference data line {line}: empty id");
            if let Some(first) = seen.insert(row.id.clone(), line) {
                anyhow::bail!(
                    "reference data line {line}: id {} repeats line {first}",
                    row.id
                );
            }
            let cas = split_list(&row.cas)
                .map(|text| {
                    CasNumber::parse(text)
                        .with_context(|| format!("reference data line {line}: CAS {text}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let look_alike_cas = split_list(&row.look_alike_cas)
                .map(|text| {
                    CasNumber::parse(text).with_context(|| {
                        format!("reference data line {line}: look-alike CAS {text}")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut salt_forms = Vec::new();
            for form in split_list(&row.salt_forms) {
                let (names, cas_text) = form.split_once('|').unwrap_or((form, ""));
                let form_cas = match cas_text.trim() {
                    "" => None,
                    text => Some(CasNumber::parse(text).with_context(|| {
                        format!("reference data line {line}: salt form CAS {text}")
                    })?),
                };
                for name in alternatives(names) {
                    salt_forms.push((name, form_cas.clone()));
                }
            }
            let number = |text: &str, column: &str| -> anyhow::Result<Option<f64>> {
                match text.trim() {
                    "" => Ok(None),
                    text => text.parse::<f64>().map(Some).with_context(|| {
                        format!("reference data line {line}: {column} {text:?} is not a number")
                    }),
                }
            };
            let us = row.us_dea_list.to_ascii_lowercase();
            let us_listed = us.starts_with("list");
            let scope = Scope {
                un_salts: !row.un1988_table.is_empty() && row.un_salts.trim() != "no",
                eu_salts: !row.eu_category.is_empty() && row.eu_salts.trim() != "no",
                us_salts: us_listed && us.contains("salt"),
                us_esters: us_listed && us.contains("ester"),
                us_threshold_kg: number(&row.us_threshold_kg, "us_threshold_kg")?,
                us_threshold_l: number(&row.us_threshold_l, "us_threshold_l")?,
                us_mixture_exempt_pct: number(&row.us_mixture_exempt_pct, "us_mixture_exempt_pct")?,
            };
            let codes = split_list(&row.hs_code)
                .chain(split_list(&row.cn_code))
                .map(|code| {
                    code.chars()
                        .filter(char::is_ascii_digit)
                        .collect::<String>()
                })
                .filter(|code| matches!(code.len(), 6 | 8))
                .collect();
            // An abbreviation that the look-alikes give to another chemical ("peracetic acid
            // (PAA)") is ambiguous: it does not identify this entry on its own.
            let taken: Vec<String> = parentheses(&row.look_alikes)
                .map(|text| text.to_lowercase())
                .collect();
            substances.push(Substance {
                classifications: classifications(&row),
                synonyms: alternatives(&row.name)
                    .into_iter()
                    .skip(1)
                    .chain(split_list(&row.synonyms).flat_map(alternatives))
                    .map(|name| strip_scope_words(&name))
                    .filter(|synonym| !taken.contains(&synonym.to_lowercase()))
                    .collect(),
                look_alikes: split_list(&row.look_alikes)
                    .flat_map(alternatives)
                    .collect(),
                look_alike_cas,
                confidential: row.confidential.trim() == "yes",
                id: row.id,
                name: alternatives(&row.name)
                    .first()
                    .map(|name| strip_scope_words(name))
                    .unwrap_or_else(|| row.name.clone()),
                cas,
                salt_forms,
                codes,
                scope,
            });
        }
        anyhow::ensure!(!substances.is_empty(), "reference data has no entries");
        Ok(Self {
            version: Self::version_of(text),
            substances,
        })
    }
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(';')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// "Hypophosphorous acid and its salts" names the acid; the salts are the regime's scope.
fn strip_scope_words(name: &str) -> String {
    let lower = name.to_lowercase();
    for suffix in [
        " and its salts",
        " and their salts",
        " or its salts",
        " or their salts",
    ] {
        if let Some(stripped) = lower.strip_suffix(suffix) {
            return name[..stripped.len()].to_owned();
        }
    }
    name.to_owned()
}

/// The texts inside parentheses.
fn parentheses(text: &str) -> impl Iterator<Item = &str> {
    text.split('(')
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(inside, _)| inside.trim()))
}

/// "ergometrine maleate (ergonovine maleate)" names two things; a parenthesis that is a remark
/// ("(US List I only)") or an abbreviation is dropped.
fn alternatives(text: &str) -> Vec<String> {
    // Only a parenthesis set apart by spaces is an aside: "(chloromethyl)benzene" and
    // "dihydro-2(3H)-furanone" are names as written.
    let text = text.trim();
    let Some(open) = text.find(" (") else {
        return vec![text.to_owned()];
    };
    let mut depth = 0usize;
    let mut close = None;
    for (offset, c) in text[open + 1..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    close = Some(open + 1 + offset);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![text.to_owned()];
    };
    let after = &text[close + 1..];
    if !(after.is_empty() || after.starts_with(' ') || after.starts_with(',')) {
        return vec![text.to_owned()];
    }
    let aside = text[open + 2..close].trim();
    let main = format!("{}{}", &text[..open], after)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut names = vec![main];
    let is_name = aside.split_whitespace().count() <= 4
        && !aside.contains(',')
        && !aside.to_ascii_lowercase().contains("list")
        && aside.chars().filter(|c| c.is_alphabetic()).count() >= 4;
    if is_name {
        names.push(aside.to_owned());
    }
    names
}

fn classifications(row: &Row) -> Vec<Classification> {
    let mut classifications = Vec::new();
    let mut add = |regime, category: &str, prefix: &str, basis: &str| {
        if !category.trim().is_empty() {
            classifications.push(Classification {
                regime,
                category: format!("{prefix}{}", category.trim()),
                legal_basis: basis.to_owned(),
                in_scope: true,
                scope_note: String::new(),
            });
        }
    };
    add(Regime::Un1988, &row.un1988_table, "Table ", UN_BASIS);
    add(Regime::Eu, &row.eu_category, "Category ", EU_BASIS);
    add(Regime::Us, &row.us_dea_list, "", US_BASIS);
    if classifications.is_empty() {
        let note = row.notes.split('.').next().unwrap_or_default().trim();
        classifications.push(Classification {
            regime: Regime::WatchList,
            category: if note.is_empty() {
                "watch list".to_owned()
            } else {
                format!("watch list: {note}")
            },
            legal_basis: WATCH_BASIS.to_owned(),
            in_scope: true,
            scope_note: String::new(),
        });
    }
    classifications
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_data_loads_with_unique_ids_and_valid_cas_numbers() {
        let data = ReferenceData::builtin().expect("builtin data is valid");
        assert!(data.substances.len() >= 89, "{}", data.substances.len());
        assert!(data.version.starts_with("substances@"));
        let anhydride = data
            .substances
            .iter()
            .find(|s| s.id == "acetic_anhydride")
            .expect("listed");
        assert_eq!(anhydride.cas[0].as_str(), "108-24-7");
        let regimes: Vec<Regime> = anhydride.classifications.iter().map(|c| c.regime).collect();
        assert_eq!(regimes, vec![Regime::Un1988, Regime::Eu, Regime::Us]);
    }

    #[test]
    fn parenthesised_alternatives_are_names_and_remarks_are_dropped() {
        assert_eq!(
            alternatives("ergometrine maleate (ergonovine maleate)"),
            vec!["ergometrine maleate", "ergonovine maleate"]
        );
        assert_eq!(
            alternatives("sodium permanganate (US List II only)"),
            vec!["sodium permanganate"]
        );
        assert_eq!(alternatives("peracetic acid (PAA)"), vec!["peracetic acid"]);
        assert_eq!(
            alternatives("(chloromethyl)benzene"),
            vec!["(chloromethyl)benzene"]
        );
        assert_eq!(
            alternatives("blue vitriol (copper(II) sulfate)"),
            vec!["blue vitriol", "copper(II) sulfate"]
        );
        assert_eq!(
            alternatives("dihydro-2(3H)-furanone"),
            vec!["dihydro-2(3H)-furanone"]
        );
    }

    #[test]
    fn a_wrong_cas_check_digit_in_the_data_is_refused() {
        let csv = "id,name,synonyms,cas,hs_code,un1988_table,eu_category,us_dea_list,us_threshold,notes,source\n\
                   norfentanyl,Norfentanyl,,1609-66-5,,I,,,,,\n";
        let error = ReferenceData::from_csv(csv).unwrap_err();
        assert!(format!("{error:#}").contains("check digit"), "{error:#}");
    }

    #[test]
    fn the_version_changes_with_the_content() {
        let csv = "id,name,synonyms,cas,hs_code,un1988_table,eu_category,us_dea_list,us_threshold,notes,source\n\
                   x,X,,,,I,,,,,\n";
        let other = csv.replace("X,", "Y,");
        assert_ne!(
            ReferenceData::from_csv(csv).unwrap().version,
            ReferenceData::from_csv(&other).unwrap().version
        );
    }
}
