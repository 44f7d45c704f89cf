//! The memory budget (`--max-memory` less the caches and the process's own base): a semaphore in
//! MiB that every admitted miss draws on, first for its source (up to `--max-src-bytes`, while it
//! is fetched), then for its job's expected peak (`render::peak_bytes`), until the job ends.

use std::sync::Arc;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const MIB: u64 = 1 << 20;

/// MiB, rounded up, saturating at `u32::MAX`.
pub(super) fn mib(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(MIB)).unwrap_or(u32::MAX)
}

#[derive(Clone)]
pub(super) struct Budget {
    permits: Arc<Semaphore>,
    total_mib: u32,
    in_use: Gauge,
}

impl Budget {
    pub(super) fn new(bytes: u64, in_use: Gauge) -> Budget {
        let total_mib = mib(bytes).clamp(1, (Semaphore::MAX_PERMITS >> 1) as u32);
        Budget {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
            in_use,
        }
    }

    pub(super) fn total_mib(&self) -> u32 {
        self.total_mib
    }

    pub(super) fn semaphore(&self) -> Arc<Semaphore> {
        self.permits.clone()
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
        let used =
            u64::from(self.total_mib).saturating_sub(self.permits.available_permits() as u64);
        self.in_use
            .set(i64::try_from(used * MIB).unwrap_or(i64::MAX));
    }
}

/// MiB of the budget held until dropped.
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

    /// Adds `more` to what this reservation holds.
    pub(super) fn merge(&mut self, more: OwnedSemaphorePermit) {
        match &mut self.permit {
            Some(permit) => permit.merge(more),
            None => self.permit = Some(more),
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
    fn reservations_shrink_grow_and_return() {
        let budget = Budget::new(10 * MIB, Gauge::default());
        let permit = budget
            .semaphore()
            .try_acquire_many_owned(8)
            .expect("8 of 10");
        let mut held = budget.hold(permit);
        assert_eq!(budget.in_use.get(), (8 * MIB) as i64);
        held.shrink_to(3);
        assert_eq!(held.mib(), 3);
        assert_eq!(budget.semaphore().available_permits(), 7);
        let more = budget
            .semaphore()
            .try_acquire_many_owned(5)
            .expect("5 of 7");
        held.merge(more);
        assert_eq!(held.mib(), 8);
        drop(held);
        assert_eq!(budget.semaphore().available_permits(), 10);
        assert_eq!(budget.in_use.get(), 0);
    }

    #[test]
    fn the_machine_has_memory() {
        assert!(machine_memory().is_some_and(|bytes| bytes > 64 * MIB));
    }
}
