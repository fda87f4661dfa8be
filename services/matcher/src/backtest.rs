//! Backtest: stored reports of a time range screened again under another rule set, and which
//! alerts would appear, disappear or change severity. Reads only: nothing is recorded or
//! published.

use std::io::Write;

use anyhow::Context as _;
use events::OrderReport;
use indicators::{RuleSet, RuleSets};
use runtime::Progress;
use store::Store;

use crate::assess::{self, Mode};
use screening::Engine;
use screening::{conclude, report_findings, Assessment, Screening};

/// Reports read from the store at a time.
const PAGE: i64 = 500;

/// What a backtest found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub reports: usize,
    pub baseline_alerts: usize,
    pub candidate_alerts: usize,
    pub appear: usize,
    pub disappear: usize,
    pub change: usize,
}

/// What a backtest compares, over which reports.
#[derive(Clone, Copy)]
pub struct Backtest<'a> {
    pub store: &'a Store,
    pub engine: &'a Engine,
    /// The rule sets in use.
    pub rules: &'a RuleSets,
    /// Judge every report by this version instead of the one in force on its day.
    pub baseline: Option<&'a RuleSet>,
    pub candidate: &'a RuleSet,
    /// Reports received in `[from, to)`, microseconds.
    pub range: (i64, i64),
}

/// Screens the reports received in the range under the rules in force for each (or the
/// baseline when given) and under the candidate; writes one line per difference, counts each
/// report on `progress`, and returns the counts.
pub async fn run(
    backtest: &Backtest<'_>,
    output: &mut impl Write,
    progress: &Progress,
) -> anyhow::Result<Summary> {
    let Backtest {
        store,
        engine,
        rules,
        baseline,
        candidate,
        range,
    } = *backtest;
    let mut summary = Summary::default();
    let mut after: Option<(i64, String)> = None;
    loop {
        let page = store
            .reports_received(
                range.0,
                range.1,
                after.as_ref().map(|(time, id)| (*time, id.as_str())),
                PAGE,
            )
            .await?;
        let Some((last_id, last_time, _)) = page.last() else {
            break;
        };
        after = Some((*last_time, last_id.clone()));
        for (report_id, _, event) in &page {
            let report: OrderReport = events::decode(event)
                .with_context(|| format!("stored report {report_id} does not decode"))?;
            summary.reports += 1;
            progress.inc(1);
            let findings = report_findings(engine, &report);
            if findings.is_empty() {
                continue;
            }
            let old_rules = baseline.unwrap_or_else(|| rules.at(report.submitted_at));
            let history_days = old_rules.history_days.max(candidate.history_days);
            let loaded = assess::load(
                store,
                engine,
                &report,
                &findings,
                history_days,
                Mode::ReadOnly,
            )
            .await?;
            let judge = |assessment: Assessment<'_>| {
                conclude(
                    engine,
                    &report,
                    findings.clone(),
                    &assessment,
                    report.submitted_at,
                )
            };
            let before = judge(loaded.assess(&report, &findings, old_rules));
            let after = judge(loaded.assess(&report, &findings, candidate));
            summary.baseline_alerts += usize::from(before.alert.is_some());
            summary.candidate_alerts += usize::from(after.alert.is_some());
            if let Some(line) = difference(&report, &before, &after) {
                match line.split_whitespace().next() {
                    Some("appears") => summary.appear += 1,
                    Some("disappears") => summary.disappear += 1,
                    _ => summary.change += 1,
                }
                writeln!(output, "{line}")?;
            }
        }
    }
    writeln!(
        output,
        "{} reports: {} alerts under the rules in force{}, {} under {}; {} appear, {} disappear, {} change severity",
        summary.reports,
        summary.baseline_alerts,
        baseline.map(|rules| format!(" ({})", rules.version)).unwrap_or_default(),
        summary.candidate_alerts,
        candidate.version,
        summary.appear,
        summary.disappear,
        summary.change
    )?;
    Ok(summary)
}

/// One line when the two screenings of a report differ in alert or severity.
fn difference(report: &OrderReport, before: &Screening, after: &Screening) -> Option<String> {
    let who = format!(
        "{} {}/{}",
        report.report_id, report.company_id, report.company_reference
    );
    let describe = |screening: &Screening| {
        screening.alert.as_ref().map(|alert| {
            let indicators: Vec<&str> = alert
                .indicators
                .iter()
                .map(|hit| hit.indicator_id.as_str())
                .collect();
            (
                alert.severity,
                format!(
                    "{} score {:.0} [{}]",
                    alert.severity.as_str(),
                    alert.score,
                    indicators.join(", ")
                ),
            )
        })
    };
    match (describe(before), describe(after)) {
        (None, Some((_, now))) => Some(format!("appears    {who}: {now}")),
        (Some((_, was)), None) => Some(format!("disappears {who}: was {was}")),
        (Some((old, was)), Some((new, now))) if old != new => {
            Some(format!("changes    {who}: {was} -> {now}"))
        }
        _ => None,
    }
}
