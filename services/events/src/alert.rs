use apache_avro::AvroSchema;
use domain::CountryCode;
use serde::{Deserialize, Serialize};

/// A screened order that concerns national authorities (`schemas/alert.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct Alert {
    pub alert_id: String,
    pub report_id: String,
    pub company_id: String,
    pub company_reference: String,
    pub order: OrderContext,
    pub lines: Vec<i32>,
    pub findings: Vec<Finding>,
    pub indicators: Vec<IndicatorHit>,
    pub score: f64,
    pub severity: Severity,
    pub authorities: Vec<AuthorityConcerned>,
    pub explanation: String,
    pub reference_data_version: String,
    pub rule_set_version: String,
    pub party_id: String,
    pub party_rule: String,
    pub submitted_at: i64,
    pub detected_at: i64,
}

/// The parties and countries of the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct OrderContext {
    pub supplier_country: CountryCode,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_country: CountryCode,
    pub delivery_country: CountryCode,
    pub transit_countries: Vec<CountryCode>,
}

/// One substance identified in one order line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct Finding {
    pub line_number: i32,
    pub substance_id: String,
    pub substance_name: String,
    pub match_kind: MatchKind,
    pub matched_field: LineField,
    pub matched_text: String,
    pub match_score: f64,
    pub classifications: Vec<Classification>,
}

/// How a substance was identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[avro(
    namespace = "org.precursorwatch.v1",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MatchKind {
    /// The CAS number, in the CAS field or in the description.
    Cas,
    /// The entry's name.
    Name,
    /// A synonym, abbreviation or trade name.
    Synonym,
    /// A salt or hydrate of the entry.
    SaltForm,
    /// An ester, where a regime covers the entry's esters.
    Ester,
    /// An HS or CN code that only this entry has.
    HsCode,
    /// A misspelled name.
    Fuzzy,
}

/// A field of an order line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[avro(
    namespace = "org.precursorwatch.v1",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineField {
    Description,
    Cas,
    HsCode,
}

/// A list entry's status in one regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct Classification {
    pub regime: Regime,
    pub category: String,
    pub legal_basis: String,
    pub in_scope: bool,
    pub scope_note: String,
}

/// A list of controlled or watched chemicals.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AvroSchema,
)]
#[avro(namespace = "org.precursorwatch.v1")]
pub enum Regime {
    #[avro(rename = "UN_1988")]
    #[serde(rename = "UN_1988")]
    Un1988,
    #[avro(rename = "EU")]
    #[serde(rename = "EU")]
    Eu,
    #[avro(rename = "US")]
    #[serde(rename = "US")]
    Us,
    #[avro(rename = "WATCH_LIST")]
    #[serde(rename = "WATCH_LIST")]
    WatchList,
}

/// An indicator of a suspicious order that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct IndicatorHit {
    pub indicator_id: String,
    pub weight: f64,
    pub evidence: String,
}

/// How urgent an alert is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AvroSchema,
)]
#[avro(
    namespace = "org.precursorwatch.v1",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// A national authority an alert goes to, with the roles of its country in the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct AuthorityConcerned {
    pub country: CountryCode,
    pub roles: Vec<JurisdictionRole>,
}

/// The role of a country in an order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AvroSchema,
)]
#[avro(
    namespace = "org.precursorwatch.v1",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JurisdictionRole {
    /// The supplier site's country, when the goods leave it.
    Export,
    /// The delivery country, when the goods come from abroad.
    Import,
    /// Supplier site and delivery in the same country.
    Domestic,
    /// A country the shipment crosses.
    Transit,
    /// The customer's country, when the goods are delivered elsewhere.
    CustomerDomicile,
}

impl Regime {
    /// Lower-case name, for metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Un1988 => "un_1988",
            Regime::Eu => "eu",
            Regime::Us => "us",
            Regime::WatchList => "watch_list",
        }
    }

    /// The name people use for the regime.
    pub fn label(self) -> &'static str {
        match self {
            Regime::Un1988 => "UN 1988",
            Regime::Eu => "EU",
            Regime::Us => "US",
            Regime::WatchList => "watch list",
        }
    }
}

impl MatchKind {
    /// Lower-case name, as the `matcher screen` output writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Cas => "cas",
            MatchKind::Name => "name",
            MatchKind::Synonym => "synonym",
            MatchKind::SaltForm => "salt_form",
            MatchKind::Ester => "ester",
            MatchKind::HsCode => "hs_code",
            MatchKind::Fuzzy => "fuzzy",
        }
    }
}

impl Severity {
    /// Lower-case name, for metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl JurisdictionRole {
    /// Lower-case name, as recorded in the delivery ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            JurisdictionRole::Export => "export",
            JurisdictionRole::Import => "import",
            JurisdictionRole::Domestic => "domestic",
            JurisdictionRole::Transit => "transit",
            JurisdictionRole::CustomerDomicile => "customer_domicile",
        }
    }
}
