//! The server loop: accept, serve HTTP/1.1 (keep-alive) and HTTP/2 (h2c) connections, and shut down
//! gracefully: stop accepting, let in-flight requests finish within the grace period, then return.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

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
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    pub shutdown_grace: Duration,
}

impl From<&Config> for Limits {
    fn from(config: &Config) -> Limits {
        Limits {
            header_read_timeout: config.header_read_timeout,
            max_connections: config.max_connections.max(1),
            // hyper refuses buffers under 8 KiB.
            max_header_bytes: usize::try_from(config.max_header_bytes)
                .unwrap_or(usize::MAX)
                .max(8192),
            shutdown_grace: config.shutdown_grace,
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
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Also closes keep-alive connections that stay idle this long.
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let open = app.metrics().http_connections.clone();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        // A connection slot first, then accept: at the cap, clients wait in the accept queue.
        let slot = tokio::select! {
            slot = connections.clone().acquire_owned() => slot,
            _ = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let (stream, _) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                // Usually EMFILE: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |request| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.handle(request).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        let open = open.clone();
        open.inc();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            open.dec();
            drop(slot);
        });
    }

    app.set_draining();
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    let grace = limits.shutdown_grace;
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(grace) => tracing::warn!(?grace, "grace period over; closing remaining connections"),
    }
}
