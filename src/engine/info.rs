//! What `GET /info` says about a source: facts from its header ([`describe`], no pixels decoded)
//! and web-page placeholders from a small thumbnail ([`placeholders`]). libvips reads the header
//! and makes the thumbnail (shrink-on-load, so a 24-MP JPEG is decoded at 1/8 scale); the maths is
//! in the pure `placeholder` module. Like every engine call, these run on the worker pool.

use std::time::Duration;

use serde::Serialize;

use super::vips::source_format;
use super::{Clock, EngineError, SourceFormat, SourceInfo, Strictness};
use crate::placeholder::{blurhash, dominant_color, Components, Pixels};
use crate::vips::{Image, VipsError};

/// Longest side of the placeholder thumbnail. 64 px holds the colour areas a 9×9 BlurHash can
/// show and keeps the histogram and the cosine sums cheap (at most 4096 pixels).
pub const PLACEHOLDER_SIDE: u32 = 64;

/// Header facts about a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description {
    /// Size after EXIF auto-orientation, format, alpha and pages: what `/resize` plans with.
    pub info: SourceInfo,
    /// `jpeg`, `png`, `webp`, `gif`, `avif`, `heif` or `tiff`.
    pub format: &'static str,
    /// Size as stored, before orientation.
    pub stored_width: u32,
    pub stored_height: u32,
    /// EXIF orientation, 1 to 8 (1 when absent).
    pub orientation: u8,
    /// libvips' interpretation: `srgb`, `b-w`, `cmyk`, `rgb16`, `grey16`, ...
    pub color_space: String,
    pub icc_profile: bool,
}

/// Reads the header of `source`: cheap, decodes no pixels.
pub fn describe(source: &[u8]) -> Result<Description, EngineError> {
    let image = Image::header_from_buffer(source).map_err(undecodable)?;
    let (stored_width, stored_height) = (image.width(), image.height());
    if stored_width == 0 || stored_height == 0 {
        return Err(EngineError::Undecodable("the image has no pixels".into()));
    }
    // libvips reads 1 for a missing tag and clamps nonsense to 1..=8; clamp again, cheaply.
    let orientation = u8::try_from(image.orientation().clamp(1, 8)).unwrap_or(1);
    // Orientations 5..=8 are transposed: the displayed width is the stored height.
    let (width, height) = if orientation >= 5 {
        (stored_height, stored_width)
    } else {
        (stored_width, stored_height)
    };
    let loader = image.loader();
    let format = source_format(loader.as_deref());
    Ok(Description {
        info: SourceInfo {
            width,
            height,
            format,
            has_alpha: image.has_alpha(),
            pages: image.pages().max(1),
        },
        format: format_name(format, &image),
        stored_width,
        stored_height,
        orientation,
        color_space: image.interpretation(),
        icc_profile: image.has_icc_profile(),
    })
}

/// A source's placeholders for a web page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placeholders {
    /// `#rrggbb`; `None` when the image is (nearly) transparent everywhere.
    pub dominant_color: Option<String>,
    pub blurhash: String,
}

/// Decodes a thumbnail of at most [`PLACEHOLDER_SIDE`] px (the first frame, auto-oriented,
/// converted to 8-bit sRGB) and computes the dominant colour and the BlurHash from it.
pub fn placeholders(
    source: &[u8],
    components: Components,
    strictness: Strictness,
    time_limit: Option<Duration>,
) -> Result<Placeholders, EngineError> {
    let clock = Clock::start(time_limit);
    let thumbnail = Image::thumbnail_within(source, PLACEHOLDER_SIDE, strictness.into())
        .map_err(undecodable)?;
    // CMYK, 16-bit and other spaces become 8-bit sRGB, as `/resize` does before encoding.
    let thumbnail = if thumbnail.needs_srgb_conversion() {
        thumbnail.to_srgb().map_err(undecodable)?
    } else {
        thumbnail
    };
    // The pipeline is lazy: the decode runs in `decode_to_memory`. libvips checks its kill flag as
    // it makes output tiles, and a 64-px thumbnail is about one tile, so the kill rarely lands
    // mid-decode; what bounds the decode is `--max-src-pixels`, checked from the header before.
    clock.check()?;
    if let Some(remaining) = clock.remaining() {
        thumbnail.set_time_limit(remaining);
    }
    let bytes = thumbnail
        .decode_to_memory()
        .map_err(|e| clock.explain(undecodable(e)))?;
    let pixels = Pixels::new(
        &bytes,
        thumbnail.width(),
        thumbnail.height(),
        thumbnail.bands(),
    )
    .map_err(|e| EngineError::Internal(format!("placeholder thumbnail: {e}")))?;
    Ok(Placeholders {
        dominant_color: dominant_color(&pixels).map(|c| c.hex()),
        blurhash: blurhash(&pixels, components),
    })
}

