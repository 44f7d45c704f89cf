//! Every metric imgshield exports: names, help texts, labels and buckets, in one place.
//!
//! Labels are bounded by construction: routes, status classes, cache results, engines, formats and
//! error codes are all `&'static str` from closed sets, never request data.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OriginLabels {
    pub origin: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
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
const TRANSFORM_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    registry: Registry,
    pub requests: Family<HttpLabels, Counter>,
    pub request_duration: Family<HttpLabels, Histogram>,
    pub cache_lookups: Family<CacheLabels, Counter>,
    pub cache_entries: Gauge,
    pub cache_weighted_bytes: Gauge,
    pub source_cache_lookups: Family<CacheLabels, Counter>,
    pub source_cache_entries: Gauge,
    pub source_cache_weighted_bytes: Gauge,
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
    pub workers_busy: Gauge,
    pub queue_depth: Gauge,
    pub source_bytes: Counter,
    pub response_bytes: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("imgshield");
        let requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status class",
            requests.clone(),
        );
        let request_duration = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(REQUEST_BUCKETS)
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response headers, by route and status class",
            request_duration.clone(),
        );
        let cache_lookups = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_lookups",
            "Result cache lookups: hit, miss (this request did the work), coalesced (waited for another's), refreshed (a stale entry renewed) or stale (served stale because the refresh failed)",
            cache_lookups.clone(),
        );
        let cache_entries = Gauge::default();
        registry.register(
            "cache_entries",
            "Results held in the memory cache",
            cache_entries.clone(),
        );
        let cache_weighted_bytes = Gauge::default();
        registry.register(
            "cache_weighted_bytes",
            "Bytes held in the memory cache, as weighed for eviction",
            cache_weighted_bytes.clone(),
        );
        let source_cache_lookups = Family::<CacheLabels, Counter>::default();
        registry.register(
            "source_cache_lookups",
            "Remote source lookups: hit (fresh copy, origin not asked), coalesced (waited for a fetch in flight), revalidated (origin answered 304), miss (fetched) or uncacheable (fetched, no-store/private)",
            source_cache_lookups.clone(),
        );
        let source_cache_entries = Gauge::default();
        registry.register(
            "source_cache_entries",
            "Remote sources held in the source cache",
            source_cache_entries.clone(),
        );
        let source_cache_weighted_bytes = Gauge::default();
        registry.register(
            "source_cache_weighted_bytes",
            "Bytes held in the source cache, as weighed for eviction",
            source_cache_weighted_bytes.clone(),
        );
        let derivative_cache_lookups = Family::<CacheLabels, Counter>::default();
        registry.register(
            "derivative_cache_lookups",
            "JPEG decodes looked up for a transform: hit (resized from a kept decode), derived (a coarser level box-shrunk from a finer kept one), miss (decoded, then kept), first (a source's first request: nothing kept) or bypass (not a plain sRGB JPEG, or a full-size target: thumbnail as usual)",
            derivative_cache_lookups.clone(),
        );
        let derivative_cache_weighted_bytes = Gauge::default();
        registry.register(
            "derivative_cache_weighted_bytes",
            "Bytes of decoded pixels held in the derivative cache",
            derivative_cache_weighted_bytes.clone(),
        );
        let origin_fetch_duration = Family::<OriginLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(FETCH_BUCKETS)
        });
        registry.register(
            "origin_fetch_duration_seconds",
            "Time to fetch a source in full, by origin kind (remote or local)",
            origin_fetch_duration.clone(),
        );
        let origin_errors = Family::<KindLabels, Counter>::default();
        registry.register(
            "origin_errors",
            "Failed source fetches, by kind",
            origin_errors.clone(),
        );
        let origin_circuits_open = Gauge::default();
        registry.register(
            "origin_circuits_open",
            "Origin hosts whose circuit breaker is open or half-open now",
            origin_circuits_open.clone(),
        );
        let origin_circuit_trips = Counter::default();
        registry.register(
            "origin_circuit_trips",
            "Times a circuit breaker opened (including failed half-open probes)",
            origin_circuit_trips.clone(),
        );
        let transform_duration = Family::<TransformLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(TRANSFORM_BUCKETS)
        });
        registry.register(
            "transform_duration_seconds",
            "Time to decode, transform and encode one image, by engine and output format",
            transform_duration.clone(),
        );
        let engine_fallbacks = Counter::default();
        registry.register(
            "engine_fallbacks",
            "Misses sampled for the Rust engine (--rust-percent) that it could not serve, made by libvips instead",
            engine_fallbacks.clone(),
        );
        let errors = Family::<KindLabels, Counter>::default();
        registry.register("errors", "Error responses, by error code", errors.clone());
        let http_connections = Gauge::default();
        registry.register(
            "http_connections",
            "Client connections open now",
            http_connections.clone(),
        );
        let workers_busy = Gauge::default();
        registry.register(
            "workers_busy",
            "Workers running a transform now",
            workers_busy.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Cache misses waiting for an in-flight slot (they hold no source yet)",
            queue_depth.clone(),
        );
        let source_bytes = Counter::default();
        registry.register(
            "source_bytes",
            "Bytes of source images fetched from origins",
            source_bytes.clone(),
        );
        let response_bytes = Counter::default();
        registry.register(
            "response_bytes",
            "Bytes of image bodies sent to clients",
            response_bytes.clone(),
        );
        Metrics {
            registry,
            requests,
            request_duration,
            cache_lookups,
            cache_entries,
            cache_weighted_bytes,
            source_cache_lookups,
            source_cache_entries,
            source_cache_weighted_bytes,
            derivative_cache_lookups,
            derivative_cache_weighted_bytes,
            origin_fetch_duration,
            origin_errors,
            origin_circuits_open,
            origin_circuit_trips,
            transform_duration,
            engine_fallbacks,
            errors,
            http_connections,
            workers_busy,
            queue_depth,
            source_bytes,
            response_bytes,
        }
    }

    /// The OpenMetrics text exposition.
    /// Records one transform's time under its engine and output format.
    pub fn observe_transform(&self, engine: &'static str, format: &'static str, time: Duration) {
        self.transform_duration
            .get_or_create(&TransformLabels { engine, format })
            .observe(time.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
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
