//! GIF through the gif crate: the first frame on a transparent canvas the size of the screen.

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

pub(super) fn header(bytes: &[u8]) -> Result<Header, EngineError> {
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

pub(super) fn decode(bytes: &[u8]) -> Result<Decoded, EngineError> {
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
