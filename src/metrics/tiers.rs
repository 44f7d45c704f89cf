//! The storage tiers behind the memory cache (`store`): per tier, lookups by result, latency,
//! bytes read and written, writes by result, errors by kind, evictions, and what it holds.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TierLabels {
    pub tier: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TierKindLabels {
    pub tier: &'static str,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TierResultLabels {
    pub tier: &'static str,
    pub result: &'static str,
}

/// A local disk answers in well under a millisecond; a shared store across a network in tens of
/// milliseconds; the default `--tier-timeout` is 200 ms.
const TIER_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

pub struct TierMetrics {
    pub lookups: Family<TierResultLabels, Counter>,
    pub lookup_duration: Family<TierLabels, Histogram>,
    pub read_bytes: Family<TierLabels, Counter>,
    pub written_bytes: Family<TierLabels, Counter>,
    pub writes: Family<TierResultLabels, Counter>,
    pub errors: Family<TierKindLabels, Counter>,
    pub evictions: Family<TierLabels, Counter>,
    pub entries: Family<TierLabels, Gauge>,
    pub stored_bytes: Family<TierLabels, Gauge>,
}

impl Default for TierMetrics {
    fn default() -> Self {
        TierMetrics {
            lookups: Family::default(),
            lookup_duration: Family::new_with_constructor(|| Histogram::new(TIER_BUCKETS)),
            read_bytes: Family::default(),
            written_bytes: Family::default(),
            writes: Family::default(),
            errors: Family::default(),
            evictions: Family::default(),
            entries: Family::default(),
            stored_bytes: Family::default(),
        }
    }
}

impl TierMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "tier_lookups",
            "Lookups in a storage tier behind the memory cache, by tier and result: hit (fresh), stale (past its freshness: refreshed like a stale memory entry), miss, expired (past the stale grace), corrupt or version (rejected, never served), error or timeout (tier skipped)",
            self.lookups.clone(),
        );
        registry.register(
            "tier_lookup_duration_seconds",
            "Time a storage tier took to answer a lookup (up to --tier-timeout), by tier",
            self.lookup_duration.clone(),
        );
        registry.register(
            "tier_read_bytes",
            "Bytes of entries read from a storage tier",
            self.read_bytes.clone(),
        );
        registry.register(
            "tier_written_bytes",
            "Bytes of entries written to a storage tier",
            self.written_bytes.clone(),
        );
        registry.register(
            "tier_writes",
            "Writes to a storage tier, by result: stored, dropped (the write queue was full), error",
            self.writes.clone(),
        );
        registry.register(
            "tier_errors",
            "Storage tier operations that failed, by tier and kind (io, timeout, unavailable); the request went on without the tier",
            self.errors.clone(),
        );
        registry.register(
            "tier_evictions",
            "Entries a storage tier evicted to stay within its byte bound",
            self.evictions.clone(),
        );
        registry.register(
            "tier_entries",
            "Entries held by a storage tier",
            self.entries.clone(),
        );
        registry.register(
            "tier_stored_bytes",
            "Bytes held by a storage tier",
            self.stored_bytes.clone(),
        );
    }
}
