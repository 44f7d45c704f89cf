//! The local disk tier (`--disk-cache-dir`, `--disk-cache-bytes`): one file per entry, named by
//! its key (`<dir>/<first 2 hex>/<64 hex>`), so results survive a restart of the process.
//!
//! - **Crashes**: an entry is written to `<dir>/tmp/` and renamed into place, so a reader sees a
//!   whole file or none; and whatever is read is checked (length, checksum, key) by `Tiers`
//!   before it is served, so even a file cut short by a power loss (no `fsync`: a lost entry is a
//!   miss, not a fault) is never served. Leftovers in `tmp/` are deleted at start.
//! - **Bound**: a byte-weighed LRU index (a `moka::sync::Cache` of file sizes) deletes the least
//!   recently used files past `--disk-cache-bytes`. At start a background scan rebuilds it from
//!   the files, oldest write first; until it is done a lookup reads the file directly.
//! - **Failures** (full disk, unwritable directory) are `TierError::Io`: counted and logged by
//!   `Tiers`, and the request goes on without the tier.
//!
//! - **Upgrades**: keys include imgshield's and the engine's versions, so a new version never asks
//!   for an old entry; old files leave by LRU eviction (or delete the directory).
//!
//! One process per directory (a start empties `tmp/`). Every file operation runs on Tokio's
//! blocking pool.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;

use super::{Tier, TierError};
use crate::cache::CacheKey;
use crate::metrics::{Metrics, TierLabels};

const NAME: &str = "disk";

/// The local disk tier. Cheap to clone.
#[derive(Clone)]
pub struct DiskTier {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// Key -> file size, weighed by size: evicting an entry deletes its file.
    index: moka::sync::Cache<CacheKey, u32>,
    /// Names temporary files apart.
    writes: AtomicU64,
    metrics: Arc<Metrics>,
}

impl DiskTier {
    /// The tier in `dir` (created if missing), holding up to `max_bytes`. A directory that cannot
    /// be made or read is logged here and fails each operation later (counted), never the start.
    pub fn open(dir: &Path, max_bytes: u64, metrics: Arc<Metrics>) -> DiskTier {
        let evicted = {
            let (dir, metrics) = (dir.to_path_buf(), metrics.clone());
            move |key: Arc<CacheKey>, _size: u32, cause: RemovalCause| {
                if cause == RemovalCause::Size {
                    let _ = std::fs::remove_file(entry_path(&dir, &key));
                    let labels = TierLabels { tier: NAME };
                    metrics.tiers.evictions.get_or_create(&labels).inc();
                }
            }
        };
        let index = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_key: &CacheKey, size: &u32| *size)
            .eviction_policy(EvictionPolicy::lru())
            .eviction_listener(evicted)
            .build();
        let tier = DiskTier {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                index,
                writes: AtomicU64::new(0),
                metrics,
            }),
        };
        match prepare(dir) {
            Ok(()) => {
                let inner = tier.inner.clone();
                tokio::task::spawn_blocking(move || inner.scan());
            }
            Err(error) => {
                tracing::error!(dir = %dir.display(), %error, "disk tier directory unusable; every entry will miss")
            }
        }
        tier
    }

    async fn blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Inner) -> Result<T, TierError> + Send + 'static,
    ) -> Result<T, TierError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || op(&inner))
            .await
            .unwrap_or_else(|e| Err(TierError::Unavailable(format!("disk task failed: {e}"))))
    }
}

#[async_trait]
impl Tier for DiskTier {
    fn name(&self) -> &'static str {
        NAME
    }

    fn header(&self) -> &'static str {
        "HIT-DISK"
    }

    async fn get(&self, key: CacheKey) -> Result<Option<Bytes>, TierError> {
        self.blocking(move |inner| inner.read(key)).await
    }

    async fn put(&self, key: CacheKey, entry: Bytes) -> Result<(), TierError> {
        self.blocking(move |inner| inner.write(key, &entry)).await
    }

    async fn remove(&self, key: CacheKey) -> Result<(), TierError> {
        self.blocking(move |inner| inner.delete(key)).await
    }
}

impl Inner {
    fn read(&self, key: CacheKey) -> Result<Option<Bytes>, TierError> {
        match std::fs::read(entry_path(&self.dir, &key)) {
            Ok(bytes) => {
                // Counts the use for LRU; a file the start-up scan has not reached yet joins now.
                if self.index.get(&key).is_none() {
                    self.index.insert(key, weight(bytes.len() as u64));
                }
                Ok(Some(Bytes::from(bytes)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.index.invalidate(&key);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn write(&self, key: CacheKey, entry: &[u8]) -> Result<(), TierError> {
        let path = entry_path(&self.dir, &key);
        let n = self.writes.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .dir
            .join("tmp")
            .join(format!("{}.{}.{n}", key.to_hex(), std::process::id()));
        let written = (|| {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(entry)?;
            drop(file);
            std::fs::rename(&tmp, &path)
        })();
        if let Err(error) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(error.into());
        }
        self.index.insert(key, weight(entry.len() as u64));
        self.index.run_pending_tasks();
        self.update_gauges();
        Ok(())
    }

    fn delete(&self, key: CacheKey) -> Result<(), TierError> {
        self.index.invalidate(&key);
        self.update_gauges();
        match std::fs::remove_file(entry_path(&self.dir, &key)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn update_gauges(&self) {
        let labels = TierLabels { tier: NAME };
        let tiers = &self.metrics.tiers;
        let entries = i64::try_from(self.index.entry_count()).unwrap_or(i64::MAX);
        let bytes = i64::try_from(self.index.weighted_size()).unwrap_or(i64::MAX);
        tiers.entries.get_or_create(&labels).set(entries);
        tiers.stored_bytes.get_or_create(&labels).set(bytes);
    }

    /// Rebuilds the index from the files on disk, oldest write first (so the newest are kept if
    /// the bound shrank); files that are not entries are left alone.
    fn scan(&self) {
        let mut found: Vec<(SystemTime, CacheKey, u64)> = Vec::new();
        let Ok(fans) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for fan in fans.flatten() {
            let Ok(files) = std::fs::read_dir(fan.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name();
                let Some(key) = name.to_str().and_then(CacheKey::from_hex) else {
                    continue;
                };
                if let Ok(meta) = file.metadata() {
                    let written = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    found.push((written, key, meta.len()));
                }
            }
        }
        found.sort_by_key(|(written, _, _)| *written);
        let count = found.len();
        for (_, key, len) in found {
            if !self.index.contains_key(&key) {
                self.index.insert(key, weight(len));
            }
        }
        self.index.run_pending_tasks();
        self.update_gauges();
        tracing::info!(dir = %self.dir.display(), entries = count, "disk tier index rebuilt");
    }
}

/// `<dir>/<first two hex digits>/<hex>`: 256 directories keep each one small.
fn entry_path(dir: &Path, key: &CacheKey) -> PathBuf {
    let hex = key.to_hex();
    dir.join(&hex[..2]).join(hex)
}

fn weight(len: u64) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Makes `dir` and its `tmp/`, emptying `tmp/` of a previous run's unfinished writes.
fn prepare(dir: &Path) -> std::io::Result<()> {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    for leftover in std::fs::read_dir(&tmp)?.flatten() {
        let _ = std::fs::remove_file(leftover.path());
    }
    Ok(())
}
