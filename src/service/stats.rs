//! The live stats behind `GET /stats` (JSON) and the built-in `GET /dashboard` page that polls it:
//! a few cumulative counters of `/resize` traffic and the current load, cheap to keep (relaxed
//! atomics on the request path) and cheap to read. The page turns them into rates over its own
//! polling interval, so the server keeps no time series.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The page, with its script and styles inline: no external assets, no CDN scripts.
pub(super) const DASHBOARD_HTML: &str = include_str!("dashboard.html");

#[derive(Debug, Default)]
pub(super) struct Stats {
    requests: AtomicU64,
    errors: AtomicU64,
    latency_micros: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Stats {
    /// One answered `/resize` request.
    pub(super) fn record_request(&self, elapsed: Duration, error: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// One cache lookup: answered from memory (`hit`, `stale`) or not.
    pub(super) fn record_lookup(&self, from_memory: bool) {
        let counter = if from_memory {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters and the current load as a JSON object.
    /// `tiers`: the storage tiers' own counters (`store::Tiers::stats`).
    pub(super) fn to_json(
        &self,
        workers_busy: i64,
        queue_depth: i64,
        connections: i64,
        tiers: serde_json::Value,
    ) -> String {
        serde_json::json!({
            "resize_requests": self.requests.load(Ordering::Relaxed),
            "resize_errors": self.errors.load(Ordering::Relaxed),
            "resize_latency_seconds_sum": self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6,
            "cache_hits": self.hits.load(Ordering::Relaxed),
            "cache_misses": self.misses.load(Ordering::Relaxed),
            "workers_busy": workers_busy,
            "queue_depth": queue_depth,
            "connections": connections,
            "tiers": tiers,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_in_the_json() {
        let stats = Stats::default();
        stats.record_request(Duration::from_millis(20), false);
        stats.record_request(Duration::from_millis(30), true);
        stats.record_lookup(true);
        stats.record_lookup(false);
        stats.record_lookup(true);
        let json: serde_json::Value =
            serde_json::from_str(&stats.to_json(1, 2, 3, serde_json::json!([]))).expect("JSON");
        assert_eq!(json["resize_requests"], 2);
        assert_eq!(json["resize_errors"], 1);
        assert!((json["resize_latency_seconds_sum"].as_f64().expect("sum") - 0.05).abs() < 1e-9);
        assert_eq!(
            (json["cache_hits"].clone(), json["cache_misses"].clone()),
            (2.into(), 1.into())
        );
        assert_eq!(json["queue_depth"], 2);
    }

    #[test]
    fn the_page_is_self_contained() {
        assert!(DASHBOARD_HTML.contains("fetch('stats'"));
        for external in ["http://", "https://", "<link", "src=\""] {
            assert!(!DASHBOARD_HTML.contains(external), "{external} in the page");
        }
    }
}
