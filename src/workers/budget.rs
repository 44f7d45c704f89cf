//! The memory budget (`--max-memory` less the caches and the process's own base), in MiB, as two
//! pools so that no miss holds one part while it waits for another part of the same pool (two misses
//! each holding their source and waiting for room that only the other could give would never move):
//!
//! - sources: a quarter of the budget, at most `inflight x --max-src-bytes`. A miss takes
//!   `--max-src-bytes` from it when admitted (before its fetch) and gives back what its source did
//!   not use once fetched; it holds the rest until its job ends.
//! - jobs: the rest. After the fetch a miss takes its job's expected peak less its source
//!   (`render::peak_bytes`), in one step, and holds it until its job ends.
//!
//! Waiting misses hold nothing of the pool they wait for; what they wait for is held by misses that
//! are fetching or running, which end. A job larger than the whole jobs pool is refused.

use std::sync::Arc;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const MIB: u64 = 1 << 20;

/// MiB, rounded up, saturating at `u32::MAX`.
pub(super) fn mib(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(MIB)).unwrap_or(u32::MAX)
}

/// One pool of MiB.
#[derive(Clone)]
pub(super) struct Pool {
    permits: Arc<Semaphore>,
    total_mib: u32,
}

impl Pool {
    fn new(total_mib: u32) -> Pool {
        Pool {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
        }
    }

    pub(super) fn total_mib(&self) -> u32 {
        self.total_mib
    }

    pub(super) fn semaphore(&self) -> Arc<Semaphore> {
        self.permits.clone()
    }

    fn used(&self) -> u64 {
        u64::from(self.total_mib).saturating_sub(self.permits.available_permits() as u64)
    }
}

#[derive(Clone)]
pub(super) struct Budget {
    pub(super) sources: Pool,
    pub(super) jobs: Pool,
    in_use: Gauge,
}

impl Budget {
    /// `bytes` in all; the sources' pool is a quarter of it, at most `sources_at_most` bytes.
    pub(super) fn new(bytes: u64, sources_at_most: u64, in_use: Gauge) -> Budget {
        let total = mib(bytes).clamp(2, (Semaphore::MAX_PERMITS >> 1) as u32);
        let sources = (total / 4).min(mib(sources_at_most)).max(1);
        Budget {
            sources: Pool::new(sources),
            jobs: Pool::new(total - sources),
            in_use,
        }
    }

    pub(super) fn total_mib(&self) -> u32 {
        self.sources.total_mib + self.jobs.total_mib
    }

    /// Wraps permits taken from this budget.
    pub(super) fn hold(&self, permit: OwnedSemaphorePermit) -> Reservation {
        let reservation = Reservation {
            permit: Some(permit),
            budget: self.clone(),
        };
        self.publish();
        reservation
    }

    fn publish(&self) {
        let used = self.sources.used() + self.jobs.used();
        self.in_use
            .set(i64::try_from(used * MIB).unwrap_or(i64::MAX));
    }
}

/// MiB of one pool held until dropped.
pub(super) struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
    budget: Budget,
}

impl Reservation {
    pub(super) fn mib(&self) -> u32 {
        self.permit
            .as_ref()
            .map_or(0, |p| u32::try_from(p.num_permits()).unwrap_or(u32::MAX))
    }

    /// Gives back all but `keep` MiB.
    pub(super) fn shrink_to(&mut self, keep: u32) {
        if let Some(permit) = &mut self.permit {
            let surplus = permit.num_permits().saturating_sub(keep as usize);
            drop(permit.split(surplus));
        }
        self.budget.publish();
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.budget.publish();
    }
}

/// The machine's memory as the process sees it: the cgroup's `memory.max` (v2) or
/// `memory.limit_in_bytes` (v1) when set, else `MemTotal` from /proc/meminfo; `None` when neither
/// can be read.
pub fn machine_memory() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let cgroup = read("/sys/fs/cgroup/memory.max")
        .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        .and_then(|text| text.trim().parse::<u64>().ok())
        // v1 reports "no limit" as a huge number.
        .filter(|bytes| *bytes < (1 << 60));
    let total = read("/proc/meminfo").and_then(|text| {
        text.lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib * 1024)
    });
    match (cgroup, total) {
        (Some(limit), Some(total)) => Some(limit.min(total)),
        (limit, total) => limit.or(total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mib_rounds_up_and_saturates() {
        assert_eq!(mib(0), 0);
        assert_eq!(mib(1), 1);
        assert_eq!(mib(MIB), 1);
        assert_eq!(mib(MIB + 1), 2);
        assert_eq!(mib(u64::MAX), u32::MAX);
    }

    #[test]
    fn the_sources_get_a_quarter_at_most_and_reservations_return() {
        let budget = Budget::new(100 * MIB, 64 * MIB, Gauge::default());
        assert_eq!(
            (budget.sources.total_mib(), budget.jobs.total_mib()),
            (25, 75)
        );
        let budget = Budget::new(100 * MIB, 8 * MIB, Gauge::default());
        assert_eq!(
            (budget.sources.total_mib(), budget.jobs.total_mib()),
            (8, 92)
        );
        let permit = budget.sources.semaphore().try_acquire_many_owned(8);
        let mut held = budget.hold(permit.expect("8 of 8"));
        let permit = budget.jobs.semaphore().try_acquire_many_owned(50);
        let job = budget.hold(permit.expect("50 of 92"));
        assert_eq!(budget.in_use.get(), (58 * MIB) as i64);
        held.shrink_to(3);
        assert_eq!(held.mib(), 3);
        assert_eq!(budget.sources.semaphore().available_permits(), 5);
        drop((held, job));
        assert_eq!(budget.sources.semaphore().available_permits(), 8);
        assert_eq!(budget.jobs.semaphore().available_permits(), 92);
        assert_eq!(budget.in_use.get(), 0);
    }

    #[test]
    fn the_machine_has_memory() {
        assert!(machine_memory().is_some_and(|bytes| bytes > 64 * MIB));
    }
}
