//! Routing, the shared application state, and one log line and metric set per request. The
//! `/resize` flow itself lives in `resize` (with the cache lookup both routes share), `/info` in
//! `info`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use moka::ops::compute::{CompResult, Op};

use crate::cache::{etag_matches, result_cache, CacheKey, Rendition, ResultCache};
use crate::config::Config;
use crate::engine::select::Selection;
use crate::engine::vips::{Derivatives, OnLookup};
use crate::engine::Engine;
use crate::error::Error;
use crate::metrics::{
    status_class, BuildLabels, CacheLabels, HttpLabels, KindLabels, Metrics, OriginLabels,
};
use crate::origin::{AllowList, Breakers, Origin, OriginConfig, SourceCache};
use crate::params::{FormatChoice, InfoParams, ParamLimits, Params, Presets, Qualities, Source};
use crate::render::Renderer;
use crate::signature::Signer;
use crate::workers::Workers;

mod budget;
mod cors;
mod disposition;
mod fallback;
mod gauges;
mod hints;
mod inflight;
mod info;
mod lookup;
mod rejected;
mod resize;
mod respond;
mod route;
mod stats;
mod text;
mod trace;

use cors::Cors;
pub use fallback::Fallbacks;
use inflight::InFlight;
use route::{log_request, Note, Outcome, Route};
use stats::{Stats, DASHBOARD_HTML};
use trace::TraceContext;

pub type Body = Full<Bytes>;

/// Decodes above this are not kept: 16 MP is a 2x intermediate for outputs up to ~2800x1900, and
/// one such decode is 48 MB of pixels.
const MAX_INTERMEDIATE_PIXELS: u64 = 16_000_000;

/// `max-age` of a stale response, in seconds: downstream caches should ask again soon.
const STALE_MAX_AGE: u64 = 60;

/// The application: everything a request needs, shared by all connections.
pub struct App {
    /// The engines and limits: what turns fetched bytes into a response body.
    renderer: Arc<Renderer>,
    /// The libvips engine's decode cache, for its gauge.
    derivatives: Option<Derivatives>,
    /// Whether `engine=` is honoured (`--allow-engine-param`, or every URL is signed).
    allow_engine_param: bool,
    origin: Origin,
    cache: ResultCache,
    workers: Workers,
    /// The misses being made, with who waits for each (see `inflight`).
    inflight: InFlight,
    metrics: Arc<Metrics>,
    limits: ParamLimits,
    max_url_bytes: usize,
    cache_control: HeaderValue,
    /// `--max-age`, the longest lifetime downstream caches are given.
    max_age: u64,
    /// `, stale-while-revalidate=N, stale-if-error=M` for public answers (may be empty).
    stale_directives: String,
    /// `--cache-control-passthrough`: answer with the origin's own `Cache-Control`.
    cache_control_passthrough: bool,
    stale_cache_control: HeaderValue,
    cache_ttl: Duration,
    /// `--stale-while-revalidate`: how long past the TTL a result is served while it refreshes.
    stale_while_revalidate: Duration,
    /// `--cache-ttl` + the longer stale window: no result older than this is served at all.
    keep_for: Duration,
    /// The storage tiers behind the memory cache (`--disk-cache-dir`, ...), in lookup order.
    tiers: crate::store::Tiers,
    /// Keys being refreshed in the background (one refresh per key).
    refreshing: std::sync::Mutex<std::collections::HashSet<CacheKey>>,
    signer: Option<Signer>,
    /// `--cors-origin`: CORS headers on the image routes.
    cors: Option<Cors>,
    /// `--fallback-image*`: images answered for failed `/resize` and `/text` requests.
    fallbacks: Option<Fallbacks>,
    /// `--client-hints`, `--save-data-quality` (never with `--presets-only`).
    hints: Option<hints::ClientHints>,
    ready: AtomicBool,
    /// What `/stats` and the `/dashboard` page show.
    stats: Stats,
}

