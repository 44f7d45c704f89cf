//! Who still waits for a miss. The service counts the requests attached to each miss in progress
//! (the one that started it and every one coalesced onto it); when the count falls to zero before
//! the work has taken a worker, the work is dropped: nobody would read its result.

use tokio::sync::watch;

/// The receiving end of a miss's requester count.
#[derive(Clone, Debug)]
pub struct Requesters(Option<watch::Receiver<usize>>);

impl Requesters {
    /// Follows `count`, which the service keeps up to date.
    pub fn follow(count: watch::Receiver<usize>) -> Requesters {
        Requesters(Some(count))
    }

    /// Work nobody can abandon (tests, tools).
    pub fn always() -> Requesters {
        Requesters(None)
    }

    /// Resolves when no request waits any more; never, if the count's owner is gone.
    pub(super) async fn gone(&mut self) {
        if let Some(count) = &mut self.0 {
            if count.wait_for(|n| *n == 0).await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await;
    }
}
