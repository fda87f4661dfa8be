//! authorities: the national competent authorities' side of the platform. Their directory and
//! preferences (admin subcommands and admin API), and, for authorities without Kafka, an API
//! authenticated per authority: a Server-Sent Events stream of its alerts resumable with
//! `Last-Event-ID`, a paged query, and feedback on each alert, which also arrives on
//! `alerts.feedback`. No request of one authority ever returns another authority's alert.

mod app;
mod cli;
mod feedback;
mod http;
mod metrics;

pub use app::{App, ServeArgs};
pub use cli::{main, Cli, Command};
