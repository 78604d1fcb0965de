//! When to try a failed delivery again: a fixed list of growing delays,
//! each moved by a random jitter so that endpoints failing together are not
//! retried together.

use std::time::Duration;

use rand::Rng;

/// The waits between attempts; attempt 1 is immediate.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    /// `delays[i]` is the wait before attempt `i + 2`; after the last one,
    /// delivery gives up (so there are `delays.len() + 1` attempts).
    pub delays: Vec<Duration>,
    /// Each delay is multiplied by a random factor in `1 ± jitter`
    /// (clamped to 0..=1).
    pub jitter: f64,
}

impl Default for RetrySchedule {
    /// The Standard Webhooks / Svix schedule Base44's own webhooks follow:
    /// 8 attempts over about 27.6 hours, ±20 %.
    fn default() -> Self {
        const MIN: u64 = 60;
        const HOUR: u64 = 60 * MIN;
        Self {
            delays: [
                5,
                5 * MIN,
                30 * MIN,
                2 * HOUR,
                5 * HOUR,
                10 * HOUR,
                10 * HOUR,
            ]
            .map(Duration::from_secs)
            .to_vec(),
            jitter: 0.2,
        }
    }
}

impl RetrySchedule {
    /// How many attempts a delivery gets.
    pub fn attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// The sum of the delays without jitter: from the first attempt to the
    /// last.
    pub fn span(&self) -> Duration {
        self.delays
            .iter()
            .fold(Duration::ZERO, |sum, d| sum.saturating_add(*d))
    }

    /// How long to wait after attempt `attempt` (1 for the first) failed,
    /// or `None` when that was the last one. Jitter never makes a delay
    /// negative, and a zero delay stays zero.
    pub fn delay_after<R: Rng + ?Sized>(&self, attempt: usize, rng: &mut R) -> Option<Duration> {
        let delay = *self.delays.get(attempt.checked_sub(1)?)?;
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        if delay.is_zero() || jitter == 0.0 {
            return Some(delay);
        }
        let factor = 1.0 + rng.gen_range(-jitter..=jitter);
        Some(Duration::try_from_secs_f64(delay.as_secs_f64() * factor.max(0.0)).unwrap_or(delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn the_default_is_eight_attempts_over_about_27_6_hours() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.attempts(), 8);
        assert_eq!(
            schedule.span(),
            Duration::from_secs(5 + 5 * 60 + 30 * 60 + 27 * 3600)
        );
        assert!((schedule.span().as_secs_f64() / 3600.0 - 27.6).abs() < 0.05);
    }

    #[test]
    fn delays_follow_the_list_within_the_jitter_then_give_up() {
        let schedule = RetrySchedule::default();
        let mut rng = StdRng::seed_from_u64(15);
        for _ in 0..200 {
            for (i, nominal) in schedule.delays.iter().enumerate() {
                let delay = schedule.delay_after(i + 1, &mut rng).unwrap();
                assert!(
                    delay >= nominal.mul_f64(0.8) && delay <= nominal.mul_f64(1.2),
                    "{i}: {delay:?}"
                );
            }
            assert_eq!(schedule.delay_after(8, &mut rng), None);
            assert_eq!(schedule.delay_after(0, &mut rng), None);
        }
        // The jitter spreads: not every draw is the nominal delay.
        let draws: std::collections::HashSet<Duration> = (0..50)
            .map(|_| schedule.delay_after(3, &mut rng).unwrap())
            .collect();
        assert!(draws.len() > 40);
    }

    #[test]
    fn zero_delays_stay_zero_and_odd_jitters_are_tamed() {
        let mut rng = StdRng::seed_from_u64(1);
        let zeros = RetrySchedule {
            delays: vec![Duration::ZERO; 2],
            jitter: 0.2,
        };
        assert_eq!(zeros.attempts(), 3);
        assert_eq!(zeros.delay_after(1, &mut rng), Some(Duration::ZERO));
        assert_eq!(zeros.delay_after(2, &mut rng), Some(Duration::ZERO));
        assert_eq!(zeros.delay_after(3, &mut rng), None);
        let second = Duration::from_secs(1);
        for jitter in [f64::NAN, f64::INFINITY, -3.0, 0.0] {
            let schedule = RetrySchedule {
                delays: vec![second],
                jitter,
            };
            assert_eq!(schedule.delay_after(1, &mut rng), Some(second), "{jitter}");
        }
        let wild = RetrySchedule {
            delays: vec![second, Duration::MAX],
            jitter: 7.0,
        };
        for _ in 0..100 {
            assert!(wild.delay_after(1, &mut rng).unwrap() <= 2 * second);
            wild.delay_after(2, &mut rng).unwrap();
        }
        assert_eq!(
            RetrySchedule {
                delays: vec![],
                jitter: 0.2
            }
            .delay_after(1, &mut rng),
            None
        );
    }
}
