//! ingest: accepts order reports from chemical companies over HTTP, stores them, answers with a
//! receipt and publishes them to `orders.submitted`.

mod app;
mod cli;
mod http;
mod key_cache;
mod metrics;
mod outbox;
mod pressure;
mod report;
mod screenings;
mod submit;
mod writer;

pub use app::{App, ServeArgs};
pub use cli::{create_company, issue_api_key, main, Cli, Command, CreateCompanyArgs, NewCompany};
pub use pressure::LimitArgs;
pub use report::{Envelope, LineRequest, ReportRequest};
pub use submit::{submit, SubmitArgs};
