//! The result cache: what makes imgshield an origin shield.
//!
//! **The key covers everything that changes the bytes**: the canonical params (defaults applied,
//! fixed order, source identity included), the negotiated `Accept` class when `fm=auto`, the engine's
//! name and version (with `+draft` under the draft JPEG shrink rule), and imgshield's own version
//! (encoder settings and pipeline live in the code).
//! Anything added later that alters output (config, presets, ...) must be added to [`CacheKey::new`].
//! `/info` answers (JSON) live in the same cache under keys of their own ([`CacheKey::info`]).
//!
//! Values are weighed by their body size, so `--cache-bytes` bounds memory, not entry count.
//! Concurrent misses on one key are coalesced by moka's entry API; failures are never stored.
//!
//! Past `--cache-ttl` an entry is stale: the next request refreshes it (one refresh at a time per
//! key), and if the origin fails (5xx, unreachable, timeout, open circuit) or we are overloaded,
//! the stale result is served instead of the error, for up to `--stale-grace`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderValue;

use crate::engine::{Encoded, Engine};
use crate::params::{InfoParams, Params};
use crate::types::{AcceptClass, Caching};

/// blake3 of the canonical request description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey(blake3::Hash);

impl CacheKey {
    pub fn new(params: &Params, accept: Option<AcceptClass>, engine: &dyn Engine) -> CacheKey {
        CacheKey::of(&[
            concat!("imgshield/", env!("CARGO_PKG_VERSION")),
            engine.name(),
            engine.version(),
            accept.map_or("-", AcceptClass::as_str),
            &params.canonical(),
        ])
    }

    /// The key of a `/info` answer. Its first field differs from every `/resize` key's, so the two
    /// can never share an entry; libvips' version is in it because libvips reads the header and
    /// makes the placeholder thumbnail.
    pub fn info(params: &InfoParams, engine: &dyn Engine) -> CacheKey {
        CacheKey::of(&[
            concat!("imgshield-info/", env!("CARGO_PKG_VERSION")),
            engine.name(),
            engine.version(),
            &params.canonical(),
        ])
    }

