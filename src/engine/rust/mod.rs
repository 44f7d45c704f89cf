//! The pure-Rust engine: the same [`Plan`] as libvips, through pure-Rust decoders, SIMD Lanczos3
//! resizing (fast_image_resize) and pure-Rust encoders. No C, no `unsafe` of ours.
//!
//! The pipeline mirrors the libvips one, step by step:
//! 1. `decode`: JPEG shrinks by 2/4/8 in the DCT domain while decoding, by libvips' rule (at least
//!    twice the size the plan needs) or the draft rule (at least that size), as the libvips engine
//!    is configured; other formats decode in full. The first frame of an animation.
//! 2. `resize` to the plan's box in the stored orientation (fewer pixels to turn), then `orient`
//!    by EXIF, so the result is upright and the tag is gone.
//! 3. the region (`crop=`, `trim`), `rot` and `flip`, the cover `crop`, `gray`, `pad`, `flatten`,
//!    `encode` (JPEG baseline or progressive, PNG, lossless WebP).
//!
//! Known difference from libvips with the default `--fail-on warning`: a JPEG whose scan ends early
//! at a marker is refused by libvips (libjpeg warns) but decoded here with the rest filled in, because
//! jpeg-decoder reports no warnings. Truncated files fail in both.
//!
//! What it cannot do yet fails with [`EngineError::NotImplemented`] naming it (CMYK JPEGs, colour
//! profiles other than sRGB, lossy WebP output) or [`EngineError::UnsupportedFormat`] (AVIF and GIF
//! output), never with a silently different image.
//! The time limit is checked between steps: pure-Rust decoders cannot be stopped inside a step, so
//! the source pixel cap is what bounds a single step.

mod decode;
mod encode;
mod orient;
mod pixels;

use bytes::Bytes;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::shrink::{draft_shrink, jpeg_shrink};
use super::{Clock, Crop, Encoded, Engine, EngineError, OutputFormat, Plan, SourceInfo};
use pixels::Pixels;

/// Decodes a JPEG, PNG, WebP or GIF in full to interleaved RGBA: how `imgshield compare` reads
/// both engines' outputs with one decoder that is independent of libvips.
pub fn decode_rgba(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), EngineError> {
    let header = decode::header(bytes)?;
    let decoded = decode::decode(bytes, (header.width, header.height), jpeg_shrink)?;
    let rgba = decoded.pixels.with_alpha();
    Ok((rgba.width, rgba.height, rgba.data))
}

/// The engine keeps no state between transforms (each builds its own decoder, resizer and
/// encoder), only the JPEG shrink rule it was made with.
#[derive(Debug)]
pub struct RustEngine {
    shrink: decode::ShrinkRule,
    /// The crate's version, `+draft` with the draft shrink rule: output changes only with our code,
    /// its pinned crates and that rule.
    version: &'static str,
}

impl Default for RustEngine {
    fn default() -> Self {
        RustEngine::new()
    }
}

