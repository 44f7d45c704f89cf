//! The libvips engine: a shrink-on-load thumbnail followed by a short list of named steps.
//!
//! The pipeline is lazy: libvips builds it step by step and runs it once, when `encode` saves. That is
//! also where a truncated or corrupt source fails (we load with libvips' `fail_on` set from
//! [`Strictness`]), so encode errors are classified as undecodable sources.
//!
//! No `unsafe` here: everything goes through the safe layer in [`crate::vips`], whose `Image`,
//! `SaveFormat`, `VipsError` and `init` are re-exported for existing callers.

mod canvas;
mod derivatives;
mod encode_budget;
mod formats;
mod jpeg;
mod jpeg_load;
mod steps;
mod text;

pub use crate::engine::shrink::{draft_shrink, jpeg_shrink};
pub use crate::vips::{init, Image, SaveFormat, VipsError};
pub use derivatives::{Derivatives, Intermediate, Lookup, OnLookup};
pub use jpeg_load::{own_decodes_on_this_thread, JpegDecoder};
pub use text::draw_text;
pub(crate) use text::{encode_banner, Label};

use formats::save_format;
pub(crate) use formats::source_format;

use bytes::Bytes;

use super::{Clock, Encoded, Engine, EngineError, OutputFormat, Plan, SourceInfo, Strictness};
use crate::engine::{trim, Rect};
use crate::vips::ThumbnailSize;

/// Longest side of the decode `trim` searches: enough to place the border within a few source pixels.
const TRIM_SIDE: u32 = 1024;

#[derive(Debug)]
pub struct VipsEngine {
    version: String,
    encodable: [bool; OutputFormat::ALL.len()],
    strictness: Strictness,
    derivatives: Option<Derivatives>,
    /// Load JPEGs at the coarsest DCT scale still as large as the target (see [`draft_shrink`]).
    draft: bool,
    /// Who decodes JPEG sources (see `jpeg_load`).
    jpeg_decoder: JpegDecoder,
}

impl VipsEngine {
    /// Initialises libvips and probes, by trying once, which formats this build can write
    /// (`vips_foreign_find_save_buffer` under-reports AVIF on 8.14).
    pub fn new() -> Result<VipsEngine, VipsError> {
        VipsEngine::with_strictness(Strictness::default())
    }

    /// As [`VipsEngine::new`], refusing sources as damaged as `strictness` says.
    pub fn with_strictness(strictness: Strictness) -> Result<VipsEngine, VipsError> {
        let runtime = init()?;
        let probe = Image::from_pixels(&[128; 16 * 16 * 3], 16, 16, 3)?;
        let mut encodable = [false; OutputFormat::ALL.len()];
        for (slot, format) in encodable.iter_mut().zip(OutputFormat::ALL) {
            *slot = probe
                .save(save_format(
                    format,
                    format.default_quality(),
                    Default::default(),
                    true,
                ))
                .is_ok();
        }
        Ok(VipsEngine {
            version: runtime.version.clone(),
            encodable,
            strictness,
            derivatives: None,
            draft: false,
            jpeg_decoder: JpegDecoder::default(),
        })
    }

    /// Keeps JPEG decodes in `derivatives` and makes later sizes of the same source from them.
    pub fn with_derivatives(mut self, derivatives: Derivatives) -> VipsEngine {
        self.derivatives = Some(derivatives);
        self
    }

    /// Loads plain JPEGs at the coarsest DCT scale still as large as the target ([`draft_shrink`])
    /// instead of thumbnail's twice-the-target rule.
    pub fn with_draft(mut self, draft: bool) -> VipsEngine {
        // The rule changes the output, so it is part of the version the cache key hashes.
        let library = self.version.replace("+draft", "");
        self.version = if draft {
            format!("{library}+draft")
        } else {
            library
        };
        self.draft = draft;
        self
    }

    /// Decodes JPEG sources with `decoder`. Libvips' loader and our exact one give the same
    /// output, so the version the cache key hashes does not change between them; the bounded-loss
    /// rule changes pixels, so it is part of the version (`+bounded`). The derivative cache is the
    /// engine's own (`with_derivatives`), so its decodes are all made under this one rule.
    pub fn with_jpeg_decoder(mut self, decoder: JpegDecoder) -> VipsEngine {
        let base = self.version.replace("+bounded", "");
        self.version = if decoder == JpegDecoder::OwnBounded {
            format!("{base}+bounded")
        } else {
            base
        };
        self.jpeg_decoder = decoder;
        self
    }

    pub fn derivatives(&self) -> Option<&Derivatives> {
        self.derivatives.as_ref()
    }
}

impl VipsEngine {
    /// How this engine loads sources, for the load steps.
    fn loading<'c>(&self, clock: &'c Clock) -> steps::Loading<'c> {
        steps::Loading {
            decoder: self.jpeg_decoder,
            strictness: self.strictness,
            clock,
        }
    }
}

fn undecodable(err: VipsError) -> EngineError {
    EngineError::Undecodable(err.0)
}

