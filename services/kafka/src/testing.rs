//! For tests: the real broker they run against.

/// The Kafka the tests use: `PW_TEST_KAFKA_BROKERS`, or the broker `tests/run.sh` starts.
pub fn brokers() -> String {
    std::env::var("PW_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}
