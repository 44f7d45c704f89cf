//! The libvips engine: a shrink-on-load thumbnail followed by a short list of named steps.
//!
//! The pipeline is lazy: libvips builds it step by step and runs it once, when `encode` saves. That is
//! also where a truncated or corrupt source fails (we load with libvips' `fail_on` set from
//! [`Strictness`]), so encode errors are classified as undecodable sources.

mod derivatives;
mod steps;
mod text;

pub use crate::engine::shrink::{draft_shrink, jpeg_shrink};
pub use crate::vips::{init, Image, SaveFormat, VipsError};
pub use derivatives::{Derivatives, Intermediate, Lookup, OnLookup};
pub use text::{draw_text, render_banner, BannerError, BannerLimits};

use std::sync::Arc;

use bytes::Bytes;

use super::{
    Clock, Encoded, Engine, EngineError, OutputFormat, Plan, SourceFormat, SourceInfo, Strictness,
};
use crate::engine::{trim, Rect};
use crate::vips::ThumbnailSize;

/// Longest side of the decode `trim` searches: enough to place the border within a few source pixels.
const TRIM_SIDE: u32 = 1024;

/// NOTE(perf): AVIF encode time rises steeply with effort (about 4x from 0 to 4 at 800 px on this
/// class of machine); 2 keeps it within a few hundred ms for thumbnails at a modest size cost.
const AVIF_EFFORT: u8 = 2;
/// libvips' default WebP effort: a balanced speed/size point.
const WEBP_EFFORT: u8 = 4;
/// zlib level 6: libvips' default, the usual PNG size/speed knee.
const PNG_COMPRESSION: u8 = 6;

