//! One time budget per call, and the deadline each stage gets from it.
//!
//! The budget is the configured total, shortened by the client's own
//! deadline (`grpc-timeout`) when that is tighter, so the server answers
//! with what it has before the client gives up instead of after.

use std::time::Duration;

use tokio::time::Instant;

/// The deadline of one call.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Instant,
}

impl Budget {
    /// `total` from now, or the client's `timeout` if shorter. A margin of
    /// a tenth of the client's timeout is kept for sending the answer.
    pub fn new(total: Duration, client_timeout: Option<Duration>) -> Self {
        let total = match client_timeout {
            Some(timeout) => total.min(timeout - timeout / 10),
            None => total,
        };
        Self {
            deadline: Instant::now() + total,
        }
    }

    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    pub fn is_spent(&self) -> bool {
        self.remaining().is_zero()
    }

    /// A stage's deadline: its own cap, or what is left, if less.
    pub fn stage(&self, cap: Duration) -> Duration {
        cap.min(self.remaining())
    }
}

/// Parses a `grpc-timeout` header value: digits then one unit letter
/// (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("500u"), Some(Duration::from_micros(500)));
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout("10x"), None);
        assert_eq!(parse_grpc_timeout("123456789m"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_tighter_client_deadline_shortens_the_budget() {
        let budget = Budget::new(Duration::from_millis(50), Some(Duration::from_millis(20)));
        assert_eq!(budget.remaining(), Duration::from_millis(18));
        assert_eq!(
            budget.stage(Duration::from_millis(30)),
            Duration::from_millis(18)
        );
        tokio::time::advance(Duration::from_millis(18)).await;
        assert!(budget.is_spent());
    }
}
