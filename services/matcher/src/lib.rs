//! matcher: screens every order report of `orders.submitted` against the controlled and
//! watch-listed substances, publishes a screening result for each to `orders.screened` and an
//! alert for each report with a finding to `alerts.detected`.

mod app;
mod assess;
mod backtest;
mod cli;
mod metrics;
mod offline;
mod reload;
mod service;

pub use app::{App, ServeArgs};
pub use assess::{load as load_assessment, Loaded, Mode};
pub use backtest::{run as backtest, Backtest, Summary};
pub use cli::{main, Cli, Command, WatchListCommand};
pub use offline::screen_lines;
/// The screening library the service runs, re-exported for the service's callers.
pub use screening::{
    conclude, findings, findings_of, normalize, report_findings, screen_report, Amount, Assessment,
    CasField, CasInput, Engine, Identification, LineInput, LineResult, ReferenceData, Screening,
    Substance,
};
