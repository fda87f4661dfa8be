use apache_avro::AvroSchema;
use domain::{CasNumber, CountryCode, Quantity, Unit};
use serde::{Deserialize, Serialize};

/// An order report accepted by ingest (`schemas/order_report.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct OrderReport {
    pub report_id: String,
    pub company_id: String,
    pub company_reference: String,
    pub supplier_country: CountryCode,
    /// Days since 1970-01-01.
    pub order_date: i32,
    /// Microseconds since the Unix epoch.
    pub submitted_at: i64,
    pub customer: Customer,
    pub delivery: Delivery,
    pub transit_countries: Vec<CountryCode>,
    pub payment_method: PaymentMethod,
    pub end_use: Option<String>,
    pub lines: Vec<OrderLine>,
}

/// The party that ordered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub customer_type: CustomerType,
    pub country: CountryCode,
    pub registration_number: Option<String>,
}

/// What kind of party a customer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[avro(
    namespace = "org.precursorwatch.v1",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomerType {
    Company,
    Distributor,
    Pharmacy,
    Laboratory,
    Government,
    Individual,
    Other,
}

/// Where the goods go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct Delivery {
    pub country: CountryCode,
    pub address_type: AddressType,
}

/// Kind of delivery address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[avro(
    namespace = "org.precursorwatch.v1",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AddressType {
    Business,
    Residential,
    PoBox,
    Forwarder,
    FreeZone,
    CustomerCollection,
    Unstated,
}

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[avro(
    namespace = "org.precursorwatch.v1",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethod {
    Invoice,
    BankTransfer,
    Card,
    Cash,
    MoneyTransfer,
    Cryptocurrency,
    ThirdParty,
    Other,
    Unstated,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct OrderLine {
    pub line_number: i32,
    pub description: String,
    pub cas: Option<CasNumber>,
    pub hs_code: Option<String>,
    pub quantity: Quantity,
    pub unit: Unit,
    pub concentration_pct: Option<f64>,
    pub packaging: Option<String>,
}
