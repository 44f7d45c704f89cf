//! The tiers behind the memory cache: stores that keep finished results (`Rendition`s) longer or
//! more widely than moka, so that a restart (the local disk tier) or another replica (a shared
//! tier) does not send the working set back to the origin and the CPU.
//!
//! A lookup goes memory -> each tier in order -> origin (`service/lookup.rs`, inside the coalesced
//! fill, so N concurrent misses make one tier read). What a tier finds is promoted into moka and
//! written to the tiers above it; what is made on a miss is written to every tier. A tier is never a
//! reason to fail a request: its errors are values ([`TierError`]), its reads have a bounded wait
//! (`--tier-timeout`), and its writes go through a bounded queue off the request path (dropped and
//! counted when full). Results the origin keeps private or `no-store` never reach a tier.
//!
//! ## Plugging in a tier
//!
//! A tier implements [`Tier`]: a name (the `tier` metric label, e.g. `"shared"`), the `X-Cache`
//! value when it answers (e.g. `"HIT-SHARED"`), and `get`/`put`/`remove` of **opaque bytes** under a
//! [`CacheKey`] (name the stored object by [`CacheKey::to_hex`]). The bytes are an [`entry`]
//! encoding made and checked by the framework (`Tiers`): a tier never parses them, and a truncated,
//! corrupt or misplaced entry is rejected (and removed) here, never served. Expiry is by the
//! stored creation time: the framework ignores entries past `--cache-ttl` + `--stale-grace`; a
//! tier may also drop old entries itself (a bucket's lifecycle rule). Counting evictions and
//! errors inside the tier goes through `Metrics::tier_*` with its name; lookups, latency, bytes
//! read and written are counted by the framework.
//! The tier is built in [`from_config`] from its flags and appended to the list in lookup order
//! (disk before shared).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::cache::CacheKey;
use crate::config::Config;
use crate::metrics::Metrics;

pub mod disk;
pub mod entry;
pub mod shared;
mod tiers;

pub use tiers::Tiers;

/// One store behind the memory cache. Implementations must be cheap to call concurrently; a slow
/// call is abandoned by the framework after `--tier-timeout` (so it must be cancel-safe: a `put`
/// dropped halfway must leave no entry that `get` would return as whole, which the entry's length
/// and checksum enforce anyway).
#[async_trait]
pub trait Tier: Send + Sync + 'static {
    /// The `tier` label of its metrics and log lines: lowercase, fixed (`"disk"`, `"shared"`).
    fn name(&self) -> &'static str;

    /// The `X-Cache` value of a response this tier answered (`"HIT-DISK"`, `"HIT-SHARED"`).
    fn header(&self) -> &'static str;

    /// The stored entry of `key`, as `put` was given it; `Ok(None)` when there is none.
    async fn get(&self, key: CacheKey) -> Result<Option<Bytes>, TierError>;

    /// Stores `entry` under `key`, replacing any older one.
    async fn put(&self, key: CacheKey, entry: Bytes) -> Result<(), TierError>;

    /// Forgets `key` (a corrupt entry, or an origin that no longer serves the source).
    async fn remove(&self, key: CacheKey) -> Result<(), TierError>;
}

/// Why a tier could not answer or store: counted, logged, and the request goes on without it.
#[derive(Debug, thiserror::Error)]
pub enum TierError {
    /// The backend's own I/O failed (a full or read-only disk, a reset connection).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// No answer within `--tier-timeout`.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The backend answered with a refusal or is unreachable (an S3 error status, say).
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl TierError {
    /// The `kind` label of `imgshield_tier_errors_total`.
    pub fn label(&self) -> &'static str {
        match self {
            TierError::Io(_) => "io",
            TierError::Timeout(_) => "timeout",
            TierError::Unavailable(_) => "unavailable",
        }
    }
}

/// The tiers `config` asks for, in lookup order (none by default). Runs inside the runtime.
pub fn from_config(config: &Config, metrics: &Arc<Metrics>) -> Tiers {
    let mut tiers: Vec<Arc<dyn Tier>> = Vec::new();
    if let Some(dir) = &config.disk_cache_dir {
        tiers.push(Arc::new(disk::DiskTier::open(
            dir,
            config.disk_cache_bytes,
            metrics.clone(),
        )));
    }
    match shared::from_config(config) {
        Ok(Some(shared)) => tiers.push(Arc::new(shared)),
        Ok(None) => {}
        // App::new checked it first; here only for callers that did not.
        Err(why) => tracing::error!(%why, "the shared tier cannot be used; going on without it"),
    }
    if tiers.is_empty() {
        return Tiers::none(metrics.clone());
    }
    Tiers::new(
        tiers,
        config.tier_timeout,
        keep_for(config),
        config.tier_queue,
        metrics.clone(),
    )
}

/// How long a result may be kept at all: fresh for `--cache-ttl`, then servable stale for the
/// longer of `--stale-grace` and `--stale-while-revalidate`.
pub fn keep_for(config: &Config) -> Duration {
    config
        .cache_ttl
        .saturating_add(config.stale_grace.max(config.stale_while_revalidate))
}
