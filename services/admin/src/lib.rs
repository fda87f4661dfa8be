//! Operators' administration of who may use the platform: the reporting companies and the
//! directory of authorities, with their API keys. Every change is written to the audit log
//! with its actor, whichever way it was made (command line, admin API, console).

pub mod authorities;
pub mod companies;

pub use companies::AdminError;
