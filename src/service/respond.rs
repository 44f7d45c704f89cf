//! The response for a rendered body: status (200, or 304 for a matching `If-None-Match`),
//! `Content-Type`, `Cache-Control` (shorter for a stale answer), `ETag`, `Vary`, `X-Cache` and
//! `X-Engine`. Shared by every rendering route.

use super::lookup::Lookup;
use super::*;

impl App {
    pub(super) fn image_response<B>(
        &self,
        r: &Rendition,
        request: &Request<B>,
        negotiated: bool,
        lookup: Lookup,
    ) -> Response<Body> {
        let not_modified = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .is_some_and(|inm| etag_matches(inm, &r.etag));
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
        if lookup == Lookup::Stale {
            // Short-lived downstream: a CDN should come back soon for the fresh version.
            headers.insert(header::CACHE_CONTROL, self.stale_cache_control.clone());
            headers.insert(
                header::WARNING,
                HeaderValue::from_static("110 - \"Response is Stale\""),
            );
        } else {
            headers.insert(header::CACHE_CONTROL, self.cache_control.clone());
        }
        headers.insert(header::ETAG, r.etag.clone());
        if negotiated {
            headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        }
        headers.insert("x-cache", HeaderValue::from_static(lookup.header()));
        headers.insert("x-engine", HeaderValue::from_static(r.engine));
        response
    }
}
