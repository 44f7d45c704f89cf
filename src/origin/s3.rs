//! `s3://bucket/key` sources: allow-listed buckets only, through the shared object-storage client,
//! with the byte cap, the breaker and the source cache's ETag revalidation of remote origins.

use std::sync::Arc;

use http::{header, HeaderMap, HeaderValue};
use url::Url;

use super::breaker::{Breakers, Scope};
use super::freshness::{Fetched, SourceMeta, Validators};
use super::OriginError;
use crate::objstore::{Buckets, ObjError, Object};

pub(super) struct S3Origin {
    /// One client per allowed bucket; a bucket not here is refused (403).
    buckets: Option<Buckets>,
    max_bytes: u64,
    breakers: Arc<Breakers>,
}

impl S3Origin {
    pub(super) fn new(
        buckets: Option<Buckets>,
        max_bytes: u64,
        breakers: Arc<Breakers>,
    ) -> S3Origin {
        S3Origin {
            buckets,
            max_bytes,
            breakers,
        }
    }

    /// Reads the object `url` names; with `validators` (a cached copy's ETag) an unchanged object
    /// comes back as [`Fetched::NotModified`] without its body.
    pub(super) async fn fetch(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Fetched, OriginError> {
        let bucket = url.host_str().unwrap_or_default();
        let buckets = match &self.buckets {
            Some(buckets) if buckets.contains(bucket) => buckets,
            _ => return Err(OriginError::HostNotAllowed(format!("s3://{bucket}"))),
        };
        let key = percent_encoding::percent_decode_str(url.path().trim_start_matches('/'))
            .decode_utf8()
            .map_err(|e| OriginError::UnusableUrl(e.to_string()))?;
        let breaker = format!("s3://{bucket}");
        if let Err(open) = self.breakers.admit(&breaker) {
            return Err(OriginError::CircuitOpen {
                host: breaker,
                retry_after_secs: open.retry_after.as_secs().max(1),
            });
        }
        let etag = validators.and_then(|v| v.etag.as_deref());
        let result = buckets.get(bucket, &key, etag, self.max_bytes).await;
        let result = match result {
            Ok(object) => Ok(Fetched::Full {
                meta: meta_of(&object),
                bytes: object.bytes,
            }),
            Err(ObjError::NotModified) if etag.is_some() => Ok(Fetched::NotModified {
                meta: SourceMeta {
                    validators: validators.cloned().unwrap_or_default(),
                    ..SourceMeta::default()
                },
            }),
            Err(e) => Err(origin_error(e)),
        };
        match &result {
            Err(e) if e.is_origin_failure() => {
                let scope = match e {
                    OriginError::Connect(_) | OriginError::Timeout => Scope::Host,
                    _ => Scope::source(&key),
                };
                self.breakers.record_failure(&breaker, scope);
            }
            _ => self.breakers.record_success(&breaker),
        }
        result
    }
}

/// An object's description read as an origin's headers would be.
fn meta_of(object: &Object) -> SourceMeta {
    let mut headers = HeaderMap::new();
    let mut set = |name, value: &Option<String>| {
        if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, v);
        }
    };
    set(header::ETAG, &object.etag);
    set(header::LAST_MODIFIED, &object.last_modified);
    set(header::CACHE_CONTROL, &object.cache_control);
    SourceMeta::from_headers(&headers)
}

/// Object storage's failures as an origin's: a missing key is the origin's 404, an unreachable or
/// slow server 502/504, a refusal (credentials, permissions, 5xx) 502.
fn origin_error(error: ObjError) -> OriginError {
    match error {
        ObjError::NotFound => OriginError::NotFound,
        ObjError::TooLarge { limit } => OriginError::TooLarge { limit },
        ObjError::BadKey(why) => OriginError::UnusableUrl(why),
        ObjError::Timeout => OriginError::Timeout,
        ObjError::Connect(why) => OriginError::Connect(why),
        // Only a conditional read can be told "not modified", and this one was not.
        ObjError::NotModified => OriginError::Status(304),
        ObjError::Refused(status) => OriginError::Status(status),
        ObjError::Failed(why) => {
            tracing::warn!(error = %why, "object storage failed");
            OriginError::Status(502)
        }
    }
}
