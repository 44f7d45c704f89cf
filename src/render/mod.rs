//! Rendering one request: the use-case between the HTTP service and the engines, and the one entry
//! ([`Renderer::render`]) that the server's `/resize`, `/info` and `/text` routes, `imgshield
//! compare`, the benches and the fuzz targets all call, so what they test is what serves requests.
//!
//! For `/resize` it owns the whole sequence: probe the source's header, check the source limits,
//! choose the format (`Accept` negotiation included, see [`format`]), find the trim box, resolve
//! the plan ([`resolve`]), lay the watermark, check the text's size, then transform with the
//! selected engine (falling back to the primary for a sampled request it cannot serve). `/info`
//! describes a source under the same limits; `/text` renders a banner.
//!
//! It is synchronous, CPU-bound and knows no HTTP types: the service calls it on a worker thread
//! with bytes it has fetched.

mod banner;
mod cost;
mod error;
mod estimate;
mod format;
mod info;
mod memory;
mod resolve;

pub use error::RenderError;
pub use format::{banner_format, choose_format, choose_format_animated};
pub use memory::{peak_bytes, MemoryFacts};
pub use resolve::{resolve, resolve_trimmed, with_watermark};

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{Config, JpegShrink};
use crate::engine::rust::RustEngine;
use crate::engine::select::{Engines, Made, Selection};
use crate::engine::vips::{Derivatives, VipsEngine};
use crate::engine::{Encoded, Engine, SourceInfo, Strictness};
use crate::params::banner::TextRequest;
use crate::params::{InfoParams, ParamError, Params};
use crate::types::{AcceptClass, EngineChoice, OutputFormat};
use banner::{render_banner, BannerLimits};

/// The limits every render honours, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct RenderLimits {
    /// `--max-src-pixels`: a source's pixels, from its header, before decoding.
    pub max_src_pixels: u64,
    /// `--max-frames`: a source's frames or pages.
    pub max_frames: u32,
    /// `--max-output-pixels`: the largest image materialised (every frame of an animation).
    pub max_output_pixels: u64,
    /// `--max-dimension`: the largest side of a `/text` canvas.
    pub max_dimension: u32,
    /// `--max-processing-time`: the engine's work is stopped past it.
    pub time_limit: Duration,
    /// `--fail-on`: how damaged a source may be, for the decodes `/info` makes itself.
    pub strictness: Strictness,
    /// `--allow-jxl-source`: JPEG XL sources are decoded (else refused as undecodable).
    pub allow_jxl_source: bool,
}

impl RenderLimits {
    /// The limits a server with `config` applies.
    pub fn from_config(config: &Config) -> RenderLimits {
        RenderLimits {
            max_src_pixels: config.max_src_pixels,
            max_frames: config.max_frames,
            max_output_pixels: config.max_output_pixels(),
            max_dimension: config.max_dimension,
            time_limit: config.max_processing_time,
            strictness: config.fail_on.into(),
            allow_jxl_source: config.allow_jxl_source,
        }
    }
}

/// One piece of work.
#[derive(Debug)]
pub enum Job<'a> {
    /// `/resize`: `source` transformed as `params` say. `accept` is the client's class when
    /// `fm=auto` (else ignored); `watermark` the bytes of `params.watermark`'s source, fetched.
    Resize {
        source: &'a [u8],
        params: &'a Params,
        accept: AcceptClass,
        selection: &'a Selection,
        watermark: Option<Bytes>,
        /// The source's origin forbids keeping it (`no-store`, `private`): its decode is not
        /// kept for later sizes either.
        private: bool,
    },
    /// `/info`: header facts and placeholders of `source`, as JSON.
    Info {
        source: &'a [u8],
        params: &'a InfoParams,
    },
    /// `/text`: a banner in `format` (see [`banner_format`]).
    Banner {
        request: &'a TextRequest,
        format: OutputFormat,
    },
}

/// What a render made.
#[derive(Debug)]
pub enum Rendered {
    /// An image, and the engine that made it (after a fallback, the primary).
    Image(Made),
    /// A JSON document (`/info`).
    Json(Bytes),
}

/// The engines and the limits: everything a render needs besides the request.
pub struct Renderer {
    engines: Arc<Engines>,
    limits: RenderLimits,
    /// `--auto-formats`: what `fm=auto` may choose, best first.
    auto_formats: Vec<OutputFormat>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("primary", &self.engines.primary().name())
            .field("limits", &self.limits)
            .finish()
    }
}

impl Renderer {
    pub fn new(engines: Arc<Engines>, limits: RenderLimits) -> Renderer {
        Renderer {
            engines,
            limits,
            auto_formats: format::AUTO_FORMATS.to_vec(),
        }
    }

    /// Both engines and the limits as a server with `config` has them, without the server's
    /// derivative cache: what the tools, the benches and the fuzz targets render with.
    pub fn from_config(config: &Config) -> Result<Renderer, String> {
        Renderer::with_derivatives(config, None)
    }

