//! Log lines about events that a client can cause at will (refused
//! connections, failed accepts), at most one per [`EVERY`], each saying how
//! many events it stands for: the log stays readable and cheap under a flood.

use std::time::{Duration, Instant};

/// Shortest gap between two such log lines.
pub(super) const EVERY: Duration = Duration::from_secs(10);

/// One rate-limited kind of log line.
#[derive(Debug, Default)]
pub(super) struct RateLimited {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimited {
    /// `Some(events suppressed since the last line)` if a line is due now;
    /// `None` (and the event counted) otherwise.
    pub(super) fn hit(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self.last.is_some_and(|last| now < last + EVERY) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_counting_the_rest() {
        let mut limit = RateLimited::default();
        assert_eq!(limit.hit(), Some(0));
        for _ in 0..5 {
            assert_eq!(limit.hit(), None);
        }
        limit.last = Some(Instant::now() - EVERY);
        assert_eq!(limit.hit(), Some(5));
    }
}
