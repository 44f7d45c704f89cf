//! The one place a failure becomes an HTTP status, a public JSON body and a metric label.
//!
//! Who caused it decides the class: the client -> 4xx, the source or origin -> 404/422/502/504,
//! our own capacity -> 503 with `Retry-After`, ourselves -> 500. Logging is the caller's business.
//!
//! The public message is ours alone: text that comes from libvips, hyper, the resolver or the OS
//! (decoder complaints, connection errors, internal host names) stays in the `Display` form, which
//! goes to the log line only.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;

use crate::engine::{EngineError, PlanError};
use crate::origin::OriginError;
use crate::params::ParamError;
use crate::render::RenderError;
use crate::signature::SignatureError;
use crate::workers::WorkerError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("the source has {pixels} pixels, more than the {max} allowed")]
    TooManyPixels { pixels: u64, max: u64 },
    #[error("the source has {frames} frames or pages, more than the {max} allowed")]
    TooManyFrames { frames: u32, max: u32 },
    #[error("{0}")]
    TooComplex(String),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error("'engine' may only be chosen on signed URLs or when the server allows it")]
    EngineParamNotAllowed,
    #[error("the URL is longer than the {max} bytes allowed")]
    UrlTooLong { max: usize },
    #[error(
        "no such route; try /resize, /info, /text, /healthz, /readyz, /metrics, /stats or /dashboard"
    )]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("internal error: {0}")]
    Internal(String),
    /// Not a failure: a result its origin forbids shared caches to keep (`no-store`, `private`),
    /// handed to every request that waited for it without entering the result cache.
    /// `service::lookup` turns it back into an answer; it never reaches a client as an error.
    #[error("a result that may not be kept in a shared cache")]
    Uncacheable(std::sync::Arc<crate::cache::Rendition>),
}

