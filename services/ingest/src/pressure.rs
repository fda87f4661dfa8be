//! Back-pressure and rate limits: ingest refuses work it cannot pass on rather than queueing it
//! without bound.
//!
//! - Each company may make `rate` requests per second (bursts of `burst`); past that, 429 with
//!   `Retry-After`.
//! - At most `max_in_flight` submissions are read and stored at once; past that, 503. One
//!   company may hold at most `max_in_flight_per_company` of them (a quarter by default);
//!   past that, 429 for that company alone, so that its stalled or slow uploads never refuse
//!   another company.
//! - When the backlog (reports in the outbox plus reports on `orders.submitted` the matcher has
//!   not taken yet) reaches `max_backlog`, 503 with `Retry-After` until it falls again. The
//!   backlog is measured once a second from the database and the broker.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use kafka::GroupLag;
use store::Store;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// How often the backlog is measured.
const MEASURE_EVERY: Duration = Duration::from_secs(1);

/// Settings of the limits (`ingest serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Requests per second each company may make (0: no limit).
    #[arg(long = "rate-limit", env = "PW_RATE_LIMIT", default_value_t = 100)]
    pub rate: u32,
    /// Requests a company may make at once above its rate.
    #[arg(long = "rate-burst", env = "PW_RATE_BURST", default_value_t = 200)]
    pub burst: u32,
    /// Most submissions read and stored at the same time.
    #[arg(long = "max-in-flight", env = "PW_MAX_IN_FLIGHT", default_value_t = 64)]
    pub max_in_flight: usize,
    /// Most submissions of one company read and stored at the same time (0: a quarter of
    /// `--max-in-flight`).
    #[arg(
        long = "max-in-flight-per-company",
        env = "PW_MAX_IN_FLIGHT_PER_COMPANY",
        default_value_t = 0
    )]
    pub max_in_flight_per_company: usize,
    /// Backlog (reports accepted but not yet taken by the matcher) at which submissions are
    /// refused with 503 until it falls.
    #[arg(long = "max-backlog", env = "PW_MAX_BACKLOG", default_value_t = 50_000)]
    pub max_backlog: i64,
    /// The matcher's consumer group, whose lag on orders.submitted counts in the backlog.
    #[arg(
        long = "matcher-group",
        env = "PW_MATCHER_GROUP",
        default_value = "matcher"
    )]
    pub matcher_group: String,
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            rate: 100,
            burst: 200,
            max_in_flight: 64,
            max_in_flight_per_company: 0,
            max_backlog: 50_000,
            matcher_group: "matcher".to_owned(),
        }
    }
}

/// Why a request is refused before its body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The company made too many requests; retry after this long.
    RateLimited(Duration),
    /// Too many submissions at once.
    Busy,
    /// Too many submissions of this company at once: at most this many.
    CompanyBusy(usize),
    /// The pipeline is this far behind.
    Backlog(i64),
}

/// The limits the API applies. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Limits {
    rate: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    in_flight: Arc<Semaphore>,
    /// Submissions in flight by company; companies with none are not in the map.
    by_company: Arc<Mutex<HashMap<String, usize>>>,
    per_company: usize,
    max_backlog: i64,
    backlog: Arc<AtomicI64>,
}

