//! The source cache: original bytes from remote origins, kept so that the widths of a `srcset`, a
//! purge-and-refill by the CDN, or any other set of variants of one photo cost the origin one fetch.
//!
//! Keyed by blake3 of the source URL, weighed by bytes (`--source-cache-bytes`). A copy is reused
//! without asking the origin while it is fresh: for the origin's own lifetime (`s-maxage`,
//! `max-age`; `no-cache` means always ask), never longer than `--cache-ttl`, so a result that is due
//! for a refresh is refreshed from a source the origin has just confirmed. After that the copy is
//! revalidated with its `ETag` / `Last-Modified` (a `304` costs the origin no body), or fetched
//! again. `no-store` and `private` responses are used once and not kept. Fetches of one source are
//! coalesced: concurrent misses wait for the one fetch in flight. Failures are never kept, and a
//! stale copy is never served from here (stale results are the result cache's business).
//!
//! Only what decodes is kept: the bytes are judged by decoding them (never by `Content-Type`, so
//! `application/octet-stream` images are fine), which happens after the fetch, so the service
//! calls [`SourceCache::forget`] when a render refuses the bytes (not an image, corrupt, over a
//! source limit). An origin that answered once with a maintenance page is asked again by the next
//! request instead of every width being refused for `--cache-ttl`.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::ops::compute::{CompResult, Op};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use super::freshness::{Fetched, SourceMeta, Validators};
use super::{Got, OriginError};
use crate::metrics::CacheLabels;

/// Bookkeeping per entry on top of the body, so that many tiny sources still count.
const ENTRY_OVERHEAD: u32 = 512;

#[derive(Debug)]
struct CachedSource {
    bytes: Bytes,
    meta: SourceMeta,
    /// When the origin last confirmed these bytes (fetched or answered 304).
    checked: Instant,
}

impl CachedSource {
    fn is_fresh(&self, cap: Duration) -> bool {
        self.checked.elapsed() < self.meta.freshness(cap)
    }

    /// This copy as a fetch result; `fetched` when the origin was asked for it just now.
    fn got(&self, fetched: bool) -> Got {
        Got {
            bytes: self.bytes.clone(),
            caching: self.meta.caching(self.checked),
            fetched,
        }
    }
}

/// How a source was had, the `result` label of `imgshield_source_cache_lookups_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceLookup {
    /// A fresh copy: the origin was not asked.
    Hit,
    /// Another request was fetching it; this one waited for that fetch.
    Coalesced,
    /// A stale copy the origin confirmed with `304 Not Modified`.
    Revalidated,
    /// Fetched (nothing cached, or the copy had changed or had no validators).
    Miss,
    /// Fetched, and the origin forbade keeping it.
    Uncacheable,
}

impl SourceLookup {
    pub fn label(self) -> &'static str {
        match self {
            SourceLookup::Hit => "hit",
            SourceLookup::Coalesced => "coalesced",
            SourceLookup::Revalidated => "revalidated",
            SourceLookup::Miss => "miss",
            SourceLookup::Uncacheable => "uncacheable",
        }
    }
}

pub struct SourceCache {
    cache: moka::future::Cache<[u8; 32], Arc<CachedSource>>,
    /// The longest a copy is reused without asking (`--cache-ttl`).
    cap: Duration,
    lookups: Family<CacheLabels, Counter>,
}

