//! Progress of long command-line work: a bar with rate and remaining time on a terminal, and a
//! one-line summary at the end wherever standard error goes.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counts units of work (reports, lines) on standard error.
pub struct Progress {
    bar: ProgressBar,
    unit: &'static str,
    started: Instant,
}

impl Progress {
    /// A bar over `total` units when it is known, a spinner with a count otherwise. Drawn only
    /// when standard error is a terminal.
    pub fn new(total: Option<u64>, unit: &'static str) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self::with_target(total, unit, target)
    }

    fn with_target(total: Option<u64>, unit: &'static str, target: ProgressDrawTarget) -> Self {
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), target).with_style(
                ProgressStyle::with_template(&format!(
                    "{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  {{eta}} left"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::with_draw_target(None, target).with_style(
                ProgressStyle::with_template(&format!("{{spinner}} {{pos}} {unit}  {{per_sec}}"))
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            unit,
            started: Instant::now(),
        }
    }

    /// `count` more units done.
    pub fn inc(&self, count: u64) {
        self.bar.inc(count);
    }

    /// Units done so far.
    pub fn done(&self) -> u64 {
        self.bar.position()
    }

    /// Clears the bar and returns the summary: "120 reports in 3.2 s (37.5 reports/s)".
    pub fn finish(self) -> String {
        // Read before finishing: finishing moves the bar to its end.
        let done = self.bar.position();
        self.bar.finish_and_clear();
        let seconds = self.started.elapsed().as_secs_f64();
        format!(
            "{done} {unit} in {seconds:.1} s ({rate:.1} {unit}/s)",
            unit = self.unit,
            rate = done as f64 / seconds.max(1e-9)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_the_count_rate_and_time_left_and_the_summary_the_total() {
        let term = indicatif::InMemoryTerm::new(4, 120);
        let progress = Progress::with_target(
            Some(10),
            "reports",
            ProgressDrawTarget::term_like(Box::new(term.clone())),
        );
        progress.inc(4);
        // Drawing is rate-limited: let the next frame come.
        std::thread::sleep(Duration::from_millis(300));
        progress.bar.tick();
        let screen = term.contents();
        assert!(screen.contains("4/10 reports"), "{screen}");
        assert!(screen.contains("/s") && screen.contains("left"), "{screen}");
        assert_eq!(progress.done(), 4);
        let summary = progress.finish();
        assert!(summary.starts_with("4 reports in "), "{summary}");
        assert!(summary.ends_with("reports/s)"), "{summary}");
    }
}
