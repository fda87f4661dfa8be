//! router: sends every alert of `alerts.detected` to the topic of each national authority
//! concerned, `alerts.<ISO 3166-1 alpha-2>`, and records each delivery.

mod app;
mod cli;
mod directory;
mod jurisdiction;
mod metrics;
mod preferences;
mod service;
mod watch;

pub use app::{App, ServeArgs};
pub use cli::{main, Cli, Command};
pub use directory::{follow as follow_directory, Directory};
pub use jurisdiction::authorities_concerned;
pub use metrics::Metrics;
pub use service::RouteAlerts;
pub use watch::WatchArgs;
