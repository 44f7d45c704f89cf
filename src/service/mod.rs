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
use crate::engine::rust::RustEngine;
use crate::engine::select::{Engines, Selection};
use crate::engine::vips::{Derivatives, OnLookup, VipsEngine};
use crate::engine::Engine;
use crate::error::Error;
use crate::metrics::{status_class, CacheLabels, HttpLabels, KindLabels, Metrics, OriginLabels};
use crate::origin::{AllowList, Breakers, Origin, OriginConfig, SourceCache};
use crate::params::{FormatChoice, InfoParams, ParamLimits, Params, Presets, Qualities, Source};
use crate::render::{RenderLimits, Renderer};
use crate::signature::Signer;
use crate::workers::Workers;

mod info;
mod resize;
mod stats;
mod text;

use stats::{Stats, DASHBOARD_HTML};

pub type Body = Full<Bytes>;

/// Decodes above this are not kept: 16 MP is a 2x intermediate for outputs up to ~2800x1900, and
/// one such decode is 48 MB of pixels.
const MAX_INTERMEDIATE_PIXELS: u64 = 16_000_000;

/// `max-age` of a stale response, in seconds: downstream caches should ask again soon.
const STALE_MAX_AGE: u64 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Resize,
    Text,
    Info,
    Healthz,
    Readyz,
    Metrics,
    Stats,
    Dashboard,
    Other,
}

impl Route {
    fn of(path: &str) -> Route {
        match path {
            "/resize" => Route::Resize,
            "/text" => Route::Text,
            "/info" => Route::Info,
            "/healthz" => Route::Healthz,
            "/readyz" => Route::Readyz,
            "/metrics" => Route::Metrics,
            "/stats" => Route::Stats,
            "/dashboard" => Route::Dashboard,
            _ => Route::Other,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Route::Resize => "resize",
            Route::Text => "text",
            Route::Info => "info",
            Route::Healthz => "healthz",
            Route::Readyz => "readyz",
            Route::Metrics => "metrics",
            Route::Stats => "stats",
            Route::Dashboard => "dashboard",
            Route::Other => "other",
        }
    }
}

