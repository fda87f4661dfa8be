//! Screening: every order line matched against the controlled and watch-listed substances (CAS
//! number, names and synonyms, salts and esters, HS codes, mixtures and concentrations), each
//! finding's scope in each regime, and a report's screening result and alert. A library with no
//! Kafka, database or async in it: the matcher service, its backtest and offline screening, and
//! the evaluation tests embed it.

mod engine;
mod reference;
mod scope;
mod screen;

pub use engine::{normalize, CasField, CasInput, Engine, Identification, LineInput, LineResult};
pub use reference::{ReferenceData, Substance};
pub use scope::Amount;
pub use screen::{
    conclude, findings, findings_of, report_findings, screen_report, Assessment, Screening,
};
