//! The response for a rendered body: status (200, or 304 for a matching `If-None-Match`),
//! `Content-Type`, `Cache-Control` (shorter for a stale answer), `ETag`, `Vary`, `X-Cache` and
//! `X-Engine`. Shared by every rendering route.

use std::time::SystemTime;

use super::lookup::Lookup;
use super::*;
use crate::types::{Caching, Store};

impl App {
    pub(super) fn image_response<B>(
        &self,
        r: &Rendition,
        request: &Request<B>,
        negotiated: bool,
        lookup: Lookup,
    ) -> Response<Body> {
        let not_modified = match request.headers().get(header::IF_NONE_MATCH) {
            Some(inm) => etag_matches(inm, &r.etag),
            // If-Modified-Since counts only without If-None-Match (RFC 9110, 13.1.3).
            None => not_modified_since(request.headers(), r.caching.last_modified),
        };
        let head = request.method() == Method::HEAD;
        let (status, body) = if not_modified {
            (StatusCode::NOT_MODIFIED, Bytes::new())
        } else {
            if !head {
                self.metrics.response_bytes.inc_by(r.body.len() as u64);
            }
            // HEAD gets the body too: hyper sends its length and drops the bytes (a refcount, no copy).
            (StatusCode::OK, r.body.clone())
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        let headers: &mut HeaderMap = response.headers_mut();
        if !not_modified {
            headers.insert(header::CONTENT_TYPE, r.content_type.clone());
        }
        if matches!(lookup, Lookup::Stale | Lookup::Revalidating) {
            // Short-lived downstream: a CDN should come back soon for the fresh version.
            headers.insert(header::CACHE_CONTROL, self.stale_cache_control.clone());
            headers.insert(
                header::WARNING,
                HeaderValue::from_static("110 - \"Response is Stale\""),
            );
        } else {
            headers.insert(header::CACHE_CONTROL, self.cache_control_for(&r.caching));
        }
        headers.insert(header::ETAG, r.etag.clone());
        if let Some(modified) = &r.last_modified {
            headers.insert(header::LAST_MODIFIED, modified.clone());
        }
        if negotiated {
            headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        }
        headers.insert("x-cache", HeaderValue::from_static(lookup.header()));
        headers.insert("x-engine", HeaderValue::from_static(r.engine));
        response
    }
}

impl App {
    /// `Cache-Control` for a result: the origin's own header with `--cache-control-passthrough`;
    /// else `no-store` or `private` when the origin said so, and a `max-age` that is the smaller of
    /// what is left of the origin's lifetime and `--max-age`.
    fn cache_control_for(&self, caching: &Caching) -> HeaderValue {
        if self.cache_control_passthrough {
            if let Some(value) = caching
                .cache_control
                .as_deref()
                .and_then(|raw| HeaderValue::from_str(raw).ok())
            {
                return value;
            }
        }
        let seconds = |cap: u64| {
            caching
                .remaining()
                .map_or(cap, |left| left.as_secs().min(cap))
        };
        let value = match caching.store {
            Store::NoStore => return HeaderValue::from_static("no-store"),
            Store::Private => format!("private, max-age={}", seconds(self.max_age)),
            Store::Public if caching.max_age.is_none() => return self.cache_control.clone(),
            Store::Public => format!(
                "public, max-age={}{}",
                seconds(self.max_age),
                self.stale_directives
            ),
        };
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("no-store"))
    }
}

/// Whether `If-Modified-Since` names a time at or after `last_modified` (whole seconds, as HTTP
/// dates have).
fn not_modified_since(headers: &HeaderMap, last_modified: Option<SystemTime>) -> bool {
    let (Some(modified), Some(since)) = (
        last_modified,
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v.trim()).ok()),
    ) else {
        return false;
    };
    let whole = |t: SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    whole(modified) <= whole(since)
}
