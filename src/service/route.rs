//! What a request asked for and what it did: the [`Route`] (the `route` label of every metric and
//! log line) and the [`Note`] a request fills in for its one log line.

use std::sync::Arc;
use std::time::Duration;

use http::Method;

use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Route {
    Resize,
    Text,
    Info,
    Healthz,
    Readyz,
    Metrics,
    Stats,
    Dashboard,
    Other,
}

impl Route {
    pub(super) fn of(path: &str) -> Route {
        match path {
            "/resize" => Route::Resize,
            "/text" => Route::Text,
            "/info" => Route::Info,
            "/healthz" => Route::Healthz,
            "/readyz" => Route::Readyz,
            "/metrics" => Route::Metrics,
            "/stats" => Route::Stats,
            "/dashboard" => Route::Dashboard,
            _ => Route::Other,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Route::Resize => "resize",
            Route::Text => "text",
            Route::Info => "info",
            Route::Healthz => "healthz",
            Route::Readyz => "readyz",
            Route::Metrics => "metrics",
            Route::Stats => "stats",
            Route::Dashboard => "dashboard",
            Route::Other => "other",
        }
    }

    /// The routes a page's script may read with CORS: images and `/info`.
    pub(super) fn is_image(self) -> bool {
        matches!(self, Route::Resize | Route::Text | Route::Info)
    }
}

/// What a request did, for its log line.
#[derive(Default)]
pub(super) struct Note {
    pub(super) cache: Option<&'static str>,
    /// The source's host (`local` for the root).
    pub(super) src_host: Option<String>,
    /// The cache key (its start is logged: the canonical parameters, hashed).
    pub(super) key: Option<crate::cache::CacheKey>,
    pub(super) fetch: Option<Duration>,
    pub(super) transform: Option<Duration>,
    pub(super) error: Option<Arc<Error>>,
}

fn millis(d: Option<Duration>) -> Option<f64> {
    d.map(|d| (d.as_secs_f64() * 1e5).round() / 100.0)
}

/// What the access line says of the response, besides the note.
pub(super) struct Outcome {
    pub(super) status: u16,
    pub(super) bytes: u64,
    pub(super) elapsed: Duration,
}

/// The access line: one per request, inside the request's span (so it carries the request id).
pub(super) fn log_request(method: &Method, route: Route, outcome: &Outcome, note: &Note) {
    let Outcome {
        status,
        bytes,
        elapsed,
    } = *outcome;
    let total_ms = (elapsed.as_secs_f64() * 1e5).round() / 100.0;
    let cache = note.cache.unwrap_or("-");
    let src = note.src_host.as_deref().unwrap_or("-");
    let key = KeyPrefix(note.key);
    let (fetch_ms, transform_ms) = (millis(note.fetch), millis(note.transform));
    let route = route.as_str();
    match &note.error {
        Some(error) if status >= 500 => tracing::warn!(
            %method, route, src, %key, status, bytes, cache, total_ms, code = error.code(), error = %error, "request failed"
        ),
        Some(error) => tracing::info!(
            %method, route, src, %key, status, bytes, cache, total_ms, code = error.code(), error = %error, "request refused"
        ),
        None => tracing::info!(
            %method, route, src, %key, status, bytes, cache, fetch_ms, transform_ms, total_ms, "request"
        ),
    }
}

/// A cache key's start for the log, formatted only when a line is written.
struct KeyPrefix(Option<crate::cache::CacheKey>);

impl std::fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(key) => f.write_str(&key.short()),
            None => f.write_str("-"),
        }
    }
}
