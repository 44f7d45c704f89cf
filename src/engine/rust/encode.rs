//! Encoding [`Pixels`] with pure-Rust encoders: JPEG (baseline or progressive), PNG, and lossless
//! WebP. The one pure-Rust WebP encoder (image-webp) is lossless-only, and a lossless file where a
//! lossy one was asked for would be a silent difference of several times the size, so lossy WebP
//! (the default for `fm=webp`) fails as not implemented, and AVIF is not offered: both stay with
//! libvips.

use super::pixels::Pixels;
use crate::engine::{EngineError, OutputFormat};
use crate::types::Encoding;

pub(super) fn can_encode(format: OutputFormat) -> bool {
    matches!(
        format,
        OutputFormat::Jpeg | OutputFormat::Png | OutputFormat::Webp
    )
}

fn failed(what: &str, error: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("{what} encoder: {error}"))
}

/// Refuses, before any decoding, an encoding this engine cannot write: lossy WebP.
pub(super) fn check_encoding(format: OutputFormat, encoding: Encoding) -> Result<(), EngineError> {
    if format == OutputFormat::Webp && !encoding.lossless {
        return Err(EngineError::NotImplemented(
            "lossy WebP output (the pure-Rust encoder is lossless-only)".into(),
        ));
    }
    Ok(())
}

pub(super) fn encode(
    image: &Pixels,
    format: OutputFormat,
    quality: u8,
    encoding: Encoding,
) -> Result<Vec<u8>, EngineError> {
    match format {
        OutputFormat::Jpeg => jpeg(image, quality, encoding.progressive),
        OutputFormat::Png => png(image),
        OutputFormat::Webp => {
            check_encoding(format, encoding)?;
            webp_lossless(image)
        }
        other => Err(EngineError::UnsupportedFormat(other.as_str())),
    }
}

/// 4:2:0 below quality 90 and 4:4:4 from 90 (the encoder's default, and the same rule libvips
/// follows), standard Huffman tables; progressive with the encoder's default scans when asked.
fn jpeg(image: &Pixels, quality: u8, progressive: bool) -> Result<Vec<u8>, EngineError> {
    let width = u16::try_from(image.width).map_err(|e| failed("JPEG", e))?;
    let height = u16::try_from(image.height).map_err(|e| failed("JPEG", e))?;
    let colour = match image.channels {
        1 => jpeg_encoder::ColorType::Luma,
        3 => jpeg_encoder::ColorType::Rgb,
        // The pipeline flattens alpha before a JPEG; this is a bug guard, not a path.
        _ => return Err(failed("JPEG", "alpha reached the JPEG encoder")),
    };
    let mut out = Vec::with_capacity(image.data.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_progressive(progressive);
    encoder
        .encode(&image.data, width, height, colour)
        .map_err(|e| failed("JPEG", e))?;
    Ok(out)
}

/// VP8L, in the image's own channels.
fn webp_lossless(image: &Pixels) -> Result<Vec<u8>, EngineError> {
    let colour = match image.channels {
        1 => image_webp::ColorType::L8,
        2 => image_webp::ColorType::La8,
        4 => image_webp::ColorType::Rgba8,
        _ => image_webp::ColorType::Rgb8,
    };
    let mut out = Vec::with_capacity(image.data.len() / 2);
    image_webp::WebPEncoder::new(&mut out)
        .encode(&image.data, image.width, image.height, colour)
        .map_err(|e| failed("WebP", e))?;
    Ok(out)
}

/// 8-bit RGB or RGBA, zlib-class compression (png's `Balanced`), adaptive filtering.
fn png(image: &Pixels) -> Result<Vec<u8>, EngineError> {
    let mut out = Vec::with_capacity(image.data.len() / 2);
    let mut encoder = png::Encoder::new(&mut out, image.width, image.height);
    encoder.set_color(match image.channels {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        4 => png::ColorType::Rgba,
        _ => png::ColorType::Rgb,
    });
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header().map_err(|e| failed("PNG", e))?;
    writer
        .write_image_data(&image.data)
        .map_err(|e| failed("PNG", e))?;
    writer.finish().map_err(|e| failed("PNG", e))?;
    Ok(out)
}
