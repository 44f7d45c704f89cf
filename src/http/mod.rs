//! The server loop: accept, serve HTTP/1.1 (keep-alive) and HTTP/2 (h2c) connections, and shut down
//! gracefully: stop accepting, let in-flight requests finish within the grace period, then return.
//!
//! No connection costs a place for free: its first bytes must come within `--first-byte-timeout`
//! (`preamble`), it is closed after `--idle-timeout` without a request in flight (`connection`),
//! and at `--max-connections` the oldest unserved or longest idle one gives way (`tracker`).

mod connection;
mod preamble;
mod tracker;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use connection::Shared;
use tracker::Tracker;

use crate::config::Config;
use crate::service::App;

/// A server accepting connections in a background task.
pub struct Running {
    addr: SocketAddr,
    app: Arc<App>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Graceful shutdown: returns when in-flight requests are done or the grace period is over.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Builds the app, binds `config.listen` (port 0 picks a free port) and starts serving.
pub async fn start(config: &Config, root: &Path) -> Result<Running, String> {
    let fallbacks = crate::service::Fallbacks::load(config).await?;
    let app = Arc::new(App::new(config, root)?.with_fallbacks(fallbacks));
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = oneshot::channel::<()>();
    let limits = Limits::from(config);
    let task = tokio::spawn(serve(listener, app.clone(), limits, async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        app,
        stop,
        task,
    })
}

/// What one client may cost the server, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub first_byte_timeout: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub http2_ping_interval: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    pub shutdown_grace: Duration,
}

impl From<&Config> for Limits {
    fn from(config: &Config) -> Limits {
        Limits {
            first_byte_timeout: config.first_byte_timeout,
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            http2_ping_interval: config.http2_ping_interval,
            max_connections: fd_cap(config.max_connections.max(1)),
            // hyper refuses buffers under 8 KiB.
            max_header_bytes: usize::try_from(config.max_header_bytes)
                .unwrap_or(usize::MAX)
                .max(8192),
            shutdown_grace: config.shutdown_grace,
        }
    }
}

/// File descriptors kept for everything but client connections (origins, files, the runtime).
const FD_RESERVE: u64 = 256;

/// `wanted`, or less when the process may not open that many files: the cap must bind before
/// `accept` fails with EMFILE, or eviction never starts and new clients wait in the backlog.
fn fd_cap(wanted: usize) -> usize {
    let Some(soft) = open_files_limit() else {
        return wanted;
    };
    let room = usize::try_from(soft.saturating_sub(FD_RESERVE).max(16)).unwrap_or(usize::MAX);
    if room < wanted {
        tracing::warn!(
            max_connections = wanted,
            open_files_limit = soft,
            using = room,
            "--max-connections is above what the open-files limit allows (ulimit -n); using less"
        );
        return room;
    }
    wanted
}

/// The soft RLIMIT_NOFILE, from /proc (Linux); `None` where unknown or unlimited.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Also closes keep-alive connections that stay idle this long.
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    let ping = Some(limits.http2_ping_interval).filter(|d| !d.is_zero());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(ping)
        .keep_alive_timeout(ping.unwrap_or(Duration::from_secs(20)));
    builder
}

/// A place for a connection just accepted. At the cap, an unserved or idle connection gives way;
/// when every one has a request in flight, this client waits (and the next ones in the kernel's
/// backlog) until one ends or goes idle.
async fn admit(tracker: &Arc<Tracker>) -> Arc<tracker::Conn> {
    loop {
        let changed = tracker.changed.notified();
        if let Some(conn) = tracker.admit() {
            return conn;
        }
        tokio::select! {
            () = changed => {}
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// Accepts connections until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let tracker = Tracker::new(limits.max_connections, app.metrics());
    let shared = Arc::new(Shared {
        app: app.clone(),
        builder: builder(&limits),
        limits,
    });
    let (stopping, stop_seen) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Usually EMFILE: free a place if one can give way, and back off briefly.
                tracing::warn!(error = %e, "accept failed");
                tracker.evict_one();
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let conn = tokio::select! {
            conn = admit(&tracker) => conn,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection::drive(
            stream,
            conn,
            shared.clone(),
            stop_seen.clone(),
        ));
    }

    app.set_draining();
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stopping.send(true);
    drop(stop_seen);
    let grace = limits.shutdown_grace;
    tokio::select! {
        () = stopping.closed() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace) => tracing::warn!(?grace, "grace period over; closing remaining connections"),
    }
}
