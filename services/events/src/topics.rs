//! Topic names shared by the services.

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
