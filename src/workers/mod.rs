//! Bounded work: at most `inflight` cache misses hold a source in memory at once (fetching or
//! transforming), at most `workers` of them use a CPU, at most `queue` wait for a slot, and anything
//! beyond that is refused at once (503 + `Retry-After`) instead of piling up latency and memory.
//!
//! Admission happens *before* the source is fetched, so a burst of misses waits holding nothing: peak
//! source memory is `inflight × --max-src-bytes`, not `(inflight + queue) ×` (imgproxy limits whole
//! requests the same way). The CPU part runs on tokio's blocking threads, never on the async runtime;
//! the closure owns everything it touches, so no libvips object can cross an `.await`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::metrics::Metrics;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error("all workers are busy and the queue is full")]
    QueueFull,
    #[error("a worker failed: {0}")]
    Crashed(String),
}

pub struct Workers {
    slots: Arc<Semaphore>,
    cpus: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    metrics: Arc<Metrics>,
}

/// A miss's right to hold a source in memory; spend it on one CPU job with [`Admission::run`].
pub struct Admission {
    _slot: OwnedSemaphorePermit,
    cpus: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl Workers {
    /// `workers` CPU jobs at once; `inflight` (at least `workers`) misses admitted at once.
    pub fn new(workers: usize, inflight: usize, queue: usize, metrics: Arc<Metrics>) -> Workers {
        let workers = workers.max(1);
        Workers {
            slots: Arc::new(Semaphore::new(inflight.max(workers))),
            cpus: Arc::new(Semaphore::new(workers)),
            waiting: AtomicUsize::new(0),
            queue,
            metrics,
        }
    }

    /// Waits for a slot, or refuses at once if `queue` others are already waiting.
    pub async fn admit(&self) -> Result<Admission, WorkerError> {
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                let reserved =
                    self.waiting
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                            (n < self.queue).then_some(n + 1)
                        });
                if reserved.is_err() {
                    return Err(WorkerError::QueueFull);
                }
                self.metrics.queue_depth.inc();
                let _waiting = Waiting(self);
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| WorkerError::Crashed(e.to_string()))?
            }
        };
        Ok(Admission {
            _slot: slot,
            cpus: self.cpus.clone(),
            metrics: self.metrics.clone(),
        })
    }
}

impl Admission {
    /// Runs `job` on a blocking thread once a CPU is free; the slot is released afterwards.
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
        // The gauge follows the blocking job itself, which runs to its end even if this future is
        // dropped (spawn_blocking cannot be cancelled).
        let busy = Busy::start(self.metrics.workers_busy.clone());
        let span = tracing::debug_span!("transform");
        let result = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let _cpu = cpu;
            let _busy = busy;
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
mod tests {
    use super::*;
    use std::time::Duration;

    async fn run_on(
        workers: &Workers,
        job: impl FnOnce() -> i32 + Send + 'static,
    ) -> Result<i32, WorkerError> {
        workers.admit().await?.run(job).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_is_refused_at_once() {
        let workers = Arc::new(Workers::new(1, 1, 1, Arc::new(Metrics::new())));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let busy = {
            let w = workers.clone();
            tokio::spawn(
                async move { run_on(&w, move || i32::from(release_rx.recv().is_ok())).await },
            )
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = {
            let w = workers.clone();
            tokio::spawn(async move { run_on(&w, || 7).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(workers.admit().await, Err(WorkerError::QueueFull)));
        release_tx.send(()).expect("worker waits");
        assert_eq!(busy.await.expect("join"), Ok(1));
        assert_eq!(queued.await.expect("join"), Ok(7));
        assert_eq!(run_on(&workers, || 1).await, Ok(1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn admitted_misses_beyond_the_cpus_wait_for_a_cpu() {
        let workers = Arc::new(Workers::new(1, 3, 0, Arc::new(Metrics::new())));
        // Three admissions fit (inflight = 3) although only one CPU job runs at a time.
        let admissions = [
            workers.admit().await.expect("slot 1"),
            workers.admit().await.expect("slot 2"),
            workers.admit().await.expect("slot 3"),
        ];
        assert!(matches!(workers.admit().await, Err(WorkerError::QueueFull)));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs = admissions.map(|admission| {
            let (running, peak) = (running.clone(), peak.clone());
            tokio::spawn(admission.run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(30));
                running.fetch_sub(1, Ordering::SeqCst);
            }))
        });
        for job in jobs {
            job.await.expect("join").expect("ran");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 1);
        assert!(workers.admit().await.is_ok(), "slots are released");
    }
}
