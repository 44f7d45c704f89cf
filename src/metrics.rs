//! Every metric imgshield exports: names, help texts, labels and buckets, in one place.
//!
//! Labels are bounded by construction: routes, status classes, cache results, engines, formats and
//! error codes are all `&'static str` from closed sets, never request data.

use std::time::Duration;

mod process;
mod tiers;

pub use tiers::{TierKindLabels, TierLabels, TierMetrics, TierResultLabels};

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: &'static str,
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub result: &'static str,
}

/// `imgshield_build_info`'s labels: what is running.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: &'static str,
    /// The libvips engine's version and output-changing settings (as in the cache key).
    pub libvips: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OriginLabels {
    pub origin: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransformLabels {
    pub engine: &'static str,
    pub format: &'static str,
}

/// Request latency spans a cache hit (tens of µs) to a slow miss (seconds): roughly x2.5 steps.
const REQUEST_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Origin fetches: a local file (~ms) to the fetch timeout (10 s by default).
const FETCH_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Transforms: a small thumbnail (~5 ms) to a large AVIF encode (seconds).
/// Queue waits: none (a free slot) to past the default `--max-queue-wait` (5 s).
const QUEUE_WAIT_BUCKETS: [f64; 11] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const TRANSFORM_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    registry: Registry,
    /// The standard, unprefixed `process_*` series.
    process: Registry,
    pub build_info: Family<BuildLabels, Gauge>,
    pub requests: Family<HttpLabels, Counter>,
    pub request_duration: Family<HttpLabels, Histogram>,
    pub cache_lookups: Family<CacheLabels, Counter>,
    pub cache_entries: Gauge,
    pub cache_weighted_bytes: Gauge,
    pub source_cache_lookups: Family<CacheLabels, Counter>,
    pub source_cache_entries: Gauge,
    pub source_cache_weighted_bytes: Gauge,
    pub source_cache_refused: Counter,
    pub derivative_cache_lookups: Family<CacheLabels, Counter>,
    pub derivative_cache_weighted_bytes: Gauge,
    pub origin_fetch_duration: Family<OriginLabels, Histogram>,
    pub origin_errors: Family<KindLabels, Counter>,
    pub origin_circuits_open: Gauge,
    pub origin_circuit_trips: Counter,
    pub transform_duration: Family<TransformLabels, Histogram>,
    pub engine_fallbacks: Counter,
    pub errors: Family<KindLabels, Counter>,
    pub http_connections: Gauge,
    pub http_connections_closed: Family<ReasonLabels, Counter>,
    pub workers_busy: Gauge,
    pub queue_depth: Gauge,
    pub source_bytes: Counter,
    pub response_bytes: Counter,
    pub queue_wait: Histogram,
    pub memory_budget: Gauge,
    pub memory_budget_in_use: Gauge,
    pub admission_refusals: Family<ReasonLabels, Counter>,
    /// The storage tiers behind the memory cache.
    pub tiers: TierMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric, registered in a fixed order (the order `/metrics` lists them in).
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("imgshield"),
            process: process::registry(),
            build_info: Family::default(),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(|| Histogram::new(REQUEST_BUCKETS)),
            cache_lookups: Family::default(),
            cache_entries: Gauge::default(),
            cache_weighted_bytes: Gauge::default(),
            source_cache_lookups: Family::default(),
            source_cache_entries: Gauge::default(),
            source_cache_weighted_bytes: Gauge::default(),
            source_cache_refused: Counter::default(),
            derivative_cache_lookups: Family::default(),
            derivative_cache_weighted_bytes: Gauge::default(),
            origin_fetch_duration: Family::new_with_constructor(|| Histogram::new(FETCH_BUCKETS)),
            origin_errors: Family::default(),
            origin_circuits_open: Gauge::default(),
            origin_circuit_trips: Counter::default(),
            transform_duration: Family::new_with_constructor(|| Histogram::new(TRANSFORM_BUCKETS)),
            engine_fallbacks: Counter::default(),
            errors: Family::default(),
            http_connections: Gauge::default(),
            http_connections_closed: Family::default(),
            workers_busy: Gauge::default(),
            queue_depth: Gauge::default(),
            source_bytes: Counter::default(),
            response_bytes: Counter::default(),
            queue_wait: Histogram::new(QUEUE_WAIT_BUCKETS),
            memory_budget: Gauge::default(),
            memory_budget_in_use: Gauge::default(),
            admission_refusals: Family::default(),
            tiers: TierMetrics::default(),
        };
        metrics.register_http();
        metrics.register_caches();
        metrics.register_origin();
        metrics.register_engine();
        metrics.register_load();
        metrics.register_admission();
        metrics.tiers.register(&mut metrics.registry);
        metrics
    }

    /// Requests by route and status class, and their latency.
    fn register_http(&mut self) {
        self.registry.register(
            "http_requests",
            "HTTP requests answered, by route and status class",
            self.requests.clone(),
        );
        self.registry.register(
            "http_request_duration_seconds",
            "Time from request to response headers, by route and status class",
            self.request_duration.clone(),
        );
    }

    /// The result cache, the source cache and the derivative (decoded JPEG) cache.
    fn register_caches(&mut self) {
        self.registry.register(
            "cache_lookups",
            "Result cache lookups: hit, miss (this request did the work), coalesced (waited for another's), refreshed (a stale entry renewed) or stale (served stale because the refresh failed)",
            self.cache_lookups.clone(),
        );
        self.registry.register(
            "cache_entries",
            "Results held in the memory cache",
            self.cache_entries.clone(),
        );
        self.registry.register(
            "cache_weighted_bytes",
            "Bytes held in the memory cache, as weighed for eviction",
            self.cache_weighted_bytes.clone(),
        );
        self.registry.register(
            "build_info",
            "1, labelled with the version running and its libvips engine",
            self.build_info.clone(),
        );
        self.registry.register(
            "source_cache_lookups",
            "Remote source lookups: hit (fresh copy, origin not asked), coalesced (waited for a fetch in flight), revalidated (origin answered 304), miss (fetched) or uncacheable (fetched, no-store/private)",
            self.source_cache_lookups.clone(),
        );
        self.registry.register(
            "source_cache_entries",
            "Remote sources held in the source cache",
            self.source_cache_entries.clone(),
        );
        self.registry.register(
            "source_cache_weighted_bytes",
            "Bytes held in the source cache, as weighed for eviction",
            self.source_cache_weighted_bytes.clone(),
        );
        self.registry.register(
            "source_cache_refused",
            "Cached remote sources dropped because a render refused their bytes (not an image, corrupt, over a source limit): the next request fetches again",
            self.source_cache_refused.clone(),
        );
        self.registry.register(
            "derivative_cache_lookups",
            "JPEG decodes looked up for a transform: hit (resized from a kept decode), derived (a coarser level box-shrunk from a finer kept one), miss (decoded, then kept), first (a source's first request: nothing kept) or bypass (not a plain sRGB JPEG, or a full-size target: thumbnail as usual)",
            self.derivative_cache_lookups.clone(),
        );
        self.registry.register(
            "derivative_cache_weighted_bytes",
            "Bytes of decoded pixels held in the derivative cache",
            self.derivative_cache_weighted_bytes.clone(),
        );
    }

    /// Source fetches and the per-host circuit breakers.
    fn register_origin(&mut self) {
        self.registry.register(
            "origin_fetch_duration_seconds",
            "Time to fetch a source in full, by origin kind (remote or local)",
            self.origin_fetch_duration.clone(),
        );
        self.registry.register(
            "origin_errors",
            "Failed source fetches, by kind",
            self.origin_errors.clone(),
        );
        self.registry.register(
            "origin_circuits_open",
            "Origin hosts whose circuit breaker is open or half-open now",
            self.origin_circuits_open.clone(),
        );
        self.registry.register(
            "origin_circuit_trips",
            "Times a circuit breaker opened (including failed half-open probes)",
            self.origin_circuit_trips.clone(),
        );
    }

    /// Transform time per engine, and the Rust engine's fallbacks to libvips.
    fn register_engine(&mut self) {
        self.registry.register(
            "transform_duration_seconds",
            "Time to decode, transform and encode one image, by engine and output format",
            self.transform_duration.clone(),
        );
        self.registry.register(
            "engine_fallbacks",
            "Misses sampled for the Rust engine (--rust-percent) that it could not serve, made by libvips instead",
            self.engine_fallbacks.clone(),
        );
    }

    /// Error responses, what is in flight now (connections, workers, queue) and bytes in and out.
    fn register_load(&mut self) {
        self.registry.register(
            "errors",
            "Error responses, by error code",
            self.errors.clone(),
        );
        self.registry.register(
            "http_connections",
            "Client connections open now",
            self.http_connections.clone(),
        );
        self.registry.register(
            "http_connections_closed",
            "Client connections the server closed, by reason: first_byte_timeout (silent), handshake_timeout (part of an HTTP/2 preface), idle_timeout, read_timeout (slow request head or unanswered HTTP/2 ping), evicted_unserved and evicted_idle (closed at the connection cap to make room)",
            self.http_connections_closed.clone(),
        );
        self.registry.register(
            "workers_busy",
            "Workers running a transform now",
            self.workers_busy.clone(),
        );
        self.registry.register(
            "queue_depth",
            "Cache misses waiting for an in-flight slot (they hold no source yet)",
            self.queue_depth.clone(),
        );
        self.registry.register(
            "source_bytes",
            "Bytes of source images fetched from origins",
            self.source_bytes.clone(),
        );
        self.registry.register(
            "response_bytes",
            "Bytes of image bodies sent to clients",
            self.response_bytes.clone(),
        );
    }

    /// Admission of misses: how long they waited, the memory budget, and refusals by reason.
    fn register_admission(&mut self) {
        self.registry.register(
            "queue_wait_seconds",
            "Time a cache miss waited for a slot and for memory (not fetching or working)",
            self.queue_wait.clone(),
        );
        self.registry.register(
            "memory_budget_bytes",
            "Memory the misses' sources and jobs may hold at once (--max-memory less the caches and base)",
            self.memory_budget.clone(),
        );
        self.registry.register(
            "memory_budget_in_use_bytes",
            "Memory of the budget held now by admitted misses (sources and expected job peaks)",
            self.memory_budget_in_use.clone(),
        );
        self.registry.register(
            "admission_refusals",
            "Cache misses refused or dropped before work, by reason (queue_full, queue_wait, over_memory_budget, abandoned)",
            self.admission_refusals.clone(),
        );
    }

    /// Records one transform's time under its engine and output format.
    pub fn observe_transform(&self, engine: &'static str, format: &'static str, time: Duration) {
        self.transform_duration
            .get_or_create(&TransformLabels { engine, format })
            .observe(time.as_secs_f64());
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, &self.process);
        let _ = encode_eof(&mut out);
        out
    }
}

/// `2xx`, `4xx`, ...: the bounded form of a status code for labels.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let metrics = Metrics::new();
        metrics
            .requests
            .get_or_create(&HttpLabels {
                route: "resize",
                status: "2xx",
            })
            .inc();
        metrics.source_bytes.inc_by(10);
        metrics
            .request_duration
            .get_or_create(&HttpLabels {
                route: "resize",
                status: "2xx",
            })
            .observe(0.002);
        let text = metrics.render();
        assert!(
            text.contains("imgshield_http_requests_total{route=\"resize\",status=\"2xx\"} 1"),
            "{text}"
        );
        assert!(text.contains("imgshield_source_bytes_total 10"), "{text}");
        assert!(
            text.contains("# TYPE imgshield_http_request_duration_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains("imgshield_http_request_duration_seconds_bucket{le=\"0.0025\",route=\"resize\",status=\"2xx\"} 1"),
            "{text}"
        );
    }
}
