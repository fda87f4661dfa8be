//! Events that travel between the services, mirrored from `schemas/*.avsc`, and their codec.
//!
//! Every message on a topic is one Avro datum in single-object encoding: the two marker bytes
//! `C3 01`, the 8-byte CRC-64-AVRO fingerprint of the writer schema, then the binary datum.

mod alert;
mod codec;
mod dead_letter;
mod feedback;
pub mod fingerprint;
mod order_report;
mod screening_result;
mod time;
pub mod topics;

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
pub use time::{now_micros, seconds_since};

#[cfg(test)]
mod schema_pins;