impl From<RenderError> for Error {
    fn from(error: RenderError) -> Error {
        match error {
            RenderError::Param(e) => Error::Param(e),
            RenderError::Engine(e) => Error::Engine(e),
            RenderError::Plan(e) => Error::Plan(e),
            RenderError::TooManyPixels { pixels, max } => Error::TooManyPixels { pixels, max },
            RenderError::TooManyFrames { frames, max } => Error::TooManyFrames { frames, max },
            RenderError::TooComplex(why) => Error::TooComplex(why),
        }
    }
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Param(_) | Error::Plan(_) => StatusCode::BAD_REQUEST,
            Error::Signature(_) | Error::EngineParamNotAllowed => StatusCode::FORBIDDEN,
            Error::Engine(EngineError::UnsupportedFormat(_)) => StatusCode::BAD_REQUEST,
            Error::Engine(EngineError::Undecodable(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Engine(EngineError::Timeout(_) | EngineError::WouldTimeOut(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Error::Engine(EngineError::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Engine(EngineError::NotImplemented(_)) => StatusCode::NOT_IMPLEMENTED,
            Error::TooManyPixels { .. } | Error::TooManyFrames { .. } | Error::TooComplex(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Error::Origin(e) => match e {
                OriginError::NotFound => StatusCode::NOT_FOUND,
                OriginError::HostNotAllowed(_)
                | OriginError::NotPublic(_)
                | OriginError::PathEscapesRoot => StatusCode::FORBIDDEN,
                OriginError::UnusableUrl(_) => StatusCode::BAD_REQUEST,
                OriginError::TooLarge { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                OriginError::Timeout => StatusCode::GATEWAY_TIMEOUT,
                OriginError::Status(_)
                | OriginError::Connect(_)
                | OriginError::Body(_)
                | OriginError::Redirect(_) => StatusCode::BAD_GATEWAY,
                OriginError::Local(_) => StatusCode::INTERNAL_SERVER_ERROR,
                OriginError::CircuitOpen { .. } => StatusCode::SERVICE_UNAVAILABLE,
            },
            Error::Worker(
                WorkerError::QueueFull
                | WorkerError::QueueTimeout(_)
                | WorkerError::OverMemoryBudget { .. }
                | WorkerError::Abandoned,
            ) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Worker(WorkerError::Crashed(_)) | Error::Internal(_) | Error::Uncacheable(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Error::RouteNotFound => StatusCode::NOT_FOUND,
            Error::UrlTooLong { .. } => StatusCode::URI_TOO_LONG,
            Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// Whether a stale cached result should be served instead of this error: the origin is failing
    /// or we are overloaded, not "this image is gone or bad".
    pub fn serves_stale(&self) -> bool {
        match self {
            Error::Origin(e) => e.is_origin_failure(),
            Error::Worker(
                WorkerError::QueueFull
                | WorkerError::QueueTimeout(_)
                | WorkerError::OverMemoryBudget { .. },
            ) => true,
            _ => false,
        }
    }

    /// A stable machine-readable code: the `code` of the JSON body and the `kind` metric label.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Param(_) => "invalid_parameter",
            Error::Signature(SignatureError::Missing) => "signature_required",
            Error::Signature(SignatureError::Invalid) => "invalid_signature",
            Error::Plan(PlanError::OutputTooLarge { .. }) => "output_too_large",
            Error::Plan(PlanError::TooLargeForFormat { .. }) => "output_too_large_for_format",
            Error::Plan(PlanError::CropOutside { .. }) => "crop_outside_image",
            Error::Engine(EngineError::UnsupportedFormat(_)) => "unsupported_format",
            Error::Engine(EngineError::Undecodable(_)) => "undecodable_source",
            Error::Engine(EngineError::Timeout(_) | EngineError::WouldTimeOut(_)) => {
                "processing_timeout"
            }
            Error::Engine(EngineError::Internal(_)) => "processing_failed",
            Error::Engine(EngineError::NotImplemented(_)) => "not_implemented",
            Error::TooManyPixels { .. } => "source_too_many_pixels",
            Error::TooManyFrames { .. } => "source_too_many_frames",
            Error::TooComplex(_) => "source_too_complex",
            Error::Origin(e) => match e {
                OriginError::NotFound => "source_not_found",
                OriginError::HostNotAllowed(_) | OriginError::NotPublic(_) => "host_not_allowed",
                OriginError::UnusableUrl(_) => "invalid_parameter",
                OriginError::PathEscapesRoot => "path_not_allowed",
                OriginError::TooLarge { .. } => "source_too_large",
                OriginError::Timeout => "origin_timeout",
                OriginError::Status(_) => "origin_error_status",
                OriginError::Connect(_) => "origin_unreachable",
                OriginError::Body(_) => "origin_body_failed",
                OriginError::Redirect(_) => "origin_redirect_refused",
                OriginError::Local(_) => "local_read_failed",
                OriginError::CircuitOpen { .. } => "origin_circuit_open",
            },
            Error::Worker(WorkerError::QueueFull | WorkerError::QueueTimeout(_)) => "overloaded",
            Error::Worker(WorkerError::OverMemoryBudget { .. }) => "over_memory_budget",
            Error::Worker(WorkerError::Abandoned) => "abandoned",
            Error::Worker(WorkerError::Crashed(_)) | Error::Internal(_) | Error::Uncacheable(_) => {
                "internal"
            }
            Error::RouteNotFound => "not_found",
            Error::UrlTooLong { .. } => "url_too_long",
            Error::EngineParamNotAllowed => "engine_param_not_allowed",
            Error::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }

    /// What the client is told. Internal failures say nothing about our insides; the log has them.
    pub fn public_message(&self) -> String {
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            return "internal error".to_string();
        }
        let fixed = match self {
            Error::Engine(EngineError::Undecodable(_)) => {
                "the source is not a decodable image: not an image, a blocked format, truncated or corrupt"
            }
            Error::Origin(e) => match e {
                // The same words as a host missing from the list: which names resolve where
                // inside the network is nobody's business.
                OriginError::NotPublic(host) | OriginError::HostNotAllowed(host) => {
                    return format!("host '{host}' is not an allowed origin");
                }
                OriginError::UnusableUrl(_) => "the URL cannot be requested",
                OriginError::Connect(_) => "cannot connect to the origin",
                OriginError::Body(_) => "the origin's response broke off",
                OriginError::Redirect(_) => {
                    "the origin's redirect was refused: a loop, too many redirects, or a target that is not allowed"
                }
                _ => return self.to_string(),
            },
            _ => return self.to_string(),
        };
        fixed.to_string()
    }

    /// `{"code": "...", "message": "..."}` with `Cache-Control: no-store`: errors are never cached,
    /// here or by a CDN in front.
    pub fn to_response(&self) -> Response<Full<Bytes>> {
        let body = serde_json::json!({ "code": self.code(), "message": self.public_message() });
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            Error::Worker(WorkerError::QueueFull | WorkerError::QueueTimeout(_)) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Error::Origin(OriginError::CircuitOpen {
                retry_after_secs, ..
            }) => {
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    headers.insert(header::RETRY_AFTER, value);
                }
            }
            Error::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_cause_maps_to_its_class() {
        let cases: Vec<(Error, u16)> = vec![
            (ParamError::MissingSrc.into(), 400),
            (OriginError::NotFound.into(), 404),
            (OriginError::HostNotAllowed("x".into()).into(), 403),
            (OriginError::Status(500).into(), 502),
            (OriginError::Connect("refused".into()).into(), 502),
            (OriginError::Timeout.into(), 504),
            (OriginError::TooLarge { limit: 1 }.into(), 422),
            (EngineError::Undecodable("x".into()).into(), 422),
            (
                EngineError::WouldTimeOut("25 MP of lossless WebP".into()).into(),
                422,
            ),
            (Error::TooManyPixels { pixels: 2, max: 1 }, 422),
            (Error::TooManyFrames { frames: 2, max: 1 }, 422),
            (Error::TooComplex("2000 scans".into()), 422),
            (WorkerError::QueueFull.into(), 503),
            (
                WorkerError::QueueTimeout(Duration::from_secs(5)).into(),
                503,
            ),
            (
                WorkerError::OverMemoryBudget {
                    needed_mib: 2,
                    budget_mib: 1,
                }
                .into(),
                503,
            ),
            (EngineError::Internal("secret detail".into()).into(), 500),
            (EngineError::NotImplemented("CMYK".into()).into(), 501),
        ];
        for (error, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn internal_details_stay_out_of_the_body() {
        let response = Error::Engine(EngineError::Internal("secret detail".into())).to_response();
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let full = format!("{:?}", response.body());
        assert!(!full.contains("secret"), "{full}");
    }

    #[test]
    fn public_messages_carry_no_library_text() {
        let detail = "DETAIL from hyper/libvips/os";
        let cases: Vec<Error> = vec![
            OriginError::Connect(detail.into()).into(),
            OriginError::Body(detail.into()).into(),
            OriginError::Redirect(detail.into()).into(),
            OriginError::UnusableUrl(detail.into()).into(),
            OriginError::Local(detail.into()).into(),
            EngineError::Undecodable(detail.into()).into(),
            EngineError::Internal(detail.into()).into(),
            WorkerError::Crashed(detail.into()).into(),
            Error::Internal(detail.into()),
        ];
        for error in cases {
            let message = error.public_message();
            assert!(!message.contains("DETAIL"), "{error:?}: {message}");
            assert!(error.to_string().contains("DETAIL"), "the log keeps it");
        }
        // A wildcard name resolving inside the network reads like any host not allowed.
        let private = Error::from(OriginError::NotPublic("db.example.com".into()));
        let absent = Error::from(OriginError::HostNotAllowed("db.example.com".into()));
        assert_eq!(private.public_message(), absent.public_message());
        assert_eq!(
            (private.status(), private.code()),
            (absent.status(), absent.code())
        );
        assert_eq!(private.public_message().matches('\'').count(), 2);
    }

    #[test]
    fn overload_says_when_to_retry() {
        let response = Error::Worker(WorkerError::QueueFull).to_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
