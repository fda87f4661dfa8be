//! Dispositions that authorities publish on `alerts.feedback`.

use events::Feedback;
use kafka::{BatchHandler, DeadLetterClass, Record, Rejection};
use store::{FeedbackRecord, Store};

use crate::metrics::Metrics;

/// Stores each disposition of an authority on one of its own alerts.
pub struct RecordFeedback {
    pub store: Store,
    pub metrics: Metrics,
}

impl BatchHandler for RecordFeedback {
    type Event = Feedback;

    /// Dispositions are few: each is checked against its alert and stored on its own.
    async fn handle(&self, batch: &[Record<Feedback>]) -> anyhow::Result<Vec<Rejection>> {
        let mut rejected = Vec::new();
        for record in batch {
            let feedback = &record.event;
            let delivered = self
                .store
                .authority_alert(feedback.country.as_str(), &feedback.alert_id)
                .await?;
            if delivered.is_none() {
                // An authority speaks only of its own alerts.
                rejected.push(record.reject(
                    DeadLetterClass::Invalid,
                    format!(
                        "alert {} was not delivered to the authority of {}",
                        feedback.alert_id, feedback.country
                    ),
                ));
                continue;
            }
            if let Some((field, reason)) = text_problem(&feedback.author, &feedback.note) {
                rejected
                    .push(record.reject(DeadLetterClass::Invalid, format!("{field}: {reason}")));
                continue;
            }
            let disposition = feedback.disposition.as_str();
            let new = self
                .store
                .record_feedback(&FeedbackRecord {
                    alert_id: feedback.alert_id.clone(),
                    country: feedback.country.to_string(),
                    disposition: disposition.to_owned(),
                    note: feedback.note.clone(),
                    author: feedback.author.clone(),
                    source: "topic".into(),
                    recorded_at: feedback.recorded_at,
                })
                .await?;
            if new {
                self.metrics
                    .feedback
                    .with_label_values(&[disposition, "topic"])
                    .inc();
            }
        }
        Ok(rejected)
    }
}

/// Longest author of a disposition, in characters.
const MAX_AUTHOR_CHARS: usize = 200;
/// Longest note of a disposition, in characters.
const MAX_NOTE_CHARS: usize = 4000;

/// What is wrong with a disposition's author or note, naming the field, whichever way it came
/// (the API or the topic): an author is 1 to 200 characters, a note at most 4,000, and neither
/// holds a control character (a note may break lines).
pub(crate) fn text_problem(author: &str, note: &str) -> Option<(&'static str, String)> {
    let author_chars = author.trim().chars().count();
    if author_chars == 0 || author_chars > MAX_AUTHOR_CHARS {
        return Some((
            "author",
            format!("must name who records it (1 to {MAX_AUTHOR_CHARS} characters)"),
        ));
    }
    if let Some(bad) = domain::text::forbidden_char(author, false) {
        return Some(("author", domain::text::forbidden_reason(bad)));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Some(("note", format!("at most {MAX_NOTE_CHARS} characters")));
    }
    if let Some(bad) = domain::text::forbidden_char(note, true) {
        return Some(("note", domain::text::forbidden_reason(bad)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::text_problem;

    #[test]
    fn authors_and_notes_without_control_characters_are_accepted() {
        assert_eq!(text_problem("J. Smit", "seen;\r\nfollow up"), None);
        assert_eq!(text_problem(" ", "").map(|p| p.0), Some("author"));
        assert_eq!(
            text_problem("J. Smit", "a\0b"),
            Some(("note", "contains the control character U+0000".into()))
        );
        assert_eq!(text_problem("J.\tSmit", "").map(|p| p.0), Some("author"));
        assert_eq!(
            text_problem("x", &"n".repeat(4001)).map(|p| p.0),
            Some("note")
        );
    }
}
