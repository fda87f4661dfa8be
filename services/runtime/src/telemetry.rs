//! Logging through `tracing`, configured once per process.

use tracing_subscriber::EnvFilter;

use crate::LogFormat;

/// Installs the global subscriber; the level filter comes from `RUST_LOG` (default `info`).
///
/// Calling it twice (several services in one process) keeps the first subscriber.
pub fn init_telemetry(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,librdkafka=warn,rdkafka=warn,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.compact().try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
