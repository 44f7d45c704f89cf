//! Bounded work: at most `inflight` cache misses hold a source in memory at once (fetching or
//! transforming), at most `workers` of them use a CPU, at most `queue` wait for a slot, and anything
//! beyond that is refused at once (503 + `Retry-After`) instead of piling up latency and memory.
//!
//! Admission happens *before* the source is fetched, so a burst of misses waits holding nothing: peak
//! source memory is `inflight × --max-src-bytes`, not `(inflight + queue) ×` (imgproxy limits whole
//! requests the same way). The CPU part runs on tokio's blocking threads, never on the async runtime;
//! the closure owns everything it touches, so no libvips object can cross an `.await`.
//!
//! Three more bounds (issue #14): a miss waits at most `--max-queue-wait` in all (for its slot and
//! for memory) before it gets 503 + `Retry-After`; every admitted miss draws on the memory budget
//! (`budget`: a pool for sources, one for jobs), first for its source while it is fetched, then for
//! its job's expected peak; and a
//! miss whose requesters have all gone (`requesters`) is dropped while it waits for its admission,
//! before its fetch starts. Once its fetch has started it goes on to the end and fills the cache:
//! the fetch is paid for, and at most `inflight` misses are past that point, so work nobody waits
//! for delays a later miss by at most `inflight / workers` jobs.

mod budget;
mod requesters;

pub use budget::machine_memory;
pub use requesters::Requesters;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::metrics::{Metrics, ReasonLabels};
use budget::{mib, Budget, Reservation};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error("all workers are busy and the queue is full")]
    QueueFull,
    #[error("waited {0:?} for a worker or for memory without getting one")]
    QueueTimeout(Duration),
    #[error("this image needs about {needed_mib} MiB to process, more than the server's memory budget ({budget_mib} MiB)")]
    OverMemoryBudget { needed_mib: u32, budget_mib: u32 },
    #[error("every request for this result went away before it was made")]
    Abandoned,
    #[error("a worker failed: {0}")]
    Crashed(String),
}

impl WorkerError {
    /// The `reason` label of `imgshield_admission_refusals_total`.
    fn reason(&self) -> &'static str {
        match self {
            WorkerError::QueueFull => "queue_full",
            WorkerError::QueueTimeout(_) => "queue_wait",
            WorkerError::OverMemoryBudget { .. } => "over_memory_budget",
            WorkerError::Abandoned => "abandoned",
            WorkerError::Crashed(_) => "crashed",
        }
    }
}

/// The pool's bounds (from the configuration).
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// CPU jobs at once.
    pub workers: usize,
    /// Misses admitted (fetching or transforming) at once; at least `workers`.
    pub inflight: usize,
    /// Misses waiting for a slot; beyond, 503 at once.
    pub queue: usize,
    /// Longest a miss waits, for a slot and for memory together.
    pub max_wait: Duration,
    /// Memory the jobs and their sources may hold at once, in bytes.
    pub memory: u64,
    /// What a source may take while it is fetched (`--max-src-bytes`).
    pub source: u64,
}

pub struct Workers {
    slots: Arc<Semaphore>,
    cpus: Arc<Semaphore>,
    budget: Budget,
    waiting: AtomicUsize,
    bounds: Bounds,
    metrics: Arc<Metrics>,
}

/// A miss's right to hold a source in memory; spend it on one CPU job with [`Admission::run`],
/// after [`Admission::fit`] has sized its memory.
pub struct Admission {
    _slot: OwnedSemaphorePermit,
    /// Of the sources' pool: `--max-src-bytes` until fetched, then the source's own size.
    source: Reservation,
    /// Of the jobs' pool, once sized by [`Admission::fit`].
    job: Option<Reservation>,
    /// Time still allowed for waiting (the queue-wait bound less what was waited so far).
    wait_left: Duration,
    max_wait: Duration,
    cpus: Arc<Semaphore>,
    budget: Budget,
    metrics: Arc<Metrics>,
}

impl Workers {
    pub fn new(bounds: Bounds, metrics: Arc<Metrics>) -> Workers {
        let workers = bounds.workers.max(1);
        let sources = (bounds.inflight.max(workers) as u64).saturating_mul(bounds.source);
        let budget = Budget::new(bounds.memory, sources, metrics.memory_budget_in_use.clone());
        metrics
            .memory_budget
            .set(i64::try_from(u64::from(budget.total_mib()) << 20).unwrap_or(i64::MAX));
        Workers {
            slots: Arc::new(Semaphore::new(bounds.inflight.max(workers))),
            cpus: Arc::new(Semaphore::new(workers)),
            budget,
            waiting: AtomicUsize::new(0),
            bounds: Bounds { workers, ..bounds },
            metrics,
        }
    }

