//! The process runtime every service shares: configuration groups, telemetry, shutdown and the
//! admin server with `/metrics`, `/healthz` and `/readyz`.

mod admin;
mod backoff;
mod config;
mod http;
mod progress;
mod shutdown;
mod telemetry;

pub use admin::{AdminServer, Readiness};
pub use backoff::Backoff;
pub use config::{secret, AdminArgs, DatabaseArgs, LogArgs, LogFormat, ShutdownArgs};
pub use http::{HttpArgs, HttpServer};
pub use progress::Progress;
pub use secrecy::{ExposeSecret, SecretString};
pub use shutdown::{wait_for_signal, Shutdown};
pub use telemetry::init_telemetry;
