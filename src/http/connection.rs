//! One client connection from accept to close: the preamble under `--first-byte-timeout`, then
//! hyper, with the idle timeout, eviction at the cap and graceful shutdown around it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::preamble::{self, Prefixed};
use super::tracker::{Conn, Leave, Reason, Tracked};
use super::Limits;
use crate::service::App;

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) app: Arc<App>,
    pub(crate) builder: auto::Builder<TokioExecutor>,
    pub(crate) limits: Limits,
}

/// How long an idle connection told to close gets to say goodbye (HTTP/2 GOAWAY).
const GOODBYE: Duration = Duration::from_secs(1);

/// Serves one connection until it ends, is evicted, idles out or the server shuts down.
pub(crate) async fn drive(
    mut stream: TcpStream,
    conn: Arc<Conn>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _leave = Leave(conn.clone());
    let mut seen = Vec::new();
    let limit = shared.limits.first_byte_timeout;
    let read = tokio::select! {
        read = tokio::time::timeout(limit, preamble::read(&mut stream, &mut seen)) => read,
        () = conn.evicted() => return,
        _ = shutdown.changed() => return,
    };
    match read {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => return, // the client hung up first
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "connection failed before its first request");
            return;
        }
        Err(_elapsed) => {
            let reason = if seen.is_empty() {
                Reason::FirstByte
            } else {
                Reason::Handshake
            };
            tracing::debug!(
                conn = conn.id(),
                reason = reason.label(),
                bytes = seen.len(),
                "closing a connection"
            );
            conn.count(reason);
            return;
        }
    }
    serve(Prefixed::new(seen, stream), &conn, &shared, &mut shutdown).await;
}

/// hyper on the stream, until the connection ends or the server closes it.
async fn serve(
    io: Prefixed,
    conn: &Arc<Conn>,
    shared: &Shared,
    shutdown: &mut watch::Receiver<bool>,
) {
    let app = shared.app.clone();
    let requests = conn.clone();
    let service = service_fn(move |request| {
        let app = app.clone();
        let in_flight = requests.begin();
        async move {
            let response = app.handle(request).await;
            Ok::<_, Infallible>(response.map(|body| Tracked {
                body,
                _in_flight: in_flight,
            }))
        }
    });
    let connection = shared.builder.serve_connection(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    let idle = shared.limits.idle_timeout;
    let closing = tokio::select! {
        ended = connection.as_mut() => {
            if let Err(e) = ended {
                ended_with(conn, e.as_ref());
            }
            return;
        }
        () = conn.evicted() => return,
        () = idled(conn, idle) => Some(Reason::Idle),
        _ = shutdown.changed() => None,
    };
    if let Some(reason) = closing {
        tracing::debug!(
            conn = conn.id(),
            reason = reason.label(),
            "closing a connection"
        );
        conn.count(reason);
    }
    connection.as_mut().graceful_shutdown();
    if closing.is_some() {
        // An idle connection has nothing to finish: a moment for HTTP/2's GOAWAY, no more.
        let _ = tokio::time::timeout(GOODBYE, connection).await;
    } else {
        // On shutdown, in-flight requests finish within the server's grace period, which bounds
        // this wait from outside.
        let _ = connection.await;
    }
}

/// Logs (and counts, when it is one of our timeouts) a connection that hyper ended with an error.
fn ended_with(conn: &Conn, error: &(dyn std::error::Error + Send + Sync + 'static)) {
    let timed_out = error
        .downcast_ref::<hyper::Error>()
        .is_some_and(hyper::Error::is_timeout);
    if timed_out {
        conn.count(Reason::ReadTimeout);
    }
    tracing::debug!(conn = conn.id(), error = %error, "connection ended with an error");
}

/// Resolves once the connection has had no request in flight for `limit`.
async fn idled(conn: &Conn, limit: Duration) {
    loop {
        let now = Instant::now();
        let wake = match conn.idle_since() {
            Some(since) => {
                let due = Instant::from_std(since) + limit;
                if due <= now {
                    return;
                }
                due
            }
            None => now + limit,
        };
        tokio::time::sleep_until(wake).await;
    }
}
