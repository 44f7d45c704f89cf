//! The bounded CPU pool: at most `workers` transforms run at once, at most `queue` wait, and anything
//! beyond that is refused at once (503 + `Retry-After`) instead of piling up latency and memory.
//!
//! Work runs on tokio's blocking threads, never on the async runtime; the closure owns everything it
//! touches, so no libvips object can cross an `.await`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::metrics::Metrics;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error("all workers are busy and the queue is full")]
    QueueFull,
    #[error("a worker failed: {0}")]
    Crashed(String),
}

pub struct Workers {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    metrics: Arc<Metrics>,
}

impl Workers {
    pub fn new(workers: usize, queue: usize, metrics: Arc<Metrics>) -> Workers {
        Workers {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            metrics,
        }
    }

    /// Runs `job` on a blocking thread once a worker is free, or refuses if the queue is full.
    pub async fn run<T, F>(&self, job: F) -> Result<T, WorkerError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
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
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| WorkerError::Crashed(e.to_string()))?
            }
        };
        let busy = self.metrics.workers_busy.clone();
        busy.inc();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await;
        busy.dec();
        result.map_err(|e| WorkerError::Crashed(e.to_string()))
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_is_refused_at_once() {
        let workers = Arc::new(Workers::new(1, 1, Arc::new(Metrics::new())));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let busy = {
            let w = workers.clone();
            tokio::spawn(async move { w.run(move || release_rx.recv().is_ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = {
            let w = workers.clone();
            tokio::spawn(async move { w.run(|| 7).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(workers.run(|| 0).await, Err(WorkerError::QueueFull));
        release_tx.send(()).expect("worker waits");
        assert_eq!(busy.await.expect("join"), Ok(true));
        assert_eq!(queued.await.expect("join"), Ok(7));
        assert_eq!(workers.run(|| 1).await, Ok(1));
    }
}
