//! PNG (and the first frame of an APNG) through the png crate, normalised to 8-bit.

use super::*;
use png::{ColorType, Decoder, Transformations};

fn reader(bytes: &[u8]) -> Result<png::Reader<Cursor<&[u8]>>, EngineError> {
    let mut decoder = Decoder::new(Cursor::new(bytes));
    // Palette and low bit depths to 8-bit, 16-bit to 8-bit, tRNS to alpha.
    decoder.set_transformations(Transformations::normalize_to_color8());
    decoder.read_info().map_err(|e| broken("PNG", e))
}

pub(super) fn header(bytes: &[u8]) -> Result<Header, EngineError> {
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

pub(super) fn decode(bytes: &[u8]) -> Result<Decoded, EngineError> {
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
