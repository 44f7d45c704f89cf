//! The framework's bounds, with tiers in memory told to hang or to fail.

use std::collections::HashMap;

use async_trait::async_trait;
use bytes::Bytes;

use super::*;

/// A tier in memory that can be told to hang or to fail, to exercise the framework's bounds.
#[derive(Default)]
struct Scripted {
    entries: Mutex<HashMap<CacheKey, Bytes>>,
    hang: bool,
    fail: bool,
    /// How long each `put` takes (a slow disk or store).
    put_delay: Duration,
    name: &'static str,
}

#[async_trait]
impl Tier for Scripted {
    fn name(&self) -> &'static str {
        self.name
    }
    fn header(&self) -> &'static str {
        "HIT-TEST"
    }
    async fn get(&self, key: CacheKey) -> Result<Option<Bytes>, TierError> {
        if self.hang {
            std::future::pending::<()>().await;
        }
        if self.fail {
            return Err(TierError::Unavailable("told to fail".into()));
        }
        Ok(self.entries.lock().expect("lock").get(&key).cloned())
    }
    async fn put(&self, key: CacheKey, entry: Bytes) -> Result<(), TierError> {
        tokio::time::sleep(self.put_delay).await;
        self.entries.lock().expect("lock").insert(key, entry);
        Ok(())
    }
    async fn remove(&self, key: CacheKey) -> Result<(), TierError> {
        self.entries.lock().expect("lock").remove(&key);
        Ok(())
    }
}

fn key() -> CacheKey {
    CacheKey::from_hex(&"ab".repeat(32)).expect("hex")
}

fn rendition() -> Arc<Rendition> {
    Arc::new(Rendition::json(
        Bytes::from_static(b"{\"a\":1}"),
        "vips",
        Duration::ZERO,
        Duration::ZERO,
    ))
}

fn count(metrics: &Metrics, tier: &'static str, result: &'static str) -> u64 {
    let labels = TierResultLabels { tier, result };
    metrics.tiers.lookups.get_or_create(&labels).get()
}

#[tokio::test]
async fn a_hung_tier_is_skipped_after_the_timeout_and_the_next_one_answers() {
    let metrics = Arc::new(Metrics::new());
    let hung = Arc::new(Scripted {
        hang: true,
        name: "hung",
        ..Scripted::default()
    });
    let good = Arc::new(Scripted {
        name: "good",
        ..Scripted::default()
    });
    let stored = entry::encode(&key(), &rendition());
    good.entries.lock().expect("lock").insert(key(), stored);
    let timeout = Duration::from_millis(50);
    let tiers = Tiers::new(
        vec![hung.clone(), good],
        timeout,
        Duration::from_secs(3600),
        4,
        metrics.clone(),
    );
    let started = Instant::now();
    let found = tiers
        .find(key(), |_| true)
        .await
        .expect("the second tier has it");
    assert!(started.elapsed() < timeout * 10, "{:?}", started.elapsed());
    assert_eq!(found.body, rendition().body);
    assert_eq!(found.from_tier.map(|t| t.name), Some("good"));
    assert_eq!(count(&metrics, "hung", "timeout"), 1);
    assert_eq!(count(&metrics, "good", "hit"), 1);
    let timeouts = TierKindLabels {
        tier: "hung",
        kind: "timeout",
    };
    assert_eq!(metrics.tiers.errors.get_or_create(&timeouts).get(), 1);
}

#[tokio::test]
async fn a_failing_tier_is_a_miss_and_what_a_lower_tier_finds_goes_up() {
    let metrics = Arc::new(Metrics::new());
    let upper = Arc::new(Scripted {
        name: "upper",
        ..Scripted::default()
    });
    let failing = Arc::new(Scripted {
        fail: true,
        name: "failing",
        ..Scripted::default()
    });
    let lower = Arc::new(Scripted {
        name: "lower",
        ..Scripted::default()
    });
    let stored = entry::encode(&key(), &rendition());
    lower.entries.lock().expect("lock").insert(key(), stored);
    let tiers = Tiers::new(
        vec![upper.clone(), failing, lower],
        Duration::from_secs(1),
        Duration::from_secs(3600),
        4,
        metrics.clone(),
    );
    assert!(tiers.find(key(), |_| true).await.is_some());
    assert_eq!(count(&metrics, "failing", "error"), 1);
    // The upper tier is written behind, off this call.
    let deadline = Instant::now() + Duration::from_secs(5);
    while upper.entries.lock().expect("lock").is_empty() {
        assert!(
            Instant::now() < deadline,
            "never promoted to the upper tier"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let promoted = upper.entries.lock().expect("lock").get(&key()).cloned();
    let promoted = promoted.expect("promoted");
    assert!(entry::decode(&key(), &promoted).is_ok());
}

#[tokio::test]
async fn private_results_never_reach_a_tier_and_a_full_queue_drops_writes() {
    let metrics = Arc::new(Metrics::new());
    let tier = Arc::new(Scripted {
        name: "t",
        ..Scripted::default()
    });
    let tiers = Tiers::new(
        vec![tier.clone()],
        Duration::from_secs(1),
        Duration::from_secs(3600),
        1,
        metrics.clone(),
    );
    let private = Rendition::json(Bytes::new(), "vips", Duration::ZERO, Duration::ZERO)
        .with_caching(crate::types::Caching {
            store: crate::types::Store::Private,
            ..Default::default()
        });
    tiers.store(key(), &Arc::new(private));
    // Without yielding, the writer cannot drain: the first write fills the queue of one.
    for _ in 0..3 {
        tiers.store(key(), &rendition());
    }
    let dropped = TierResultLabels {
        tier: "t",
        result: "dropped",
    };
    assert_eq!(metrics.tiers.writes.get_or_create(&dropped).get(), 2);
    let deadline = Instant::now() + Duration::from_secs(5);
    while tier.entries.lock().expect("lock").is_empty() {
        assert!(Instant::now() < deadline, "the queued write never landed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stored = tier.entries.lock().expect("lock").get(&key()).cloned();
    let back = entry::decode(&key(), &stored.expect("stored")).expect("valid");
    assert!(back.caching.shared(), "the private result was written");
}

fn nth_key(n: u8) -> CacheKey {
    CacheKey::from_hex(&format!("{n:02x}").repeat(32)).expect("hex")
}

#[tokio::test]
async fn flush_waits_for_queued_writes_and_gives_up_at_its_bound() {
    let metrics = Arc::new(Metrics::new());
    let slow = Arc::new(Scripted {
        put_delay: Duration::from_millis(100),
        name: "slow",
        ..Scripted::default()
    });
    let tiers = Tiers::new(
        vec![slow.clone()],
        Duration::from_secs(1),
        Duration::from_secs(3600),
        64,
        metrics,
    );
    // Twelve writes, four at a time, 100 ms each: about 300 ms of work queued.
    for n in 0..12 {
        tiers.store(nth_key(n), &rendition());
    }
    let left = tiers.flush(Duration::from_millis(20)).await;
    assert!(left > 0, "a 20 ms flush cannot see 300 ms of writes done");
    assert_eq!(tiers.flush(Duration::from_secs(10)).await, 0);
    assert_eq!(slow.entries.lock().expect("lock").len(), 12);
    // Nothing queued: returns at once.
    assert_eq!(tiers.flush(Duration::ZERO).await, 0);
}
