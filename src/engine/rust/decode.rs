//! Reading sources with pure-Rust decoders: the format by its magic bytes (never the file name),
//! a cheap header read for `probe`, and a decode into [`Pixels`] that, for JPEG, shrinks by 2, 4 or
//! 8 in the DCT domain while decoding when the plan allows (libvips' shrink-on-load, the step that
//! makes thumbnails of large photos cheap).

use std::io::Cursor;

use super::orient::exif_orientation;
use super::pixels::Pixels;
use crate::engine::{EngineError, SourceFormat};

/// What the header says, in the source's stored orientation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub format: SourceFormat,
    pub width: u32,
    pub height: u32,
    pub has_alpha: bool,
    pub pages: u32,
    /// EXIF orientation, 1 when there is none.
    pub orientation: u16,
}

/// Pixels as decoded (stored orientation), with what is needed to finish them.
#[derive(Debug)]
pub struct Decoded {
    pub pixels: Pixels,
    pub orientation: u16,
    /// An embedded ICC profile, if any.
    pub icc: Option<Vec<u8>>,
}

pub fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some(SourceFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(SourceFormat::Png),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => {
            Some(SourceFormat::Webp)
        }
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(SourceFormat::Gif),
        _ => None,
    }
}

fn broken(what: &str, error: impl std::fmt::Display) -> EngineError {
    EngineError::Undecodable(format!("{what}: {error}"))
}

pub fn header(bytes: &[u8]) -> Result<Header, EngineError> {
    match sniff(bytes) {
        Some(SourceFormat::Jpeg) => jpeg::header(bytes),
        Some(SourceFormat::Png) => png_codec::header(bytes),
        Some(SourceFormat::Webp) => webp::header(bytes),
        Some(SourceFormat::Gif) => gif_codec::header(bytes),
        _ => Err(EngineError::Undecodable(
            "not a JPEG, PNG, WebP or GIF image".into(),
        )),
    }
}

/// A DCT shrink rule of `crate::engine::shrink`: (source size, target size) -> 8, 4, 2 or 1.
pub type ShrinkRule = fn((u32, u32), (u32, u32)) -> u32;

/// Decodes `bytes`. `shrink_to` (stored orientation) is the smallest size the caller still needs:
/// a JPEG is shrunk in the DCT domain as far as `rule` allows, others are decoded in full.
pub fn decode(
    bytes: &[u8],
    shrink_to: (u32, u32),
    rule: ShrinkRule,
) -> Result<Decoded, EngineError> {
    match sniff(bytes) {
        Some(SourceFormat::Jpeg) => jpeg::decode(bytes, shrink_to, rule),
        Some(SourceFormat::Png) => png_codec::decode(bytes),
        Some(SourceFormat::Webp) => webp::decode(bytes),
        Some(SourceFormat::Gif) => gif_codec::decode(bytes),
        _ => Err(EngineError::Undecodable(
            "not a JPEG, PNG, WebP or GIF image".into(),
        )),
    }
}

mod jpeg {
    use super::*;
    use jpeg_decoder::{Decoder, PixelFormat};

    fn read_error(error: jpeg_decoder::Error) -> EngineError {
        match error {
            jpeg_decoder::Error::Unsupported(feature) => {
                EngineError::NotImplemented(format!("JPEG with {feature:?}"))
            }
            other => broken("JPEG", other),
        }
    }

    pub fn header(bytes: &[u8]) -> Result<Header, EngineError> {
        let mut decoder = Decoder::new(bytes);
        decoder.read_info().map_err(read_error)?;
        let info = decoder
            .info()
            .ok_or_else(|| broken("JPEG", "no frame header"))?;
        Ok(Header {
            format: SourceFormat::Jpeg,
            width: u32::from(info.width),
            height: u32::from(info.height),
            has_alpha: false,
            pages: 1,
            orientation: decoder.exif_data().and_then(exif_orientation).unwrap_or(1),
        })
    }

