//! Fault injection: make a stage slow or failing on purpose, to check that
//! breakers open, answers keep coming within budget, and everything
//! recovers. Off unless configured; settable at run time by tests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Extra time the collaborative filter takes per call.
    pub cf_delay_ms: u64,
    /// Make every collaborative filter call fail.
    pub cf_fail: bool,
    /// Extra time the model stage takes per call.
    pub model_delay_ms: u64,
    /// Make every model stage call fail.
    pub model_fail: bool,
}

#[derive(Debug, Default)]
pub struct Faults {
    cf_delay_ms: AtomicU64,
    cf_fail: AtomicBool,
    model_delay_ms: AtomicU64,
    model_fail: AtomicBool,
}

impl Faults {
    pub fn new(config: &FaultConfig) -> Self {
        let faults = Self::default();
        faults.set_cf_delay(Duration::from_millis(config.cf_delay_ms));
        faults.set_cf_fail(config.cf_fail);
        faults.set_model_delay(Duration::from_millis(config.model_delay_ms));
        faults.set_model_fail(config.model_fail);
        faults
    }

    pub fn set_model_delay(&self, delay: Duration) {
        self.model_delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn set_model_fail(&self, fail: bool) {
        self.model_fail.store(fail, Ordering::Relaxed);
    }

    pub fn model_delay(&self) -> Duration {
        Duration::from_millis(self.model_delay_ms.load(Ordering::Relaxed))
    }

    pub fn model_fail(&self) -> bool {
        self.model_fail.load(Ordering::Relaxed)
    }

    pub fn set_cf_delay(&self, delay: Duration) {
        self.cf_delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn set_cf_fail(&self, fail: bool) {
        self.cf_fail.store(fail, Ordering::Relaxed);
    }

    pub fn cf_delay(&self) -> Duration {
        Duration::from_millis(self.cf_delay_ms.load(Ordering::Relaxed))
    }

    pub fn cf_fail(&self) -> bool {
        self.cf_fail.load(Ordering::Relaxed)
    }
}