    /// Waits for a slot and for the budget of a source being fetched, or refuses: at once if
    /// `queue` others are already waiting, after `--max-queue-wait`, or when `requesters` go away.
    pub async fn admit(&self, mut requesters: Requesters) -> Result<Admission, WorkerError> {
        let started = Instant::now();
        let admitted = async {
            let slot = self.slot(&mut requesters).await?;
            let sources = &self.budget.sources;
            let source = mib(self.bounds.source).min(sources.total_mib());
            let wait_left = self.bounds.max_wait.saturating_sub(started.elapsed());
            let memory = sources.semaphore().acquire_many_owned(source);
            let memory = wait(memory, wait_left, self.bounds.max_wait, &mut requesters).await?;
            Ok((slot, memory))
        }
        .instrument(tracing::debug_span!("queue_wait"))
        .await;
        let waited = started.elapsed();
        self.metrics.queue_wait.observe(waited.as_secs_f64());
        match admitted {
            Ok((slot, memory)) => Ok(Admission {
                _slot: slot,
                source: self.budget.hold(memory),
                job: None,
                wait_left: self.bounds.max_wait.saturating_sub(waited),
                max_wait: self.bounds.max_wait,
                cpus: self.cpus.clone(),
                budget: self.budget.clone(),
                metrics: self.metrics.clone(),
            }),
            Err(error) => Err(refused(&self.metrics, error)),
        }
    }

    /// A slot at once, or a place in the queue (if there is room) until one is free.
    async fn slot(&self, requesters: &mut Requesters) -> Result<OwnedSemaphorePermit, WorkerError> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        let reserved = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.bounds.queue).then_some(n + 1)
            });
        if reserved.is_err() {
            return Err(WorkerError::QueueFull);
        }
        self.metrics.queue_depth.inc();
        let _waiting = Waiting(self);
        let slot = self.slots.clone().acquire_owned();
        let max_wait = self.bounds.max_wait;
        wait(slot, max_wait, max_wait, requesters).await
    }
}

/// Counts and logs a refusal; returns it.
fn refused(metrics: &Metrics, error: WorkerError) -> WorkerError {
    metrics
        .admission_refusals
        .get_or_create(&ReasonLabels {
            reason: error.reason(),
        })
        .inc();
    tracing::warn!(reason = error.reason(), error = %error, "miss refused");
    error
}

/// `permit`, unless `limit` passes first (503 after `bound` in all) or every requester goes.
async fn wait<F>(
    permit: F,
    limit: Duration,
    bound: Duration,
    requesters: &mut Requesters,
) -> Result<OwnedSemaphorePermit, WorkerError>
where
    F: Future<Output = Result<OwnedSemaphorePermit, AcquireError>>,
{
    tokio::select! {
        biased;
        () = requesters.gone() => Err(WorkerError::Abandoned),
        got = tokio::time::timeout(limit, permit) => match got {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(e)) => Err(WorkerError::Crashed(e.to_string())),
            Err(_) => Err(WorkerError::QueueTimeout(bound)),
        },
    }
}

impl Admission {
    /// Sizes this miss's share of the memory budget: `source` bytes (what it fetched) of the
    /// sources' pool, and `peak` (its job's expected peak, the source included) less the source of
    /// the jobs' pool, waiting for others to give memory back within what is left of the
    /// queue-wait bound. A job larger than the whole jobs' pool is refused at once.
    pub async fn fit(&mut self, source: u64, peak: u64) -> Result<(), WorkerError> {
        self.source.shrink_to(mib(source).min(self.source.mib()));
        let needed = mib(peak.saturating_sub(source));
        let jobs = self.budget.jobs.clone();
        if needed > jobs.total_mib() {
            let error = WorkerError::OverMemoryBudget {
                needed_mib: mib(peak),
                budget_mib: self.budget.total_mib(),
            };
            return Err(refused(&self.metrics, error));
        }
        let started = Instant::now();
        let permit = jobs.semaphore().acquire_many_owned(needed);
        // Past its fetch, a miss goes on even if nobody waits any more (see the module's doc).
        let got = wait(
            permit,
            self.wait_left,
            self.max_wait,
            &mut Requesters::always(),
        )
        .instrument(tracing::debug_span!("memory_wait"))
        .await;
        let waited = started.elapsed();
        self.metrics.queue_wait.observe(waited.as_secs_f64());
        self.wait_left = self.wait_left.saturating_sub(waited);
        match got {
            Ok(permit) => {
                self.job = Some(self.budget.hold(permit));
                Ok(())
            }
            Err(error) => Err(refused(&self.metrics, error)),
        }
    }

    /// Runs `job` on a blocking thread once a CPU is free; the slot and the memory are released
    /// when it ends.
    pub async fn run<T, F>(self, job: F) -> Result<T, WorkerError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let cpu = self
            .cpus
            .clone()
            .acquire_owned()
            .instrument(tracing::debug_span!("cpu_wait"))
            .await
            .map_err(|e| WorkerError::Crashed(e.to_string()))?;
        // The gauge and the memory follow the blocking job itself, which runs to its end even if
        // this future is dropped (spawn_blocking cannot be cancelled).
        let busy = Busy::start(self.metrics.workers_busy.clone());
        let span = tracing::debug_span!("transform");
        let memory = (self._slot, self.source, self.job);
        let result = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let _held = (cpu, memory, busy);
            job()
        })
        .await;
        result.map_err(|e| WorkerError::Crashed(e.to_string()))
    }
}

/// Counts a running job in the `workers_busy` gauge until dropped (also by a panic).
struct Busy(prometheus_client::metrics::gauge::Gauge);

impl Busy {
    fn start(gauge: prometheus_client::metrics::gauge::Gauge) -> Busy {
        gauge.inc();
        Busy(gauge)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Leaves the queue when dropped, also if the waiting future is cancelled.
struct Waiting<'a>(&'a Workers);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
        self.0.metrics.queue_depth.dec();
    }
}

#[cfg(test)]
mod tests;