impl Limits {
    pub fn new(args: &LimitArgs) -> Self {
        let rate = NonZeroU32::new(args.rate).map(|rate| {
            let burst = NonZeroU32::new(args.burst.max(args.rate)).unwrap_or(rate);
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        let max_in_flight = args.max_in_flight.max(1);
        let per_company = match args.max_in_flight_per_company {
            0 => max_in_flight / 4,
            limit => limit.min(max_in_flight),
        };
        Self {
            rate,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            by_company: Arc::default(),
            per_company: per_company.max(1),
            max_backlog: args.max_backlog,
            backlog: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Counts one request of `company` against its rate.
    pub fn check_rate(&self, company: &str) -> Result<(), Refusal> {
        let Some(limiter) = &self.rate else {
            return Ok(());
        };
        limiter.check_key(&company.to_owned()).map_err(|not_until| {
            Refusal::RateLimited(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }

    /// Room for one more submission of `company`: a permit held while it is read and stored.
    pub fn admit(&self, company: &str) -> Result<Admission, Refusal> {
        let backlog = self.backlog.load(Ordering::Relaxed);
        if backlog >= self.max_backlog {
            return Err(Refusal::Backlog(backlog));
        }
        {
            let mut by_company = lock(&self.by_company);
            let held = by_company.entry(company.to_owned()).or_default();
            if *held >= self.per_company {
                return Err(Refusal::CompanyBusy(self.per_company));
            }
            *held += 1;
        }
        // From here on, dropping the admission gives the company's place back.
        let mut admission = Admission {
            _permit: None,
            company: company.to_owned(),
            by_company: Arc::clone(&self.by_company),
        };
        admission._permit = Some(
            self.in_flight
                .clone()
                .try_acquire_owned()
                .map_err(|_| Refusal::Busy)?,
        );
        Ok(admission)
    }

    /// Records a measured backlog.
    pub fn set_backlog(&self, backlog: i64) {
        self.backlog.store(backlog, Ordering::Relaxed);
    }

    /// Drops the rate state of companies idle for a while, so memory stays bounded.
    fn forget_idle(&self) {
        if let Some(limiter) = &self.rate {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// A submission's place among those in flight, given back when it is dropped.
pub struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
    company: String,
    by_company: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut by_company = lock(&self.by_company);
        if let Some(held) = by_company.get_mut(&self.company) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                by_company.remove(&self.company);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A count per company holds no invariant a panic could break.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Measures the backlog every second until shutdown. While the broker cannot be asked, the
/// outbox alone counts (it grows when Kafka is away).
pub async fn measure(
    limits: Limits,
    store: Store,
    lag: GroupLag,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let lag = Arc::new(lag);
    loop {
        let outbox = store.outbox_depth().await;
        let probe = lag.clone();
        let matcher_lag =
            tokio::task::spawn_blocking(move || probe.measure(Duration::from_secs(5))).await?;
        match (&outbox, &matcher_lag) {
            (Ok(outbox), Ok(matcher_lag)) => {
                metrics.outbox_depth.set(*outbox);
                metrics.matcher_lag.set(*matcher_lag);
                limits.set_backlog(outbox + matcher_lag);
            }
            (Ok(outbox), Err(error)) => {
                tracing::debug!(
                    error = format!("{error:#}"),
                    "cannot measure the matcher's lag"
                );
                metrics.outbox_depth.set(*outbox);
                limits.set_backlog(*outbox);
            }
            (Err(error), _) => {
                tracing::debug!(%error, "cannot measure the outbox");
            }
        }
        metrics.backlog.set(limits.backlog.load(Ordering::Relaxed));
        limits.forget_idle();
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(MEASURE_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(rate: u32, burst: u32, in_flight: usize, backlog: i64) -> Limits {
        Limits::new(&LimitArgs {
            rate,
            burst,
            max_in_flight: in_flight,
            max_backlog: backlog,
            max_in_flight_per_company: 0,
            ..LimitArgs::default()
        })
    }

    #[test]
    fn a_company_over_its_rate_is_told_when_to_retry_and_others_are_not_affected() {
        let limits = with(2, 3, 10, 100);
        for _ in 0..3 {
            limits.check_rate("acme").unwrap();
        }
        let Err(Refusal::RateLimited(wait)) = limits.check_rate("acme") else {
            panic!("the fourth request in a burst of three must be refused")
        };
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        limits.check_rate("other").unwrap();
        assert!(
            with(0, 0, 10, 100).check_rate("acme").is_ok(),
            "0 turns the limit off"
        );
    }

    #[test]
    fn submissions_beyond_the_in_flight_limit_are_refused_until_one_finishes() {
        let limits = Limits::new(&LimitArgs {
            max_in_flight: 2,
            max_in_flight_per_company: 2,
            ..LimitArgs::default()
        });
        let first = limits.admit("acme").unwrap();
        let _second = limits.admit("acme").unwrap();
        assert_eq!(limits.admit("other").err(), Some(Refusal::Busy));
        drop(first);
        assert!(limits.admit("other").is_ok());
    }

    #[test]
    fn one_company_holds_at_most_its_share_and_never_refuses_another() {
        let limits = with(0, 0, 8, 100);
        let held: Vec<Admission> = (0..2).map(|_| limits.admit("acme").unwrap()).collect();
        assert_eq!(limits.admit("acme").err(), Some(Refusal::CompanyBusy(2)));
        let other = limits.admit("other").unwrap();
        drop(held);
        assert!(limits.admit("acme").is_ok());
        drop(other);
        assert!(
            lock(&limits.by_company).is_empty(),
            "no company left behind"
        );
    }

    #[test]
    fn a_backlog_at_the_limit_refuses_submissions_until_it_falls() {
        let limits = with(0, 0, 2, 100);
        limits.set_backlog(100);
        assert_eq!(limits.admit("acme").err(), Some(Refusal::Backlog(100)));
        limits.set_backlog(99);
        assert!(limits.admit("acme").is_ok());
    }
}