/// What a request did, for its log line.
#[derive(Default)]
struct Note {
    cache: Option<&'static str>,
    fetch: Option<Duration>,
    transform: Option<Duration>,
    error: Option<Arc<Error>>,
}

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
    metrics: Arc<Metrics>,
    limits: ParamLimits,
    max_url_bytes: usize,
    cache_control: HeaderValue,
    stale_cache_control: HeaderValue,
    cache_ttl: Duration,
    signer: Option<Signer>,
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
        let mut engine = VipsEngine::with_strictness(config.fail_on.into())
            .map_err(|e| format!("libvips: {e}"))?
            .with_draft(config.jpeg_shrink == crate::config::JpegShrink::Draft);
        if let Some(derivatives) = &derivatives {
            engine = engine.with_derivatives(derivatives.clone());
        }
        let allow = AllowList::parse(&config.allow_hosts)?;
        let breakers = Breakers::new(
            config.breaker_failures,
            config.breaker_cooldown,
            metrics.origin_circuits_open.clone(),
            metrics.origin_circuit_trips.clone(),
        );
        let origin = Origin::new(
            OriginConfig {
                root: root.to_path_buf(),
                allow,
                max_bytes: config.max_src_bytes,
                connect_timeout: config.connect_timeout,
                fetch_timeout: config.fetch_timeout,
                max_redirects: config.max_redirects,
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
        )?;
        let engines = Engines::new(
            Arc::new(engine),
            Arc::new(
                RustEngine::new()
                    .with_draft(config.jpeg_shrink == crate::config::JpegShrink::Draft),
            ),
            config.rust_percent,
        );
        Ok(App {
            renderer: Arc::new(Renderer::new(
                Arc::new(engines),
                RenderLimits::from_config(config),
            )),
            allow_engine_param: config.allow_engine_param || !config.secrets.is_empty(),
            derivatives,
            origin,
            cache: result_cache(config.cache_bytes, config.cache_ttl, config.stale_grace),
            cache_ttl: config.cache_ttl,
            workers: Workers::new(
                config.workers(),
                config.inflight(),
                config.queue,
                metrics.clone(),
            ),
            metrics,
            limits: param_limits(config)?,
            max_url_bytes: config.max_url_bytes,
            cache_control: HeaderValue::from_str(&format!("public, max-age={}", config.max_age))
                .map_err(|e| e.to_string())?,
            stale_cache_control: HeaderValue::from_str(&format!(
                "public, max-age={}",
                config.max_age.min(STALE_MAX_AGE)
            ))
            .map_err(|e| e.to_string())?,
            signer: Signer::new(&config.secrets)?,
            ready: AtomicBool::new(true),
            stats: Stats::default(),
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The primary engine (libvips): probes, negotiates formats and makes every unsampled miss.
    pub fn engine(&self) -> &dyn Engine {
        self.renderer.primary().as_ref()
    }

    /// Readiness goes false when shutdown starts, so load balancers stop sending new work.
    pub fn set_draining(&self) {
        self.ready.store(false, Ordering::Release);
    }

    pub async fn handle<B>(self: Arc<Self>, request: Request<B>) -> Response<Body> {
        let started = Instant::now();
        let route = Route::of(request.uri().path());
        let mut note = Note::default();
        // Debug level: free at the default `info`; with RUST_LOG=imgshield=debug every request
        // logs its spans (request, queue_wait, fetch, cpu_wait, transform) with their timings.
        let span =
            tracing::debug_span!("request", method = %request.method(), route = route.as_str());
        let dispatched = {
            use tracing::Instrument;
            self.dispatch(route, &request, &mut note)
                .instrument(span)
                .await
        };
        let response = match dispatched {
            Ok(response) => response,
            Err(error) => {
                self.metrics
                    .errors
                    .get_or_create(&KindLabels { kind: error.code() })
                    .inc();
                let response = error.to_response();
                note.error = Some(error);
                response
            }
        };
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        let labels = HttpLabels {
            route: route.as_str(),
            status: status_class(status),
        };
        self.metrics.requests.get_or_create(&labels).inc();
        if route == Route::Resize {
            self.stats.record_request(elapsed, status >= 400);
        }
        self.metrics
            .request_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        log_request(request.method(), route, status, &note, elapsed);
        response
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

    async fn metrics_page(&self) -> Response<Body> {
        // moka updates its counters lazily; settle them so the gauges are current.
        self.cache.run_pending_tasks().await;
        self.metrics
            .cache_entries
            .set(i64::try_from(self.cache.entry_count()).unwrap_or(i64::MAX));
        self.metrics
            .cache_weighted_bytes
            .set(i64::try_from(self.cache.weighted_size()).unwrap_or(i64::MAX));
        if let Some(derivatives) = &self.derivatives {
            self.metrics
                .derivative_cache_weighted_bytes
                .set(i64::try_from(derivatives.weighted_size()).unwrap_or(i64::MAX));
        }
        if let Some(sources) = self.origin.source_cache() {
            let bytes = sources.weighted_size().await;
            self.metrics
                .source_cache_weighted_bytes
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
            self.metrics
                .source_cache_entries
                .set(i64::try_from(sources.entry_count()).unwrap_or(i64::MAX));
        }
        text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            self.metrics.render(),
        )
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

fn millis(d: Option<Duration>) -> Option<f64> {
    d.map(|d| (d.as_secs_f64() * 1e5).round() / 100.0)
}

fn log_request(method: &Method, route: Route, status: u16, note: &Note, elapsed: Duration) {
    let total_ms = (elapsed.as_secs_f64() * 1e5).round() / 100.0;
    let cache = note.cache.unwrap_or("-");
    let (fetch_ms, transform_ms) = (millis(note.fetch), millis(note.transform));
    match &note.error {
        Some(error) if status >= 500 => tracing::warn!(
            %method, route = route.as_str(), status, cache, total_ms, code = error.code(), error = %error, "request failed"
        ),
        Some(error) => tracing::info!(
            %method, route = route.as_str(), status, cache, total_ms, code = error.code(), error = %error, "request refused"
        ),
        None => tracing::info!(
            %method, route = route.as_str(), status, cache, fetch_ms, transform_ms, total_ms, "request"
        ),
    }
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
        },
    };
    for name in limits.presets.names() {
        Params::parse(&format!("src=preset-check.jpg&p={name}"), &limits)
            .map_err(|e| format!("preset '{name}': {e}"))?;
    }
    Ok(limits)
}
