//! `GET /metrics`: the cache gauges (which moka and the caches keep lazily) are settled first,
//! then the registry is rendered in the OpenMetrics text format.

use super::*;

impl App {
    pub(super) async fn metrics_page(&self) -> Response<Body> {
        // moka updates its counters lazily; settle them so the gauges are current.
        self.cache.run_pending_tasks().await;
        self.metrics
            .cache_entries
            .set(i64::try_from(self.cache.entry_count()).unwrap_or(i64::MAX));
        self.metrics
            .cache_weighted_bytes
            .set(i64::try_from(self.cache.weighted_size()).unwrap_or(i64::MAX));
        if let Some(derivatives) = &self.derivatives {
            self.metrics
                .derivative_cache_weighted_bytes
                .set(i64::try_from(derivatives.weighted_size()).unwrap_or(i64::MAX));
        }
        if let Some(sources) = self.origin.source_cache() {
            let bytes = sources.weighted_size().await;
            self.metrics
                .source_cache_weighted_bytes
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
            self.metrics
                .source_cache_entries
                .set(i64::try_from(sources.entry_count()).unwrap_or(i64::MAX));
        }
        text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            self.metrics.render(),
        )
    }
}
