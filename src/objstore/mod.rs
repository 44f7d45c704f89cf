//! Object storage (S3 and compatibles: MinIO, R2, Ceph, s3s) for `s3://` sources and the shared
//! result tier, through `object_store`'s S3 client over our own hyper client (`http.rs`).
//!
//! Credentials come from the standard chain: `--s3-access-key-id`/`--s3-secret-access-key` when
//! given, else the `AWS_*` environment (keys, session token, web identity), the ECS/EKS container
//! endpoints and the instance metadata service. Every read is bounded: the object's size is
//! checked before its body is read, and the body is dropped as soon as it passes the cap.

mod http;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};

use crate::params::is_bucket_name;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, GetOptions, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
    RetryConfig,
};

/// Where and as whom to reach object storage.
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    /// `https://host[:port]` (or `http://` for a local server); `None` for AWS itself (or the
    /// `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT` environment).
    pub endpoint: Option<String>,
    /// `None` takes `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`), as MinIO, Ceph and s3s need by default;
    /// otherwise virtual-hosted (`bucket.endpoint/key`).
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub connect_timeout: Duration,
    /// The bound on one operation, retries included.
    pub timeout: Duration,
}

impl S3Settings {
    /// The settings `config` gives (`--s3-*`, `--connect-timeout`, `--fetch-timeout`).
    pub fn from_config(config: &crate::config::Config) -> S3Settings {
        let s3 = &config.s3;
        S3Settings {
            endpoint: s3.endpoint.clone(),
            region: s3.region.clone(),
            path_style: s3.path_style,
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.clone(),
            connect_timeout: config.connect_timeout,
            timeout: config.fetch_timeout,
        }
    }
}

/// Why an object could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ObjError {
    #[error("no such object")]
    NotFound,
    #[error("not modified")]
    NotModified,
    #[error("the object is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the key cannot be used: {0}")]
    BadKey(String),
    #[error("object storage did not answer in time")]
    Timeout,
    #[error("cannot connect to object storage: {0}")]
    Connect(String),
    /// Refused: 401 for missing or wrong credentials, 403 for missing permissions.
    #[error("object storage refused the request ({0})")]
    Refused(u16),
    /// Failed on the server's side, or answered what the client could not read.
    #[error("object storage failed: {0}")]
    Failed(String),
}

/// An object's bytes and what describes them.
#[derive(Clone, Debug)]
pub struct Object {
    pub bytes: Bytes,
    pub etag: Option<String>,
    /// As an HTTP date.
    pub last_modified: Option<String>,
    pub cache_control: Option<String>,
}

/// One client per bucket (object_store addresses a bucket per client), sharing the settings.
#[derive(Clone, Debug)]
pub struct Buckets {
    stores: HashMap<String, Arc<AmazonS3>>,
    timeout: Duration,
}

impl Buckets {
    /// Clients for `names`; an error names the bucket and the setting at fault.
    pub fn new<'a>(
        settings: &S3Settings,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Buckets, String> {
        let mut stores = HashMap::new();
        for name in names {
            if !is_bucket_name(name) {
                return Err(format!("'{name}' is not a valid S3 bucket name"));
            }
            let store = build(settings, name).map_err(|e| format!("S3 bucket '{name}': {e}"))?;
            stores.insert(name.to_string(), Arc::new(store));
        }
        Ok(Buckets {
            stores,
            timeout: settings.timeout,
        })
    }

