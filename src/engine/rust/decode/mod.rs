//! Reading sources with pure-Rust decoders: the format by its magic bytes (never the file name),
//! a cheap header read for `probe`, and a decode into [`Pixels`] that, for JPEG, shrinks by 2, 4 or
//! 8 in the DCT domain while decoding when the plan allows (libvips' shrink-on-load, the step that
//! makes thumbnails of large photos cheap).

mod gif_codec;
mod jpeg;
mod png_codec;
mod webp;

use std::io::Cursor;

use super::orient::exif_orientation;
use super::pixels::Pixels;
use crate::engine::{EngineError, SourceFormat};

/// What the header says, in the source's stored orientation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Header {
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
pub(super) struct Decoded {
    pub pixels: Pixels,
    pub orientation: u16,
    /// An embedded ICC profile, if any.
    pub icc: Option<Vec<u8>>,
}

pub(super) fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
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

pub(super) fn header(bytes: &[u8]) -> Result<Header, EngineError> {
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
pub(super) type ShrinkRule = fn((u32, u32), (u32, u32)) -> u32;

/// Decodes `bytes`. `shrink_to` (stored orientation) is the smallest size the caller still needs:
/// a JPEG is shrunk in the DCT domain as far as `rule` allows, others are decoded in full.
pub(super) fn decode(
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
