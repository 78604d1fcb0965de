//! The read cache: what the token route answers, kept in memory so that a
//! backend function's call does not touch the database when nothing
//! changed.
//!
//! Two bounded maps (S3-FIFO eviction by `quick_cache`): checked principals
//! by the SHA-256 of the presented token, and decrypted access tokens by
//! connector. Decrypted tokens sit in [`Secret`]s, zeroized when the last
//! reference drops (evicted, invalidated or replaced).
//!
//! Never serving what the database no longer says rests on four rules:
//! - every write path of this process invalidates before it answers
//!   ([`ReadCache::forget_connector`], [`ReadCache::forget_principals`]);
//! - on PostgreSQL, triggers announce every committed change with `NOTIFY`
//!   (also changes by other replicas and admin commands); while the
//!   listening connection is down the cache is bypassed, and it is emptied
//!   both when the connection is lost and when it is back;
//! - every entry has a maximum age (default 1 s), for what no message
//!   announces (an admin command writing a SQLite file);
//! - a token within its refresh margin is never answered from here.
//!
//! A reader that misses takes the generation before reading the database
//! and stores its answer only if no invalidation happened meanwhile (it
//! re-checks after inserting, so a racing invalidation cannot be lost).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use connectors_store::{Change, ConnectorKey, Store};
use connectors_vault::Secret;
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, UnitWeighter};
use sha2::{Digest, Sha256};

use crate::metrics::CacheCounts;
use crate::Principal;

/// Settings of the read cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Entries each map keeps at most (0 turns the cache off).
    pub max_entries: usize,
    /// How long an entry may be served after it was read, in milliseconds
    /// (0 turns the cache off).
    pub max_age_ms: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_entries: DEFAULT_MAX_ENTRIES,
            max_age_ms: DEFAULT_MAX_AGE_MS,
        }
    }
}

/// Default bound of each map: a few MB, far more than the hot set of most
/// deployments.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// Default maximum age of an entry.
pub const DEFAULT_MAX_AGE_MS: u64 = 1_000;

/// When an entry was read from the database, and whether a reader is
/// already reading it again.
///
/// In the last quarter of an entry's age, ONE reader (the first to ask)
/// is sent to the database to renew it while the others are still served
/// the entry: without this, every reader in flight when an entry ages out
/// would miss at once and queue on the database, each second, for every
/// hot entry.
pub(crate) struct Freshness {
    read_at_ms: i64,
    renewing: AtomicBool,
}

impl Freshness {
    pub(crate) fn at(read_at_ms: i64) -> Self {
        Self {
            read_at_ms,
            renewing: AtomicBool::new(false),
        }
    }
}

/// A principal as checked.
struct CachedPrincipal {
    principal: Principal,
    read: Freshness,
    /// Never answered from here at or after this (a login token's `exp`).
    valid_until_ms: i64,
}

/// An active connector's usable access token.
pub(crate) struct CachedToken {
    pub(crate) access_token: Secret,
    pub(crate) connection_config: Option<std::collections::BTreeMap<String, String>>,
    pub(crate) expires_at_ms: Option<i64>,
    /// When the credentials were stored (bounds the refresh margin).
    pub(crate) updated_at: i64,
    /// The credentials' version (a refused token names the one to replace).
    pub(crate) version: i64,
    pub(crate) read: Freshness,
}

type TokenHash = [u8; 32];

/// Counts evictions for room. In `before_evict`, which only they call:
/// `on_evict` also sees values replaced by a newer read of the same key.
#[derive(Clone, Default)]
struct CountEvictions(Arc<AtomicU64>);

impl<K, V> Lifecycle<K, V> for CountEvictions {
    type RequestState = ();

    fn begin_request(&self) -> Self::RequestState {}

    fn before_evict(&self, _state: &mut Self::RequestState, _key: &K, _val: &mut V) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn on_evict(&self, _state: &mut Self::RequestState, _key: K, _val: V) {}
}

type Map<K, V> = Cache<K, Arc<V>, UnitWeighter, DefaultHashBuilder, CountEvictions>;

