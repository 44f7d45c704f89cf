//! The tiers of one server, in lookup order: reads with a bounded wait, entries checked before
//! they are served, writes queued off the request path, and every outcome counted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};

use super::{entry, Tier, TierError};
use crate::cache::{CacheKey, FromTier, Rendition};
use crate::metrics::{Metrics, TierKindLabels, TierLabels, TierResultLabels};

/// Writes one tier runs at once (a shared store over the network gains from a few in flight).
const WRITES_IN_FLIGHT: usize = 4;
/// How often [`Tiers::flush`] looks at the count of pending writes.
const FLUSH_POLL: Duration = Duration::from_millis(10);
/// A write waits this many `--tier-timeout`s before it is abandoned and counted as an error.
const WRITE_TIMEOUT_FACTOR: u32 = 20;
/// At most one warning per tier this often: a full disk fails every write.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The tiers behind the memory cache, in lookup order (possibly none).
pub struct Tiers {
    slots: Vec<Slot>,
    /// Writes queued or running, over every tier: what [`Tiers::flush`] waits for.
    pending: Arc<AtomicUsize>,
    timeout: Duration,
    /// `--cache-ttl` + `--stale-grace`: an entry older than this is never served, even stale.
    keep_for: Duration,
    metrics: Arc<Metrics>,
}

struct Slot {
    tier: Arc<dyn Tier>,
    writes: mpsc::Sender<Write>,
    warned: Arc<Mutex<Option<Instant>>>,
}

enum Write {
    Put(CacheKey, Arc<Rendition>),
    Remove(CacheKey),
}

impl Tiers {
    /// No tiers: every lookup is a miss and nothing is written.
    pub fn none(metrics: Arc<Metrics>) -> Tiers {
        Tiers {
            slots: Vec::new(),
            pending: Arc::new(AtomicUsize::new(0)),
            timeout: Duration::ZERO,
            keep_for: Duration::ZERO,
            metrics,
        }
    }

    /// `tiers` in lookup order, each with a write queue of `queue` entries served by a task of
    /// its own (so this must run inside the Tokio runtime).
    pub fn new(
        tiers: Vec<Arc<dyn Tier>>,
        timeout: Duration,
        keep_for: Duration,
        queue: usize,
        metrics: Arc<Metrics>,
    ) -> Tiers {
        let write_timeout = timeout
            .saturating_mul(WRITE_TIMEOUT_FACTOR)
            .max(Duration::from_secs(1));
        let pending = Arc::new(AtomicUsize::new(0));
        let slots = tiers
            .into_iter()
            .map(|tier| {
                zero_series(&metrics, tier.name());
                let (writes, queued) = mpsc::channel(queue.max(1));
                let warned = Arc::new(Mutex::new(None));
                let writer = Writer {
                    tier: tier.clone(),
                    metrics: metrics.clone(),
                    timeout: write_timeout,
                    warned: warned.clone(),
                    pending: pending.clone(),
                };
                tokio::spawn(writer.run(queued));
                Slot {
                    tier,
                    writes,
                    warned,
                }
            })
            .collect();
        Tiers {
            slots,
            pending,
            timeout,
            keep_for,
            metrics,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Each tier's counters for `/stats` (and the `/dashboard` page), in lookup order.
    pub fn stats(&self) -> serde_json::Value {
        let tiers = &self.metrics.tiers;
        let count = |tier: &'static str, results: &[&'static str]| -> u64 {
            results
                .iter()
                .map(|&result| {
                    tiers
                        .lookups
                        .get_or_create(&TierResultLabels { tier, result })
                        .get()
                })
                .sum()
        };
        let list = self.slots.iter().map(|slot| {
            let tier = slot.tier.name();
            let labels = TierLabels { tier };
            serde_json::json!({
                "tier": tier,
                "hits": count(tier, &["hit"]),
                "stale": count(tier, &["stale"]),
                "misses": count(tier, &["miss", "expired"]),
                "rejected": count(tier, &["corrupt", "version"]),
                "errors": count(tier, &["error", "timeout"]),
                "stored_bytes": tiers.stored_bytes.get_or_create(&labels).get(),
                "entries": tiers.entries.get_or_create(&labels).get(),
            })
        });
        serde_json::Value::Array(list.collect())
    }

    /// The first tier's valid entry for `key` (fresh or not, by `fresh`; never past the stale
    /// grace; its `from_tier` says which), written back to the tiers above the one that found it.
    /// A tier that fails, is slow or holds a bad entry is skipped.
    pub async fn find(
        &self,
        key: CacheKey,
        fresh: impl Fn(&Rendition) -> bool,
    ) -> Option<Arc<Rendition>> {
        for (at, slot) in self.slots.iter().enumerate() {
            if let Some(rendition) = self.read(slot, key, &fresh).await {
                for above in &self.slots[..at] {
                    self.queue(above, Write::Put(key, rendition.clone()));
                }
                return Some(rendition);
            }
        }
        None
    }

    /// Queues `rendition` for every tier (if its origin lets shared caches keep it).
    pub fn store(&self, key: CacheKey, rendition: &Arc<Rendition>) {
        if !rendition.caching.shared() {
            return;
        }
        for slot in &self.slots {
            self.queue(slot, Write::Put(key, rendition.clone()));
        }
    }

    /// Queues the removal of `key` from every tier (the origin no longer serves its source).
    pub fn remove(&self, key: CacheKey) {
        for slot in &self.slots {
            self.queue(slot, Write::Remove(key));
        }
    }

    /// Waits until every queued write has been done (or has failed), for at most `within`: at
    /// shutdown, so results made just before it are on disk for the next start. Returns how many
    /// writes were still pending when it gave up (0 when all were done).
    pub async fn flush(&self, within: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let pending = self.pending.load(Ordering::Acquire);
            if pending == 0 || tokio::time::Instant::now() >= deadline {
                return pending;
            }
            tokio::time::sleep(FLUSH_POLL).await;
        }
    }

