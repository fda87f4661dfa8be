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
#[derive(Debug, Clone)]
pub struct Substance {
    /// Stable id slug, e.g. `acetic_anhydride`.
    pub id: String,
    pub name: String,
    pub synonyms: Vec<String>,
    pub cas: Vec<CasNumber>,
    pub classifications: Vec<Classification>,
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
    un1988_table: String,
    eu_category: String,
    us_dea_list: String,
    notes: String,
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
            substances.push(Substance {
                classifications: classifications(&row),
                synonyms: split_list(&row.synonyms).map(str::to_owned).collect(),
                id: row.id,
                name: row.name,
                cas,
            });
        }
        anyhow::ensure!(!substances.is_empty(), "reference data has no entries");
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(Self {
            version: format!("substances@{}", &digest[..12]),
            substances,
        })
    }
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(';')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

fn classifications(row: &Row) -> Vec<Classification> {
    let mut classifications = Vec::new();
    let mut add = |regime, category: &str, prefix: &str, basis: &str| {
        if !category.trim().is_empty() {
            classifications.push(Classification {
                regime,
                category: format!("{prefix}{}", category.trim()),
                legal_basis: basis.to_owned(),
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
