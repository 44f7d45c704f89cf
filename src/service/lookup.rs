//! The result cache in front of every rendering route: a hit answers at once, a miss or a stale
//! entry is made once however many requests ask for it at the same moment (coalesced through
//! moka's entry API), and the work runs as a task of its own (`inflight`), so a client that hangs up
//! does not cancel what coalesced requests wait for. When every request for it has gone, the work
//! is dropped if its fetch has not started, and otherwise finishes and lands in the cache.
//! Written once for `/resize`, `/info` and `/text`.

use std::future::Future;

use tracing::Instrument;

use super::inflight::{Outcome, Ticket};
use super::*;
use crate::cache::FromTier;
use crate::workers::Requesters;

/// Whether a route's cached results go stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expiry {
    /// After `--cache-ttl`: the origin's image may have changed, so a stale entry is refreshed.
    Ttl,
    /// Never: a pure function of its parameters (a `/text` banner) has nothing to refresh.
    Never,
}

/// How the cache answered a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lookup {
    /// Fresh in the cache.
    Hit,
    /// Not in the cache; this request made it.
    Miss,
    /// Another request was making it; this one waited for that result.
    Coalesced,
    /// Stale in the cache; this request refreshed it.
    Refreshed,
    /// Stale in the cache and the refresh failed on the origin's side: served the stale result.
    Stale,
    /// Stale in the cache, within `--stale-while-revalidate`: served at once while one refresh
    /// runs in the background.
    Revalidating,
    /// Not in memory; a storage tier behind it (`store`) had it fresh, and it is in memory now.
    Tier(FromTier),
}

impl Lookup {
    /// The `result` label of `imgshield_cache_lookups_total`.
    pub(super) fn label(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
            Lookup::Coalesced => "coalesced",
            Lookup::Refreshed => "refreshed",
            Lookup::Stale => "stale",
            Lookup::Revalidating => "revalidating",
            Lookup::Tier(tier) => tier.name,
        }
    }

    /// The `X-Cache` header: whether this response came from memory (or which storage tier)
    /// without new work.
    pub(super) fn header(self) -> &'static str {
        match self {
            Lookup::Tier(tier) => tier.header,
            Lookup::Hit => "HIT",
            Lookup::Stale | Lookup::Revalidating => "STALE",
            Lookup::Miss | Lookup::Coalesced | Lookup::Refreshed => "MISS",
        }
    }
}

