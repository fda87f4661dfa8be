//! Events that travel between the services, mirrored from `schemas/*.avsc`, and their codec.
//!
//! Every message on a topic is one Avro datum in single-object encoding: the two marker bytes
//! `C3 01`, the 8-byte CRC-64-AVRO fingerprint of the writer schema, then the binary datum.

mod alert;
mod codec;
mod dead_letter;
mod feedback;
mod order_report;
mod screening_result;

pub use alert::{
    Alert, AuthorityConcerned, Classification, Finding, IndicatorHit, JurisdictionRole, LineField,
    MatchKind, OrderContext, Regime, Severity,
};
pub use codec::{decode, encode, DecodeError, EncodeError, Event};
pub use dead_letter::{Bytes, DeadLetter};
pub use feedback::{Disposition, Feedback};
pub use order_report::{
    AddressType, Customer, CustomerType, Delivery, OrderLine, OrderReport, PaymentMethod,
};
pub use screening_result::{Outcome, ScreeningResult};

/// Topic names shared by the services.
pub mod topics {
    /// Order reports accepted by ingest.
    pub const ORDERS_SUBMITTED: &str = "orders.submitted";
    /// One screening result per report.
    pub const ORDERS_SCREENED: &str = "orders.screened";
    /// Alerts raised by the matcher, before routing.
    pub const ALERTS_DETECTED: &str = "alerts.detected";
    /// Feedback from authorities on alerts.
    pub const ALERTS_FEEDBACK: &str = "alerts.feedback";

    /// The topic of one national authority, e.g. `alerts.DE`.
    pub fn authority(country: &str) -> String {
        format!("alerts.{country}")
    }

    /// The dead-letter topic of a topic, e.g. `orders.submitted.dlq`.
    pub fn dead_letter(topic: &str) -> String {
        format!("{topic}.dlq")
    }
}

/// Microseconds since the Unix epoch, the unit of every timestamp in the events.
pub fn now_micros() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
}

/// Seconds from a timestamp of the events (microseconds since the Unix epoch) until now; zero
/// for a timestamp in the future or out of range.
pub fn seconds_since(micros: i64) -> f64 {
    now_micros().saturating_sub(micros).max(0) as f64 / 1e6
}

#[cfg(test)]
mod schema_pins;
