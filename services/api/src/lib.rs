//! What the JSON APIs (the company API of ingest, the authority and admin API of authorities)
//! share: the error answer, one shape `{"error": code, "message": words, "problems": [...]}`
//! and one mapping of what went wrong to a status and its headers.

mod error;

pub use error::{ApiError, Problem};
