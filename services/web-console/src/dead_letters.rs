//! The newest dead letters, read from the `<topic>.dlq` topics outside any consumer group.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use events::DeadLetter;
use kafka::{KafkaArgs, Tail, TailRecord};
use tokio_util::sync::CancellationToken;

/// How many dead letters the console keeps and reads back at start, per partition.
const KEPT: usize = 200;

/// One dead letter as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterEntry {
    /// The dead-letter topic, partition and offset it sits at.
    pub dlq_topic: String,
    pub dlq_partition: i32,
    pub dlq_offset: i64,
    /// Where the failed message was, which service gave up on it, and why.
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub service: String,
    pub error_class: String,
    pub error_message: String,
    /// When it failed (microseconds since the epoch).
    pub failed_at: i64,
}

impl DeadLetterEntry {
    /// Reads a dead-letter message; one that cannot be decoded is shown as such, not dropped.
    pub fn from_record(record: &TailRecord) -> Self {
        let located = |letter: Option<DeadLetter>, problem: Option<String>| {
            let letter = letter.unwrap_or_else(|| DeadLetter {
                topic: record.topic.trim_end_matches(".dlq").to_owned(),
                partition: -1,
                offset: -1,
                key: None,
                payload: events::Bytes(Vec::new()),
                error_class: "undecodable".to_owned(),
                error_message: problem.unwrap_or_default(),
                service: "?".to_owned(),
                failed_at: record.timestamp_ms.unwrap_or(0).saturating_mul(1000),
            });
            Self {
                dlq_topic: record.topic.clone(),
                dlq_partition: record.partition,
                dlq_offset: record.offset,
                topic: letter.topic,
                partition: letter.partition,
                offset: letter.offset,
                service: letter.service,
                error_class: letter.error_class,
                error_message: letter.error_message,
                failed_at: letter.failed_at,
            }
        };
        match events::decode::<DeadLetter>(&record.payload) {
            Ok(letter) => located(Some(letter), None),
            Err(error) => located(
                None,
                Some(format!("the dead letter itself cannot be decoded: {error}")),
            ),
        }
    }
}

/// The newest dead letters, newest first; cheap to clone.
#[derive(Clone, Default)]
pub struct DeadLetters {
    entries: Arc<Mutex<VecDeque<DeadLetterEntry>>>,
}

impl DeadLetters {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<DeadLetterEntry>> {
        // A push or a read cannot leave the queue half changed.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps an entry, forgetting the oldest beyond the newest 200.
    pub fn push(&self, entry: DeadLetterEntry) {
        let mut entries = self.lock();
        entries.push_front(entry);
        entries.truncate(KEPT);
    }

    /// At most `limit` of the newest, newest first (by failure time).
    pub fn newest(&self, limit: usize) -> Vec<DeadLetterEntry> {
        let mut entries: Vec<DeadLetterEntry> = self.lock().iter().cloned().collect();
        entries.sort_by_key(|entry| std::cmp::Reverse(entry.failed_at));
        entries.truncate(limit);
        entries
    }

    /// Follows `topics` from their last 200 messages until shutdown, on the calling
    /// (blocking) thread; retries while the topics cannot be read.
    pub fn follow(
        &self,
        kafka: &KafkaArgs,
        topics: &[String],
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let kept = i64::try_from(KEPT).unwrap_or(i64::MAX);
        let tail = loop {
            match Tail::open(kafka, &names, kept, Duration::from_secs(10)) {
                Ok(tail) => break tail,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "cannot follow the dead-letter topics yet");
                    for _ in 0..10 {
                        if shutdown.is_cancelled() {
                            return Ok(());
                        }
                        std::thread::sleep(Duration::from_millis(500));
                    }
                }
            }
        };
        while !shutdown.is_cancelled() {
            match tail.next(Duration::from_millis(500)) {
                Some(Ok(record)) => self.push(DeadLetterEntry::from_record(&record)),
                Some(Err(error)) => {
                    tracing::warn!(error = %error, "cannot read a dead-letter topic");
                    std::thread::sleep(Duration::from_millis(500));
                }
                None => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(payload: Vec<u8>) -> TailRecord {
        TailRecord {
            topic: "orders.submitted.dlq".into(),
            partition: 2,
            offset: 7,
            timestamp_ms: Some(1_700_000_000_000),
            payload,
        }
    }

    #[test]
    fn a_dead_letter_shows_where_it_failed_and_why() {
        let letter = DeadLetter {
            topic: "orders.submitted".into(),
            partition: 1,
            offset: 42,
            key: None,
            payload: events::Bytes(vec![0xff]),
            error_class: "invalid".into(),
            error_message: "cannot decode the report".into(),
            service: "matcher".into(),
            failed_at: 5,
        };
        let entry = DeadLetterEntry::from_record(&record(events::encode(&letter).unwrap()));
        assert_eq!(
            (entry.topic.as_str(), entry.partition, entry.offset),
            ("orders.submitted", 1, 42)
        );
        assert_eq!((entry.dlq_partition, entry.dlq_offset), (2, 7));
        assert_eq!(entry.service, "matcher");
        assert_eq!(entry.error_message, "cannot decode the report");
    }

    #[test]
    fn an_undecodable_dead_letter_is_shown_not_dropped() {
        let entry = DeadLetterEntry::from_record(&record(vec![1, 2, 3]));
        assert_eq!(entry.error_class, "undecodable");
        assert_eq!(entry.topic, "orders.submitted");
        assert_eq!(entry.failed_at, 1_700_000_000_000_000);
    }

    #[test]
    fn only_the_newest_are_kept() {
        let letters = DeadLetters::default();
        for at in 0..(KEPT as i64 + 10) {
            let mut entry = DeadLetterEntry::from_record(&record(Vec::new()));
            entry.failed_at = at;
            letters.push(entry);
        }
        let newest = letters.newest(3);
        assert_eq!(
            newest
                .iter()
                .map(|entry| entry.failed_at)
                .collect::<Vec<_>>(),
            [KEPT as i64 + 9, KEPT as i64 + 8, KEPT as i64 + 7]
        );
        assert_eq!(letters.newest(1000).len(), KEPT);
    }
}
