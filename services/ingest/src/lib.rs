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
pub use cli::{main, Cli, Command};
pub use pressure::LimitArgs;
pub use report::{Envelope, LineRequest, ReportRequest};
pub use submit::{submit, SubmitArgs};
