//! indicators: the published indicators of suspicious orders as rules over an order, what was
//! identified in it and the history of the same buyer across every supplier on the platform;
//! the score and severity they give; and the versioned rule sets that weigh them.
//!
//! Everything here is pure: the caller loads the history and the watch list, and passes the
//! time, so every rule is tested with an injected clock.

mod catalog;
mod evaluate;
mod rules;
mod score;

pub use catalog::{indicator, Indicator, INDICATORS};
pub use domain::party::{
    name_similarity, normalize_name, normalize_registration, PartyKey, Purchase, WatchedParty,
};
pub use evaluate::{evaluate, purchases, Case};
pub use rules::{IdentificationWeights, Route, RuleSet, RuleSets, SeverityThresholds, Threshold};
pub use score::{identification_weight, score, severity};
