//! The `/text` flow: params -> cache -> (coalesced) render on the worker pool -> response.
//!
//! A banner is a pure function of its canonical parameters (and the engine and fonts), with no
//! origin behind it: any cached entry is served as it is (there is nothing to refresh), and
//! concurrent misses on one key share one render. Like `/resize`, a miss runs as a task of its own,
//! so a client that hangs up does not waste the work, and signed URLs are enforced when
//! `--secret` is set (the renderer is as much a CPU sink as the resizer).

use tracing::Instrument;

use super::resize::Lookup;
use super::*;
use crate::engine::vips::{render_banner, BannerError, BannerLimits};
use crate::engine::{EngineError, OutputFormat};
use crate::params::banner::{BannerFormat, TextRequest};

/// `X-Engine` and the transform metric's label: banners are always made by libvips.
const ENGINE: &str = "vips";

impl App {
    pub(super) async fn text<B>(
        self: &Arc<Self>,
        request: &Request<B>,
        note: &mut Note,
    ) -> Result<Response<Body>, Arc<Error>> {
        let query = self.signed_query(request)?;
        let params = TextRequest::parse(query, &self.limits).map_err(|e| Arc::new(e.into()))?;
        let primary = self.engines.primary();
        let (format, accept) = match params.format {
            BannerFormat::Fixed(format) => (format, None),
            BannerFormat::Auto => {
                let header = request
                    .headers()
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok());
                let class = AcceptClass::negotiate(header, |f| primary.can_encode(f));
                let format = match class {
                    AcceptClass::Avif => OutputFormat::Avif,
                    AcceptClass::Webp => OutputFormat::Webp,
                    // Lossless for everyone else: text edges stay crisp, alpha survives.
                    AcceptClass::Legacy => OutputFormat::Png,
                };
                (format, Some(class))
            }
        };
        if !primary.can_encode(format) {
            return Err(Arc::new(Error::Engine(EngineError::UnsupportedFormat(
                format.as_str(),
            ))));
        }
        let key = CacheKey::for_route("text", &params.canonical(), accept, primary.as_ref());
        let (rendition, lookup) = match self.cache.get(&key).await {
            Some(hit) => (hit, Lookup::Hit),
            None => {
                let app = self.clone();
                let entry = self
                    .cache
                    .entry(key)
                    .or_try_insert_with(
                        async move { app.render_in_task(key, params, format).await },
                    )
                    .await?;
                let lookup = if entry.is_fresh() {
                    Lookup::Miss
                } else {
                    Lookup::Coalesced
                };
                (entry.into_value(), lookup)
            }
        };
        if lookup == Lookup::Miss {
            note.transform = Some(rendition.transform_time);
        }
        note.cache = Some(lookup.label());
        self.metrics
            .cache_lookups
            .get_or_create(&CacheLabels {
                result: lookup.label(),
            })
            .inc();
        Ok(self.image_response(&rendition, request, accept.is_some(), lookup))
    }

    /// Renders in a task of its own that also stores the result (see `produce_in_task`).
    async fn render_in_task(
        self: Arc<Self>,
        key: CacheKey,
        params: TextRequest,
        format: OutputFormat,
    ) -> Result<Arc<Rendition>, Error> {
        let span = tracing::Span::current();
        tokio::spawn(async move {
            let result = self.clone().render(params, format).instrument(span).await;
            if let Ok(rendition) = &result {
                self.cache.insert(key, rendition.clone()).await;
            }
            result
        })
        .await
        .unwrap_or_else(|e| Err(Error::Internal(format!("text task: {e}"))))
    }

    /// One render on the worker pool: admission (or 503 when the queue is full), then the CPU job.
    async fn render(
        self: Arc<Self>,
        params: TextRequest,
        format: OutputFormat,
    ) -> Result<Arc<Rendition>, Error> {
        let admission = self
            .workers
            .admit()
            .instrument(tracing::debug_span!("queue_wait"))
            .await?;
        let limits = BannerLimits {
            max_dimension: self.limits.max_dimension,
            max_pixels: self.max_output_pixels,
            time_limit: Some(self.max_processing_time),
        };
        let (rendition, transform_time) = admission
            .run(move || -> Result<_, Error> {
                let started = Instant::now();
                let encoded = render_banner(&params, format, &limits).map_err(banner_error)?;
                let transform_time = started.elapsed();
                Ok((
                    Rendition::new(encoded, ENGINE, Duration::ZERO, transform_time),
                    transform_time,
                ))
            })
            .await??;
        self.metrics
            .observe_transform(ENGINE, format.as_str(), transform_time);
        Ok(Arc::new(rendition))
    }
}

fn banner_error(error: BannerError) -> Error {
    match error {
        BannerError::Param(e) => e.into(),
        BannerError::Plan(e) => e.into(),
        BannerError::Engine(e) => e.into(),
    }
}