    fn queue(&self, slot: &Slot, write: Write) {
        self.pending.fetch_add(1, Ordering::AcqRel);
        if slot.writes.try_send(write).is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            self.metrics
                .tiers
                .writes
                .get_or_create(&TierResultLabels {
                    tier: slot.tier.name(),
                    result: "dropped",
                })
                .inc();
        }
    }

    async fn read(
        &self,
        slot: &Slot,
        key: CacheKey,
        fresh: &impl Fn(&Rendition) -> bool,
    ) -> Option<Arc<Rendition>> {
        let tier = slot.tier.name();
        let started = Instant::now();
        let got = match tokio::time::timeout(self.timeout, slot.tier.get(key)).await {
            Ok(got) => got,
            Err(_) => Err(TierError::Timeout(self.timeout)),
        };
        self.metrics
            .tiers
            .lookup_duration
            .get_or_create(&TierLabels { tier })
            .observe(started.elapsed().as_secs_f64());
        let (found, result) = match got {
            Ok(None) => (None, "miss"),
            Ok(Some(bytes)) => {
                self.metrics
                    .tiers
                    .read_bytes
                    .get_or_create(&TierLabels { tier })
                    .inc_by(bytes.len() as u64);
                let from = FromTier {
                    name: tier,
                    header: slot.tier.header(),
                };
                match entry::decode(&key, &bytes).map(|r| Rendition {
                    from_tier: Some(from),
                    ..r
                }) {
                    Ok(rendition) if !rendition.caching.shared() => {
                        self.queue(slot, Write::Remove(key));
                        (None, "corrupt")
                    }
                    Ok(rendition) if rendition.age() > self.keep_for => {
                        self.queue(slot, Write::Remove(key));
                        (None, "expired")
                    }
                    Ok(rendition) if fresh(&rendition) => (Some(Arc::new(rendition)), "hit"),
                    Ok(rendition) => (Some(Arc::new(rendition)), "stale"),
                    Err(invalid) => {
                        tracing::warn!(tier, key = key.short(), reason = %invalid, "tier entry rejected; removing it");
                        self.queue(slot, Write::Remove(key));
                        (None, invalid.label())
                    }
                }
            }
            Err(error) => {
                count_error(&self.metrics, tier, &error);
                warn_throttled(&slot.warned, tier, "lookup", &error);
                (
                    None,
                    if matches!(error, TierError::Timeout(_)) {
                        "timeout"
                    } else {
                        "error"
                    },
                )
            }
        };
        self.metrics
            .tiers
            .lookups
            .get_or_create(&TierResultLabels { tier, result })
            .inc();
        found
    }
}