    pub fn decode(
        bytes: &[u8],
        shrink_to: (u32, u32),
        rule: ShrinkRule,
    ) -> Result<Decoded, EngineError> {
        let mut decoder = Decoder::new(bytes);
        decoder.read_info().map_err(read_error)?;
        let info = decoder
            .info()
            .ok_or_else(|| broken("JPEG", "no frame header"))?;
        let (width, height) = (u32::from(info.width), u32::from(info.height));
        let shrink = match info.pixel_format {
            // Lossless 16-bit JPEGs cannot be scaled by the decoder.
            PixelFormat::L16 => 1,
            _ => rule((width, height), shrink_to),
        };
        let (mut out_w, mut out_h) = (width, height);
        if shrink > 1 {
            // Asking for exactly ceil(size / shrink) makes the decoder pick that factor.
            let want = |v: u32| u16::try_from(v.div_ceil(shrink)).unwrap_or(u16::MAX);
            let (w, h) = decoder
                .scale(want(width), want(height))
                .map_err(read_error)?;
            (out_w, out_h) = (u32::from(w), u32::from(h));
        }
        let data = decoder.decode().map_err(read_error)?;
        let info = decoder
            .info()
            .ok_or_else(|| broken("JPEG", "no frame header"))?;
        let pixels = match info.pixel_format {
            PixelFormat::RGB24 => Pixels {
                width: out_w,
                height: out_h,
                channels: 3,
                data,
            },
            PixelFormat::L8 => Pixels::from_grey(out_w, out_h, &data, false),
            PixelFormat::CMYK32 => {
                return Err(EngineError::NotImplemented(
                    "CMYK JPEG colour conversion".into(),
                ))
            }
            PixelFormat::L16 => {
                return Err(EngineError::NotImplemented("16-bit lossless JPEG".into()))
            }
        };
        if pixels.data.len() != out_w as usize * out_h as usize * 3 {
            return Err(broken("JPEG", "decoded size does not match the header"));
        }
        Ok(Decoded {
            pixels,
            orientation: decoder.exif_data().and_then(exif_orientation).unwrap_or(1),
            icc: decoder.icc_profile(),
        })
    }
}

mod png_codec {
    use super::*;
    use png::{ColorType, Decoder, Transformations};

    fn reader(bytes: &[u8]) -> Result<png::Reader<Cursor<&[u8]>>, EngineError> {
        let mut decoder = Decoder::new(Cursor::new(bytes));
        // Palette and low bit depths to 8-bit, 16-bit to 8-bit, tRNS to alpha.
        decoder.set_transformations(Transformations::normalize_to_color8());
        decoder.read_info().map_err(|e| broken("PNG", e))
    }

