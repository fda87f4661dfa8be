use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use crate::Finding;

/// The outcome of screening one report (`schemas/screening_result.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct ScreeningResult {
    pub report_id: String,
    pub company_id: String,
    pub company_reference: String,
    pub outcome: Outcome,
    pub alert_id: Option<String>,
    pub lines_screened: i32,
    pub findings: Vec<Finding>,
    pub reference_data_version: String,
    pub submitted_at: i64,
    pub screened_at: i64,
}

/// Whether screening raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[avro(
    namespace = "org.precursorwatch.v1",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Clear,
    Alert,
}

impl Outcome {
    /// Lower-case name, for metrics labels and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Clear => "clear",
            Outcome::Alert => "alert",
        }
    }
}
