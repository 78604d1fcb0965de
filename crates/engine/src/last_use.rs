//! When each API key and service token was last used (#12.3: the dashboard
//! lists them by last use), recorded coarsely so that the token route, the
//! hot path, stays a read (issue #11):
//! - only when a check reads the database (a miss of the principal cache,
//!   which answers for at most `[cache] max_age_ms`), never on a hit;
//! - only when the stored value is [`LAST_USE_GRANULARITY_SECS`] old or
//!   more, by one conditional UPDATE on the primary key, so an active
//!   credential costs at most one write a minute per process (and racing
//!   replicas write once);
//! - off the request path, in a task: the request neither waits for the
//!   write nor fails with it (a failed write is logged and dropped, since
//!   the next miss a minute on tries again);
//! - one write in flight per credential in this process.
//!
//! Login access tokens (`device.rs`) are not API keys: no last use.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use connectors_store::Store;

use crate::Engine;

/// A recorded last use may be this many seconds behind the real one.
pub const LAST_USE_GRANULARITY_SECS: i64 = 60;

/// Which kind of credential was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Used {
    ApiKey,
    ServiceToken,
}

impl Used {
    fn name(self) -> &'static str {
        match self {
            Used::ApiKey => "API key",
            Used::ServiceToken => "service token",
        }
    }
}

/// The writes in flight, by credential.
#[derive(Default)]
pub(crate) struct LastUse {
    pending: Mutex<HashSet<(Used, String)>>,
    /// Uses written, for the tests.
    #[cfg(test)]
    pub(crate) written: std::sync::atomic::AtomicU64,
}

impl LastUse {
    /// Whether no write is in flight (tests wait for it).
    #[cfg(test)]
    pub(crate) fn settled(&self) -> bool {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}

/// A credential's write in flight; dropping it (done, failed, or the task
/// dropped with its runtime) lets the next use write again.
struct InFlight {
    last_use: Arc<LastUse>,
    key: (Used, String),
}

impl InFlight {
    fn start(last_use: &Arc<LastUse>, kind: Used, id: String) -> Option<Self> {
        let key = (kind, id);
        let mut pending = last_use.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.insert(key.clone()).then(|| Self {
            last_use: last_use.clone(),
            key,
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut pending = self
            .last_use
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        pending.remove(&self.key);
    }
}

impl Engine {
    /// Records that the credential `id` of `kind`, just read from the
    /// database with its stored `last_used_at`, was used now, if that value
    /// is [`LAST_USE_GRANULARITY_SECS`] old or more (see the module
    /// comment). Returns at once.
    pub(crate) fn record_use(&self, kind: Used, id: String, last_used_at: Option<i64>) {
        let now = self.now();
        if last_used_at.is_some_and(|at| at >= now.saturating_sub(LAST_USE_GRANULARITY_SECS)) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(in_flight) = InFlight::start(&self.inner.last_use, kind, id) else {
            return;
        };
        let store: Arc<dyn Store> = self.inner.store.clone();
        runtime.spawn(async move {
            let id = &in_flight.key.1;
            let g = LAST_USE_GRANULARITY_SECS;
            let written = match kind {
                Used::ApiKey => store.record_api_key_use(id, now, g).await,
                Used::ServiceToken => store.record_service_token_use(id, now, g).await,
            };
            match written {
                #[cfg(test)]
                Ok(true) => {
                    let counter = &in_flight.last_use.written;
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, credential = kind.name(), id = %id,
                    "could not record when a credential was last used; the request went on"),
            }
        });
    }
}