    pub fn header(bytes: &[u8]) -> Result<Header, EngineError> {
        let reader = reader(bytes)?;
        let info = reader.info();
        let (color, _) = reader.output_color_type();
        Ok(Header {
            format: SourceFormat::Png,
            width: info.width,
            height: info.height,
            has_alpha: matches!(color, ColorType::Rgba | ColorType::GrayscaleAlpha),
            pages: info.animation_control.map_or(1, |a| a.num_frames.max(1)),
            orientation: info
                .exif_metadata
                .as_deref()
                .and_then(exif_orientation)
                .unwrap_or(1),
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Decoded, EngineError> {
        let mut reader = reader(bytes)?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| broken("PNG", "image too large"))?;
        let mut data = vec![0; size];
        let frame = reader.next_frame(&mut data).map_err(|e| broken("PNG", e))?;
        data.truncate(frame.buffer_size());
        let (width, height) = (frame.width, frame.height);
        let pixels = match frame.color_type {
            ColorType::Rgb => Pixels {
                width,
                height,
                channels: 3,
                data,
            },
            ColorType::Rgba => Pixels {
                width,
                height,
                channels: 4,
                data,
            },
            ColorType::Grayscale => Pixels::from_grey(width, height, &data, false),
            ColorType::GrayscaleAlpha => Pixels::from_grey(width, height, &data, true),
            ColorType::Indexed => return Err(broken("PNG", "palette was not expanded")),
        };
        let info = reader.info();
        Ok(Decoded {
            pixels,
            orientation: info
                .exif_metadata
                .as_deref()
                .and_then(exif_orientation)
                .unwrap_or(1),
            icc: info.icc_profile.as_deref().map(<[u8]>::to_vec),
        })
    }
}

mod webp {
    use super::*;
    use image_webp::WebPDecoder;

    fn decoder(bytes: &[u8]) -> Result<WebPDecoder<Cursor<&[u8]>>, EngineError> {
        WebPDecoder::new(Cursor::new(bytes)).map_err(|e| broken("WebP", e))
    }

    pub fn header(bytes: &[u8]) -> Result<Header, EngineError> {
        let mut decoder = decoder(bytes)?;
        let (width, height) = decoder.dimensions();
        Ok(Header {
            format: SourceFormat::Webp,
            width,
            height,
            has_alpha: decoder.has_alpha(),
            pages: if decoder.is_animated() {
                decoder.num_frames().max(1)
            } else {
                1
            },
            orientation: decoder
                .exif_metadata()
                .ok()
                .flatten()
                .as_deref()
                .and_then(exif_orientation)
                .unwrap_or(1),
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Decoded, EngineError> {
        let mut decoder = decoder(bytes)?;
        let (width, height) = decoder.dimensions();
        let size = decoder
            .output_buffer_size()
            .ok_or_else(|| broken("WebP", "image too large"))?;
        let mut data = vec![0; size];
        // The first frame of an animation, composited on its canvas.
        decoder
            .read_image(&mut data)
            .map_err(|e| broken("WebP", e))?;
        let pixels = Pixels {
            width,
            height,
            channels: if decoder.has_alpha() { 4 } else { 3 },
            data,
        };
        let orientation = decoder
            .exif_metadata()
            .ok()
            .flatten()
            .as_deref()
            .and_then(exif_orientation)
            .unwrap_or(1);
        Ok(Decoded {
            pixels,
            orientation,
            icc: decoder.icc_profile().ok().flatten(),
        })
    }
}

mod gif_codec {
    use super::*;
    use gif::{ColorOutput, DecodeOptions};

    fn options(skip_pixels: bool) -> DecodeOptions {
        let mut options = DecodeOptions::new();
        options.set_color_output(ColorOutput::RGBA);
        options.skip_frame_decoding(skip_pixels);
        options
    }

    /// The canvas: the logical screen, or the first frame when the screen is empty.
    fn canvas(screen: (u16, u16), frame: &gif::Frame<'_>) -> (u32, u32) {
        match screen {
            (0, _) | (_, 0) => (u32::from(frame.width), u32::from(frame.height)),
            (w, h) => (u32::from(w), u32::from(h)),
        }
    }

    pub fn header(bytes: &[u8]) -> Result<Header, EngineError> {
        // Frames are counted from their headers; skipping LZW keeps this cheap.
        let mut decoder = options(true)
            .read_info(bytes)
            .map_err(|e| broken("GIF", e))?;
        let screen = (decoder.width(), decoder.height());
        let first = decoder
            .read_next_frame()
            .map_err(|e| broken("GIF", e))?
            .ok_or_else(|| broken("GIF", "no frames"))?;
        let (width, height) = canvas(screen, first);
        let covers = u32::from(first.left) == 0
            && u32::from(first.top) == 0
            && u32::from(first.width) >= width
            && u32::from(first.height) >= height;
        let has_alpha = first.transparent.is_some() || !covers;
        let mut pages = 1_u32;
        while decoder
            .read_next_frame()
            .map_err(|e| broken("GIF", e))?
            .is_some()
        {
            pages = pages.saturating_add(1);
        }
        Ok(Header {
            format: SourceFormat::Gif,
            width,
            height,
            has_alpha,
            pages,
            orientation: 1,
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Decoded, EngineError> {
        let mut decoder = options(false)
            .read_info(bytes)
            .map_err(|e| broken("GIF", e))?;
        let screen = (decoder.width(), decoder.height());
        let frame = decoder
            .read_next_frame()
            .map_err(|e| broken("GIF", e))?
            .ok_or_else(|| broken("GIF", "no frames"))?;
        let (width, height) = canvas(screen, frame);
        // The first frame on a transparent canvas, clipped to it.
        let mut data = vec![0u8; width as usize * height as usize * 4];
        let (fw, fh) = (usize::from(frame.width), usize::from(frame.height));
        let (left, top) = (usize::from(frame.left), usize::from(frame.top));
        if frame.buffer.len() < fw * fh * 4 {
            return Err(broken("GIF", "frame data is short"));
        }
        for y in 0..fh {
            let cy = top + y;
            if cy >= height as usize || left >= width as usize {
                break;
            }
            let n = fw.min(width as usize - left) * 4;
            let to = (cy * width as usize + left) * 4;
            let from = y * fw * 4;
            data[to..to + n].copy_from_slice(&frame.buffer[from..from + n]);
        }
        Ok(Decoded {
            pixels: Pixels {
                width,
                height,
                channels: 4,
                data,
            }
            .drop_opaque_alpha(),
            orientation: 1,
            icc: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_magic_bytes_decide_the_format() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0"), Some(SourceFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(SourceFormat::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(SourceFormat::Webp));
        assert_eq!(sniff(b"GIF89a"), Some(SourceFormat::Gif));
        assert_eq!(sniff(b"<svg"), None);
        assert_eq!(sniff(b""), None);
    }
}
