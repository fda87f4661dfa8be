//! A deployment's prefix to every topic and consumer group name, so several deployments (or
//! several test runs) share one Kafka cluster without reading each other's messages.
//!
//! The services name topics and groups as the architecture does (`orders.submitted`, `matcher`);
//! this crate alone turns a name into the cluster's (`staging.orders.submitted`) and back.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The characters Kafka allows in a topic name.
fn is_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Longest prefix accepted: Kafka's topic names stop at 249 characters and the longest name the
/// services build (`alerts.<country>.dlq`, a consumer group for `router watch`) needs room.
const MAX_LEN: usize = 100;

/// The prefix of every topic and consumer group name; empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace(String);

/// Why a namespace was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespaceError {
    #[error("is {0} characters long; at most {MAX_LEN} are allowed")]
    TooLong(usize),
    #[error("contains {0:?}; only ASCII letters, digits, '.', '_' and '-' are allowed")]
    Character(char),
}

impl Namespace {
    /// The namespace with the given prefix, such as `staging.`.
    pub fn new(prefix: impl Into<String>) -> Result<Self, NamespaceError> {
        let prefix = prefix.into();
        if prefix.len() > MAX_LEN {
            return Err(NamespaceError::TooLong(prefix.len()));
        }
        if let Some(c) = prefix.chars().find(|c| !is_topic_char(*c)) {
            return Err(NamespaceError::Character(c));
        }
        Ok(Self(prefix))
    }

    /// The prefix itself.
    pub fn prefix(&self) -> &str {
        &self.0
    }

    /// The cluster's name of a topic or consumer group the services call `name`.
    pub fn apply<'a>(&self, name: &'a str) -> Cow<'a, str> {
        if self.0.is_empty() {
            Cow::Borrowed(name)
        } else {
            Cow::Owned(format!("{}{name}", self.0))
        }
    }

    /// The services' name of the cluster's topic `name`: the prefix taken off. A name without
    /// the prefix (a topic of no namespace) is returned as it is.
    pub fn strip<'a>(&self, name: &'a str) -> &'a str {
        name.strip_prefix(self.0.as_str()).unwrap_or(name)
    }
}

impl FromStr for Namespace {
    type Err = NamespaceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::new(text)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_prefixed_and_the_prefix_taken_off_again() {
        let namespace = Namespace::new("staging.").unwrap();
        assert_eq!(
            namespace.apply("orders.submitted"),
            "staging.orders.submitted"
        );
        assert_eq!(
            namespace.strip("staging.orders.submitted"),
            "orders.submitted"
        );
        assert_eq!(namespace.strip("orders.submitted"), "orders.submitted");
    }

    #[test]
    fn the_default_namespace_leaves_names_as_they_are() {
        let namespace = Namespace::default();
        assert!(matches!(
            namespace.apply("alerts.NL"),
            Cow::Borrowed("alerts.NL")
        ));
        assert_eq!(namespace.strip("alerts.NL"), "alerts.NL");
    }

    #[test]
    fn a_prefix_kafka_would_refuse_is_refused_with_the_reason() {
        assert_eq!(
            "team a.".parse::<Namespace>(),
            Err(NamespaceError::Character(' '))
        );
        assert_eq!(
            "x".repeat(101).parse::<Namespace>(),
            Err(NamespaceError::TooLong(101))
        );
        assert!("pw-test_7.".parse::<Namespace>().is_ok());
    }
}