fn internal(err: VipsError) -> EngineError {
    EngineError::Internal(err.0)
}

impl Engine for VipsEngine {
    fn name(&self) -> &'static str {
        "vips"
    }

    fn version(&self) -> &str {
        &self.version
    }

    fn can_encode(&self, format: OutputFormat) -> bool {
        OutputFormat::ALL
            .iter()
            .position(|f| *f == format)
            .is_some_and(|i| self.encodable[i])
    }

    fn probe(&self, source: &[u8]) -> Result<SourceInfo, EngineError> {
        let image = Image::header_from_buffer(source).map_err(undecodable)?;
        let (width, height) = (image.width(), image.height());
        if width == 0 || height == 0 {
            return Err(EngineError::Undecodable("the image has no pixels".into()));
        }
        // EXIF orientations 5..=8 are transposed: the output's width is the stored height.
        let (width, height) = if (5..=8).contains(&image.orientation()) {
            (height, width)
        } else {
            (width, height)
        };
        Ok(SourceInfo {
            width,
            height,
            format: source_format(image.loader().as_deref()),
            has_alpha: image.has_alpha(),
            pages: image.pages().max(1),
        })
    }

    /// Looks for the border on a decode of at most [`TRIM_SIDE`] pixels a side (shrink-on-load keeps
    /// that cheap); the box is rounded outwards, so at worst a sliver of border stays.
    fn trim_box(
        &self,
        source: &[u8],
        threshold: u8,
        time_limit: Option<std::time::Duration>,
    ) -> Result<Option<Rect>, EngineError> {
        let clock = Clock::start(time_limit);
        let info = self.probe(source)?;
        let longest = f64::from(info.width.max(info.height));
        let scale = (f64::from(TRIM_SIDE) / longest).min(1.0);
        let (w, h) = (
            ((f64::from(info.width) * scale).round() as u32).max(1),
            ((f64::from(info.height) * scale).round() as u32).max(1),
        );
        let image = Image::thumbnail_from_buffer(
            source,
            w,
            h,
            ThumbnailSize::Force,
            self.strictness.into(),
        )
        .map_err(undecodable)?;
        let image = steps::to_srgb(image)?;
        clock.check()?;
        if let Some(remaining) = clock.remaining() {
            image.set_time_limit(remaining);
        }
        let pixels = image
            .decode_to_memory()
            .map_err(|e| clock.explain(undecodable(e)))?;
        let (sx, sy) = (
            f64::from(w) / f64::from(info.width),
            f64::from(h) / f64::from(info.height),
        );
        Ok(trim::content_box(
            &pixels,
            image.width(),
            image.height(),
            image.bands(),
            threshold,
        )
        .map(|found| trim::unscale(found, sx.min(sy), (info.width, info.height))))
    }

    fn transform(&self, source: &[u8], plan: &Plan) -> Result<Encoded, EngineError> {
        if !self.can_encode(plan.format) {
            return Err(EngineError::UnsupportedFormat(plan.format.as_str()));
        }
        let clock = Clock::start(plan.time_limit);
        // Held for the whole pipeline: an image made from it borrows its pixels. Animations are
        // never kept: the cache holds single decodes.
        let jpeg = if plan.animated {
            None
        } else {
            VipsEngine::plain_jpeg(source)?
        };
        let intermediate = if plan.animated {
            None
        } else {
            self.intermediate(source, jpeg, plan, &clock)?
        };
        let draft = jpeg.map(|size| draft_shrink(size, (plan.resize.width, plan.resize.height)));
        let image = match (&intermediate, draft) {
            (Some(decoded), _) => steps::load_decoded(decoded, source, plan)?,
            (None, Some(shrink)) if self.draft && shrink > 1 => {
                steps::load_draft(source, shrink, plan, self.loading(&clock))?
            }
            (None, _) => steps::load(source, plan, self.loading(&clock))?,
        };
        clock.check()?;
        let image = steps::to_srgb(image)?;
        let watermark = plan
            .overlay
            .as_ref()
            .map(|overlay| steps::load_watermark(overlay, plan, &clock, self.strictness))
            .transpose()?;
        let image = steps::per_frame(image, plan, &clock, |frame, plan, clock| {
            let frame = steps::shape(frame, plan, clock)?;
            steps::overlay(frame, plan, watermark.as_ref())
        })?;
        let image = steps::flatten(image, plan)?;
        let image = steps::metadata(image, plan)?;
        let (width, height) = (image.width(), image.page_height());
        // The pipeline is lazy: the decode and every step run inside encode, so that is where the
        // time limit must reach into libvips (and where encoders it cannot reach are bounded).
        let format = save_format(
            plan.format,
            plan.quality,
            plan.encoding,
            plan.strip_metadata,
        );
        let bytes = encode_budget::encode_within(image, format, &clock, |image, format| {
            steps::encode(image, plan, format)
        })?;
        Ok(Encoded {
            bytes: Bytes::from(bytes),
            format: plan.format,
            width,
            height,
        })
    }
}

#[cfg(test)]
mod tests;
