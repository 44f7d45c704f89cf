//! The shared tier on S3-compatible object storage (`--shared-store s3://bucket/prefix`): every
//! replica pointed at one bucket serves what any of them made, and a restarted replica starts warm.
//!
//! An entry is one object, `<prefix>/<64 hex of the CacheKey>`, holding the framework's checked
//! encoding (format, ETag, freshness and the bytes); the tier never parses it. Reads are bounded by
//! `--tier-timeout` (the framework's), writes run off the request path (the framework's queue).
//! Expiry is by the stored creation time: an entry past `--cache-ttl` + grace is ignored when read;
//! deleting old objects is left to the bucket's lifecycle rule (docs/STORAGE.md).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::{Tier, TierError};
use crate::cache::CacheKey;
use crate::objstore::{Buckets, ObjError, S3Settings};

const NAME: &str = "shared";

/// The largest entry read back: far above any result (`--max-output-pixels` encoded), small enough
/// that a wrong object cannot make us buffer gigabytes.
const MAX_ENTRY_BYTES: u64 = 256 << 20;

/// `--shared-store`: a bucket and a key prefix (no leading or trailing `/`; may be empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedStore {
    pub bucket: String,
    pub prefix: String,
}

impl SharedStore {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(value: &str) -> Result<SharedStore, String> {
        let url = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
        if url.scheme() != "s3" {
            return Err("use s3://bucket/prefix".into());
        }
        let bucket = url.host_str().unwrap_or_default();
        if !crate::params::is_bucket_name(bucket) || url.port().is_some() {
            return Err(format!("'{bucket}' is not a valid S3 bucket name"));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err("use s3://bucket/prefix (no credentials, query or fragment)".into());
        }
        Ok(SharedStore {
            bucket: bucket.to_string(),
            prefix: url.path().trim_matches('/').to_string(),
        })
    }
}

/// The shared tier. Cheap to clone.
#[derive(Clone)]
pub struct SharedTier {
    buckets: Arc<Buckets>,
    store: Arc<SharedStore>,
}

impl SharedTier {
    pub fn new(store: &SharedStore, settings: &S3Settings) -> Result<SharedTier, String> {
        let buckets = Buckets::new(settings, [store.bucket.as_str()])?;
        Ok(SharedTier {
            buckets: Arc::new(buckets),
            store: Arc::new(store.clone()),
        })
    }

    fn key(&self, key: CacheKey) -> String {
        match self.store.prefix.as_str() {
            "" => key.to_hex(),
            prefix => format!("{prefix}/{}", key.to_hex()),
        }
    }
}

/// The tier `--shared-store` asks for (`None` without it), or why it cannot be made.
pub fn from_config(config: &crate::config::Config) -> Result<Option<SharedTier>, String> {
    let Some(value) = &config.s3.shared_store else {
        return Ok(None);
    };
    let store = SharedStore::parse(value).map_err(|e| format!("--shared-store {value}: {e}"))?;
    SharedTier::new(&store, &S3Settings::from_config(config)).map(Some)
}

fn tier_error(error: ObjError, bound: std::time::Duration) -> TierError {
    match error {
        ObjError::Timeout => TierError::Timeout(bound),
        other => TierError::Unavailable(other.to_string()),
    }
}

#[async_trait]
impl Tier for SharedTier {
    fn name(&self) -> &'static str {
        NAME
    }

    fn header(&self) -> &'static str {
        "HIT-SHARED"
    }

    async fn get(&self, key: CacheKey) -> Result<Option<Bytes>, TierError> {
        let bucket = &self.store.bucket;
        match self
            .buckets
            .get(bucket, &self.key(key), None, MAX_ENTRY_BYTES)
            .await
        {
            Ok(object) => Ok(Some(object.bytes)),
            Err(ObjError::NotFound) => Ok(None),
            Err(e) => Err(tier_error(e, self.buckets.timeout())),
        }
    }

    async fn put(&self, key: CacheKey, entry: Bytes) -> Result<(), TierError> {
        let bucket = &self.store.bucket;
        self.buckets
            .put(bucket, &self.key(key), entry, None)
            .await
            .map_err(|e| tier_error(e, self.buckets.timeout()))
    }

    async fn remove(&self, key: CacheKey) -> Result<(), TierError> {
        let bucket = &self.store.bucket;
        self.buckets
            .delete(bucket, &self.key(key))
            .await
            .map_err(|e| tier_error(e, self.buckets.timeout()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_url_names_a_bucket_and_a_prefix() {
        let store = SharedStore::parse("s3://results/imgshield/v1/").expect("valid");
        assert_eq!(store.bucket, "results");
        assert_eq!(store.prefix, "imgshield/v1");
        assert_eq!(
            SharedStore::parse("s3://results").expect("valid").prefix,
            ""
        );
        for bad in [
            "http://results/x",
            "s3://R/x",
            "s3://results:9/x",
            "s3://results/x?a=1",
        ] {
            assert!(SharedStore::parse(bad).is_err(), "{bad}");
        }
    }
}
