//! Remote http(s) origins through one pooled hyper-util client (keep-alive reuse, rustls for https).
//!
//! DNS goes through [`GuardedResolver`], which drops addresses the allowlist does not let a host
//! reach; the connector then connects to exactly those vetted addresses, so a second lookup (DNS
//! rebinding) cannot swap them. Redirects are followed here, hop by hop, each re-checked.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, Request, Response, StatusCode, Uri};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use url::Url;

use super::allow::{is_public, AllowList, Reach};
use super::breaker::{Breakers, Scope};
use super::freshness::{Fetched, SourceMeta, Validators};
use super::{read_limited, OriginConfig, OriginError};

type Connector = hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>;

const USER_AGENT: &str = concat!("imgshield/", env!("CARGO_PKG_VERSION"));

pub(super) struct RemoteOrigin {
    /// For hosts allowed by an exact entry: any address they resolve to.
    any_address: Client<Connector, Empty<Bytes>>,
    /// For hosts allowed through a wildcard: public addresses only.
    public_only: Client<Connector, Empty<Bytes>>,
    allow: Arc<AllowList>,
    max_bytes: u64,
    fetch_timeout: Duration,
    max_redirects: u8,
    breakers: Arc<Breakers>,
}

impl RemoteOrigin {
    pub(super) fn new(config: &OriginConfig, breakers: Arc<Breakers>) -> RemoteOrigin {
        RemoteOrigin {
            any_address: pooled_client(config, GuardedResolver { public_only: false }),
            public_only: pooled_client(config, GuardedResolver { public_only: true }),
            allow: Arc::new(config.allow.clone()),
            max_bytes: config.max_bytes,
            fetch_timeout: config.fetch_timeout,
            max_redirects: config.max_redirects,
            breakers,
        }
    }

    /// Fetches `url`; with `validators` (from a cached copy) the request is conditional and a
    /// `304 Not Modified` comes back as [`Fetched::NotModified`].
    pub(super) async fn fetch(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Fetched, OriginError> {
        // Not allowed at all: say so before the breaker, which only tracks allowed origins.
        if self.allow.check(url).is_none() {
            return Err(OriginError::HostNotAllowed(
                url.host_str().unwrap_or_default().to_string(),
            ));
        }
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or(0)
        );
        if let Err(open) = self.breakers.admit(&host) {
            return Err(OriginError::CircuitOpen {
                host,
                retry_after_secs: open.retry_after.as_secs().max(1),
            });
        }
        let result =
            tokio::time::timeout(self.fetch_timeout, self.fetch_following(url, validators)).await;
        let (result, scope) = match result {
            // Past the whole fetch's deadline: this source is slow (a connect timeout is the
            // host's, below).
            Err(_) => (Err(OriginError::Timeout), Scope::source(url.path())),
            Ok(result) => {
                let scope = match &result {
                    Err(OriginError::Connect(_) | OriginError::Timeout) => Scope::Host,
                    _ => Scope::source(url.path()),
                };
                (result, scope)
            }
        };
        match &result {
            Err(e) if e.is_origin_failure() => self.breakers.record_failure(&host, scope),
            _ => self.breakers.record_success(&host),
        }
        result
    }

    /// Follows redirects from `first`, hop by hop, up to `max_redirects` of them.
    async fn fetch_following(
        &self,
        first: &Url,
        validators: Option<&Validators>,
    ) -> Result<Fetched, OriginError> {
        let mut url = first.clone();
        for hop in 0..=self.max_redirects {
            let client = self.client_for(&url, hop)?;
            let request = conditional_get(&url, validators).map_err(|e| on_hop(e, &url, hop))?;
            let response = client
                .request(request)
                .await
                .map_err(|e| on_hop(classify(e, &url), &url, hop))?;
            let status = response.status();
            if status.is_success() {
                return self.read_full(response).await;
            }
            if status == StatusCode::NOT_MODIFIED && validators.is_some() {
                return Ok(Fetched::NotModified {
                    meta: SourceMeta::from_headers(response.headers()),
                });
            }
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                url = redirect_target(&url, status, response.headers())?;
                continue;
            }
            return Err(match status {
                StatusCode::NOT_FOUND | StatusCode::GONE => OriginError::NotFound,
                other => OriginError::Status(other.as_u16()),
            });
        }
        Err(OriginError::Redirect(format!(
            "more than {} redirects",
            self.max_redirects
        )))
    }

    /// The client hop number `hop` to `url` may use. Every hop is checked against the allowlist;
    /// the entry that admits it decides which addresses the connection may reach.
    fn client_for(
        &self,
        url: &Url,
        hop: u8,
    ) -> Result<&Client<Connector, Empty<Bytes>>, OriginError> {
        let Some(reach) = self.allow.check(url) else {
            let host = url.host_str().unwrap_or_default().to_string();
            return Err(if hop == 0 {
                OriginError::HostNotAllowed(host)
            } else {
                OriginError::Redirect(format!("to host '{host}', which is not allowed"))
            });
        };
        Ok(match reach {
            Reach::Any => &self.any_address,
            Reach::PublicOnly => &self.public_only,
        })
    }

    /// The body of a successful response, within the size limit, with its caching metadata.
    async fn read_full(&self, response: Response<Incoming>) -> Result<Fetched, OriginError> {
        let meta = SourceMeta::from_headers(response.headers());
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let bytes = read_limited(response.into_body(), declared, self.max_bytes).await?;
        Ok(Fetched::Full { bytes, meta })
    }
}

