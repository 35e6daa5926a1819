//! A circuit breaker: after a stage keeps failing, stop calling it for a
//! while instead of making every request wait for it to fail again.
//!
//! States:
//! - closed: calls go through; each outcome is counted. It opens after
//!   `consecutive_failures` failures in a row, or when at least
//!   `min_calls` of the last `window` outcomes are in and the failure share
//!   among them reaches `failure_rate`;
//! - open: calls are refused until `open_ms` has passed;
//! - half-open: one probe call goes through; success closes the breaker,
//!   failure opens it again for twice as long (up to `max_open_ms`), so a
//!   stage that stays down is probed less and less often.
//!
//! Time comes from `tokio::time::Instant`, so tests can pause and advance
//! the clock instead of sleeping.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::info;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    pub consecutive_failures: u32,
    pub failure_rate: f64,
    pub window: usize,
    pub min_calls: usize,
    pub open_ms: u64,
    pub max_open_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            failure_rate: 0.5,
            window: 50,
            min_calls: 20,
            open_ms: 1_000,
            max_open_ms: 30_000,
        }
    }
}

/// The breaker's state, as reported to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    HalfOpen,
    Open,
}

impl State {
    /// 0 closed, 1 half-open, 2 open: the value of the state gauge.
    pub fn gauge(self) -> i64 {
        match self {
            State::Closed => 0,
            State::HalfOpen => 1,
            State::Open => 2,
        }
    }
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    consecutive: u32,
    outcomes: VecDeque<bool>,
    /// How long the next opening lasts.
    open_for: Duration,
}

/// Permission to call the stage; hand it back with the outcome.
#[must_use = "report the outcome with Breaker::record"]
#[derive(Debug)]
pub struct Permit {
    probe: bool,
}

#[derive(Debug)]
pub struct Breaker {
    stage: &'static str,
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub fn new(stage: &'static str, config: BreakerConfig) -> Self {
        let open_for = Duration::from_millis(config.open_ms);
        Self {
            stage,
            config,
            inner: Mutex::new(Inner {
                phase: Phase::Closed,
                consecutive: 0,
                outcomes: VecDeque::new(),
                open_for,
            }),
        }
    }

    pub fn stage(&self) -> &'static str {
        self.stage
    }

    /// A permit to call the stage, or `None` while the breaker is open
    /// (or half-open with its probe still out).
    pub fn allow(&self) -> Option<Permit> {
        let mut inner = self.inner.lock();
        match inner.phase {
            Phase::Closed => Some(Permit { probe: false }),
            Phase::Open { until } if Instant::now() >= until => {
                inner.phase = Phase::HalfOpen { probing: true };
                info!(stage = self.stage, "breaker half-open, probing");
                Some(Permit { probe: true })
            }
            Phase::Open { .. } | Phase::HalfOpen { probing: true } => None,
            Phase::HalfOpen { probing: false } => {
                inner.phase = Phase::HalfOpen { probing: true };
                Some(Permit { probe: true })
            }
        }
    }

    /// Reports how the permitted call went.
    pub fn record(&self, permit: Permit, success: bool) {
        let mut inner = self.inner.lock();
        if permit.probe {
            if success {
                self.close(&mut inner);
            } else {
                let longer =
                    (inner.open_for * 2).min(Duration::from_millis(self.config.max_open_ms));
                inner.open_for = longer;
                self.open(&mut inner);
            }
            return;
        }
        if !matches!(inner.phase, Phase::Closed) {
            return; // a call that started before the breaker opened
        }
        inner.consecutive = if success { 0 } else { inner.consecutive + 1 };
        inner.outcomes.push_back(success);
        if inner.outcomes.len() > self.config.window {
            inner.outcomes.pop_front();
        }
        if self.should_open(&inner) {
            self.open(&mut inner);
        }
    }

    fn should_open(&self, inner: &Inner) -> bool {
        if inner.consecutive >= self.config.consecutive_failures {
            return true;
        }
        let calls = inner.outcomes.len();
        let failures = inner.outcomes.iter().filter(|ok| !**ok).count();
        calls >= self.config.min_calls && failures as f64 >= self.config.failure_rate * calls as f64
    }

    fn open(&self, inner: &mut Inner) {
        inner.phase = Phase::Open {
            until: Instant::now() + inner.open_for,
        };
        let open_ms = inner.open_for.as_millis() as u64;
        info!(stage = self.stage, open_ms, "breaker opened");
    }

    fn close(&self, inner: &mut Inner) {
        inner.phase = Phase::Closed;
        inner.consecutive = 0;
        inner.outcomes.clear();
        inner.open_for = Duration::from_millis(self.config.open_ms);
        info!(stage = self.stage, "breaker closed");
    }

    pub fn state(&self) -> State {
        match self.inner.lock().phase {
            Phase::Closed => State::Closed,
            Phase::HalfOpen { .. } => State::HalfOpen,
            Phase::Open { .. } => State::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(
            "test",
            BreakerConfig {
                consecutive_failures: 3,
                failure_rate: 0.5,
                window: 10,
                min_calls: 6,
                open_ms: 100,
                max_open_ms: 350,
            },
        )
    }

    fn call(b: &Breaker, success: bool) -> bool {
        match b.allow() {
            Some(permit) => {
                b.record(permit, success);
                true
            }
            None => false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn consecutive_failures_open_it_and_a_good_probe_closes_it() {
        let b = breaker();
        for _ in 0..3 {
            assert!(call(&b, false));
        }
        assert_eq!(b.state(), State::Open);
        assert!(!call(&b, true), "open: refused");

        tokio::time::advance(Duration::from_millis(100)).await;
        let probe = b.allow().expect("half-open lets one probe through");
        assert_eq!(b.state(), State::HalfOpen);
        assert!(b.allow().is_none(), "only one probe at a time");
        b.record(probe, true);
        assert_eq!(b.state(), State::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_doubles_the_open_time_up_to_the_cap() {
        let b = breaker();
        for _ in 0..3 {
            call(&b, false);
        }
        // Open for 100 ms, then 200 after a failed probe, then the 350 cap.
        for open_ms in [100, 200, 350, 350] {
            tokio::time::advance(Duration::from_millis(open_ms - 1)).await;
            assert!(b.allow().is_none(), "still open just before {open_ms} ms");
            tokio::time::advance(Duration::from_millis(1)).await;
            let probe = b.allow().expect("probe after the open time");
            b.record(probe, false);
            assert_eq!(b.state(), State::Open);
        }
    }

    #[test]
    fn a_high_failure_rate_opens_it_without_a_run_of_failures() {
        let b = breaker();
        // Alternating: never 3 failures in a row, but half of all calls fail.
        for i in 0..6 {
            call(&b, i % 2 == 0);
        }
        assert_eq!(b.state(), State::Open);
    }

    #[test]
    fn occasional_failures_keep_it_closed() {
        let b = breaker();
        for i in 0..40 {
            assert!(call(&b, i % 5 != 0));
        }
        assert_eq!(b.state(), State::Closed);
    }
}