    fn of(fields: &[&str]) -> CacheKey {
        let mut hasher = blake3::Hasher::new();
        // Length-prefixed fields: no two different tuples hash the same input.
        for field in fields {
            hasher.update(&(field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
        CacheKey(hasher.finalize())
    }

    /// The key of a route other than `/resize` (`route` names it, e.g. `"text"`), from that route's
    /// own canonical parameters. It hashes one more field than [`CacheKey::new`], the route, so no
    /// two routes' keys can share an input.
    pub fn for_route(
        route: &str,
        canonical: &str,
        accept: Option<AcceptClass>,
        engine: &dyn Engine,
    ) -> CacheKey {
        let mut hasher = blake3::Hasher::new();
        let route = format!("route={route}");
        for field in [
            concat!("imgshield/", env!("CARGO_PKG_VERSION")),
            route.as_str(),
            engine.name(),
            engine.version(),
            accept.map_or("-", AcceptClass::as_str),
            canonical,
        ] {
            hasher.update(&(field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
        CacheKey(hasher.finalize())
    }

    /// The key's first 8 bytes in hex: enough to tell requests apart in a log line.
    pub fn short(&self) -> String {
        self.0.to_hex()[..16].to_owned()
    }

    /// The key's 32 bytes: what a lower tier names and checks its entries by.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The key in full hex (64 characters): a file or object name.
    pub fn to_hex(&self) -> String {
        self.0.to_hex().to_string()
    }

    /// The key back from [`CacheKey::to_hex`]; `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<CacheKey> {
        blake3::Hash::from_hex(hex).ok().map(CacheKey)
    }

    /// 64 bits of the key, uniformly spread: what `--rust-percent` samples on.
    pub fn sample(&self) -> u64 {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0.as_bytes()[..8]);
        u64::from_le_bytes(first)
    }
}

/// A finished response body with the headers that describe it, built once on the miss path so that a
/// hit only clones reference-counted values.
#[derive(Debug)]
pub struct Rendition {
    pub body: Bytes,
    pub content_type: HeaderValue,
    pub etag: HeaderValue,
    /// `jpeg`, `png`, ... or `json` (a `/info` answer): the `format` label of its transform time.
    pub format: &'static str,
    /// The engine that made it (`X-Engine`; after a fallback, the primary).
    pub engine: &'static str,
    /// What producing it cost, for the request log of the miss.
    pub fetch_time: Duration,
    pub transform_time: Duration,
    /// When it was made, by the wall clock (so that a copy kept by a lower tier keeps its age
    /// across restarts): fresh for `--cache-ttl`, then servable only if the origin fails, for
    /// `--stale-grace` more.
    pub created: SystemTime,
    /// What the source's origin allows (who may keep it, for how long, when it last changed).
    pub caching: Caching,
    /// `caching.last_modified` as an HTTP date, formatted once for every response.
    pub last_modified: Option<HeaderValue>,
    /// `/resize`'s default `Content-Disposition` (the source's name, `inline`), made once; a
    /// request with `filename=` or `dl=1` makes its own.
    pub disposition: Option<HeaderValue>,
    /// The storage tier it was read from (`None`: made by this process).
    pub from_tier: Option<FromTier>,
}

/// Which storage tier behind the memory cache a rendition was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FromTier {
    /// The tier's metric label (`disk`), also the `result` of its lookups.
    pub name: &'static str,
    /// The tier's `X-Cache` value (`HIT-DISK`).
    pub header: &'static str,
}

impl Rendition {
    /// Wraps an encoded image; the strong ETag is a hash of the bytes themselves.
    pub fn new(
        encoded: Encoded,
        engine: &'static str,
        fetch_time: Duration,
        transform_time: Duration,
    ) -> Rendition {
        Rendition::of(
            encoded.bytes,
            encoded.format.mime(),
            encoded.format.as_str(),
            engine,
            fetch_time,
            transform_time,
        )
    }

    /// A JSON document (a `/info` answer), cached and served with the same headers as an image.
    pub fn json(
        body: Bytes,
        engine: &'static str,
        fetch_time: Duration,
        transform_time: Duration,
    ) -> Rendition {
        Rendition::of(
            body,
            "application/json",
            "json",
            engine,
            fetch_time,
            transform_time,
        )
    }

    fn of(
        body: Bytes,
        content_type: &'static str,
        format: &'static str,
        engine: &'static str,
        fetch_time: Duration,
        transform_time: Duration,
    ) -> Rendition {
        let digest = blake3::hash(&body).to_hex();
        let etag = HeaderValue::from_str(&format!("\"{}\"", &digest[..32]))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Rendition {
            content_type: HeaderValue::from_static(content_type),
            etag,
            format,
            engine,
            body,
            fetch_time,
            transform_time,
            created: SystemTime::now(),
            caching: Caching::default(),
            last_modified: None,
            disposition: None,
            from_tier: None,
        }
    }

    /// The same rendition under its sources' caching rules.
    pub fn with_caching(mut self, caching: Caching) -> Rendition {
        self.last_modified = caching
            .last_modified
            .and_then(|at| HeaderValue::from_str(&httpdate::fmt_http_date(at)).ok());
        self.caching = caching;
        self
    }

    /// The same rendition with its default `Content-Disposition`.
    pub fn with_disposition(mut self, disposition: Option<HeaderValue>) -> Rendition {
        self.disposition = disposition;
        self
    }

    /// How long ago it was made (zero if the wall clock has gone back since).
    pub fn age(&self) -> Duration {
        self.created.elapsed().unwrap_or(Duration::ZERO)
    }

    /// Fresh for `ttl`, and no longer than its origin allows.
    pub fn is_fresh(&self, ttl: Duration) -> bool {
        self.age() <= ttl && self.caching.remaining().is_none_or(|left| !left.is_zero())
    }
}

pub type ResultCache = moka::future::Cache<CacheKey, Arc<Rendition>>;

/// Fixed per-entry overhead counted on top of the body (key, headers, moka's bookkeeping).
const ENTRY_OVERHEAD: u32 = 256;

/// Entries live `ttl + stale_grace`: fresh for `ttl`, then kept only to be served if a refresh fails.
pub fn result_cache(max_bytes: u64, ttl: Duration, stale_grace: Duration) -> ResultCache {
    moka::future::Cache::builder()
        .max_capacity(max_bytes)
        .weigher(|_key: &CacheKey, value: &Arc<Rendition>| {
            u32::try_from(value.body.len())
                .unwrap_or(u32::MAX)
                .saturating_add(ENTRY_OVERHEAD)
        })
        .time_to_live(ttl.saturating_add(stale_grace))
        .build()
}

/// Whether `If-None-Match` matches `etag` (weak comparison, as RFC 9110 requires for this header).
pub fn etag_matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let ours = etag.as_bytes();
    list.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate).as_bytes() == ours
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rust::RustEngine;
    use crate::params::ParamLimits;

    #[test]
    fn info_keys_never_meet_resize_keys_and_follow_their_params() {
        let engine = RustEngine::new();
        let info = |q: &str| CacheKey::info(&InfoParams::parse(q).expect("valid"), &engine);
        let resize = Params::parse("src=a.jpg", &ParamLimits::default()).expect("valid");
        assert_ne!(info("src=a.jpg"), CacheKey::new(&resize, None, &engine));
        assert_eq!(info("src=a.jpg"), info("bhx=4&src=a.jpg&bhy=3"));
        assert_ne!(info("src=a.jpg"), info("src=a.jpg&bhx=5"));
        assert_ne!(info("src=a.jpg"), info("src=b.jpg"));
    }

    #[test]
    fn the_jpeg_shrink_rule_is_part_of_the_key() {
        let params = Params::parse("src=a.jpg&w=300", &ParamLimits::default()).expect("valid");
        let key = |engine: &dyn Engine| CacheKey::new(&params, None, engine);
        let (headroom, draft) = (RustEngine::new(), RustEngine::new().with_draft(true));
        assert_ne!(key(&headroom), key(&draft));
        assert_eq!(key(&draft), key(&RustEngine::new().with_draft(true)));
        let vips = crate::engine::vips::VipsEngine::new().expect("libvips");
        let before = vips.version().to_string();
        let vips = vips.with_draft(true);
        assert_eq!(vips.version(), format!("{before}+draft"));
        assert_eq!(vips.with_draft(false).version(), before);
    }

    #[test]
    fn etag_comparison_handles_lists_weak_tags_and_star() {
        let etag = HeaderValue::from_static("\"abc\"");
        let check = |v: &'static str| etag_matches(&HeaderValue::from_static(v), &etag);
        assert!(check("\"abc\""));
        assert!(check("\"x\", W/\"abc\""));
        assert!(check("*"));
        assert!(!check("\"abcd\""));
        assert!(!check("abc"));
    }
}