#[derive(Debug)]
pub struct VipsEngine {
    version: String,
    encodable: [bool; OutputFormat::ALL.len()],
    strictness: Strictness,
    derivatives: Option<Derivatives>,
    /// Load JPEGs at the coarsest DCT scale still as large as the target (see [`draft_shrink`]).
    draft: bool,
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
        let library = self.version.trim_end_matches("+draft").to_string();
        self.version = if draft {
            format!("{library}+draft")
        } else {
            library
        };
        self.draft = draft;
        self
    }

    /// The DCT shrink a plain JPEG is decoded at for a target: [`draft_shrink`] or libvips'
    /// [`jpeg_shrink`]. The derivative cache decides with the same rule as the cold path, so a kept
    /// level never has fewer pixels than the cold path would decode.
    fn shrink_rule(&self) -> fn((u32, u32), (u32, u32)) -> u32 {
        if self.draft {
            draft_shrink
        } else {
            jpeg_shrink
        }
    }

    /// How much finer than the cold path's decode a kept level may be under the rule in use.
    fn reach(&self) -> u32 {
        if self.draft {
            derivatives::DRAFT_REACH
        } else {
            derivatives::HEADROOM_REACH
        }
    }

    pub fn derivatives(&self) -> Option<&Derivatives> {
        self.derivatives.as_ref()
    }

    /// The upright size of `source` when it is a plain JPEG: 8-bit sRGB or greyscale, no ICC
    /// profile, one page. Only those take the derivative cache and the draft load (anything else
    /// goes through thumbnail's own colour handling).
    fn plain_jpeg(source: &[u8]) -> Result<Option<(u32, u32)>, EngineError> {
        let header = Image::header_from_buffer(source).map_err(undecodable)?;
        let plain = header
            .loader()
            .is_some_and(|loader| loader.starts_with("jpegload"))
            && !header.needs_srgb_conversion()
            && !header.has_icc_profile()
            && matches!(header.bands(), 1 | 3)
            && header.pages() <= 1;
        Ok(plain.then(|| {
            if (5..=8).contains(&header.orientation()) {
                (header.height(), header.width())
            } else {
                (header.width(), header.height())
            }
        }))
    }

    /// A decode of `source` that the plan may resize from, when the derivative cache is on and the
    /// source is a plain JPEG of upright size `jpeg` (see `derivatives`): cached, or decoded now and
    /// kept.
    fn intermediate(
        &self,
        source: &[u8],
        jpeg: Option<(u32, u32)>,
        plan: &Plan,
        clock: &Clock,
    ) -> Result<Option<Arc<Intermediate>>, EngineError> {
        let Some(derivatives) = &self.derivatives else {
            return Ok(None);
        };
        let Some((width, height)) = jpeg else {
            derivatives.bypass();
            return Ok(None);
        };
        let needed = self.shrink_rule()((width, height), (plan.resize.width, plan.resize.height));
        if needed == 1 {
            // NOTE(perf): a full-size decode held in memory costs more to make (+40% on a 12-MP
            // JPEG) than resizing from it saves, and serves only the two largest levels.
            derivatives.bypass();
            return Ok(None);
        }
        let key = *blake3::hash(source).as_bytes();
        if let Some((_, cached)) = derivatives.find(&key, needed, self.reach()) {
            derivatives.record(Lookup::Hit);
            return Ok(Some(cached));
        }
        if let Some((finer, from)) = derivatives.finer(&key, needed) {
            let derived = Arc::new(derive(&from, needed / finer)?);
            derivatives.store(key, needed, derived.clone());
            derivatives.record(Lookup::Derived);
            return Ok(Some(derived));
        }
        // Under the draft rule a kept level is 1-2x the target per side (below shrink 8), cheap
        // enough to keep from the first request (measured: no slower on distinct sources,
        // docs/BENCHMARKS.md).
        let Some(decode_at) = derivatives.admit(&key, needed, self.draft) else {
            derivatives.record(Lookup::First);
            return Ok(None);
        };
        let shrunk =
            Image::jpeg_shrunk(source, decode_at, self.strictness.into()).map_err(undecodable)?;
        if let Some(remaining) = clock.remaining() {
            shrunk.set_time_limit(remaining);
        }
        let pixels = shrunk
            .decode_to_memory()
            .map_err(|e| clock.explain(undecodable(e)))?;
        let decoded = Arc::new(Intermediate {
            width: shrunk.width(),
            height: shrunk.height(),
            bands: shrunk.bands(),
            pixels,
        });
        derivatives.store(key, decode_at, decoded.clone());
        derivatives.record(Lookup::Miss);
        // This decode itself must be within reach: another level a concurrent request kept does
        // not make it usable.
        if decode_at * self.reach() >= needed {
            return Ok(Some(decoded));
        }
        // Decoded finer than this target may be served from (for a later, larger one): derive.
        let derived = Arc::new(derive(&decoded, needed / decode_at)?);
        derivatives.store(key, needed, derived.clone());
        Ok(Some(derived))
    }
}

/// A coarser level made from a finer kept one by a box shrink of `factor` (a power of two).
fn derive(from: &Intermediate, factor: u32) -> Result<Intermediate, EngineError> {
    let image = Image::from_pixels_borrowed(&from.pixels, from.width, from.height, from.bands)
        .and_then(|image| image.box_shrink(factor))
        .map_err(internal)?;
    let pixels = image.decode_to_memory().map_err(internal)?;
    Ok(Intermediate {
        width: image.width(),
        height: image.height(),
        bands: image.bands(),
        pixels,
    })
}

fn save_format(
    format: OutputFormat,
    quality: u8,
    encoding: crate::types::Encoding,
    strip: bool,
) -> SaveFormat {
    match format {
        OutputFormat::Jpeg => SaveFormat::Jpeg {
            quality,
            progressive: encoding.progressive,
            strip,
        },
        OutputFormat::Png => SaveFormat::Png {
            compression: PNG_COMPRESSION,
            palette: encoding.palette,
            strip,
        },
        OutputFormat::Webp => SaveFormat::Webp {
            quality,
            lossless: encoding.lossless,
            effort: WEBP_EFFORT,
            strip,
        },
        OutputFormat::Avif => SaveFormat::Avif {
            quality,
            effort: AVIF_EFFORT,
            strip,
        },
        OutputFormat::Gif => SaveFormat::Gif { strip },
    }
}

