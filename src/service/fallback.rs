//! Fallback images: with `--fallback-image` (and per status class `--fallback-image-4xx`,
//! `--fallback-image-5xx`), a failed `/resize` or `/text` answers with an image instead of a JSON
//! body, so an `<img>` shows a placeholder, not a broken icon. The image is a file or an http(s)
//! URL read once at start-up (a missing or undecodable one stops the start). The answer keeps the
//! error's status (or `200` with `--fallback-status 200`), says `Fallback-Image: 1` and the error's
//! code in `X-Error-Code` (so a CDN or a script can tell), and carries a short `Cache-Control`
//! (`--fallback-max-age`): a CDN must not keep a placeholder for a year.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::Body;
use crate::config::{Config, FallbackStatus};
use crate::error::Error;

/// Largest fallback image read (a placeholder, not a photo).
const MAX_FALLBACK_BYTES: usize = 8 << 20;

/// One loaded image.
#[derive(Debug)]
struct Image {
    body: Bytes,
    content_type: HeaderValue,
}

/// The configured fallbacks.
#[derive(Debug)]
pub struct Fallbacks {
    any: Option<Image>,
    client: Option<Image>,
    server: Option<Image>,
    ok_status: bool,
    cache_control: HeaderValue,
}

impl Fallbacks {
    /// Reads the configured images; `None` when none is configured.
    pub async fn load(config: &Config) -> Result<Option<Fallbacks>, String> {
        let any = load_one(config.fallback_image.as_deref()).await?;
        let client = load_one(config.fallback_image_4xx.as_deref()).await?;
        let server = load_one(config.fallback_image_5xx.as_deref()).await?;
        if any.is_none() && client.is_none() && server.is_none() {
            return Ok(None);
        }
        let cache_control = HeaderValue::from_str(&format!(
            "public, max-age={}",
            config.fallback_max_age.as_secs()
        ))
        .map_err(|e| e.to_string())?;
        Ok(Some(Fallbacks {
            any,
            client,
            server,
            ok_status: config.fallback_status == FallbackStatus::Ok,
            cache_control,
        }))
    }

    /// The fallback answer for `error`, if an image is configured for its status class.
    pub(super) fn answer(&self, error: &Error) -> Option<Response<Body>> {
        let status = error.status();
        let image = if status.is_client_error() {
            self.client.as_ref().or(self.any.as_ref())
        } else {
            self.server.as_ref().or(self.any.as_ref())
        }?;
        let mut response = Response::new(Full::new(image.body.clone()));
        *response.status_mut() = if self.ok_status {
            StatusCode::OK
        } else {
            status
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, image.content_type.clone());
        headers.insert(header::CACHE_CONTROL, self.cache_control.clone());
        headers.insert("fallback-image", HeaderValue::from_static("1"));
        headers.insert("x-error-code", HeaderValue::from_static(error.code()));
        // The error's own headers still hold (Retry-After on 503, Allow on 405).
        let original = error.to_response();
        for name in [header::RETRY_AFTER, header::ALLOW] {
            if let Some(value) = original.headers().get(&name) {
                headers.insert(name, value.clone());
            }
        }
        Some(response)
    }
}

/// A file path or an http(s) URL, read and checked to be an image libvips can describe.
async fn load_one(location: Option<&str>) -> Result<Option<Image>, String> {
    let Some(location) = location else {
        return Ok(None);
    };
    let bytes = if location.starts_with("http://") || location.starts_with("https://") {
        download(location).await?
    } else {
        // Start-up only: a small blocking read is fine here.
        let bytes =
            std::fs::read(location).map_err(|e| format!("fallback image '{location}': {e}"))?;
        if bytes.len() > MAX_FALLBACK_BYTES {
            return Err(format!("fallback image '{location}' is over 8 MiB"));
        }
        Bytes::from(bytes)
    };
    let described = crate::engine::info::describe(&bytes)
        .map_err(|e| format!("fallback image '{location}' is not an image: {e}"))?;
    let mime = match described.format {
        "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "avif" => "image/avif",
        other => {
            return Err(format!(
                "fallback image '{location}' is {other}; use JPEG, PNG, WebP, GIF or AVIF"
            ))
        }
    };
    Ok(Some(Image {
        body: bytes,
        content_type: HeaderValue::from_static(mime),
    }))
}

/// Fetches `url` once (the operator's own URL: no allowlist), within 10 s and 8 MiB.
async fn download(url: &str) -> Result<Bytes, String> {
    let fail = |e: &dyn std::fmt::Display| format!("fallback image '{url}': {e}");
    let uri: http::Uri = url.parse().map_err(|e| fail(&e))?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let fetch = async {
        let answer = client.get(uri).await.map_err(|e| fail(&e))?;
        if !answer.status().is_success() {
            return Err(fail(&answer.status()));
        }
        Limited::new(answer.into_body(), MAX_FALLBACK_BYTES)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|e| fail(&e))
    };
    tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .map_err(|_| fail(&"no answer within 10 s"))?
}
