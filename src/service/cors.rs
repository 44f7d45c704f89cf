//! CORS for the image routes (`/resize`, `/text`, `/info`), off unless `--cors-origin` is given:
//! `Access-Control-Allow-Origin` on every answer (errors too, so a page's script can read them),
//! the headers a script may read, and preflight `OPTIONS` answers. With `*`, every origin gets `*`
//! (the answer does not vary); with a list, a listed `Origin` is echoed and every answer says
//! `Vary: Origin`, so a shared cache never hands one site's answer to another.

use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;

use super::Body;

/// How long a browser may reuse a preflight answer (one day).
const PREFLIGHT_MAX_AGE: &str = "86400";
/// Response headers a page's script may read besides the CORS-safelisted ones.
const EXPOSED: &str = "ETag, X-Cache, X-Engine, Content-Disposition";

/// The configured origins.
pub(super) enum Cors {
    Any,
    Listed(Vec<HeaderValue>),
}

impl Cors {
    /// `None` without `--cors-origin`; an error names an origin that is not `scheme://host[:port]`.
    pub(super) fn from_config(origins: &[String]) -> Result<Option<Cors>, String> {
        if origins.is_empty() {
            return Ok(None);
        }
        if origins.iter().any(|o| o == "*") {
            return Ok(Some(Cors::Any));
        }
        origins
            .iter()
            .map(|origin| parse_origin(origin))
            .collect::<Result<Vec<_>, _>>()
            .map(|listed| Some(Cors::Listed(listed)))
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if it may read.
    fn allowed(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match self {
            Cors::Any => Some(HeaderValue::from_static("*")),
            Cors::Listed(listed) => {
                let origin = origin?;
                listed
                    .iter()
                    .find(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
                    .map(|_| origin.clone())
            }
        }
    }

    /// Adds the CORS headers to an answer of an image route.
    pub(super) fn apply(&self, request_headers: &HeaderMap, response: &mut HeaderMap) {
        if let Cors::Listed(_) = self {
            response.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        if let Some(allow) = self.allowed(request_headers.get(header::ORIGIN)) {
            response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
            response.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED),
            );
        }
    }

    /// Whether `request` is a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`).
    pub(super) fn is_preflight<B>(request: &Request<B>) -> bool {
        request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// 204 with what a page may do: `GET`/`HEAD`, and the request headers it asked for when they
    /// are plain header names (a browser sends e.g. `Accept`, `If-None-Match`).
    pub(super) fn preflight<B>(&self, request: &Request<B>) -> Response<Body> {
        let mut response = Response::new(Full::default());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD"),
        );
        if let Some(asked) = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .filter(|v| is_header_name_list(v.as_bytes()))
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        self.apply(request.headers(), headers);
        response
    }
}

/// `scheme://host[:port]`, lower-cased, as browsers send `Origin`.
fn parse_origin(origin: &str) -> Result<HeaderValue, String> {
    let refuse = || format!("--cors-origin '{origin}' is not scheme://host[:port] or *");
    let url = url::Url::parse(origin).map_err(|_| refuse())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !bare || url.host_str().is_none() || !origin.trim_end_matches('/').contains("://") {
        return Err(refuse());
    }
    HeaderValue::from_str(&url.origin().ascii_serialization()).map_err(|_| refuse())
}

/// A comma-separated list of header-name tokens, at most 1 KiB.
fn is_header_name_list(value: &[u8]) -> bool {
    value.len() <= 1024
        && value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-_, ".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed() -> Cors {
        let origins = [
            "https://shop.example.com".to_owned(),
            "http://a.test:8080".to_owned(),
        ];
        Cors::from_config(&origins)
            .expect("valid")
            .expect("configured")
    }

    fn answer(cors: &Cors, origin: Option<&'static str>) -> HeaderMap {
        let mut request = HeaderMap::new();
        if let Some(origin) = origin {
            request.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        let mut response = HeaderMap::new();
        cors.apply(&request, &mut response);
        response
    }

    #[test]
    fn a_listed_origin_is_echoed_and_every_answer_varies() {
        let cors = listed();
        let yes = answer(&cors, Some("https://shop.example.com"));
        assert_eq!(
            yes[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://shop.example.com"
        );
        assert_eq!(yes[header::VARY], "Origin");
        let other = answer(&cors, Some("https://evil.example"));
        assert!(!other.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(other[header::VARY], "Origin");
        assert!(!answer(&cors, None).contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        let port = answer(&cors, Some("http://a.test:8080"));
        assert_eq!(
            port[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://a.test:8080"
        );
    }

    #[test]
    fn any_origin_is_a_star_without_vary() {
        let cors = Cors::from_config(&["*".to_owned()])
            .expect("valid")
            .expect("on");
        let answer = answer(&cors, Some("https://x.example"));
        assert_eq!(answer[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(!answer.contains_key(header::VARY));
    }

    #[test]
    fn origins_must_be_bare() {
        for bad in [
            "shop.example.com",
            "https://a.example/path",
            "https://a.example/?q",
            "*.example.com",
        ] {
            assert!(Cors::from_config(&[bad.to_owned()]).is_err(), "{bad}");
        }
        assert!(Cors::from_config(&[]).expect("valid").is_none());
        assert!(Cors::from_config(&["https://a.example/".to_owned()]).is_ok());
    }
}