impl App {
    /// Answers `key` from the result cache, or with what `make` produces on a miss or a stale entry
    /// (coalesced, see `fill` and `refresh`); counts the lookup and notes it for the log line.
    /// Every route that renders (`/resize`, `/info`, `/text`) goes through here.
    pub(super) async fn lookup<W>(
        self: &Arc<Self>,
        key: CacheKey,
        note: &mut Note,
        expiry: Expiry,
        make: impl FnOnce(Requesters) -> W + Send + 'static,
    ) -> Result<(Arc<Rendition>, Lookup), Arc<Error>>
    where
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        note.key = Some(key);
        let fresh = |hit: &Rendition| expiry == Expiry::Never || hit.is_fresh(self.cache_ttl);
        let looked_up = match self.cache.get(&key).await {
            Some(hit) if fresh(&hit) => Ok((hit, Lookup::Hit)),
            Some(stale) => self.stale(key, stale, true, make).await,
            None => {
                let mut make = Some(make);
                match self.fill(key, &fresh, &mut make).await {
                    // A storage tier had it past its freshness: like a stale memory entry.
                    Ok((found, _)) if found.from_tier.is_some() && !fresh(&found) => match make {
                        Some(make) => self.stale(key, found, false, make).await,
                        None => Ok((found, Lookup::Stale)),
                    },
                    other => other,
                }
            }
        };
        let (rendition, result) = match looked_up {
            Ok(found) => found,
            // Made for the requests that waited for it, but not for the cache.
            Err(error) => match &*error {
                Error::Uncacheable(rendition) => (rendition.clone(), Lookup::Miss),
                _ => return Err(error),
            },
        };
        if matches!(result, Lookup::Miss | Lookup::Refreshed) {
            note.fetch = Some(rendition.fetch_time);
            note.transform = Some(rendition.transform_time);
        }
        note.cache = Some(result.label());
        self.metrics
            .cache_lookups
            .get_or_create(&CacheLabels {
                result: result.label(),
            })
            .inc();
        Ok((rendition, result))
    }

    /// A stale result: served at once while it refreshes in the background if it may be,
    /// otherwise refreshed first (and served only if the refresh fails on the origin's side).
    /// `ask_tiers`: whether the refresh first looks for a fresh copy in the storage tiers (not
    /// when `stale` was just read from them).
    async fn stale<W>(
        self: &Arc<Self>,
        key: CacheKey,
        stale: Arc<Rendition>,
        ask_tiers: bool,
        make: impl FnOnce(Requesters) -> W + Send + 'static,
    ) -> Result<(Arc<Rendition>, Lookup), Arc<Error>>
    where
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        if self.may_serve_while_refreshing(&stale) {
            self.clone()
                .refresh_in_background(key, stale.clone(), ask_tiers, make);
            Ok((stale, Lookup::Revalidating))
        } else {
            self.refresh(key, stale, ask_tiers, make).await
        }
    }

    /// Whether a stale result may answer at once while it is refreshed: within
    /// `--stale-while-revalidate` past our TTL. A result whose origin set its lifetime (`max-age`,
    /// `Expires`, `no-cache`) is not: past that lifetime the origin is asked before it is reused.
    fn may_serve_while_refreshing(&self, stale: &Rendition) -> bool {
        !self.stale_while_revalidate.is_zero()
            && stale.caching.max_age.is_none()
            && stale.age() <= self.cache_ttl.saturating_add(self.stale_while_revalidate)
    }

    /// Starts one refresh of `key` in a task of its own (none if one is running already); its
    /// outcome lands in the cache (or, if the origin now refuses, drops the entry).
    fn refresh_in_background<W>(
        self: Arc<Self>,
        key: CacheKey,
        stale: Arc<Rendition>,
        ask_tiers: bool,
        make: impl FnOnce(Requesters) -> W + Send + 'static,
    ) where
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        let started = self
            .refreshing
            .lock()
            .map(|mut keys| keys.insert(key))
            .unwrap_or(false);
        if !started {
            return;
        }
        let span = tracing::Span::current();
        tokio::spawn(
            async move {
                if let Err(error) = self.refresh(key, stale, ask_tiers, make).await {
                    tracing::info!(code = error.code(), "background refresh failed");
                }
                if let Ok(mut keys) = self.refreshing.lock() {
                    keys.remove(&key);
                }
            }
            .instrument(span),
        );
    }

    /// A miss in memory: one caller looks in the storage tiers and, if none has it, makes the
    /// result (taking `make`); concurrent callers for the same key wait for either. What a tier
    /// finds is promoted into memory, fresh or not (`lookup` treats a stale one as stale).
    async fn fill<W, F>(
        self: &Arc<Self>,
        key: CacheKey,
        fresh: &(impl Fn(&Rendition) -> bool + Sync),
        make: &mut Option<F>,
    ) -> Result<(Arc<Rendition>, Lookup), Arc<Error>>
    where
        F: FnOnce(Requesters) -> W + Send + 'static,
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        let app = self.clone();
        // Every caller counts as a requester while it waits, whichever of them moka lets run.
        let mut ticket = self.inflight.join(key);
        // moka polls this init future for one caller only; the others wait for its result. The
        // work itself is a task of its own, which a waiting caller joins if that caller hangs up.
        let entry = self
            .cache
            .entry(key)
            .or_try_insert_with(async {
                if let Some(found) = app.tiers.find(key, fresh).await {
                    return Ok(found);
                }
                let Some(make) = make.take() else {
                    return Err(Arc::new(Error::Internal("miss made twice".into())));
                };
                app.produce_in_task(&mut ticket, key, make)
                    .await
                    .and_then(kept)
            })
            .await
            .map_err(|e| Arc::clone(&*e))?;
        let lookup = match (entry.is_fresh(), entry.value().from_tier) {
            (_, Some(tier)) => Lookup::Tier(tier),
            (true, None) => Lookup::Miss,
            (false, None) => Lookup::Coalesced,
        };
        Ok((entry.into_value(), lookup))
    }

    /// A stale entry: refresh it (one refresh at a time per key; whoever waited behind a successful
    /// refresh gets its result), and if the origin is failing, serve the stale result instead.
    async fn refresh<W>(
        self: &Arc<Self>,
        key: CacheKey,
        stale: Arc<Rendition>,
        ask_tiers: bool,
        make: impl FnOnce(Requesters) -> W + Send + 'static,
    ) -> Result<(Arc<Rendition>, Lookup), Arc<Error>>
    where
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        let (app, ttl) = (self.clone(), self.cache_ttl);
        let mut ticket = self.inflight.join(key);
        let outcome = self
            .cache
            .entry(key)
            .and_try_compute_with(|current| async {
                if current.is_some_and(|entry| entry.value().is_fresh(ttl)) {
                    return Ok(Op::Nop);
                }
                // Another replica may have refreshed it into a shared tier.
                if ask_tiers {
                    let found = app.tiers.find(key, |r: &Rendition| r.is_fresh(ttl)).await;
                    if let Some(found) = found.filter(|r| r.is_fresh(ttl)) {
                        return Ok(Op::Put(found));
                    }
                }
                app.produce_in_task(&mut ticket, key, make)
                    .await
                    .and_then(kept)
                    .map(Op::Put)
            })
            .await;
        match outcome {
            Ok(CompResult::Inserted(entry) | CompResult::ReplacedWith(entry)) => {
                let entry = entry.into_value();
                match entry.from_tier {
                    Some(tier) => Ok((entry, Lookup::Tier(tier))),
                    None => Ok((entry, Lookup::Refreshed)),
                }
            }
            Ok(CompResult::Unchanged(entry)) => Ok((entry.into_value(), Lookup::Coalesced)),
            Ok(CompResult::StillNone(_) | CompResult::Removed(_)) => Err(Arc::new(
                Error::Internal("cache entry vanished during refresh".into()),
            )),
            // Never past the stale grace, whatever moka's timer says of an entry a tier promoted.
            Err(error) if error.serves_stale() && stale.age() <= self.keep_for => {
                tracing::warn!(code = error.code(), error = %error, "refresh failed; serving stale");
                Ok((stale, Lookup::Stale))
            }
            Err(error) => {
                // The origin's verdict changed (gone, or no longer an image): drop the old result.
                self.cache.invalidate(&key).await;
                self.tiers.remove(key);
                Err(error)
            }
        }
    }

    /// Starts `make`'s work as a task of its own that also stores its result, unless another
    /// request of `ticket`'s miss already has; then waits for its outcome. The work learns from
    /// `Requesters` when every request waiting for it has gone.
    async fn produce_in_task<W>(
        self: Arc<Self>,
        ticket: &mut Ticket<'_>,
        key: CacheKey,
        make: impl FnOnce(Requesters) -> W,
    ) -> Outcome
    where
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        if let Some(start) = ticket.start() {
            // The miss's own task carries the span of the request that started it.
            let span = tracing::Span::current();
            let work = make(start.requesters);
            let app = self.clone();
            tokio::spawn(async move {
                let result = work.instrument(span).await.map_err(Arc::new);
                if let Ok(rendition) = &result {
                    if rendition.caching.shared() {
                        app.cache.insert(key, rendition.clone()).await;
                        app.tiers.store(key, rendition);
                    }
                }
                start.outcome.send_replace(Some(result));
                app.inflight.finish(key, start.id);
            });
        }
        let outcome = ticket.outcome().await;
        outcome.unwrap_or_else(|| Err(Arc::new(Error::Internal("transform task failed".into()))))
    }
}

/// A result goes into the cache only if its origin lets shared caches keep it; otherwise it is
/// handed to the waiting requests as [`Error::Uncacheable`], which moka does not store (and a
/// refresh that meets it drops the stale entry).
fn kept(rendition: Arc<Rendition>) -> Result<Arc<Rendition>, Arc<Error>> {
    if rendition.caching.shared() {
        Ok(rendition)
    } else {
        Err(Arc::new(Error::Uncacheable(rendition)))
    }
}