fn undecodable(err: VipsError) -> EngineError {
    EngineError::Undecodable(err.0)
}

/// The format's usual name; the HEIF loader reads both HEIC and AVIF, told apart by the codec.
fn format_name(format: SourceFormat, image: &Image<'_>) -> &'static str {
    match format {
        SourceFormat::Jpeg => "jpeg",
        SourceFormat::Png => "png",
        SourceFormat::Webp => "webp",
        SourceFormat::Gif => "gif",
        SourceFormat::Tiff => "tiff",
        SourceFormat::Heif => match image.string_field(c"heif-compression").as_deref() {
            Some("av1") => "avif",
            _ => "heif",
        },
        SourceFormat::Jxl => "jxl",
        SourceFormat::Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vips::SaveFormat;

    fn encoded(pixels: &[u8], width: u32, height: u32, bands: u32, format: SaveFormat) -> Vec<u8> {
        Image::from_pixels(pixels, width, height, bands)
            .expect("image")
            .save(format)
            .expect("save")
    }

    fn png(pixels: &[u8], width: u32, height: u32, bands: u32) -> Vec<u8> {
        encoded(
            pixels,
            width,
            height,
            bands,
            SaveFormat::Png {
                compression: 6,
                palette: false,
                strip: true,
            },
        )
    }

    #[test]
    fn a_png_header_is_described() {
        let src = png(&[10; 30 * 20 * 4], 30, 20, 4);
        let d = describe(&src).expect("png");
        assert_eq!(
            (
                d.format,
                d.info.width,
                d.info.height,
                d.info.has_alpha,
                d.info.pages
            ),
            ("png", 30, 20, true, 1)
        );
        assert_eq!(
            (d.orientation, d.color_space.as_str(), d.icc_profile),
            (1, "srgb", false)
        );
        let grey = describe(&png(&[10; 8 * 8], 8, 8, 1)).expect("grey png");
        assert_eq!(
            (grey.color_space.as_str(), grey.info.has_alpha),
            ("b-w", false)
        );
    }

    #[test]
    fn placeholders_of_a_uniform_image_are_its_colour() {
        // 1000x600 of one colour: the thumbnail is 64x38, the dominant colour exact (PNG is
        // lossless and a uniform image resamples to itself).
        let (w, h) = (1000, 600);
        let pixels: Vec<u8> = [200u8, 40, 90].repeat(w * h);
        let src = png(&pixels, w as u32, h as u32, 3);
        let p = placeholders(&src, Components::DEFAULT, Strictness::Warning, None).expect("ok");
        assert_eq!(p.dominant_color.as_deref(), Some("#c8285a"));
        assert_eq!(p.blurhash.len(), 28);
        // Same pixels in the pure module give the same hash: the thumbnail kept the colour.
        let small: Vec<u8> = [200u8, 40, 90].repeat(64 * 38);
        let direct = blurhash(
            &Pixels::new(&small, 64, 38, 3).expect("px"),
            Components::DEFAULT,
        );
        assert_eq!(p.blurhash, direct);
    }

    #[test]
    fn garbage_is_undecodable_and_the_time_limit_holds() {
        assert!(matches!(
            describe(b"not an image"),
            Err(EngineError::Undecodable(_))
        ));
        assert!(matches!(
            placeholders(
                b"not an image",
                Components::DEFAULT,
                Strictness::Warning,
                None
            ),
            Err(EngineError::Undecodable(_))
        ));
        // Opening a 6-MP JPEG takes longer than 1 µs: the limit is spent before the decode starts,
        // and the decode is not begun.
        let big = crate::samples::photo_jpeg(3000, 2000, 3, 90).expect("jpeg");
        let limit = Duration::from_micros(1);
        assert_eq!(
            placeholders(&big, Components::DEFAULT, Strictness::Warning, Some(limit)),
            Err(EngineError::Timeout(limit))
        );
        let ample = Some(Duration::from_secs(30));
        assert!(placeholders(&big, Components::DEFAULT, Strictness::Warning, ample).is_ok());
    }
}