impl RustEngine {
    /// Shrinks JPEGs by libvips' thumbnail rule ([`jpeg_shrink`]).
    pub fn new() -> RustEngine {
        RustEngine {
            shrink: jpeg_shrink,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// Shrinks JPEGs by the draft rule ([`draft_shrink`]) when `draft`, as the libvips engine
    /// does with `--jpeg-shrink draft`, so both decode at the same scale.
    pub fn with_draft(mut self, draft: bool) -> RustEngine {
        if draft {
            self.shrink = draft_shrink;
            self.version = concat!(env!("CARGO_PKG_VERSION"), "+draft");
        } else {
            self.shrink = jpeg_shrink;
            self.version = env!("CARGO_PKG_VERSION");
        }
        self
    }
}

impl Engine for RustEngine {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn version(&self) -> &str {
        self.version
    }

    fn can_encode(&self, format: OutputFormat) -> bool {
        encode::can_encode(format)
    }

    fn probe(&self, source: &[u8]) -> Result<SourceInfo, EngineError> {
        let header = decode::header(source)?;
        if header.width == 0 || header.height == 0 {
            return Err(EngineError::Undecodable("the image has no pixels".into()));
        }
        let (width, height) = if orient::transposes(header.orientation) {
            (header.height, header.width)
        } else {
            (header.width, header.height)
        };
        Ok(SourceInfo {
            width,
            height,
            format: header.format,
            has_alpha: header.has_alpha,
            pages: header.pages,
        })
    }

    fn transform(&self, source: &[u8], plan: &Plan) -> Result<Encoded, EngineError> {
        if !self.can_encode(plan.format) {
            return Err(EngineError::UnsupportedFormat(plan.format.as_str()));
        }
        // Refused before decoding, so a sampled request falls back to libvips without waste.
        encode::check_encoding(plan.format, plan.encoding)?;
        // `transform` runs on sources the primary engine has already probed: bytes this engine
        // does not recognise are a format it cannot read (TIFF, HEIF), not a broken image.
        if decode::sniff(source).is_none() {
            return Err(EngineError::NotImplemented(
                "decoding this source format (JPEG, PNG, WebP and GIF only)".into(),
            ));
        }
        if let Some(operation) = plan.beyond_basics() {
            return Err(EngineError::NotImplemented(operation.into()));
        }
        let clock = Clock::start(plan.time_limit);
        // The plan's box in the stored orientation: EXIF 5..8 swap the sides.
        let header = decode::header(source)?;
        let transposed = orient::transposes(header.orientation);
        let stored_box = if transposed {
            (plan.resize.height, plan.resize.width)
        } else {
            (plan.resize.width, plan.resize.height)
        };
        let decoded = decode::decode(source, stored_box, self.shrink)?;
        clock.check()?;
        steps::require_srgb(decoded.icc.as_deref())?;
        let image = steps::resize(decoded.pixels, stored_box)?;
        clock.check()?;
        let image = orient::apply(image, decoded.orientation);
        let image = match plan.region {
            Some(rect) => image.crop(rect),
            None => image,
        };
        let image = orient::turn(image, plan.rotation, plan.flip);
        let image = match plan.crop {
            Some(Crop::Fixed(rect)) => image.crop(rect),
            // `beyond_basics` has turned smart crops away.
            Some(Crop::Smart { .. }) | None => image,
        };
        let image = if plan.effects.gray {
            image.into_grey()
        } else {
            image
        };
        let image = match plan.pad {
            Some(placement) => image.pad(placement, plan.background),
            None => image,
        };
        let image = if plan.format.supports_alpha() {
            image
        } else {
            image.flatten(plan.background)
        };
        let bytes = encode::encode(&image, plan.format, plan.quality, plan.encoding)?;
        clock.check()?;
        Ok(Encoded {
            bytes: Bytes::from(bytes),
            format: plan.format,
            width: image.width,
            height: image.height,
        })
    }
}

mod steps {
    use super::*;

    /// Sources are taken as sRGB. A profile that says otherwise (Display P3, Adobe RGB, CMYK)
    /// would need colour management, which this engine does not do yet: refuse rather than
    /// produce shifted colours. sRGB profiles name themselves in their description tag.
    pub(super) fn require_srgb(icc: Option<&[u8]>) -> Result<(), EngineError> {
        match icc {
            Some(profile) if !describes_srgb(profile) => Err(EngineError::NotImplemented(
                "colour management for an embedded non-sRGB ICC profile".into(),
            )),
            _ => Ok(()),
        }
    }

    /// True when the profile's data colour space is RGB and its text mentions sRGB (the `desc`
    /// of "sRGB IEC61966-2.1", "sRGB built-in", Google's and Apple's sRGB profiles alike).
    pub(super) fn describes_srgb(profile: &[u8]) -> bool {
        let rgb = profile.get(16..20) == Some(b"RGB ");
        let text = profile.windows(4).any(|w| w == b"sRGB")
            || profile
                .windows(8)
                .any(|w| w == [0, b's', 0, b'R', 0, b'G', 0, b'B']);
        rgb && text
    }

    /// Lanczos3 to exactly `size` (libvips' reduce kernel), alpha premultiplied while resizing.
    pub(super) fn resize(
        image: Pixels,
        (width, height): (u32, u32),
    ) -> Result<Pixels, EngineError> {
        if (image.width, image.height) == (width, height) {
            return Ok(image);
        }
        let pixel_type = if image.has_alpha() {
            PixelType::U8x4
        } else {
            PixelType::U8x3
        };
        let failed = |e: &dyn std::fmt::Display| EngineError::Internal(format!("resize: {e}"));
        let src = ImageRef::new(image.width, image.height, &image.data, pixel_type)
            .map_err(|e| failed(&e))?;
        let mut dst = Image::new(width.max(1), height.max(1), pixel_type);
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
            .use_alpha(image.has_alpha());
        Resizer::new()
            .resize(&src, &mut dst, &options)
            .map_err(|e| failed(&e))?;
        Ok(Pixels {
            width: dst.width(),
            height: dst.height(),
            channels: image.channels,
            data: dst.into_vec(),
        })
    }
}

#[cfg(test)]
mod tests;