/// The container a libvips loader name stands for (`jpegload_buffer` -> JPEG, ...).
pub(crate) fn source_format(loader: Option<&str>) -> SourceFormat {
    let Some(loader) = loader else {
        return SourceFormat::Other;
    };
    let known = [
        ("jpegload", SourceFormat::Jpeg),
        ("pngload", SourceFormat::Png),
        ("webpload", SourceFormat::Webp),
        ("gifload", SourceFormat::Gif),
        ("heifload", SourceFormat::Heif),
        ("tiffload", SourceFormat::Tiff),
    ];
    known
        .iter()
        .find(|(prefix, _)| loader.starts_with(prefix))
        .map_or(SourceFormat::Other, |(_, format)| *format)
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
    fn trim_box(&self, source: &[u8], threshold: u8) -> Result<Option<Rect>, EngineError> {
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
        let pixels = image.decode_to_memory().map_err(undecodable)?;
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
            (Some(decoded), _) => steps::load_decoded(decoded, plan)?,
            (None, Some(shrink)) if self.draft && shrink > 1 => {
                steps::load_draft(source, shrink, plan, self.strictness)?
            }
            (None, _) => steps::load(source, plan, self.strictness)?,
        };
        clock.check()?;
        let image = steps::to_srgb(image)?;
        let watermark = plan
            .overlay
            .as_ref()
            .map(|overlay| steps::load_watermark(overlay, self.strictness))
            .transpose()?;
        let image = steps::per_frame(image, plan, &clock, |frame, plan, clock| {
            let frame = steps::shape(frame, plan, clock)?;
            steps::overlay(frame, plan, watermark.as_ref())
        })?;
        let image = steps::flatten(image, plan)?;
        let image = steps::metadata(image, plan)?;
        let (width, height) = (image.width(), image.page_height());
        // The pipeline is lazy: the decode and every step run inside encode, so that is where the
        // time limit must reach into libvips.
        if let Some(remaining) = clock.remaining() {
            image.set_time_limit(remaining);
        }
        let bytes = steps::encode(&image, plan).map_err(|e| clock.explain(e))?;
        Ok(Encoded {
            bytes: Bytes::from(bytes),
            format: plan.format,
            width,
            height,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Crop, Placement, Rect, Rgba, Size};
    use std::time::Duration;

    fn engine() -> VipsEngine {
        VipsEngine::new().expect("libvips initialises")
    }

    fn gradient(width: u32, height: u32, bands: u32) -> Vec<u8> {
        let mut px = Vec::with_capacity((width * height * bands) as usize);
        for y in 0..height {
            for x in 0..width {
                for b in 0..bands {
                    px.push(((x * 7 + y * 3 + b * 50) % 256) as u8);
                }
            }
        }
        px
    }

    fn encoded(width: u32, height: u32, bands: u32, format: OutputFormat) -> Vec<u8> {
        Image::from_pixels(&gradient(width, height, bands), width, height, bands)
            .expect("image")
            .save(save_format(format, 90, Default::default(), true))
            .expect("save")
    }

    fn plan(resize: Size, format: OutputFormat) -> Plan {
        let mut plan = Plan::scale_to(resize, format);
        plan.background = Rgba::WHITE;
        plan.quality = 80;
        plan
    }

    #[test]
    fn probes_jpeg_and_png_headers() {
        let e = engine();
        let jpeg = e
            .probe(&encoded(64, 48, 3, OutputFormat::Jpeg))
            .expect("jpeg");
        assert_eq!(
            (jpeg.width, jpeg.height, jpeg.format, jpeg.has_alpha),
            (64, 48, SourceFormat::Jpeg, false)
        );
        let png = e
            .probe(&encoded(20, 10, 4, OutputFormat::Png))
            .expect("png");
        assert_eq!((png.format, png.has_alpha), (SourceFormat::Png, true));
    }

    #[test]
    fn jpeg_and_png_are_always_encodable() {
        let e = engine();
        assert!(e.can_encode(OutputFormat::Jpeg));
        assert!(e.can_encode(OutputFormat::Png));
    }

    #[test]
    fn transform_produces_the_planned_size() {
        let e = engine();
        let src = encoded(640, 480, 3, OutputFormat::Jpeg);
        let out = e
            .transform(
                &src,
                &plan(
                    Size {
                        width: 300,
                        height: 225,
                    },
                    OutputFormat::Jpeg,
                ),
            )
            .expect("ok");
        assert_eq!((out.width, out.height), (300, 225));
        let back = e.probe(&out.bytes).expect("decodable");
        assert_eq!(
            (back.width, back.height, back.format),
            (300, 225, SourceFormat::Jpeg)
        );
    }

    #[test]
    fn crop_and_pad_shape_the_output() {
        let e = engine();
        let src = encoded(400, 300, 3, OutputFormat::Png);
        let mut p = plan(
            Size {
                width: 200,
                height: 150,
            },
            OutputFormat::Png,
        );
        p.crop = Some(Crop::Fixed(Rect {
            left: 25,
            top: 0,
            width: 150,
            height: 150,
        }));
        assert_eq!(
            e.transform(&src, &p).map(|o| (o.width, o.height)),
            Ok((150, 150))
        );
        let mut p = plan(
            Size {
                width: 200,
                height: 150,
            },
            OutputFormat::Png,
        );
        p.pad = Some(Placement {
            canvas: Size {
                width: 200,
                height: 200,
            },
            left: 0,
            top: 25,
        });
        p.background = Rgba::TRANSPARENT;
        let out = e.transform(&src, &p).expect("padded");
        assert_eq!((out.width, out.height), (200, 200));
        assert!(e.probe(&out.bytes).expect("png").has_alpha);
    }

    #[test]
    fn alpha_is_flattened_for_jpeg() {
        let e = engine();
        let src = encoded(40, 40, 4, OutputFormat::Png);
        let out = e
            .transform(
                &src,
                &plan(
                    Size {
                        width: 20,
                        height: 20,
                    },
                    OutputFormat::Jpeg,
                ),
            )
            .expect("ok");
        assert!(!e.probe(&out.bytes).expect("jpeg").has_alpha);
    }

    #[test]
    fn garbage_and_truncation_are_undecodable() {
        let e = engine();
        assert!(matches!(
            e.probe(b"definitely not an image"),
            Err(EngineError::Undecodable(_))
        ));
        assert!(matches!(e.probe(&[]), Err(EngineError::Undecodable(_))));
        let jpeg = encoded(512, 512, 3, OutputFormat::Jpeg);
        let truncated = &jpeg[..jpeg.len() / 2];
        let result = e.transform(
            truncated,
            &plan(
                Size {
                    width: 100,
                    height: 100,
                },
                OutputFormat::Jpeg,
            ),
        );
        assert!(
            matches!(result, Err(EngineError::Undecodable(_))),
            "{result:?}"
        );
    }

    #[test]
    fn the_time_limit_stops_libvips_mid_operation() {
        let e = engine();
        let src = crate::samples::photo_jpeg(3000, 2000, 7, 90).expect("jpeg");
        // Decoding 6 MP and encoding a lossless 3000x2000 PNG takes far longer than a millisecond.
        let slow = plan(
            Size {
                width: 3000,
                height: 2000,
            },
            OutputFormat::Png,
        )
        .with_time_limit(Duration::from_millis(1));
        // Without the kill, the save would succeed: an error here means libvips stopped the work.
        let result = e.transform(&src, &slow);
        assert_eq!(
            result.map(|o| o.width),
            Err(EngineError::Timeout(Duration::from_millis(1)))
        );
        // The engine is fine afterwards.
        let fast = plan(
            Size {
                width: 300,
                height: 200,
            },
            OutputFormat::Jpeg,
        )
        .with_time_limit(Duration::from_secs(30));
        assert!(e.transform(&src, &fast).is_ok());
    }

    fn luma(encoded: &[u8]) -> crate::quality::Luma {
        let rgba = image::load_from_memory(encoded)
            .expect("decodable")
            .to_rgba8();
        crate::quality::Luma::from_rgba_over_white(rgba.width(), rgba.height(), rgba.as_raw())
    }

    /// Lookup results seen by the derivative cache's callback.
    type Lookups = Arc<std::sync::Mutex<Vec<Lookup>>>;

    fn with_derivatives() -> (VipsEngine, Lookups) {
        let lookups = Lookups::default();
        let seen = lookups.clone();
        let on_lookup = OnLookup::new(move |lookup| {
            seen.lock().expect("not poisoned").push(lookup);
        });
        let engine = engine().with_derivatives(Derivatives::new(1 << 30, 1 << 30, on_lookup));
        (engine, lookups)
    }

    fn count(lookups: &Lookups, result: &'static str) -> u64 {
        let lookups = lookups.lock().expect("not poisoned");
        lookups.iter().filter(|l| l.as_str() == result).count() as u64
    }

    /// Six sizes of one 3000x2000 photo through the derivative cache, each compared with a cold
    /// transform by the same shrink rule; returns the lookup counts (first, miss, hit, derived,
    /// bypass).
    fn kept_decodes_against_cold(draft: bool) -> (u64, u64, u64, u64, u64) {
        let cold = engine().with_draft(draft);
        let (warm, lookups) = with_derivatives();
        let warm = warm.with_draft(draft);
        let src = crate::samples::photo_jpeg(3000, 2000, 5, 90).expect("jpeg");
        for (w, h) in [
            (1000, 667),
            (700, 467),
            (400, 267),
            (300, 200),
            (120, 80),
            (100, 67),
        ] {
            let p = plan(
                Size {
                    width: w,
                    height: h,
                },
                OutputFormat::Jpeg,
            );
            let a = warm.transform(&src, &p).expect("warm");
            let b = cold.transform(&src, &p).expect("cold");
            assert_eq!((a.width, a.height), (w, h));
            let score = crate::quality::ssim(&luma(&a.bytes), &luma(&b.bytes)).expect("size");
            assert!(
                score >= 0.99,
                "draft {draft}, {w}x{h}: SSIM {score:.4} against a cold transform"
            );
        }
        (
            count(&lookups, "first"),
            count(&lookups, "miss"),
            count(&lookups, "hit"),
            count(&lookups, "derived"),
            count(&lookups, "bypass"),
        )
    }

    #[test]
    fn later_sizes_come_from_a_kept_decode_and_match_a_cold_transform() {
        // libvips' rule: shrink 1 (not kept), shrink 2 (first sight: not kept), shrink 2 (decoded
        // and kept), shrink 4 (from it), shrink 8 (two levels away: derived from it by a box
        // shrink and kept), shrink 8 again (from that).
        assert_eq!(kept_decodes_against_cold(false), (1, 1, 2, 1, 1));
    }

    #[test]
    fn with_draft_decoding_the_kept_levels_follow_the_draft_rule() {
        // Kept from the first sight: shrinks 2 (decoded and kept), 4 (derived from it and kept), 4
        // (kept), 8 (derived from 4 and kept), 8, 8 (kept).
        assert_eq!(kept_decodes_against_cold(true), (0, 1, 3, 2, 0));
    }

    #[test]
    fn a_smaller_decode_never_serves_a_larger_size() {
        let (warm, lookups) = with_derivatives();
        let src = crate::samples::photo_jpeg(3000, 2000, 6, 90).expect("jpeg");
        let small = plan(
            Size {
                width: 150,
                height: 100,
            },
            OutputFormat::Jpeg,
        );
        let large = plan(
            Size {
                width: 700,
                height: 467,
            },
            OutputFormat::Jpeg,
        );
        // First sight, then a decode at 1/8 (375x250), kept.
        warm.transform(&src, &small).expect("small");
        warm.transform(&src, &small).expect("small");
        assert_eq!((count(&lookups, "first"), count(&lookups, "miss")), (1, 1));
        // The 1/8 decode cannot make 700x467: a new decode, at shrink 2.
        let out = warm.transform(&src, &large).expect("large");
        assert_eq!((out.width, out.height), (700, 467));
        assert_eq!((count(&lookups, "miss"), count(&lookups, "hit")), (2, 0));
        // Now both are kept; the small size takes the smallest usable one.
        warm.transform(&src, &small).expect("small again");
        assert_eq!(count(&lookups, "hit"), 1);
    }

    #[test]
    fn orientation_survives_the_kept_decode_and_non_jpegs_bypass_it() {
        let cold = engine();
        let (warm, lookups) = with_derivatives();
        // A 1600x800 JPEG whose EXIF says "rotate 90° clockwise", as tests/common makes them.
        let stored = crate::samples::photo_jpeg(1600, 800, 9, 90).expect("jpeg");
        let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        let mut src = stored[..2].to_vec();
        src.extend_from_slice(&[0xFF, 0xE1]);
        src.extend_from_slice(&u16::try_from(app1.len() + 2).expect("short").to_be_bytes());
        src.extend(app1);
        src.extend_from_slice(&stored[2..]);
        // First sight, a decode at shrink 2 (kept), then shrink 8 derived from it.
        for (w, h) in [(200, 400), (200, 400), (50, 100)] {
            let p = plan(
                Size {
                    width: w,
                    height: h,
                },
                OutputFormat::Jpeg,
            );
            let a = warm.transform(&src, &p).expect("warm");
            let b = cold.transform(&src, &p).expect("cold");
            let score = crate::quality::ssim(&luma(&a.bytes), &luma(&b.bytes)).expect("size");
            assert!(score >= 0.99, "{w}x{h}: SSIM {score:.4}");
        }
        assert_eq!(
            (count(&lookups, "miss"), count(&lookups, "derived")),
            (1, 1)
        );
        let png = encoded(64, 64, 4, OutputFormat::Png);
        let p = plan(
            Size {
                width: 32,
                height: 32,
            },
            OutputFormat::Png,
        );
        warm.transform(&png, &p).expect("png");
        assert_eq!(count(&lookups, "bypass"), 1);
    }

    #[test]
    fn the_draft_load_matches_thumbnail_within_tolerance() {
        let thumbnail = engine();
        let draft = engine().with_draft(true);
        let photo = crate::samples::photo_jpeg(3000, 2000, 8, 90).expect("jpeg");
        // Stored 1600x800, EXIF 6: upright 800x1600 (the draft load must auto-orient too).
        let stored = crate::samples::photo_jpeg(1600, 800, 9, 90).expect("jpeg");
        let mut turned = stored[..2].to_vec();
        let mut app1 = b"Exif\0\0MM\0*\0\0\0\x08\0\x01".to_vec();
        app1.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
        turned.extend_from_slice(&[0xFF, 0xE1]);
        turned.extend_from_slice(&u16::try_from(app1.len() + 2).expect("short").to_be_bytes());
        turned.extend(app1);
        turned.extend_from_slice(&stored[2..]);
        for (src, (w, h)) in [
            (&photo, (640, 427)),
            (&photo, (300, 200)),
            (&photo, (1000, 667)),
            (&photo, (200, 500)),
            (&turned, (200, 400)),
        ] {
            let p = plan(
                Size {
                    width: w,
                    height: h,
                },
                OutputFormat::Jpeg,
            );
            let a = draft.transform(src, &p).expect("draft");
            let b = thumbnail.transform(src, &p).expect("thumbnail");
            assert_eq!((a.width, a.height), (w, h));
            let score = crate::quality::ssim(&luma(&a.bytes), &luma(&b.bytes)).expect("size");
            assert!(score >= 0.98, "{w}x{h}: SSIM {score:.4} against thumbnail");
        }
    }

    #[test]
    fn svg_is_not_accepted() {
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;
        assert!(matches!(
            engine().probe(svg),
            Err(EngineError::Undecodable(_))
        ));
    }
}
