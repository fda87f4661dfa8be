//! The operators' web console: the health of each service, throughput and lag over the last
//! hour, dead letters, a live feed of alerts, each alert with its explanation and the
//! authorities' feedback, and the volumes per authority. An authority signs in with its API key
//! and sees only its own alerts.

mod app;
mod auth;
mod charts;
mod cli;
mod companies;
mod dead_letters;
mod http;
mod metrics;
mod monitor;
mod pages;
mod sign_in;

pub use app::{dead_letter_topics, App, ServeArgs};
pub use auth::{Sessions, SignInError, Viewer};
pub use cli::{main, Cli, Command};
pub use dead_letters::{DeadLetterEntry, DeadLetters};
pub use monitor::{Health, Monitor, Resolver, Target};
