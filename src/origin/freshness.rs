//! What an origin says about caching its response, read as a shared cache must (RFC 9111):
//! `Cache-Control` (`no-store` and `private` forbid keeping it, `no-cache` and `max-age=0` allow
//! keeping it but not reusing it without asking, `s-maxage` wins over `max-age` for a shared cache)
//! and the validators (`ETag`, `Last-Modified`) a conditional request sends back.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{header, HeaderMap};

use crate::types::{Caching, Store};

/// What came back from a (possibly conditional) fetch.
#[derive(Clone, Debug)]
pub enum Fetched {
    Full {
        bytes: Bytes,
        meta: SourceMeta,
    },
    /// `304 Not Modified`: the cached bytes are still right; `meta` may update the lifetime.
    NotModified {
        meta: SourceMeta,
    },
}

/// The validators a cached copy sends back in `If-None-Match` / `If-Modified-Since`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMeta {
    /// May not be kept at all (`no-store`, `private`).
    pub no_store: bool,
    /// `private` (a browser may keep what is made from it; no shared cache may).
    pub private: bool,
    /// Lifetime the origin gave (`s-maxage`, else `max-age`, else `Expires` less `Date`;
    /// `no-cache` counts as 0); `None` when it gave none.
    pub max_age: Option<Duration>,
    pub validators: Validators,
    /// The `Cache-Control` lines, joined, verbatim.
    pub cache_control: Option<String>,
}

impl SourceMeta {
    pub fn from_headers(headers: &HeaderMap) -> SourceMeta {
        let (mut no_store, mut no_cache, mut private) = (false, false, false);
        let (mut max_age, mut s_maxage) = (None, None);
        for value in headers.get_all(header::CACHE_CONTROL) {
            let Ok(value) = value.to_str() else { continue };
            for directive in value.split(',') {
                let (name, arg) = directive
                    .split_once('=')
                    .map_or((directive, None), |(n, a)| (n, Some(a)));
                let seconds = || {
                    arg.and_then(|a| a.trim().trim_matches('"').parse::<u64>().ok())
                        .map(Duration::from_secs)
                };
                match name.trim().to_ascii_lowercase().as_str() {
                    "no-store" => no_store = true,
                    "private" => private = true,
                    "no-cache" => no_cache = true,
                    "max-age" => max_age = seconds().or(Some(Duration::ZERO)),
                    "s-maxage" => s_maxage = seconds().or(Some(Duration::ZERO)),
                    _ => {}
                }
            }
        }
        let text = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let lines: Vec<&str> = headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        SourceMeta {
            no_store: no_store || private,
            private,
            max_age: if no_cache {
                Some(Duration::ZERO)
            } else {
                s_maxage.or(max_age).or_else(|| expires_in(headers))
            },
            validators: Validators {
                etag: text(header::ETAG),
                last_modified: text(header::LAST_MODIFIED),
            },
            cache_control: (!lines.is_empty()).then(|| lines.join(", ")),
        }
    }

    /// The rules for what is made from this copy, whose lifetime started at `since`.
    pub fn caching(&self, since: std::time::Instant) -> Caching {
        Caching {
            store: if self.private {
                Store::Private
            } else if self.no_store {
                Store::NoStore
            } else {
                Store::Public
            },
            max_age: self.max_age,
            since: Some(since),
            last_modified: self
                .validators
                .last_modified
                .as_deref()
                .and_then(|date| httpdate::parse_http_date(date).ok()),
            cache_control: self.cache_control.clone(),
        }
    }

    /// How long a copy may be reused without asking the origin: the origin's lifetime, capped by
    /// `cap` (the result cache's TTL: a result due for a refresh must not be refreshed from a
    /// source nobody has checked for longer), and `cap` when the origin gave none.
    pub fn freshness(&self, cap: Duration) -> Duration {
        self.max_age.map_or(cap, |age| age.min(cap))
    }
}

