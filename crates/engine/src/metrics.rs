//! Counters the engine keeps for `/metrics`: plain atomics (one relaxed add
//! per event, no lock), read by the server when it is scraped. The engine
//! knows no metrics format; the server names and exposes these.

use std::sync::atomic::{AtomicU64, Ordering};

use connectors_store::PoolStats;

use crate::{Engine, Result};

/// How each provider refresh call ended.
#[derive(Debug, Default)]
pub(crate) struct RefreshCounters {
    ok: AtomicU64,
    transient: AtomicU64,
    permanent: AtomicU64,
    lost_race: AtomicU64,
}

/// The outcome a refresh is counted under.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Counted {
    Ok,
    Transient,
    Permanent,
    LostRace,
}

impl RefreshCounters {
    pub(crate) fn count(&self, outcome: Counted) {
        let counter = match outcome {
            Counted::Ok => &self.ok,
            Counted::Transient => &self.transient,
            Counted::Permanent => &self.permanent,
            Counted::LostRace => &self.lost_race,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Webhook delivery attempts by outcome, in this process.
#[derive(Debug, Default)]
pub(crate) struct DeliveryCounters {
    delivered: AtomicU64,
    retrying: AtomicU64,
    gave_up: AtomicU64,
}

impl DeliveryCounters {
    /// One attempt: delivered, failed with another attempt to come, or the
    /// last one failed.
    pub(crate) fn count(&self, delivered: bool, will_retry: bool) {
        let counter = match (delivered, will_retry) {
            (true, _) => &self.delivered,
            (false, true) => &self.retrying,
            (false, false) => &self.gave_up,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Webhook delivery attempts by outcome since the engine started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Answered 2xx.
    pub delivered: u64,
    /// Failed; another attempt is scheduled.
    pub retrying: u64,
    /// The last attempt failed; the delivery is given up.
    pub gave_up: u64,
}

/// Refreshes by outcome since the engine started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshCounts {
    /// New tokens stored.
    pub ok: u64,
    /// The provider failed for now (or the lease ran out before the call); retried later.
    pub transient: u64,
    /// The provider refused the grant; the connector is now `expired`.
    pub permanent: u64,
    /// The provider answered but another holder had taken the lease meanwhile;
    /// our answer was discarded.
    pub lost_race: u64,
}

/// Read-cache activity since the engine started (principals and tokens together).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads that went to the database.
    pub misses: u64,
    /// Entries dropped for room (the configured bound).
    pub evictions: u64,
    /// Entries dropped because the database changed.
    pub invalidations: u64,
    /// Times the cache was emptied because the database's change feed
    /// (PostgreSQL `LISTEN`) was lost.
    pub resets: u64,
}

/// What `/metrics` shows of the engine at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineMetrics {
    /// Refreshes by outcome.
    pub refreshes: RefreshCounts,
    /// Read-cache activity.
    pub cache: CacheCounts,
    /// Webhook delivery attempts.
    pub deliveries: DeliveryCounts,
    /// The database pool.
    pub pool: PoolStats,
    /// Seconds the most overdue refreshable token is past its refresh
    /// margin (0 when none is): how far the background refresh lags.
    pub refresh_lag_secs: f64,
}

impl Engine {
    pub(crate) fn count_refresh(&self, outcome: Counted) {
        self.inner.refresh_counters.count(outcome);
    }

    /// A snapshot for `/metrics`: counters, the pool, and one indexed query
    /// for the refresh lag.
    pub async fn metrics(&self) -> Result<EngineMetrics> {
        let c = &self.inner.refresh_counters;
        let margin_ms = self.config().refresh_margin_secs.saturating_mul(1000);
        let lag_ms = match self.store().earliest_refreshable_expiry().await? {
            Some(earliest) => (self.now_ms() - (earliest - margin_ms)).max(0),
            None => 0,
        };
        Ok(EngineMetrics {
            deliveries: {
                let d = &self.inner.delivery_counters;
                DeliveryCounts {
                    delivered: d.delivered.load(Ordering::Relaxed),
                    retrying: d.retrying.load(Ordering::Relaxed),
                    gave_up: d.gave_up.load(Ordering::Relaxed),
                }
            },
            refreshes: RefreshCounts {
                ok: c.ok.load(Ordering::Relaxed),
                transient: c.transient.load(Ordering::Relaxed),
                permanent: c.permanent.load(Ordering::Relaxed),
                lost_race: c.lost_race.load(Ordering::Relaxed),
            },
            cache: self.inner.cache.counts(),
            pool: self.store().pool_stats(),
            refresh_lag_secs: lag_ms as f64 / 1000.0,
        })
    }
}