/// A GET of `url`, conditional when a cached copy's `validators` are given.
fn conditional_get(
    url: &Url,
    validators: Option<&Validators>,
) -> Result<Request<Empty<Bytes>>, OriginError> {
    let uri: Uri = url
        .as_str()
        .parse()
        .map_err(|e: http::uri::InvalidUri| OriginError::UnusableUrl(e.to_string()))?;
    let mut request = Request::get(uri)
        .header(header::USER_AGENT, USER_AGENT)
        .header(header::ACCEPT, "image/*,*/*;q=0.8");
    if let Some(v) = validators {
        if let Some(etag) = &v.etag {
            request = request.header(header::IF_NONE_MATCH, etag.as_str());
        }
        if let Some(modified) = &v.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, modified.as_str());
        }
    }
    request
        .body(Empty::new())
        .map_err(|e| OriginError::UnusableUrl(e.to_string()))
}

/// What a refusal of the URL means on hop `hop`: on the first, the client's URL is refused; on a
/// redirect, the origin's redirect is (502, as documented), whatever refused the target.
fn on_hop(error: OriginError, url: &Url, hop: u8) -> OriginError {
    let host = url.host_str().unwrap_or_default();
    match error {
        OriginError::NotPublic(_) if hop > 0 => OriginError::Redirect(format!(
            "to host '{host}', which resolves only to non-public addresses"
        )),
        OriginError::UnusableUrl(why) if hop > 0 => {
            OriginError::Redirect(format!("to a URL that cannot be requested: {why}"))
        }
        other => other,
    }
}

/// Where a redirect response points: its `Location` resolved against `url`, http(s) only.
fn redirect_target(url: &Url, status: StatusCode, headers: &HeaderMap) -> Result<Url, OriginError> {
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| OriginError::Redirect(format!("{status} without a Location")))?;
    let next = url
        .join(location)
        .map_err(|e| OriginError::Redirect(format!("bad Location '{location}': {e}")))?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(OriginError::Redirect(format!(
            "to a '{}' URL",
            next.scheme()
        )));
    }
    Ok(next)
}

/// A keep-alive pool of http/https connections resolved through `resolver`.
fn pooled_client(
    config: &OriginConfig,
    resolver: GuardedResolver,
) -> Client<Connector, Empty<Bytes>> {
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.enforce_http(false);
    http.set_connect_timeout(Some(config.connect_timeout));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(32)
        .build(https)
}

/// Sorts a client error for `url` into refused (our resolver said no), timed out, or could not
/// connect.
fn classify(err: hyper_util::client::legacy::Error, url: &Url) -> OriginError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::PermissionDenied => {
                    return OriginError::NotPublic(url.host_str().unwrap_or_default().to_string())
                }
                io::ErrorKind::TimedOut => return OriginError::Timeout,
                _ => {}
            }
        }
        source = e.source();
    }
    if err.is_connect() {
        OriginError::Connect(error_chain(&err))
    } else {
        OriginError::Body(error_chain(&err))
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Resolves names with the system resolver; with `public_only`, drops every non-public address
/// (and fails if none is left), so the connector can only ever connect to vetted addresses.
#[derive(Clone)]
pub(super) struct GuardedResolver {
    public_only: bool,
}

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let public_only = self.public_only;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !public_only {
                return Ok(addrs.into_iter());
            }
            let public: Vec<SocketAddr> = addrs.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("'{host}' resolves only to non-public addresses"),
                ));
            }
            Ok(public.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use tower_service::Service;

    #[tokio::test]
    async fn a_name_resolving_privately_is_403_first_and_a_refused_redirect_after() {
        let config = OriginConfig {
            root: std::env::temp_dir(),
            allow: AllowList::default(),
            max_bytes: 1 << 20,
            connect_timeout: Duration::from_secs(2),
            fetch_timeout: Duration::from_secs(2),
            max_redirects: 1,
            s3_buckets: None,
        };
        // The client a wildcard entry gets; `localhost` resolves (through /etc/hosts) to loopback.
        let client = pooled_client(&config, GuardedResolver { public_only: true });
        let url = Url::parse("http://localhost:9/a.jpg").expect("url");
        let request = conditional_get(&url, None).expect("request");
        let err = client.request(request).await.expect_err("refused");
        let refused = classify(err, &url);
        assert_eq!(refused, OriginError::NotPublic("localhost".into()));
        assert_eq!(on_hop(refused.clone(), &url, 0), refused);
        let redirected = on_hop(refused, &url, 1);
        assert!(
            matches!(&redirected, OriginError::Redirect(why) if why.contains("non-public")),
            "{redirected:?}"
        );
        assert!(!redirected.is_origin_failure());
    }

    #[tokio::test]
    async fn the_public_only_resolver_refuses_names_resolving_to_loopback() {
        // `localhost` resolves through /etc/hosts: a real lookup, no network needed.
        let name = Name::from_str("localhost").expect("name");
        let refused = GuardedResolver { public_only: true }
            .call(name.clone())
            .await;
        let err = refused.expect_err("loopback is refused");
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        let any = GuardedResolver { public_only: false }
            .call(name)
            .await
            .expect("resolves");
        assert!(any.into_iter().all(|a| a.ip().is_loopback()));
    }
}
