//! Fetching source images: remote http(s) origins through one pooled client, and a local directory.
//!
//! Every fetch is bounded: an allowlist decides who may be fetched, a connect timeout and a total
//! timeout bound the time, and the size limit is enforced while the body streams in (a missing or
//! lying `Content-Length` does not help an attacker).

mod allow;
mod breaker;
mod freshness;
mod local;
mod remote;
mod s3;
mod sources;

pub use allow::{is_public, AllowList, Reach};
pub use breaker::Breakers;
pub use freshness::{Fetched, SourceMeta, Validators};
pub use sources::{SourceCache, SourceLookup};

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use crate::params::Source;
use crate::types::Caching;

/// Why a source could not be had. `error` maps each kind to a status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("the source was not found")]
    NotFound,
    #[error("host '{0}' is not an allowed origin")]
    HostNotAllowed(String),
    /// Allowed through a wildcard entry, but the name resolves to no public address.
    #[error("host '{0}' resolves only to non-public addresses")]
    NotPublic(String),
    /// The URL parsed, but the HTTP client cannot send a request for it.
    #[error("the URL cannot be requested: {0}")]
    UnusableUrl(String),
    #[error("the path leaves the image root")]
    PathEscapesRoot,
    #[error("the origin answered {0}")]
    Status(u16),
    #[error("cannot connect to the origin: {0}")]
    Connect(String),
    #[error("the origin did not answer in time")]
    Timeout,
    #[error("the source is larger than the {limit} bytes allowed")]
    TooLarge { limit: u64 },
    #[error("the origin's response broke off: {0}")]
    Body(String),
    #[error("redirect refused: {0}")]
    Redirect(String),
    #[error("reading the local source failed: {0}")]
    Local(String),
    #[error("origin '{host}' is failing; not asked again for {retry_after_secs} s")]
    CircuitOpen { host: String, retry_after_secs: u64 },
}

impl OriginError {
    /// A bounded label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            OriginError::NotFound => "not_found",
            OriginError::HostNotAllowed(_) => "host_not_allowed",
            OriginError::NotPublic(_) => "not_public",
            OriginError::UnusableUrl(_) => "unusable_url",
            OriginError::PathEscapesRoot => "path_escapes_root",
            OriginError::Status(_) => "status",
            OriginError::Connect(_) => "connect",
            OriginError::Timeout => "timeout",
            OriginError::TooLarge { .. } => "too_large",
            OriginError::Body(_) => "body",
            OriginError::Redirect(_) => "redirect",
            OriginError::Local(_) => "local_io",
            OriginError::CircuitOpen { .. } => "circuit_open",
        }
    }

    /// Whether this says the origin is unhealthy (what circuit breakers and stale serving react
    /// to), as opposed to a verdict about one URL (404, too large, not allowed).
    pub fn is_origin_failure(&self) -> bool {
        match self {
            OriginError::Status(status) => *status >= 500,
            OriginError::Connect(_) | OriginError::Timeout | OriginError::Body(_) => true,
            OriginError::CircuitOpen { .. } => true,
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct OriginConfig {
    pub root: PathBuf,
    pub allow: AllowList,
    pub max_bytes: u64,
    pub connect_timeout: Duration,
    pub fetch_timeout: Duration,
    pub max_redirects: u8,
    /// The allowed buckets of `s3://` sources, with their clients; `None` refuses them all.
    pub s3_buckets: Option<crate::objstore::Buckets>,
}

/// A source as its origin gave it: the bytes, what may be done with copies of what is made from
/// them, and whether the origin (or the disk) was really read for this request, not the source
/// cache (what `imgshield_origin_fetch_duration_seconds` counts).
#[derive(Clone, Debug)]
pub struct Got {
    pub bytes: Bytes,
    pub caching: Caching,
    pub fetched: bool,
}

pub struct Origin {
    local: local::LocalRoot,
    remote: remote::RemoteOrigin,
    s3: s3::S3Origin,
    /// Remote sources only: local files are read from the page cache at no origin's expense.
    sources: Option<SourceCache>,
}

impl Origin {
    pub fn new(
        config: OriginConfig,
        breakers: Breakers,
        sources: Option<SourceCache>,
    ) -> Result<Origin, String> {
        let breakers = std::sync::Arc::new(breakers);
        Ok(Origin {
            local: local::LocalRoot::new(&config.root, config.max_bytes)?,
            s3: s3::S3Origin::new(
                config.s3_buckets.clone(),
                config.max_bytes,
                breakers.clone(),
            ),
            remote: remote::RemoteOrigin::new(&config, breakers),
            sources,
        })
    }

    pub fn source_cache(&self) -> Option<&SourceCache> {
        self.sources.as_ref()
    }

    /// Forgets a remote source's cached copy because a render refused these `bytes` of it (see
    /// [`SourceCache::forget`]); local files are not cached here.
    pub async fn forget(&self, source: &Source, bytes: &Bytes) -> bool {
        match (source, &self.sources) {
            (Source::Remote(url), Some(sources)) => sources.forget(url.as_str(), bytes).await,
            _ => false,
        }
    }

    /// The whole source and what its origin allows, or why not.
    pub async fn fetch(&self, source: &Source) -> Result<Got, OriginError> {
        match (source, &self.sources) {
            (Source::Remote(url), Some(sources)) => {
                sources
                    .get(url.as_str(), |validators| async move {
                        self.fetch_remote(url, validators.as_ref()).await
                    })
                    .await
            }
            (Source::Remote(url), None) => match self.fetch_remote(url, None).await? {
                Fetched::Full { bytes, meta } => Ok(Got {
                    bytes,
                    caching: meta.caching(std::time::Instant::now()),
                    fetched: true,
                }),
                // Only a conditional request can get a 304, and this one was not.
                Fetched::NotModified { .. } => Err(OriginError::Status(304)),
            },
            (Source::Local(path), _) => self.local.read(path).await,
        }
    }
}

impl Origin {
    /// An http(s) origin's response, or an `s3://` object.
    async fn fetch_remote(
        &self,
        url: &url::Url,
        validators: Option<&Validators>,
    ) -> Result<Fetched, OriginError> {
        if url.scheme() == "s3" {
            self.s3.fetch(url, validators).await
        } else {
            self.remote.fetch(url, validators).await
        }
    }
}

/// Reads a body to the end, refusing it as soon as it exceeds `limit` bytes.
async fn read_limited<B>(body: B, declared: Option<u64>, limit: u64) -> Result<Bytes, OriginError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    use http_body_util::BodyExt;

    if declared.is_some_and(|len| len > limit) {
        return Err(OriginError::TooLarge { limit });
    }
    let mut body = std::pin::pin!(body);
    // A declared length is only a hint: capped, so a lie cannot make us reserve memory.
    let hint = declared.unwrap_or(64 * 1024).min(limit).min(8 << 20);
    let mut buf = bytes::BytesMut::with_capacity(usize::try_from(hint).unwrap_or(0));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| OriginError::Body(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if (buf.len() + data.len()) as u64 > limit {
                return Err(OriginError::TooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}
