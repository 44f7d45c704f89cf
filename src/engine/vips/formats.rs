//! Our formats in libvips' terms: the save options each output format is written with, and the
//! source format a libvips loader name stands for.

use super::SaveFormat;
use crate::engine::{OutputFormat, SourceFormat};

/// NOTE(perf): AVIF encode time rises steeply with effort (about 4x from 0 to 4 at 800 px on this
/// class of machine); 2 keeps it within a few hundred ms for thumbnails at a modest size cost.
const AVIF_EFFORT: u8 = 2;
/// libvips' default WebP effort: a balanced speed/size point.
const WEBP_EFFORT: u8 = 4;
/// libjxl's effort 4 (libvips' default is 7): 25 ms/MP against 190 for a ~10% smaller file on a
/// 25-MP photo-like image, the same choice as imgproxy's default; the encode is one uninterruptible
/// call (see `encode_budget`).
const JXL_EFFORT: u8 = 4;
/// zlib level 6: libvips' default, the usual PNG size/speed knee.
const PNG_COMPRESSION: u8 = 6;

pub(super) fn save_format(
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
        OutputFormat::Jxl => SaveFormat::Jxl {
            quality,
            effort: JXL_EFFORT,
            strip,
        },
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
        ("jxlload", SourceFormat::Jxl),
    ];
    known
        .iter()
        .find(|(prefix, _)| loader.starts_with(prefix))
        .map_or(SourceFormat::Other, |(_, format)| *format)
}
