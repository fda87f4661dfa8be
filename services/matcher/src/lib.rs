//! matcher: screens every order report of `orders.submitted` against the controlled and
//! watch-listed substances, publishes a screening result for each to `orders.screened` and an
//! alert for each report with a finding to `alerts.detected`.

mod app;
mod assess;
mod backtest;
mod cli;
mod engine;
mod metrics;
mod offline;
mod reference;
mod reload;
mod scope;
mod screen;
mod service;

pub use app::{App, ServeArgs};
pub use assess::{load as load_assessment, Loaded, Mode};
pub use backtest::{run as backtest, Backtest, Summary};
pub use cli::{main, Cli, Command, WatchListCommand};
pub use engine::{normalize, CasField, Engine, Identification, LineInput, LineResult};
pub use offline::screen_lines;
pub use reference::{ReferenceData, Substance};
pub use scope::Amount;
pub use screen::{
    conclude, findings, findings_of, report_findings, screen_report, Assessment, Screening,
};
