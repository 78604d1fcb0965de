//! The time source for every expiry, TTL and lease decision, so that tests
//! can move time forward instead of sleeping.
//!
//! Central types: [`Clock`] (cheap to clone; the system clock by default)
//! and [`TestClock`] (a handle that advances the clocks made from it).
//! A test clock keeps running at real speed on top of its offset: parts that
//! wait in real time (tokio timers, a lease holder's retries, a real OAuth
//! server) still see time pass, so nothing waits forever on a clock that
//! only a test would move.
//! This crate knows nothing of the engine, tokio or the database.
#![deny(missing_docs)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where "now" comes from: the system clock, or a [`TestClock`]'s.
#[derive(Clone, Default)]
pub struct Clock {
    /// Added to the system time; `None` for the plain system clock.
    offset_ms: Option<Arc<AtomicI64>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.offset_ms {
            None => f.write_str("Clock::system"),
            Some(offset) => write!(f, "Clock::test(+{} ms)", offset.load(Ordering::Relaxed)),
        }
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Unix time in milliseconds (token expiries need the precision).
    pub fn now_ms(&self) -> i64 {
        let offset = self
            .offset_ms
            .as_ref()
            .map_or(0, |o| o.load(Ordering::Relaxed));
        system_ms().saturating_add(offset)
    }

    /// Unix time in seconds.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// A clock for tests: the system time plus an offset that only grows.
#[derive(Clone, Debug, Default)]
pub struct TestClock {
    offset_ms: Arc<AtomicI64>,
}

impl TestClock {
    /// A clock that reads the system time until advanced.
    pub fn new() -> Self {
        Self::default()
    }

    /// The [`Clock`] to hand to the code under test; it sees every advance.
    pub fn clock(&self) -> Clock {
        Clock {
            offset_ms: Some(self.offset_ms.clone()),
        }
    }

    /// Moves every clock made from this one forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Unix time in milliseconds, as its clocks read it.
    pub fn now_ms(&self) -> i64 {
        self.clock().now_ms()
    }

    /// Unix time in seconds, as its clocks read it.
    pub fn now_secs(&self) -> i64 {
        self.clock().now_secs()
    }
}

impl From<&TestClock> for Clock {
    fn from(test: &TestClock) -> Self {
        test.clock()
    }
}

fn system_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_reads_the_system_time() {
        let before = system_ms();
        let now = Clock::system().now_ms();
        assert!(now >= before && now - before < 1000);
        assert_eq!(Clock::system().now_secs(), Clock::system().now_ms() / 1000);
    }

    #[test]
    fn advancing_moves_every_clock_of_the_handle() {
        let test = TestClock::new();
        let (a, b) = (test.clock(), test.clock());
        let before = a.now_secs();
        test.advance(Duration::from_secs(3600));
        assert!(a.now_secs() >= before + 3600);
        assert!(b.now_secs() - before < 3600 + 5);
        assert!(Clock::system().now_secs() < a.now_secs() - 3000);
        assert_eq!(format!("{a:?}"), "Clock::test(+3600000 ms)");
    }
}
