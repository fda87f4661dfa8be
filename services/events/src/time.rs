//! Timestamps of the events: microseconds since the Unix epoch.

/// Microseconds since the Unix epoch, the unit of every timestamp in the events.
pub fn now_micros() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
}

/// Seconds from a timestamp of the events (microseconds since the Unix epoch) until now; zero
/// for a timestamp in the future or out of range.
pub fn seconds_since(micros: i64) -> f64 {
    now_micros().saturating_sub(micros).max(0) as f64 / 1e6
}