fn bounded<K: Eq + std::hash::Hash + Clone, V>(
    entries: usize,
    evictions: &CountEvictions,
) -> Map<K, V> {
    Cache::with(
        entries,
        entries as u64,
        UnitWeighter,
        DefaultHashBuilder::default(),
        evictions.clone(),
    )
}

/// One engine's read cache.
pub(crate) struct ReadCache {
    principals: Option<Map<TokenHash, CachedPrincipal>>,
    tokens: Option<Map<ConnectorKey, CachedToken>>,
    max_age_ms: i64,
    /// Bumped by every invalidation; see the module comment.
    generation: AtomicU64,
    /// False while a change feed this cache relies on is down.
    usable: AtomicBool,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: CountEvictions,
    invalidations: AtomicU64,
    resets: AtomicU64,
}

/// The generation a miss saw before it read the database.
#[derive(Clone, Copy)]
pub(crate) struct Ticket(Option<u64>);

impl ReadCache {
    pub(crate) fn new(config: CacheConfig) -> Self {
        let evictions = CountEvictions::default();
        let on = config.max_entries > 0 && config.max_age_ms > 0;
        Self {
            principals: on.then(|| bounded(config.max_entries, &evictions)),
            tokens: on.then(|| bounded(config.max_entries, &evictions)),
            max_age_ms: i64::try_from(config.max_age_ms).unwrap_or(i64::MAX),
            generation: AtomicU64::new(0),
            usable: AtomicBool::new(true),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions,
            invalidations: AtomicU64::new(0),
            resets: AtomicU64::new(0),
        }
    }

    /// The key of a presented token.
    pub(crate) fn token_hash(token: &str) -> TokenHash {
        Sha256::digest(token.as_bytes()).into()
    }

    /// Whether an entry may be served to this reader: younger than the
    /// maximum age, and this reader is not the one picked to renew it.
    fn serves(&self, read: &Freshness, now_ms: i64) -> bool {
        let age = now_ms.saturating_sub(read.read_at_ms);
        if age >= self.max_age_ms || now_ms < read.read_at_ms {
            return false;
        }
        let renew_after = self.max_age_ms - self.max_age_ms / 4;
        !(age >= renew_after
            && read
                .renewing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok())
    }

    fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The principal of a token, if checked recently.
    pub(crate) fn principal(&self, hash: &TokenHash, now_ms: i64) -> Option<Principal> {
        let map = self.principals.as_ref()?;
        if !self.usable.load(Ordering::Acquire) {
            return None;
        }
        let found = map
            .get(hash)
            .filter(|e| now_ms < e.valid_until_ms && self.serves(&e.read, now_ms))
            .map(|e| e.principal.clone());
        self.count(found.is_some());
        found
    }

    /// A connector's token, if read recently; `usable` decides whether it
    /// may still be handed out (not within the refresh margin).
    pub(crate) fn token(
        &self,
        key: &ConnectorKey,
        now_ms: i64,
        usable: impl FnOnce(&CachedToken) -> bool,
    ) -> Option<Arc<CachedToken>> {
        let map = self.tokens.as_ref()?;
        if !self.usable.load(Ordering::Acquire) {
            return None;
        }
        let found = map
            .get(key)
            .filter(|e| usable(e) && self.serves(&e.read, now_ms));
        self.count(found.is_some());
        found
    }

    /// Taken by a miss before it reads the database.
    pub(crate) fn ticket(&self) -> Ticket {
        if self.usable.load(Ordering::Acquire) {
            Ticket(Some(self.generation.load(Ordering::SeqCst)))
        } else {
            Ticket(None)
        }
    }

    /// Whether an answer read under `ticket` may stay cached: no
    /// invalidation and no loss of the change feed since.
    fn still(&self, ticket: Ticket) -> bool {
        ticket.0 == Some(self.generation.load(Ordering::SeqCst))
            && self.usable.load(Ordering::Acquire)
    }

    pub(crate) fn put_principal(
        &self,
        ticket: Ticket,
        hash: TokenHash,
        principal: Principal,
        read_at_ms: i64,
        valid_until_ms: i64,
    ) {
        let Some(map) = self.principals.as_ref() else {
            return;
        };
        if !self.still(ticket) {
            return;
        }
        let entry = CachedPrincipal {
            principal,
            read: Freshness::at(read_at_ms),
            valid_until_ms,
        };
        map.insert(hash, Arc::new(entry));
        if !self.still(ticket) {
            map.remove(&hash);
        }
    }

