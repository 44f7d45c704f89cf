//! The open connections, what each is doing, and who goes first when the cap is reached.
//!
//! Policy at the cap (`--max-connections`): a new connection is always accepted while some open
//! connection can give way; the one closed is the oldest that has not sent a complete request yet
//! (silent sockets, half prefaces, slow heads), else the one idle (keep-alive, no request in
//! flight) the longest. Only when every connection has a request in flight does the accept loop
//! wait, holding the client it accepted (the next ones queue in the kernel's backlog); those
//! requests end by themselves (each has its deadlines).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Notify;

use crate::metrics::{Metrics, ReasonLabels};

/// Why the server closed a client connection (the `reason` label of
/// `imgshield_http_connections_closed_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Not one byte within `--first-byte-timeout`.
    FirstByte,
    /// Part of an HTTP/2 preface or SETTINGS frame, not all of it, within `--first-byte-timeout`.
    Handshake,
    /// No request in flight for `--idle-timeout`.
    Idle,
    /// A request head slower than `--header-read-timeout`, or an unanswered HTTP/2 ping.
    ReadTimeout,
    /// At the cap: it had not sent a complete request, and a new connection needed its place.
    EvictedUnserved,
    /// At the cap: it was the longest idle, and a new connection needed its place.
    EvictedIdle,
}

impl Reason {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Reason::FirstByte => "first_byte_timeout",
            Reason::Handshake => "handshake_timeout",
            Reason::Idle => "idle_timeout",
            Reason::ReadTimeout => "read_timeout",
            Reason::EvictedUnserved => "evicted_unserved",
            Reason::EvictedIdle => "evicted_idle",
        }
    }
}

/// One open connection, shared by its task, its requests and the tracker.
pub(crate) struct Conn {
    id: u64,
    tracker: Arc<Tracker>,
    in_flight: AtomicUsize,
    served: AtomicBool,
    /// Milliseconds since the tracker started at which the last request ended (or it was accepted).
    idle_since: AtomicU64,
    evicted: Notify,
}

impl Conn {
    /// Resolves when the tracker has closed this connection to make room.
    pub(crate) async fn evicted(&self) {
        self.evicted.notified().await;
    }

    /// A request started; it counts as in flight until the guard (held by its body) drops.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.served.store(true, Ordering::Release);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// When the connection has been idle since, or `None` while a request is in flight.
    pub(crate) fn idle_since(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let ms = self.idle_since.load(Ordering::Acquire);
        Some(self.tracker.started + Duration::from_millis(ms))
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Counts this connection as closed by the server for `reason`.
    pub(crate) fn count(&self, reason: Reason) {
        self.tracker.count(reason);
    }
}

/// A request in flight on a connection.
pub(crate) struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let conn = &self.0;
        conn.idle_since
            .store(conn.tracker.now_ms(), Ordering::Release);
        if conn.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            // An idle connection can give way now: a waiting accept loop may retry.
            conn.tracker.changed.notify_waiters();
        }
    }
}

/// A response body that keeps its request counted as in flight until it is sent or dropped.
pub(crate) struct Tracked<B> {
    pub(crate) body: B,
    pub(crate) _in_flight: InFlight,
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Every open connection, in the order they were accepted.
pub(crate) struct Tracker {
    open: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    cap: usize,
    started: Instant,
    /// Notified when a connection closes or goes idle.
    pub(crate) changed: Notify,
    gauge: Gauge,
    closed: Family<ReasonLabels, Counter>,
    last_warning_ms: AtomicU64,
}

/// At most one warning about the cap per this many milliseconds.
const WARN_EVERY_MS: u64 = 10_000;

impl Tracker {
    pub(crate) fn new(cap: usize, metrics: &Metrics) -> Arc<Tracker> {
        Arc::new(Tracker {
            open: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(0),
            cap: cap.max(1),
            started: Instant::now(),
            changed: Notify::new(),
            gauge: metrics.http_connections.clone(),
            closed: metrics.http_connections_closed.clone(),
            last_warning_ms: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        // A panic while holding the lock leaves the map consistent (every change is one call).
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a connection the server closed.
    pub(crate) fn count(&self, reason: Reason) {
        self.closed
            .get_or_create(&ReasonLabels {
                reason: reason.label(),
            })
            .inc();
    }

    /// Registers a new connection, closing another first if the cap is reached; `None` when
    /// every open connection has a request in flight.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Arc<Conn>> {
        let mut open = self.lock();
        if open.len() >= self.cap && !self.evict_locked(&mut open) {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            tracker: self.clone(),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(self.now_ms()),
            evicted: Notify::new(),
        });
        open.insert(id, conn.clone());
        self.gauge.inc();
        Some(conn)
    }

    /// Closes one connection that can give way (none when every one is busy); true if one was.
    pub(crate) fn evict_one(&self) -> bool {
        let mut open = self.lock();
        self.evict_locked(&mut open)
    }

    fn evict_locked(&self, open: &mut BTreeMap<u64, Arc<Conn>>) -> bool {
        let Some((id, reason)) = victim(open) else {
            return false;
        };
        if let Some(conn) = open.remove(&id) {
            self.gauge.dec();
            self.count(reason);
            // A permit is stored if the task is not waiting yet.
            conn.evicted.notify_one();
            self.warn_at_cap(open.len());
        }
        true
    }

    /// Forgets a connection whose task ended (no-op if it was evicted).
    pub(crate) fn leave(&self, id: u64) {
        if self.lock().remove(&id).is_some() {
            self.gauge.dec();
        }
        self.changed.notify_waiters();
    }

    fn warn_at_cap(&self, open: usize) {
        let now = self.now_ms();
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= WARN_EVERY_MS)
            && self
                .last_warning_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                open,
                cap = self.cap,
                "connection cap reached: closing unserved and idle connections to make room \
                 (imgshield_http_connections_closed_total counts them; next warning in 10 s at the earliest)"
            );
        }
    }
}

/// The connection to close at the cap: the oldest one without a complete request yet, else the
/// one idle the longest; never one with a request in flight.
fn victim(open: &BTreeMap<u64, Arc<Conn>>) -> Option<(u64, Reason)> {
    let mut idlest: Option<(u64, u64)> = None;
    for (id, conn) in open {
        if conn.in_flight.load(Ordering::Acquire) > 0 {
            continue;
        }
        if !conn.served.load(Ordering::Acquire) {
            return Some((*id, Reason::EvictedUnserved));
        }
        let since = conn.idle_since.load(Ordering::Acquire);
        if idlest.is_none_or(|(_, best)| since < best) {
            idlest = Some((*id, since));
        }
    }
    idlest.map(|(id, _)| (id, Reason::EvictedIdle))
}

/// Forgets the connection when its task ends, however it ends.
pub(crate) struct Leave(pub(crate) Arc<Conn>);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.tracker.leave(self.0.id);
    }
}
