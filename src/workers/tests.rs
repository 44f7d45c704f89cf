//! The pool's admission, queue and memory pools, without a server.

use super::*;
use std::time::Duration;

fn bounds(workers: usize, inflight: usize, queue: usize) -> Bounds {
    Bounds {
        workers,
        inflight,
        queue,
        max_wait: Duration::from_secs(30),
        memory: 1 << 30,
        source: 1 << 20,
    }
}

async fn run_on(
    workers: &Workers,
    job: impl FnOnce() -> i32 + Send + 'static,
) -> Result<i32, WorkerError> {
    workers.admit(Requesters::always()).await?.run(job).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_refused_at_once() {
    let workers = Arc::new(Workers::new(bounds(1, 1, 1), Arc::new(Metrics::new())));
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let busy = {
        let w = workers.clone();
        tokio::spawn(async move { run_on(&w, move || i32::from(release_rx.recv().is_ok())).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let queued = {
        let w = workers.clone();
        tokio::spawn(async move { run_on(&w, || 7).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        workers.admit(Requesters::always()).await,
        Err(WorkerError::QueueFull)
    ));
    release_tx.send(()).expect("worker waits");
    assert_eq!(busy.await.expect("join"), Ok(1));
    assert_eq!(queued.await.expect("join"), Ok(7));
    assert_eq!(run_on(&workers, || 1).await, Ok(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admitted_misses_beyond_the_cpus_wait_for_a_cpu() {
    let workers = Arc::new(Workers::new(bounds(1, 3, 0), Arc::new(Metrics::new())));
    // Three admissions fit (inflight = 3) although only one CPU job runs at a time.
    let admissions = [
        workers.admit(Requesters::always()).await.expect("slot 1"),
        workers.admit(Requesters::always()).await.expect("slot 2"),
        workers.admit(Requesters::always()).await.expect("slot 3"),
    ];
    assert!(matches!(
        workers.admit(Requesters::always()).await,
        Err(WorkerError::QueueFull)
    ));
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
    assert!(
        workers.admit(Requesters::always()).await.is_ok(),
        "slots are released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misses_holding_their_sources_never_starve_each_other_of_memory() {
    // Ten misses in flight, each admitted with 4 MiB for its source: with one pool, they would
    // hold the whole 40 MiB and wait for job memory forever. Here they all get through.
    let bounds = Bounds {
        inflight: 10,
        memory: 40 << 20,
        source: 4 << 20,
        max_wait: Duration::from_secs(20),
        ..bounds(2, 10, 0)
    };
    let workers = Arc::new(Workers::new(bounds, Arc::new(Metrics::new())));
    let misses: Vec<_> = (0..10)
        .map(|i| {
            let workers = workers.clone();
            tokio::spawn(async move {
                let mut admission = workers.admit(Requesters::always()).await?;
                admission.fit(1 << 20, 20 << 20).await?;
                admission
                    .run(move || {
                        std::thread::sleep(Duration::from_millis(10));
                        i
                    })
                    .await
            })
        })
        .collect();
    let started = std::time::Instant::now();
    for (i, miss) in misses.into_iter().enumerate() {
        assert_eq!(miss.await.expect("join"), Ok(i));
    }
    assert!(started.elapsed() < Duration::from_secs(10), "no stall");
}
