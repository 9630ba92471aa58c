//! The aggregate cache: loaded aggregates kept in memory between commands.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use lru::LruCache;

use crate::ids::StreamId;
use crate::repository::Loaded;

/// A bounded, per-process cache of loaded aggregates, for one aggregate type.
///
/// With it, a command on a cached aggregate skips the load and appends in one round
/// trip. It stays correct across processes because it is only ever a guess: every append
/// still states the version the decision was made on, so a write by another process shows
/// up as a concurrency conflict, and the retry reads just the events the entry missed. A
/// refusal (or an empty decision) made on a cached state is checked the same way before
/// it is answered: the events after the entry's version are read, and if there were any,
/// the command is decided again on the fresh state.
///
/// The least recently used entry makes room when the cache is full.
#[derive(Debug)]
pub(crate) struct AggregateCache<A> {
    entries: Mutex<LruCache<StreamId, Loaded<A>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    capacity: NonZeroUsize,
    /// How to copy a state out of the cache; `A: Clone` is only needed when caching.
    copy: fn(&A) -> A,
}

/// How an aggregate cache is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Commands that found their aggregate in the cache.
    pub hits: u64,
    /// Commands that had to load it.
    pub misses: u64,
    /// Aggregates in the cache now.
    pub entries: usize,
    /// The most it holds.
    pub capacity: usize,
}

impl CacheStats {
    /// Hits among all look-ups, from 0 to 1; 0 before the first.
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

impl<A> AggregateCache<A> {
    pub(crate) fn new(capacity: NonZeroUsize, copy: fn(&A) -> A) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            capacity,
            copy,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, LruCache<StreamId, Loaded<A>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the cached aggregate, counted as a hit or a miss.
    pub(crate) fn get(&self, stream: &StreamId) -> Option<Loaded<A>> {
        let found = self.entries().get(stream).map(|loaded| Loaded {
            state: (self.copy)(&loaded.state),
            version: loaded.version,
            snapshot_version: loaded.snapshot_version,
            events_applied: loaded.events_applied,
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `loaded` as the newest known state of `stream`, unless a newer one is there.
    pub(crate) fn put(&self, stream: &StreamId, loaded: &Loaded<A>) {
        let mut entries = self.entries();
        if entries
            .peek(stream)
            .is_some_and(|cached| cached.version > loaded.version)
        {
            return;
        }
        let copy = Loaded {
            state: (self.copy)(&loaded.state),
            version: loaded.version,
            snapshot_version: loaded.snapshot_version,
            events_applied: loaded.events_applied,
        };
        entries.put(stream.clone(), copy);
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.entries().len(),
            capacity: self.capacity.get(),
        }
    }
}
