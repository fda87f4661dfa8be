//! The system of record: PostgreSQL in production, SQLite in the embedded demo, through sqlx.
//!
//! The SQL is portable between the two (timestamps are microseconds since the Unix epoch in
//! BIGINT columns); only the migrations are written once per backend. Every write is idempotent.

mod audit;
mod authorities;
mod changes;
mod companies;
mod connection;
mod deliveries;
mod outbox;
mod overview;
mod parties;
mod pool_metrics;
mod reports;
mod screenings;
#[cfg(feature = "testing")]
pub mod testing;

pub use audit::{cli_actor, AuditEntry};
pub use authorities::{Authority, AuthorityAlert, AuthorityKey, FeedbackRecord};
pub use changes::{follow, Announcements, Change, Heard, Subscription};
pub use companies::{ApiKeyRecord, Company, KeySummary};
pub(crate) use connection::placeholders;
pub use connection::{redact, Backend, Store, StoreError};
pub use deliveries::DeliveryRecord;
pub use outbox::{OutboxMessage, PendingMessage};
pub use overview::{AlertSearch, AuthorityVolume, ReportTrace};
pub use parties::{Buyer, Party};
pub use reports::{Inserted, NewReport, Receipt, ReportStatus, Status};
pub use screenings::ScreeningRecord;
