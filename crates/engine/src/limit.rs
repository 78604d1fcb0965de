//! Sliding-window counters kept in memory, for the limits that guard
//! cheap-to-call, costly-to-serve use cases (minting app-user tokens,
//! starting app users' consents, guessing device user codes). Each replica
//! counts on its own, so N replicas allow at most N times a budget.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Times (Unix ms) of the events within the window, per key.
#[derive(Default)]
pub(crate) struct SlidingWindow {
    events: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl SlidingWindow {
    /// `Some(seconds to wait)` when `key` had `max` events within the
    /// `window_ms` before `now_ms`.
    pub(crate) fn blocked(
        &self,
        key: &str,
        now_ms: i64,
        window_ms: i64,
        max: usize,
    ) -> Option<i64> {
        let max = max.max(1);
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let cutoff = now_ms - window_ms;
        events.retain(|_, q| {
            while q.front().is_some_and(|t| *t <= cutoff) {
                q.pop_front();
            }
            !q.is_empty()
        });
        let q = events.get(key)?;
        (q.len() >= max).then(|| {
            let oldest = q[q.len() - max];
            ((oldest + window_ms - now_ms) / 1000).max(1)
        })
    }

    /// Counts an event of `key` at `now_ms`.
    pub(crate) fn record(&self, key: &str, now_ms: i64) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_owned())
            .or_default()
            .push_back(now_ms);
    }

    /// [`Self::blocked`], else [`Self::record`].
    pub(crate) fn take(
        &self,
        key: &str,
        now_ms: i64,
        window_ms: i64,
        max: usize,
    ) -> Result<(), i64> {
        if let Some(wait) = self.blocked(key, now_ms, window_ms, max) {
            return Err(wait);
        }
        self.record(key, now_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_waits_until_its_oldest_counted_event_leaves_the_window() {
        let w = SlidingWindow::default();
        for t in 0..3 {
            w.take("a", t, 60_000, 3).unwrap();
        }
        assert_eq!(w.take("a", 1_000, 60_000, 3), Err(59));
        assert!(w.take("b", 1_000, 60_000, 3).is_ok(), "keys are apart");
        assert!(w.take("a", 60_001, 60_000, 3).is_ok(), "the first left");
    }
}