/// The derivative cache's lookup callback: counts each result in
/// `imgshield_derivative_cache_lookups_total{result}`.
fn count_derivative_lookups(
    lookups: prometheus_client::metrics::family::Family<
        CacheLabels,
        prometheus_client::metrics::counter::Counter,
    >,
) -> OnLookup {
    OnLookup::new(move |lookup| {
        lookups
            .get_or_create(&CacheLabels {
                result: lookup.as_str(),
            })
            .inc();
    })
}

/// The origin: the allowlist, the per-origin breakers, the local root and the source cache.
fn origin(config: &Config, root: &std::path::Path, metrics: &Metrics) -> Result<Origin, String> {
    let allow = AllowList::parse(&config.allow_hosts)?;
    let breakers = Breakers::new(
        config.breaker_failures,
        config.breaker_cooldown,
        metrics.origin_circuits_open.clone(),
        metrics.origin_circuit_trips.clone(),
    );
    Origin::new(
        OriginConfig {
            root: root.to_path_buf(),
            allow,
            max_bytes: config.max_src_bytes,
            connect_timeout: config.connect_timeout,
            fetch_timeout: config.fetch_timeout,
            max_redirects: config.max_redirects,
            s3_buckets: s3_buckets(config)?,
        },
        breakers,
        (config.source_cache_bytes > 0).then(|| {
            SourceCache::new(
                config.source_cache_bytes,
                config.cache_ttl,
                config.cache_ttl.saturating_add(config.stale_grace),
                metrics.source_cache_lookups.clone(),
            )
        }),
    )
}

/// Clients for the buckets `s3://` sources may name; `None` without any.
fn s3_buckets(config: &Config) -> Result<Option<crate::objstore::Buckets>, String> {
    if config.s3.allow_buckets.is_empty() {
        return Ok(None);
    }
    let names = config.s3.allow_buckets.iter().map(String::as_str);
    crate::objstore::Buckets::new(&crate::objstore::S3Settings::from_config(config), names)
        .map(Some)
}

