//! Time-decayed weight sums that cost nothing to read.
//!
//! Popularity should mean "popular lately", but decaying every counter on a
//! timer would touch the whole graph. Instead each weight is stored already
//! multiplied by `2^((t - epoch) / half_life)`: a newer event adds a larger
//! number, so older events fade relative to it by exactly one half per
//! half-life. Every counter shares that factor, so sums can be compared and
//! divided (shares, ratios, rankings) without ever rescaling them.

use std::sync::atomic::{AtomicU64, Ordering};

/// 2024-01-01T00:00:00Z: the point where the growth factor is 1.
const EPOCH_MS: i64 = 1_704_067_200_000;
/// The exponent is clamped so an f64 sum cannot overflow: with the default
/// 14-day half-life this covers events until about the year 2061; events
/// beyond the clamp all count as if they happened at its edge.
const MAX_EXPONENT: f64 = 900.0;

/// Converts an event's weight and time into its decayed contribution.
#[derive(Debug, Clone, Copy)]
pub struct DecayClock {
    half_life_ms: f64,
}

impl DecayClock {
    pub fn new(half_life_hours: f64) -> Self {
        Self {
            half_life_ms: (half_life_hours * 3_600_000.0).max(1.0),
        }
    }

    pub fn scaled(&self, weight: f32, at_ms: i64) -> f64 {
        let exponent =
            ((at_ms - EPOCH_MS) as f64 / self.half_life_ms).clamp(-MAX_EXPONENT, MAX_EXPONENT);
        weight as f64 * exponent.exp2()
    }
}

/// An f64 sum written by the single graph writer and read by anyone.
#[derive(Debug, Default)]
pub struct DecayedWeight(AtomicU64);

impl DecayedWeight {
    pub fn new(value: f64) -> Self {
        Self(AtomicU64::new(value.to_bits()))
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Adds to the sum. A plain load and store, not a CAS loop: only the
    /// graph writer, which holds the writer lock, ever calls this.
    pub fn add(&self, amount: f64) {
        self.0
            .store((self.get() + amount).to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_one_half_life_older_counts_half() {
        let clock = DecayClock::new(24.0);
        let day_ms = 86_400_000;
        let now = EPOCH_MS + 30 * day_ms;
        let ratio = clock.scaled(1.0, now - day_ms) / clock.scaled(1.0, now);
        assert!((ratio - 0.5).abs() < 1e-12);
    }

    #[test]
    fn far_future_times_stay_finite() {
        let clock = DecayClock::new(1.0);
        assert!(clock.scaled(1.0e6, i64::MAX / 2).is_finite());
    }
}