/// One tier's write queue, served in a task of its own.
struct Writer {
    tier: Arc<dyn Tier>,
    metrics: Arc<Metrics>,
    timeout: Duration,
    warned: Arc<Mutex<Option<Instant>>>,
    /// The shared count of [`Tiers::flush`], decremented when a write is done.
    pending: Arc<AtomicUsize>,
}

impl Writer {
    async fn run(self, mut queued: mpsc::Receiver<Write>) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(WRITES_IN_FLIGHT));
        while let Some(write) = queued.recv().await {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let this = this.clone();
            tokio::spawn(async move {
                this.write(write).await;
                this.pending.fetch_sub(1, Ordering::AcqRel);
                drop(permit);
            });
        }
    }

    async fn write(&self, write: Write) {
        let tier = self.tier.name();
        let (op, len, done) = match write {
            Write::Put(key, rendition) => {
                // Encoded here, off the request path: a copy of the body and its checksum.
                let bytes = entry::encode(&key, &rendition);
                let len = bytes.len() as u64;
                ("write", len, self.bounded(self.tier.put(key, bytes)).await)
            }
            Write::Remove(key) => ("remove", 0, self.bounded(self.tier.remove(key)).await),
        };
        match done {
            Ok(()) if op == "write" => {
                let labels = TierResultLabels {
                    tier,
                    result: "stored",
                };
                self.metrics.tiers.writes.get_or_create(&labels).inc();
                self.metrics
                    .tiers
                    .written_bytes
                    .get_or_create(&TierLabels { tier })
                    .inc_by(len);
            }
            Ok(()) => {}
            Err(error) => {
                if op == "write" {
                    let labels = TierResultLabels {
                        tier,
                        result: "error",
                    };
                    self.metrics.tiers.writes.get_or_create(&labels).inc();
                }
                count_error(&self.metrics, tier, &error);
                warn_throttled(&self.warned, tier, op, &error);
            }
        }
    }

    async fn bounded(
        &self,
        op: impl std::future::Future<Output = Result<(), TierError>>,
    ) -> Result<(), TierError> {
        tokio::time::timeout(self.timeout, op)
            .await
            .unwrap_or(Err(TierError::Timeout(self.timeout)))
    }
}

fn count_error(metrics: &Metrics, tier: &'static str, error: &TierError) {
    metrics
        .tiers
        .errors
        .get_or_create(&TierKindLabels {
            tier,
            kind: error.label(),
        })
        .inc();
}

/// A warning for a tier's failure, at most one per [`WARN_EVERY`] per tier (the metric counts all).
fn warn_throttled(
    warned: &Mutex<Option<Instant>>,
    tier: &'static str,
    op: &'static str,
    error: &TierError,
) {
    let now = Instant::now();
    let due = warned.lock().is_ok_and(|mut last| {
        let due = last.is_none_or(|at| now.duration_since(at) >= WARN_EVERY);
        if due {
            *last = Some(now);
        }
        due
    });
    if due {
        tracing::warn!(tier, op, error = %error, "storage tier failed; going on without it");
    }
}

/// Every series of `tier` at zero from the start, so that rates and dashboards see it before
/// its first event.
fn zero_series(metrics: &Metrics, tier: &'static str) {
    let tiers = &metrics.tiers;
    for result in [
        "hit", "stale", "miss", "expired", "corrupt", "error", "timeout",
    ] {
        let _ = tiers
            .lookups
            .get_or_create(&TierResultLabels { tier, result });
    }
    for result in ["stored", "dropped", "error"] {
        let _ = tiers
            .writes
            .get_or_create(&TierResultLabels { tier, result });
    }
    for kind in ["io", "timeout", "unavailable"] {
        let _ = tiers.errors.get_or_create(&TierKindLabels { tier, kind });
    }
    let labels = TierLabels { tier };
    let _ = tiers.lookup_duration.get_or_create(&labels);
    let _ = tiers.read_bytes.get_or_create(&labels);
    let _ = tiers.written_bytes.get_or_create(&labels);
    let _ = tiers.evictions.get_or_create(&labels);
    let _ = tiers.entries.get_or_create(&labels);
    let _ = tiers.stored_bytes.get_or_create(&labels);
}

#[cfg(test)]
mod tests;