    pub(crate) fn put_token(&self, ticket: Ticket, key: &ConnectorKey, entry: Arc<CachedToken>) {
        let Some(map) = self.tokens.as_ref() else {
            return;
        };
        if !self.still(ticket) {
            return;
        }
        map.insert(key.clone(), entry);
        if !self.still(ticket) {
            map.remove(key);
        }
    }

    /// A connector or its credentials changed.
    pub(crate) fn forget_connector(&self, key: &ConnectorKey) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.invalidations.fetch_add(1, Ordering::Relaxed);
        if let Some(map) = &self.tokens {
            map.remove(key);
        }
    }

    /// A key or token was revoked (or removed): drop every principal, since
    /// revocations are rare and name the credential by id, not by hash.
    pub(crate) fn forget_principals(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.invalidations.fetch_add(1, Ordering::Relaxed);
        if let Some(map) = &self.principals {
            map.clear();
        }
    }

    /// Drops everything, e.g. after a key rotation.
    pub(crate) fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.invalidations.fetch_add(1, Ordering::Relaxed);
        self.clear();
    }

    fn clear(&self) {
        if let Some(map) = &self.principals {
            map.clear();
        }
        if let Some(map) = &self.tokens {
            map.clear();
        }
    }

    /// The change feed is down: bypass and empty the cache until it is back.
    pub(crate) fn suspend(&self) {
        self.usable.store(false, Ordering::Release);
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.resets.fetch_add(1, Ordering::Relaxed);
        self.clear();
    }

    fn is_off(&self) -> bool {
        self.tokens.is_none()
    }

    /// The change feed is (back) up: start again from empty, since changes
    /// made while it was down were not announced to us.
    pub(crate) fn resume(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.clear();
        self.usable.store(true, Ordering::Release);
    }

    pub(crate) fn counts(&self) -> CacheCounts {
        CacheCounts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.0.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
        }
    }
}

