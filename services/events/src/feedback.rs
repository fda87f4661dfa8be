use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

/// An authority's disposition on one of its alerts (`schemas/feedback.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct Feedback {
    pub alert_id: String,
    pub country: domain::CountryCode,
    pub disposition: Disposition,
    pub note: String,
    pub author: String,
    pub recorded_at: i64,
}

/// What an authority concluded about an alert so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[avro(
    namespace = "org.precursorwatch.v1",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Disposition {
    UnderReview,
    ConfirmedSuspicious,
    Legitimate,
    MoreInformationNeeded,
}

impl Disposition {
    /// Every disposition, in the schema's order.
    pub const ALL: [Disposition; 4] = [
        Disposition::UnderReview,
        Disposition::ConfirmedSuspicious,
        Disposition::Legitimate,
        Disposition::MoreInformationNeeded,
    ];

    /// The symbol, as on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::UnderReview => "UNDER_REVIEW",
            Disposition::ConfirmedSuspicious => "CONFIRMED_SUSPICIOUS",
            Disposition::Legitimate => "LEGITIMATE",
            Disposition::MoreInformationNeeded => "MORE_INFORMATION_NEEDED",
        }
    }

    /// The disposition with this symbol.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}
