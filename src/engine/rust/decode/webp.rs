//! WebP through image-webp: the first frame of an animation, composited on its canvas.

use super::*;
use image_webp::WebPDecoder;

fn decoder(bytes: &[u8]) -> Result<WebPDecoder<Cursor<&[u8]>>, EngineError> {
    WebPDecoder::new(Cursor::new(bytes)).map_err(|e| broken("WebP", e))
}

pub(super) fn header(bytes: &[u8]) -> Result<Header, EngineError> {
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

pub(super) fn decode(bytes: &[u8]) -> Result<Decoded, EngineError> {
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
