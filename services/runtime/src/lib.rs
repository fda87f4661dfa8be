//! The process runtime every service shares: configuration groups, telemetry, shutdown, the
//! admin server with `/metrics`, `/healthz` and `/readyz`, and the run of a built [`Service`].

mod admin;
mod backoff;
mod batch;
mod config;
mod http;
mod progress;
mod service;
mod shutdown;
mod telemetry;

pub use admin::{AdminServer, Readiness};
pub use backoff::Backoff;
pub use batch::{gather, Queue};
pub use config::{secret, AdminArgs, DatabaseArgs, LogArgs, LogFormat, ShutdownArgs};
pub use http::{HttpArgs, HttpServer};
pub use progress::Progress;
pub use secrecy::{ExposeSecret, SecretString};
pub use service::{ServeCommand, Service};
pub use shutdown::{wait_for_signal, Shutdown};
pub use telemetry::init_telemetry;