/// `Expires` less `Date` (or less now, without a `Date`); an `Expires` that is not a date means
/// "already expired" (RFC 9111, 5.3).
fn expires_in(headers: &HeaderMap) -> Option<Duration> {
    let date = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| httpdate::parse_http_date(v.trim()))
    };
    let expires = match date(header::EXPIRES)? {
        Ok(at) => at,
        Err(_) => return Some(Duration::ZERO),
    };
    let now = date(header::DATE)
        .and_then(Result::ok)
        .unwrap_or_else(SystemTime::now);
    Some(expires.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn meta(pairs: &[(&'static str, &'static str)]) -> SourceMeta {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        SourceMeta::from_headers(&headers)
    }

    #[test]
    fn lifetimes_follow_cache_control() {
        let cap = Duration::from_secs(3600);
        assert_eq!(meta(&[]).freshness(cap), cap);
        let m = meta(&[("cache-control", "public, max-age=600")]);
        assert_eq!(m.freshness(cap), Duration::from_secs(600));
        let m = meta(&[("cache-control", "max-age=600, s-maxage=60")]);
        assert_eq!(m.freshness(cap), Duration::from_secs(60));
        let m = meta(&[("cache-control", "max-age=99999")]);
        assert_eq!(m.freshness(cap), cap);
        let m = meta(&[("cache-control", "no-cache, max-age=600")]);
        assert_eq!(m.freshness(cap), Duration::ZERO);
        let m = meta(&[("cache-control", "MAX-AGE=\"30\"")]);
        assert_eq!(m.freshness(cap), Duration::from_secs(30));
        let m = meta(&[("cache-control", "max-age=abc")]);
        assert_eq!(m.freshness(cap), Duration::ZERO);
    }

    #[test]
    fn expires_counts_from_the_origin_date_and_max_age_wins_over_it() {
        let cap = Duration::from_secs(3600);
        let m = meta(&[
            ("date", "Sat, 05 Dec 2026 10:00:00 GMT"),
            ("expires", "Sat, 05 Dec 2026 10:02:00 GMT"),
        ]);
        assert_eq!(m.freshness(cap), Duration::from_secs(120));
        let m = meta(&[
            ("date", "Sat, 05 Dec 2026 10:00:00 GMT"),
            ("expires", "Sat, 05 Dec 2026 10:02:00 GMT"),
            ("cache-control", "max-age=30"),
        ]);
        assert_eq!(m.freshness(cap), Duration::from_secs(30));
        assert_eq!(meta(&[("expires", "0")]).freshness(cap), Duration::ZERO);
        assert_eq!(
            meta(&[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")]).freshness(cap),
            Duration::ZERO
        );
    }

    #[test]
    fn caching_rules_for_results() {
        let now = std::time::Instant::now();
        let private = meta(&[("cache-control", "private, max-age=60")]).caching(now);
        assert_eq!(private.store, Store::Private);
        assert_eq!(
            private.cache_control.as_deref(),
            Some("private, max-age=60")
        );
        let gone = meta(&[("cache-control", "no-store")]).caching(now);
        assert_eq!(gone.store, Store::NoStore);
        let public = meta(&[("last-modified", "Tue, 01 Dec 2026 10:00:00 GMT")]).caching(now);
        assert!(public.shared());
        assert!(public.last_modified.is_some());
        assert_eq!(public.max_age, None);
    }

    #[test]
    fn no_store_and_private_forbid_keeping() {
        assert!(meta(&[("cache-control", "no-store")]).no_store);
        assert!(meta(&[("cache-control", "private, max-age=60")]).no_store);
        assert!(!meta(&[("cache-control", "public")]).no_store);
        // Directives may be split over several header lines.
        assert!(meta(&[("cache-control", "public"), ("cache-control", "no-store")]).no_store);
    }

    #[test]
    fn validators_are_kept_verbatim() {
        let m = meta(&[
            ("etag", "W/\"abc\""),
            ("last-modified", "Tue, 01 Dec 2026 10:00:00 GMT"),
        ]);
        assert_eq!(m.validators.etag.as_deref(), Some("W/\"abc\""));
        assert_eq!(
            m.validators.last_modified.as_deref(),
            Some("Tue, 01 Dec 2026 10:00:00 GMT")
        );
        assert!(meta(&[]).validators.is_empty());
    }
}