    /// The bound on one operation.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn contains(&self, bucket: &str) -> bool {
        self.stores.contains_key(bucket)
    }

    fn store(&self, bucket: &str) -> Result<&Arc<AmazonS3>, ObjError> {
        self.stores
            .get(bucket)
            .ok_or_else(|| ObjError::BadKey(format!("bucket '{bucket}' is not configured")))
    }

    /// The object `key` of `bucket`, at most `limit` bytes; with `if_none_match` (an ETag) an
    /// unchanged object is [`ObjError::NotModified`].
    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
        if_none_match: Option<&str>,
        limit: u64,
    ) -> Result<Object, ObjError> {
        let store = self.store(bucket)?;
        let path = parse_key(key)?;
        let options = GetOptions {
            if_none_match: if_none_match.map(str::to_owned),
            ..GetOptions::default()
        };
        let read = async {
            let got = store.get_opts(&path, options).await.map_err(classify)?;
            // A server that ignores If-None-Match (s3s-fs does) still names the same ETag: the
            // body is dropped unread.
            if if_none_match.is_some() && got.meta.e_tag.as_deref() == if_none_match {
                return Err(ObjError::NotModified);
            }
            if got.meta.size > limit {
                return Err(ObjError::TooLarge { limit });
            }
            let object = Object {
                etag: got.meta.e_tag.clone(),
                last_modified: Some(httpdate::fmt_http_date(SystemTime::from(
                    got.meta.last_modified,
                ))),
                cache_control: got
                    .attributes
                    .get(&Attribute::CacheControl)
                    .map(|v| v.to_string()),
                bytes: Bytes::new(),
            };
            let capacity = usize::try_from(got.meta.size.min(8 << 20)).unwrap_or(0);
            let mut buf = bytes::BytesMut::with_capacity(capacity);
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(classify)?;
                if (buf.len() + chunk.len()) as u64 > limit {
                    return Err(ObjError::TooLarge { limit });
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(Object {
                bytes: buf.freeze(),
                ..object
            })
        };
        tokio::time::timeout(self.timeout, read)
            .await
            .map_err(|_| ObjError::Timeout)?
    }

    /// Stores `bytes` as `key` of `bucket`, with `cache_control` as its `Cache-Control`.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        bytes: Bytes,
        cache_control: Option<String>,
    ) -> Result<(), ObjError> {
        let store = self.store(bucket)?;
        let path = parse_key(key)?;
        let mut attributes = Attributes::new();
        if let Some(value) = cache_control {
            attributes.insert(Attribute::CacheControl, value.into());
        }
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        let put = store.put_opts(&path, PutPayload::from(bytes), options);
        tokio::time::timeout(self.timeout, put)
            .await
            .map_err(|_| ObjError::Timeout)?
            .map(drop)
            .map_err(classify)
    }
}

impl Buckets {
    /// Deletes `key` of `bucket` (deleting a missing key succeeds, as in S3).
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), ObjError> {
        let store = self.store(bucket)?;
        let path = parse_key(key)?;
        match tokio::time::timeout(self.timeout, store.delete(&path)).await {
            Err(_) => Err(ObjError::Timeout),
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => match classify(e) {
                ObjError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }
}

/// A client for `bucket`: the environment first, then the settings over it.
fn build(settings: &S3Settings, bucket: &str) -> object_store::Result<AmazonS3> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_http_connector(http::HyperConnector {
            connect_timeout: settings.connect_timeout,
        })
        .with_retry(RetryConfig {
            max_retries: 1,
            retry_timeout: settings.timeout,
            ..RetryConfig::default()
        });
    let region = settings
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".to_string());
    builder = builder.with_region(region);
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.with_allow_http(endpoint.starts_with("http://"));
        builder = if settings.path_style {
            builder.with_endpoint(endpoint.trim_end_matches('/'))
        } else {
            // object_store takes a virtual-hosted endpoint with the bucket already in it.
            builder.with_endpoint(virtual_hosted(endpoint, bucket))
        };
    }
    builder = builder.with_virtual_hosted_style_request(!settings.path_style);
    if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
    }
    builder.build()
}

/// `https://host` -> `https://bucket.host`.
fn virtual_hosted(endpoint: &str, bucket: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    match endpoint.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{bucket}.{rest}"),
        None => format!("https://{bucket}.{endpoint}"),
    }
}

/// A key as object_store takes it: non-empty segments, none of them `.` or `..`.
fn parse_key(key: &str) -> Result<Path, ObjError> {
    Path::parse(key).map_err(|e| ObjError::BadKey(e.to_string()))
}

/// Sorts object_store's errors the way origins' are sorted: missing, unchanged, unreachable,
/// timed out, or failed.
fn classify(error: object_store::Error) -> ObjError {
    use object_store::client::{HttpError, HttpErrorKind};
    match error {
        object_store::Error::NotFound { .. } => return ObjError::NotFound,
        object_store::Error::NotModified { .. } => return ObjError::NotModified,
        object_store::Error::InvalidPath { source } => return ObjError::BadKey(source.to_string()),
        object_store::Error::Unauthenticated { .. } => return ObjError::Refused(401),
        object_store::Error::PermissionDenied { .. } => return ObjError::Refused(403),
        _ => {}
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(http) = e.downcast_ref::<HttpError>() {
            match http.kind() {
                HttpErrorKind::Connect => return ObjError::Connect(chain(&error)),
                HttpErrorKind::Timeout => return ObjError::Timeout,
                _ => {}
            }
        }
        source = e.source();
    }
    ObjError::Failed(chain(&error))
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_hosted_endpoint_carries_the_bucket() {
        assert_eq!(
            virtual_hosted("https://r2.example.com/", "photos"),
            "https://photos.r2.example.com"
        );
    }

    #[test]
    fn keys_with_dot_segments_are_refused() {
        assert!(parse_key("a/../b").is_err());
        assert!(parse_key("a/b.jpg").is_ok());
    }
}