    /// As [`Renderer::from_config`], the libvips engine keeping its decodes in `derivatives`.
    pub fn with_derivatives(
        config: &Config,
        derivatives: Option<Derivatives>,
    ) -> Result<Renderer, String> {
        let draft = config.jpeg_shrink == JpegShrink::Draft;
        let mut vips = VipsEngine::with_strictness(config.fail_on.into())
            .map_err(|e| format!("libvips: {e}"))?
            .with_draft(draft)
            .with_jpeg_decoder(config.engine_jpeg_decoder());
        if let Some(derivatives) = derivatives {
            vips = vips.with_derivatives(derivatives);
        }
        let rust = RustEngine::new().with_draft(draft);
        let engines = Engines::new(Arc::new(vips), Arc::new(rust), config.rust_percent);
        let mut renderer = Renderer::new(Arc::new(engines), RenderLimits::from_config(config));
        renderer.auto_formats = config.auto_formats.clone();
        if config.allow_jxl_source {
            crate::vips::allow_jxl_loader(true);
        }
        Ok(renderer)
    }

    /// The primary engine (libvips): probes, negotiates formats and makes every unsampled miss.
    pub fn primary(&self) -> &Arc<dyn Engine> {
        self.engines.primary()
    }

    /// The client's class for `fm=auto`, by what the primary can encode (so both engines of an A/B
    /// make the same format).
    pub fn accept_class(&self, accept: Option<&str>) -> AcceptClass {
        let primary = self.primary();
        AcceptClass::negotiate_in(&self.auto_formats, accept, |f| primary.can_encode(f))
    }

    /// The engine for a request: the named one, or the `--rust-percent` sample by `sample` (a
    /// stable hash of the request, asked for only when sampling is on).
    pub fn select(&self, named: Option<EngineChoice>, sample: impl FnOnce() -> u64) -> Selection {
        self.engines.select(named, sample)
    }

    /// Does `job`. The one entry every caller uses.
    pub fn render(&self, job: Job<'_>) -> Result<Rendered, RenderError> {
        match job {
            Job::Resize {
                source,
                params,
                accept,
                selection,
                watermark,
                private,
            } => self
                .resize(source, params, accept, selection, watermark, private)
                .map(Rendered::Image),
            Job::Info { source, params } => self.info(source, params).map(Rendered::Json),
            Job::Banner { request, format } => self
                .banner(request, format)
                .map(|encoded| Rendered::Image(self.made_by_primary(encoded))),
        }
    }

    fn resize(
        &self,
        source: &[u8],
        params: &Params,
        accept: AcceptClass,
        selection: &Selection,
        watermark: Option<Bytes>,
        private: bool,
    ) -> Result<Made, RenderError> {
        // The primary probes and plans; the selected engine transforms.
        let primary = self.primary();
        let info = primary.probe(source)?;
        self.check_source(&info)?;
        self.check_decode_cost(source)?;
        let format = choose_format_animated(params.format, accept, &info, params.animated, |f| {
            primary.can_encode(f)
        })?;
        let trimmed = match params.trim {
            Some(threshold) => primary.trim_box(source, threshold, Some(self.limits.time_limit))?,
            None => None,
        };
        let limits = &self.limits;
        let mut plan = resolve_trimmed(params, &info, trimmed, format, limits.max_output_pixels)?
            .with_time_limit(limits.time_limit);
        plan.keep_decode = !private;
        if let (Some(wm), Some(bytes)) = (&params.watermark, watermark) {
            // The same limits as the source: a watermark is decoded too.
            self.check_source(&primary.probe(&bytes)?)?;
            self.check_decode_cost(&bytes)?;
            plan = with_watermark(plan, wm, bytes);
        }
        // The text's real wrap width is the output's: check what it will cost now.
        if let Some(text) = &plan.text {
            text.check_size(text.wrap_width(plan.output_size().width))
                .map_err(ParamError::from)?;
        }
        let made = self.engines.transform(selection, source, &plan);
        made.map_err(error::blaming_inkless_text)
    }

    fn banner(&self, request: &TextRequest, format: OutputFormat) -> Result<Encoded, RenderError> {
        if !self.primary().can_encode(format) {
            return Err(crate::engine::EngineError::UnsupportedFormat(format.as_str()).into());
        }
        let limits = BannerLimits {
            max_dimension: self.limits.max_dimension,
            max_pixels: self.limits.max_output_pixels,
            time_limit: Some(self.limits.time_limit),
        };
        Ok(render_banner(request, format, &limits)?)
    }

    /// Banners are always made by libvips.
    fn made_by_primary(&self, encoded: Encoded) -> Made {
        Made {
            encoded,
            engine: self.primary().name(),
            fell_back: false,
        }
    }

    /// The limits every route applies to a source from its header, before decoding any pixels.
    fn check_source(&self, info: &SourceInfo) -> Result<(), RenderError> {
        let limits = &self.limits;
        if info.format == crate::types::SourceFormat::Jxl && !limits.allow_jxl_source {
            return Err(RenderError::Engine(
                crate::engine::EngineError::Undecodable(
                    "JPEG XL sources are not accepted by this server (--allow-jxl-source)".into(),
                ),
            ));
        }
        if info.pixels() > limits.max_src_pixels {
            return Err(RenderError::TooManyPixels {
                pixels: info.pixels(),
                max: limits.max_src_pixels,
            });
        }
        if info.pages > limits.max_frames {
            return Err(RenderError::TooManyFrames {
                frames: info.pages,
                max: limits.max_frames,
            });
        }
        Ok(())
    }
}