/// Applies the store's change feed (if it has one) to `cache` in a task of
/// the current runtime, reopening the feed when it is lost; the cache is
/// bypassed until the feed is open, and while it is down. The task ends
/// when the returned sender is dropped (with the engine). Without a runtime
/// to run in, the cache stays bypassed.
pub(crate) fn follow_changes(
    store: &Arc<dyn Store>,
    cache: &Arc<ReadCache>,
) -> Option<tokio::sync::oneshot::Sender<()>> {
    if !store.announces_changes() || cache.is_off() {
        return None;
    }
    cache.usable.store(false, Ordering::Release);
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let store = store.clone();
    let cache = Arc::downgrade(cache);
    runtime.spawn(async move {
        const FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);
        let mut pause = FIRST_PAUSE;
        loop {
            let opened = tokio::select! {
                _ = &mut stopped => return,
                opened = store.change_feed() => opened,
            };
            let mut feed = match opened {
                Ok(Some(feed)) => feed,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64,
                        "cannot listen for database changes; the read cache stays bypassed");
                    tokio::select! {
                        _ = &mut stopped => return,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(std::time::Duration::from_secs(5));
                    continue;
                }
            };
            pause = FIRST_PAUSE;
            match cache.upgrade() {
                Some(cache) => cache.resume(),
                None => return,
            }
            loop {
                let change = tokio::select! {
                    _ = &mut stopped => return,
                    change = feed.next() => change,
                };
                let Some(cache) = cache.upgrade() else { return };
                match change {
                    Ok(Change::Connector(key)) => cache.forget_connector(&key),
                    Ok(Change::Credentials) => cache.forget_principals(),
                    Ok(Change::Everything) => cache.forget_all(),
                    Err(e) => {
                        cache.suspend();
                        tracing::warn!(error = %e,
                            "lost the database change feed; the read cache is emptied and bypassed until it is back");
                        break;
                    }
                }
            }
        }
    });
    Some(stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors_wire::IntegrationType;

    fn key(n: usize) -> ConnectorKey {
        ConnectorKey::new(format!("app{n}"), IntegrationType::new("slack").unwrap())
    }

    fn entry(token: &str, read_at_ms: i64) -> Arc<CachedToken> {
        Arc::new(CachedToken {
            access_token: Secret::new(token),
            connection_config: None,
            expires_at_ms: None,
            updated_at: 0,
            version: 1,
            read: Freshness::at(read_at_ms),
        })
    }

    fn cache() -> ReadCache {
        ReadCache::new(CacheConfig {
            max_entries: 4,
            max_age_ms: 1000,
        })
    }

    #[test]
    fn an_entry_is_served_until_its_maximum_age() {
        let c = cache();
        c.put_token(c.ticket(), &key(1), entry("t", 10_000));
        assert!(c.token(&key(1), 10_500, |_| true).is_some());
        assert!(c.token(&key(1), 11_000, |_| true).is_none());
        // A clock that went backwards does not make an entry young forever.
        assert!(c.token(&key(1), 9_000, |_| true).is_none());
        assert_eq!((c.counts().hits, c.counts().misses), (1, 2));
    }

    #[test]
    fn a_miss_does_not_store_what_an_invalidation_overtook() {
        let c = cache();
        let ticket = c.ticket();
        c.forget_connector(&key(1));
        c.put_token(ticket, &key(1), entry("old", 0));
        assert!(c.token(&key(1), 1, |_| true).is_none());
        c.put_token(c.ticket(), &key(1), entry("new", 0));
        assert!(c.token(&key(1), 1, |_| true).is_some());
        c.forget_connector(&key(1));
        assert!(c.token(&key(1), 1, |_| true).is_none());
    }

    #[test]
    fn a_suspended_cache_serves_and_stores_nothing_and_resumes_empty() {
        let c = cache();
        c.put_token(c.ticket(), &key(1), entry("t", 0));
        c.suspend();
        assert!(c.token(&key(1), 1, |_| true).is_none());
        c.put_token(c.ticket(), &key(2), entry("t", 0));
        c.resume();
        assert!(c.token(&key(2), 1, |_| true).is_none());
        assert!(c.token(&key(1), 1, |_| true).is_none());
        assert_eq!(c.counts().resets, 1);
    }

    #[test]
    fn the_bound_holds_and_evictions_are_counted() {
        let c = cache();
        for n in 0..100 {
            c.put_token(c.ticket(), &key(n), entry("t", 0));
        }
        let kept = (0..100)
            .filter(|n| c.token(&key(*n), 1, |_| true).is_some())
            .count();
        assert!(kept <= 4, "kept {kept}");
        assert!(c.counts().evictions >= 96);
    }

    #[test]
    fn one_reader_renews_an_entry_in_its_last_quarter_while_the_others_are_served() {
        let c = cache();
        c.put_token(c.ticket(), &key(1), entry("t", 0));
        assert!(c.token(&key(1), 749, |_| true).is_some());
        // The first reader past 750 ms is sent to the database...
        assert!(c.token(&key(1), 750, |_| true).is_none());
        // ...the others are still served, until the maximum age.
        assert!(c.token(&key(1), 800, |_| true).is_some());
        assert!(c.token(&key(1), 999, |_| true).is_some());
        assert!(c.token(&key(1), 1000, |_| true).is_none());
        // The renewed entry starts over.
        c.put_token(c.ticket(), &key(1), entry("t", 990));
        assert!(c.token(&key(1), 1700, |_| true).is_some());
        assert!(c.token(&key(1), 1740, |_| true).is_none());
    }

    #[test]
    fn a_newer_read_of_the_same_key_is_not_an_eviction() {
        let c = cache();
        for read_at in 0..10 {
            c.put_token(c.ticket(), &key(1), entry("t", read_at));
        }
        assert_eq!(c.counts().evictions, 0);
    }

    #[test]
    fn zero_turns_it_off() {
        let c = ReadCache::new(CacheConfig {
            max_entries: 0,
            max_age_ms: 1000,
        });
        c.put_token(c.ticket(), &key(1), entry("t", 0));
        assert!(c.token(&key(1), 1, |_| true).is_none());
        assert_eq!(c.counts(), CacheCounts::default());
    }
}