impl App {
    /// Builds the app for `config`, reading images below `root` for relative `src` paths.
    pub fn new(config: &Config, root: &std::path::Path) -> Result<App, String> {
        let metrics = Arc::new(Metrics::new());
        let derivatives = (config.derivative_cache_bytes > 0).then(|| {
            Derivatives::new(
                config.derivative_cache_bytes,
                MAX_INTERMEDIATE_PIXELS,
                count_derivative_lookups(metrics.derivative_cache_lookups.clone()),
            )
        });
        let renderer = Renderer::with_derivatives(config, derivatives.clone())?;
        metrics
            .build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                libvips: renderer.primary().version().to_owned(),
            })
            .set(1);
        let origin = origin(config, root, &metrics)?;
        // A --shared-store that cannot be used stops the start, with the reason.
        crate::store::shared::from_config(config)?;
        let tiers = crate::store::from_config(config, &metrics);
        Ok(App {
            renderer: Arc::new(renderer),
            allow_engine_param: config.allow_engine_param || !config.secrets.is_empty(),
            derivatives,
            origin,
            cache: result_cache(
                config.cache_bytes,
                config.cache_ttl,
                config.stale_grace.max(config.stale_while_revalidate),
            ),
            stale_while_revalidate: config.stale_while_revalidate,
            refreshing: std::sync::Mutex::new(std::collections::HashSet::new()),
            cache_ttl: config.cache_ttl,
            keep_for: crate::store::keep_for(config),
            tiers,
            workers: Workers::new(budget::bounds(config)?, metrics.clone()),
            inflight: InFlight::default(),
            metrics,
            limits: param_limits(config)?,
            max_url_bytes: config.max_url_bytes,
            cache_control: HeaderValue::from_str(&format!(
                "public, max-age={}{}",
                config.max_age,
                stale_directives(config)
            ))
            .map_err(|e| e.to_string())?,
            stale_directives: stale_directives(config),
            max_age: config.max_age,
            cache_control_passthrough: config.cache_control_passthrough,
            stale_cache_control: HeaderValue::from_str(&format!(
                "public, max-age={}",
                config.max_age.min(STALE_MAX_AGE)
            ))
            .map_err(|e| e.to_string())?,
            signer: Signer::new(&config.secrets)?,
            cors: Cors::from_config(&config.cors_origins)?,
            fallbacks: None,
            hints: (!config.presets_only
                && (config.client_hints || config.save_data_quality.is_some()))
            .then_some(hints::ClientHints {
                sizes: config.client_hints,
                save_data_quality: config.save_data_quality,
            }),
            ready: AtomicBool::new(true),
            stats: Stats::default(),
        })
    }

    /// The fallback images (loaded by the caller: a URL is fetched, which needs the runtime).
    pub fn with_fallbacks(mut self, fallbacks: Option<Fallbacks>) -> App {
        self.fallbacks = fallbacks;
        self
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The primary engine (libvips): probes, negotiates formats and makes every unsampled miss.
    pub fn engine(&self) -> &dyn Engine {
        self.renderer.primary().as_ref()
    }

    /// At shutdown, after the last request: waits up to `within` for the storage tiers' queued
    /// writes, so what was made just before a deploy is there for the next start.
    pub async fn flush_tiers(&self, within: Duration) {
        let left = self.tiers.flush(within).await;
        if left > 0 {
            tracing::warn!(
                left,
                ?within,
                "storage tier writes still pending at exit: dropped"
            );
        }
    }

    /// Readiness goes false when shutdown starts, so load balancers stop sending new work.
    pub fn set_draining(&self) {
        self.ready.store(false, Ordering::Release);
    }

    pub async fn handle<B>(self: Arc<Self>, request: Request<B>) -> Response<Body> {
        let started = Instant::now();
        let route = Route::of(request.uri().path());
        let mut note = Note::default();
        let mut trace = TraceContext::of(request.headers());
        // Info level, so every line the request logs carries its id; its children (queue_wait,
        // fetch, cpu_wait, transform) are debug level: with RUST_LOG=imgshield=debug every request
        // logs its timeline, and with --otlp-endpoint they are exported as child spans.
        let span = if crate::telemetry::exporting_traces() {
            // The exporter gives the span its ids, and a made request id follows them.
            let span = tracing::info_span!(
                "request",
                id = tracing::field::Empty,
                method = %request.method(),
                route = route.as_str()
            );
            if let Some(exported) = crate::telemetry::link(&span, trace.remote()) {
                trace.adopt(exported);
            }
            span.record("id", trace.request_id.as_str());
            span
        } else {
            // The id is known now: formatted once, with the span.
            tracing::info_span!(
                "request",
                id = %trace.request_id,
                method = %request.method(),
                route = route.as_str()
            )
        };
        let dispatched = {
            use tracing::Instrument;
            self.dispatch(route, &request, &mut note)
                .instrument(span.clone())
                .await
        };
        let mut response = match dispatched {
            Ok(response) => response,
            Err(error) => {
                self.metrics
                    .errors
                    .get_or_create(&KindLabels { kind: error.code() })
                    .inc();
                let fallback = match (&self.fallbacks, route) {
                    (Some(fallbacks), Route::Resize | Route::Text) => fallbacks.answer(&error),
                    _ => None,
                };
                let response = fallback.unwrap_or_else(|| error.to_response());
                note.error = Some(error);
                response
            }
        };
        if let (Some(cors), true) = (&self.cors, route.is_image()) {
            cors.apply(request.headers(), response.headers_mut());
        }
        trace.write(response.headers_mut());
        let outcome = Outcome {
            status: response.status().as_u16(),
            bytes: hyper::body::Body::size_hint(response.body())
                .exact()
                .unwrap_or(0),
            elapsed: started.elapsed(),
        };
        self.count_request(route, &outcome);
        span.in_scope(|| log_request(request.method(), route, &outcome, &note));
        response
    }

    fn count_request(&self, route: Route, outcome: &Outcome) {
        let labels = HttpLabels {
            route: route.as_str(),
            status: status_class(outcome.status),
        };
        self.metrics.requests.get_or_create(&labels).inc();
        if route == Route::Resize {
            self.stats
                .record_request(outcome.elapsed, outcome.status >= 400);
        }
        self.metrics
            .request_duration
            .get_or_create(&labels)
            .observe(outcome.elapsed.as_secs_f64());
    }

    async fn dispatch<B>(
        self: &Arc<Self>,
        route: Route,
        request: &Request<B>,
        note: &mut Note,
    ) -> Result<Response<Body>, Arc<Error>> {
        let target_len = request
            .uri()
            .path_and_query()
            .map_or(0, |pq| pq.as_str().len());
        if target_len > self.max_url_bytes {
            return Err(Arc::new(Error::UrlTooLong {
                max: self.max_url_bytes,
            }));
        }
        if let (Some(cors), true) = (&self.cors, route.is_image()) {
            if Cors::is_preflight(request) {
                return Ok(cors.preflight(request));
            }
        }
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return Err(Arc::new(Error::MethodNotAllowed { allow: "GET, HEAD" }));
        }
        match route {
            Route::Resize => self.resize(request, note).await,
            Route::Text => self.text(request, note).await,
            Route::Info => self.info(request, note).await,
            Route::Healthz => Ok(text(
                StatusCode::OK,
                "application/json",
                "{\"status\":\"ok\"}",
            )),
            Route::Readyz if self.ready.load(Ordering::Acquire) => Ok(text(
                StatusCode::OK,
                "application/json",
                "{\"status\":\"ready\"}",
            )),
            Route::Readyz => Ok(text(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/json",
                "{\"status\":\"draining\"}",
            )),
            Route::Metrics => Ok(self.metrics_page().await),
            Route::Stats => Ok(text(
                StatusCode::OK,
                "application/json",
                self.stats.to_json(
                    self.metrics.workers_busy.get(),
                    self.metrics.queue_depth.get(),
                    self.metrics.http_connections.get(),
                    self.tiers.stats(),
                ),
            )),
            Route::Dashboard => Ok(text(
                StatusCode::OK,
                "text/html; charset=utf-8",
                DASHBOARD_HTML,
            )),
            Route::Other => Err(Arc::new(Error::RouteNotFound)),
        }
    }
}

fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl App {
    /// The request's query string, once its signature (when the server requires one) checks out.
    /// Every route that renders something goes through here first.
    fn signed_query<'r, B>(&self, request: &'r Request<B>) -> Result<&'r str, Arc<Error>> {
        let query = request.uri().query().unwrap_or("");
        if let Some(signer) = &self.signer {
            signer
                .verify(request.uri().path(), query)
                .map_err(|e| Arc::new(e.into()))?;
        }
        Ok(query)
    }
}

/// The directives that let CDNs serve a copy past its lifetime: while they refresh it, and while
/// we fail. Empty when both are 0.
fn stale_directives(config: &Config) -> String {
    let mut out = String::new();
    if !config.stale_while_revalidate.is_zero() {
        out.push_str(&format!(
            ", stale-while-revalidate={}",
            config.stale_while_revalidate.as_secs()
        ));
    }
    if !config.stale_if_error.is_zero() {
        out.push_str(&format!(
            ", stale-if-error={}",
            config.stale_if_error.as_secs()
        ));
    }
    out
}

/// The parameter rules from the configuration; presets are checked here, so a typo in one stops
/// the server at start-up instead of failing every request that names it.
fn param_limits(config: &Config) -> Result<ParamLimits, String> {
    let presets = Presets::parse(config.presets.iter().map(String::as_str))?;
    let limits = ParamLimits {
        max_dimension: config.max_dimension,
        presets,
        presets_only: config.presets_only,
        qualities: Qualities {
            jpeg: config.quality_jpeg,
            webp: config.quality_webp,
            avif: config.quality_avif,
            jxl: config.quality_jxl,
        },
    };
    for name in limits.presets.names() {
        Params::parse(&format!("src=preset-check.jpg&p={name}"), &limits)
            .map_err(|e| format!("preset '{name}': {e}"))?;
    }
    Ok(limits)
}
