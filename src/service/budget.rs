//! The worker pool's bounds from the configuration, the memory budget among them: `--max-memory`
//! (default 3/4 of the machine's memory, see `workers::machine_memory`) less the three caches at
//! their full size and a base for the process itself (runtime, libvips, code, idle arenas: ~50 MiB
//! measured idle).

use crate::config::Config;
use crate::workers::{machine_memory, Bounds};

/// The process without any work in flight (measured ~50 MiB idle, rounded up).
const BASE: u64 = 64 << 20;

/// Least budget an explicit `--max-memory` may leave for work: about one 12 MP photo's job.
const MIN_BUDGET: u64 = 64 << 20;

/// Least budget a derived default gives (a small machine with the default caches): the caches are
/// then the operator's to shrink, and a warning says so.
const DERIVED_FLOOR: u64 = 256 << 20;

/// Used when the machine's memory cannot be read.
const UNKNOWN_MACHINE: u64 = 4 << 30;

pub(super) fn bounds(config: &Config) -> Result<Bounds, String> {
    let caches = config
        .cache_bytes
        .saturating_add(config.source_cache_bytes)
        .saturating_add(config.derivative_cache_bytes);
    let fixed = caches.saturating_add(BASE);
    let memory = match config.max_memory {
        Some(max) => {
            let left = max.saturating_sub(fixed);
            if left < MIN_BUDGET {
                return Err(format!(
                    "--max-memory {} MiB leaves {} MiB for work after the caches ({} MiB: --cache-bytes, \
                     --source-cache-bytes, --derivative-cache-bytes) and the process's base ({} MiB); \
                     at least {} MiB are needed: raise it or shrink the caches",
                    max >> 20, left >> 20, caches >> 20, BASE >> 20, MIN_BUDGET >> 20
                ));
            }
            left
        }
        None => {
            let machine = machine_memory().unwrap_or(UNKNOWN_MACHINE) / 4 * 3;
            let left = machine.saturating_sub(fixed);
            if left < DERIVED_FLOOR {
                tracing::warn!(
                    machine_mib = machine >> 20,
                    caches_mib = caches >> 20,
                    "the caches leave little of this machine's memory for work; the memory budget \
                     is {} MiB (set --max-memory, or shrink the caches)",
                    DERIVED_FLOOR >> 20
                );
            }
            left.max(DERIVED_FLOOR)
        }
    };
    tracing::info!(budget_mib = memory >> 20, "memory budget for misses");
    Ok(Bounds {
        workers: config.workers(),
        inflight: config.inflight(),
        queue: config.queue,
        max_wait: config.max_queue_wait,
        memory,
        source: config.max_src_bytes,
    })
}
