//! The misses being made, by cache key, each with the number of requests waiting for it. moka
//! coalesces concurrent misses by letting one caller run the work's future; when that caller hangs
//! up, moka lets a waiting caller start again. Here the work is a task of its own that such a caller
//! joins instead of starting a second one, and the count tells the work (through
//! `workers::Requesters`) when nobody waits any more, so the pool can drop it before its fetch
//! starts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::*;
use crate::workers::Requesters;

/// What a miss made, shared by every request waiting for it.
pub(super) type Outcome = Result<Arc<Rendition>, Arc<Error>>;

struct Entry {
    id: u64,
    requesters: watch::Sender<usize>,
    /// Taken by the request that starts the work.
    outcome_sender: Option<watch::Sender<Option<Outcome>>>,
    outcome: watch::Receiver<Option<Outcome>>,
}

#[derive(Default)]
pub(super) struct InFlight {
    entries: Mutex<HashMap<CacheKey, Entry>>,
    next: AtomicU64,
}

/// What the request that starts a miss hands to the work.
pub(super) struct Start {
    pub(super) id: u64,
    pub(super) requesters: Requesters,
    pub(super) outcome: watch::Sender<Option<Outcome>>,
}

/// One request's place among a miss's requesters, taken before it waits for the cache entry;
/// dropping it (answered, or hung up) counts it out.
pub(super) struct Ticket<'a> {
    inflight: &'a InFlight,
    key: CacheKey,
    id: u64,
    outcome: watch::Receiver<Option<Outcome>>,
}

impl InFlight {
    fn entries(&self) -> MutexGuard<'_, HashMap<CacheKey, Entry>> {
        // A panic while holding the lock leaves a consistent map: every step below is one call.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a request in among those waiting for the miss on `key`.
    pub(super) fn join(&self, key: CacheKey) -> Ticket<'_> {
        let mut entries = self.entries();
        let entry = entries.entry(key).or_insert_with(|| {
            let (requesters, _) = watch::channel(0);
            let (sender, outcome) = watch::channel(None);
            Entry {
                id: self.next.fetch_add(1, Ordering::Relaxed),
                requesters,
                outcome_sender: Some(sender),
                outcome,
            }
        });
        entry.requesters.send_modify(|n| *n += 1);
        Ticket {
            inflight: self,
            key,
            id: entry.id,
            outcome: entry.outcome.clone(),
        }
    }

    /// The miss `id` on `key` has its outcome: later requests start afresh (from the cache).
    pub(super) fn finish(&self, key: CacheKey, id: u64) {
        let mut entries = self.entries();
        if entries.get(&key).is_some_and(|entry| entry.id == id) {
            entries.remove(&key);
        }
    }
}

impl Ticket<'_> {
    /// The work to start, for the first request to ask; `None` once it has started.
    pub(super) fn start(&self) -> Option<Start> {
        let mut entries = self.inflight.entries();
        let entry = entries
            .get_mut(&self.key)
            .filter(|entry| entry.id == self.id)?;
        let outcome = entry.outcome_sender.take()?;
        Some(Start {
            id: self.id,
            requesters: Requesters::follow(entry.requesters.subscribe()),
            outcome,
        })
    }

    /// The miss's outcome, once it has one; `None` if its task ended without one.
    pub(super) async fn outcome(&mut self) -> Option<Outcome> {
        self.outcome
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|done| done.clone())
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut entries = self.inflight.entries();
        let Some(entry) = entries.get(&self.key).filter(|entry| entry.id == self.id) else {
            return;
        };
        entry.requesters.send_modify(|n| *n = n.saturating_sub(1));
        if *entry.requesters.borrow() == 0 {
            // Nobody waits: the work sees 0 and stops at its next wait; nobody may join it now.
            entries.remove(&self.key);
        }
    }
}
