//! Traces over OTLP/HTTP: the tracing spans of each request (`request`, and at debug level its
//! `queue_wait`, `fetch`, `cpu_wait` and `transform` children) become OpenTelemetry spans through
//! tracing-opentelemetry, batched by the SDK and posted as protobuf to `--otlp-endpoint`.
//!
//! The SDK's batch processor exports from a thread of its own; the POST itself runs on the
//! server's tokio runtime through our hyper client ([`RuntimeClient`]), so no second HTTP or TLS
//! stack is linked. A collector that is down or slow costs a dropped batch (bounded queue, a
//! timeout per export), never a request's time.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry::Context;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::{Level, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// One export may take this long before the batch is dropped.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// A collector's answer is read up to this size (it is only a status).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// `--otlp-endpoint` and `--otlp-sample-ratio`, checked.
#[derive(Clone, Debug)]
pub struct Exporting {
    traces_url: String,
    ratio: f64,
}

impl Exporting {
    pub(super) fn new(endpoint: &str, ratio: f64) -> Result<Exporting, String> {
        let url =
            url::Url::parse(endpoint).map_err(|e| format!("--otlp-endpoint '{endpoint}': {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "--otlp-endpoint '{endpoint}' is not an http(s) URL"
            ));
        }
        // The collector's base URL gets the traces path, as OTEL_EXPORTER_OTLP_ENDPOINT does.
        let traces_url = if url.path() == "/" {
            format!("{}/v1/traces", endpoint.trim_end_matches('/'))
        } else {
            endpoint.to_owned()
        };
        Ok(Exporting { traces_url, ratio })
    }

    /// The layer that turns spans into exported traces, and the provider to flush at exit.
    pub(super) fn layer<S>(
        self,
        runtime: tokio::runtime::Handle,
    ) -> Result<(Box<dyn Layer<S> + Send + Sync>, SdkTracerProvider), String>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(RuntimeClient::new(runtime))
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(self.traces_url.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| format!("--otlp-endpoint: {e}"))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                self.ratio,
            ))))
            .with_resource(
                Resource::builder()
                    .with_service_name("imgshield")
                    .with_attribute(opentelemetry::KeyValue::new(
                        "service.version",
                        env!("CARGO_PKG_VERSION"),
                    ))
                    .build(),
            )
            .build();
        let tracer = provider.tracer("imgshield");
        // Our spans down to debug level (the request's stages); events only from info up, as
        // span events (the access line among them). Other crates' spans stay out.
        let only_ours = filter_fn(|meta| {
            if meta.is_span() {
                meta.target().starts_with("imgshield") && *meta.level() <= Level::DEBUG
            } else {
                *meta.level() <= Level::INFO
            }
        });
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(only_ours)
            .boxed();
        Ok((layer, provider))
    }
}

/// A span's identity in a trace: a caller's (from its `traceparent`), or ours once exported.
#[derive(Clone, Copy, Debug)]
pub struct Remote {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

/// Makes `span` a child of `remote` (when given) and returns the trace and span ids it is exported
/// under, and whether it is sampled; `None` when no exporter is installed (the caller's own ids
/// stand).
pub fn link(span: &tracing::Span, remote: Option<Remote>) -> Option<Remote> {
    if let Some(remote) = remote {
        let flags = if remote.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let parent = SpanContext::new(
            TraceId::from_bytes(remote.trace_id),
            SpanId::from_bytes(remote.span_id),
            flags,
            true,
            TraceState::default(),
        );
        if span
            .set_parent(Context::new().with_remote_span_context(parent))
            .is_err()
        {
            return None;
        }
    }
    let context = span.context();
    let own = context.span().span_context().clone();
    own.is_valid().then(|| Remote {
        trace_id: own.trace_id().to_bytes(),
        span_id: own.span_id().to_bytes(),
        sampled: own.is_sampled(),
    })
}

/// The exporter's HTTP client: each POST is a task on the server's runtime, awaited from the
/// SDK's export thread.
#[derive(Clone, Debug)]
struct RuntimeClient {
    runtime: tokio::runtime::Handle,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl RuntimeClient {
    fn new(runtime: tokio::runtime::Handle) -> RuntimeClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(2)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = {
            let _entered = runtime.enter();
            Client::builder(TokioExecutor::new()).build(https)
        };
        RuntimeClient { runtime, client }
    }
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let post = async move {
            let (parts, body) = request.into_parts();
            let answer = client
                .request(http::Request::from_parts(parts, Full::new(body)))
                .await?;
            let (parts, body) = answer.into_parts();
            let body = Limited::new(body, MAX_ANSWER_BYTES)
                .collect()
                .await?
                .to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        };
        // The timer belongs to the runtime: the timeout is made inside the task, not here.
        self.runtime
            .spawn(async move { tokio::time::timeout(EXPORT_TIMEOUT, post).await })
            .await
            .map_err(|e| -> HttpError { Box::new(e) })?
            .map_err(|e| -> HttpError { Box::new(e) })?
    }
}