impl SourceCache {
    /// `max_bytes` of sources; copies are reused for at most `cap` and kept (for revalidation)
    /// for `keep`.
    pub fn new(
        max_bytes: u64,
        cap: Duration,
        keep: Duration,
        lookups: Family<CacheLabels, Counter>,
    ) -> SourceCache {
        let cache = moka::future::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_key: &[u8; 32], value: &Arc<CachedSource>| {
                u32::try_from(value.bytes.len())
                    .unwrap_or(u32::MAX)
                    .saturating_add(ENTRY_OVERHEAD)
            })
            .time_to_live(keep.max(cap))
            .build();
        SourceCache {
            cache,
            cap,
            lookups,
        }
    }

    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    pub async fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.weighted_size()
    }

    /// The bytes of the source named `identity`, from the cache or through `fetch` (called with
    /// the cached copy's validators when it can revalidate, at most once).
    pub async fn get<F, Fut>(&self, identity: &str, fetch: F) -> Result<Got, OriginError>
    where
        F: FnOnce(Option<Validators>) -> Fut,
        Fut: Future<Output = Result<Fetched, OriginError>>,
    {
        let key = *blake3::hash(identity.as_bytes()).as_bytes();
        if let Some(copy) = self.cache.get(&key).await {
            if copy.is_fresh(self.cap) {
                self.count(SourceLookup::Hit);
                return Ok(copy.got(false));
            }
        }
        let cap = self.cap;
        // What the compute below decided, and a body the origin forbade keeping.
        let outcome: Mutex<(SourceLookup, Option<Got>)> = Mutex::new((SourceLookup::Miss, None));
        let set = |lookup: SourceLookup, body: Option<Got>| {
            if let Ok(mut slot) = outcome.lock() {
                *slot = (lookup, body);
            }
        };
        // One compute at a time per key: whoever comes second finds the first one's result.
        let computed = self
            .cache
            .entry(key)
            .and_try_compute_with(|current| async {
                let current = current.map(|entry| entry.into_value());
                if current.as_ref().is_some_and(|c| c.is_fresh(cap)) {
                    set(SourceLookup::Coalesced, None);
                    return Ok(Op::Nop);
                }
                let validators = current
                    .as_ref()
                    .map(|c| c.meta.validators.clone())
                    .filter(|v| !v.is_empty());
                match fetch(validators).await? {
                    Fetched::NotModified { meta } => {
                        let Some(copy) = current else {
                            return Err(OriginError::Status(304));
                        };
                        set(SourceLookup::Revalidated, None);
                        Ok(Op::Put(Arc::new(CachedSource {
                            bytes: copy.bytes.clone(),
                            meta: merge(&copy.meta, meta),
                            checked: Instant::now(),
                        })))
                    }
                    Fetched::Full { bytes, meta } if meta.no_store => {
                        let caching = meta.caching(Instant::now());
                        set(
                            SourceLookup::Uncacheable,
                            Some(Got {
                                bytes,
                                caching,
                                fetched: true,
                            }),
                        );
                        Ok(Op::Remove)
                    }
                    Fetched::Full { bytes, meta } => {
                        set(SourceLookup::Miss, None);
                        Ok(Op::Put(Arc::new(CachedSource {
                            bytes,
                            meta,
                            checked: Instant::now(),
                        })))
                    }
                }
            })
            .await?;
        let (lookup, passed_through) = outcome.into_inner().unwrap_or((SourceLookup::Miss, None));
        self.count(lookup);
        let fetched = !matches!(lookup, SourceLookup::Hit | SourceLookup::Coalesced);
        match computed {
            CompResult::Inserted(entry)
            | CompResult::ReplacedWith(entry)
            | CompResult::Unchanged(entry) => Ok(entry.into_value().got(fetched)),
            CompResult::Removed(_) | CompResult::StillNone(_) => passed_through
                .ok_or_else(|| OriginError::Body("the source vanished from the cache".into())),
        }
    }

    /// Drops the copy of `identity` if it is still `bytes` (the very copy a render refused): a
    /// newer copy fetched meanwhile is kept. Returns whether a copy was dropped.
    pub async fn forget(&self, identity: &str, bytes: &Bytes) -> bool {
        let key = *blake3::hash(identity.as_bytes()).as_bytes();
        let same = |kept: &Bytes| kept.as_ptr() == bytes.as_ptr() && kept.len() == bytes.len();
        let outcome = self
            .cache
            .entry(key)
            .and_compute_with(|current| {
                let op = match current {
                    Some(entry) if same(&entry.value().bytes) => Op::Remove,
                    _ => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
        matches!(outcome, CompResult::Removed(_))
    }

    fn count(&self, lookup: SourceLookup) {
        self.lookups
            .get_or_create(&CacheLabels {
                result: lookup.label(),
            })
            .inc();
    }
}

/// A 304 may leave out what did not change: keep the old validators and lifetime where it does.
fn merge(old: &SourceMeta, new: SourceMeta) -> SourceMeta {
    SourceMeta {
        no_store: new.no_store,
        private: new.private,
        cache_control: new.cache_control.or_else(|| old.cache_control.clone()),
        max_age: new.max_age.or(old.max_age),
        validators: Validators {
            etag: new.validators.etag.or_else(|| old.validators.etag.clone()),
            last_modified: new
                .validators
                .last_modified
                .or_else(|| old.validators.last_modified.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl SourceCache {
        /// `get`, for the tests that only look at the bytes.
        async fn bytes<F, Fut>(&self, identity: &str, fetch: F) -> Result<Bytes, OriginError>
        where
            F: FnOnce(Option<Validators>) -> Fut,
            Fut: Future<Output = Result<Fetched, OriginError>>,
        {
            self.get(identity, fetch).await.map(|got| got.bytes)
        }
    }
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn cache(cap: Duration) -> SourceCache {
        SourceCache::new(1 << 20, cap, cap * 2, Family::default())
    }

    fn full(body: &'static [u8], meta: SourceMeta) -> Result<Fetched, OriginError> {
        Ok(Fetched::Full {
            bytes: Bytes::from_static(body),
            meta,
        })
    }

    fn tagged(etag: &str, max_age: Option<u64>) -> SourceMeta {
        SourceMeta {
            max_age: max_age.map(Duration::from_secs),
            validators: Validators {
                etag: Some(etag.into()),
                last_modified: None,
            },
            ..SourceMeta::default()
        }
    }

    #[tokio::test]
    async fn a_fresh_copy_is_reused_without_asking() {
        let c = cache(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            let bytes = c
                .bytes("http://o/a.jpg", |_| async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    full(b"one", SourceMeta::default())
                })
                .await
                .expect("bytes");
            assert_eq!(&bytes[..], b"one");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_stale_copy_is_revalidated_with_its_etag() {
        let c = cache(Duration::from_secs(60));
        c.bytes("u", |_| async { full(b"v1", tagged("\"1\"", Some(0))) })
            .await
            .expect("first");
        let sent = Mutex::new(None);
        let bytes = c
            .bytes("u", |validators| async {
                *sent.lock().expect("lock") = validators;
                Ok(Fetched::NotModified {
                    meta: SourceMeta::default(),
                })
            })
            .await
            .expect("revalidated");
        assert_eq!(&bytes[..], b"v1");
        let sent = sent.into_inner().expect("lock").expect("validators sent");
        assert_eq!(sent.etag.as_deref(), Some("\"1\""));
        // A changed source replaces the copy.
        let bytes = c
            .bytes("u", |_| async { full(b"v2", tagged("\"2\"", Some(60))) })
            .await
            .expect("refetched");
        assert_eq!(&bytes[..], b"v2");
        let bytes = c
            .bytes("u", |_| async { Err(OriginError::Timeout) })
            .await
            .expect("fresh now");
        assert_eq!(&bytes[..], b"v2");
    }

    #[tokio::test]
    async fn no_store_bodies_are_used_once_and_errors_never_kept() {
        let c = cache(Duration::from_secs(60));
        let private = SourceMeta {
            no_store: true,
            ..SourceMeta::default()
        };
        let bytes = c
            .bytes("p", |_| async { full(b"secret", private.clone()) })
            .await
            .expect("passed through");
        assert_eq!(&bytes[..], b"secret");
        assert_eq!(
            c.bytes("p", |_| async { Err(OriginError::NotFound) }).await,
            Err(OriginError::NotFound)
        );
        assert_eq!(
            c.bytes("p", |_| async { Err(OriginError::Status(503)) })
                .await,
            Err(OriginError::Status(503))
        );
    }

    #[tokio::test]
    async fn a_refused_copy_is_forgotten_but_not_a_newer_one() {
        let c = cache(Duration::from_secs(60));
        let bad = c
            .bytes("u", |_| async { full(b"<html>", SourceMeta::default()) })
            .await
            .expect("fetched");
        assert!(c.forget("u", &bad).await, "the refused copy is dropped");
        let good = c
            .bytes("u", |_| async {
                full(b"\xff\xd8 image", SourceMeta::default())
            })
            .await
            .expect("fetched again");
        assert_eq!(&good[..], b"\xff\xd8 image");
        // A late refusal of the old copy does not drop the new one.
        assert!(!c.forget("u", &bad).await);
        let kept = c
            .bytes("u", |_| async { Err(OriginError::Timeout) })
            .await
            .expect("still cached");
        assert_eq!(&kept[..], b"\xff\xd8 image");
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        let c = Arc::new(cache(Duration::from_secs(60)));
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (c, calls) = (c.clone(), calls.clone());
                tokio::spawn(async move {
                    c.bytes("shared", |_| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        full(b"x", SourceMeta::default())
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(&task.await.expect("join").expect("bytes")[..], b"x");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
