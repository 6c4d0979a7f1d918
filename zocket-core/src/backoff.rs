//! Waits between reconnect attempts, shared by the client and the cluster
//! adapters so all three grow, cap and jitter their delays the same way.

use std::time::Duration;

/// Exponential backoff with jitter: attempt `n` waits
/// `min(initial × factorⁿ, max)`, scaled by a random factor in
/// `1 ± jitter`. The jitter keeps peers that were cut off together (clients
/// of one server, nodes of one bus) from coming back in lockstep.
///
/// ```
/// use std::time::Duration;
/// use zocket_core::Backoff;
///
/// let exact = Backoff { jitter: 0.0, ..Backoff::default() };
/// assert_eq!(exact.delay(0), Duration::from_secs(1));
/// assert_eq!(exact.delay(100), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry (attempt 0), before jitter.
    pub initial: Duration,
    /// Growth per attempt.
    pub factor: f64,
    /// The longest wait, before jitter.
    pub max: Duration,
    /// Each delay is scaled by a random factor in `1 ± jitter` (0 for none).
    pub jitter: f64,
}

impl Default for Backoff {
    /// The original zocket client's: 1 s, ×1.3, at most 10 s, ±20 %.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            factor: 1.3,
            max: Duration::from_secs(10),
            jitter: 0.2,
        }
    }
}

impl Backoff {
    /// Doubling from `first` up to `max`, each wait drawn uniformly from
    /// the upper half of its step (`[d/2, d]`): "full jitter" that never
    /// waits less than half, as the cluster adapters reconnect.
    ///
    /// Expressed as the centre of that range (¾ d) ± ⅓, which is the same
    /// uniform distribution, so one `delay` serves every caller.
    pub fn doubling(first: Duration, max: Duration) -> Self {
        Backoff {
            initial: first.mul_f64(0.75),
            factor: 2.0,
            max: max.mul_f64(0.75),
            jitter: 1.0 / 3.0,
        }
    }

    /// The delay before reconnect attempt `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.initial.as_secs_f64() * self.factor.powi(attempt.min(64) as i32);
        let capped = base.min(self.max.as_secs_f64());
        let jitter = if self.jitter > 0.0 {
            1.0 + rand::random_range(-self.jitter..=self.jitter)
        } else {
            1.0
        };
        let secs = capped * jitter;
        // A factor below 1 or a huge one can't make a wait negative or
        // infinite: clamp to what a Duration holds.
        if secs.is_finite() && secs > 0.0 {
            Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_grows_by_a_third_to_the_cap_within_jitter() {
        let b = Backoff::default();
        for attempt in 0..30 {
            let d = b.delay(attempt).as_secs_f64();
            let base = (1.3f64.powi(attempt as i32)).min(10.0);
            assert!(
                d >= base * 0.8 - 1e-9 && d <= base * 1.2 + 1e-9,
                "{attempt}: {d}"
            );
        }
    }

    #[test]
    fn without_jitter_the_delay_is_exact() {
        let exact = Backoff {
            jitter: 0.0,
            ..Backoff::default()
        };
        assert_eq!(exact.delay(0), Duration::from_secs(1));
        assert_eq!(exact.delay(1), Duration::from_millis(1300));
        assert_eq!(exact.delay(100), Duration::from_secs(10));
        assert_eq!(exact.delay(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn doubling_stays_in_the_upper_half_of_each_step() {
        let first = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        let b = Backoff::doubling(first, max);
        let mut below_three_quarters = false;
        let mut above_three_quarters = false;
        for attempt in 0..20 {
            let step = (first.as_secs_f64() * 2f64.powi(attempt as i32)).min(max.as_secs_f64());
            for _ in 0..50 {
                let d = b.delay(attempt).as_secs_f64();
                assert!(
                    d >= step * 0.5 - 1e-9 && d <= step + 1e-9,
                    "{attempt}: {d} not in [{}, {step}]",
                    step * 0.5
                );
                below_three_quarters |= d < step * 0.75;
                above_three_quarters |= d > step * 0.75;
            }
        }
        assert!(below_three_quarters && above_three_quarters, "no spread");
    }

    #[test]
    fn odd_settings_give_finite_waits() {
        let shrinking = Backoff {
            initial: Duration::from_secs(1),
            factor: 0.0,
            max: Duration::from_secs(1),
            jitter: 0.0,
        };
        assert_eq!(shrinking.delay(3), Duration::ZERO);
        let huge = Backoff {
            initial: Duration::MAX,
            factor: 10.0,
            max: Duration::MAX,
            jitter: 0.5,
        };
        assert!(huge.delay(64) > Duration::from_secs(1));
    }
}
