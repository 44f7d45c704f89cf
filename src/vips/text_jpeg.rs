//! A one-call JPEG encode of RGB pixels we own (`sys/text_jpeg.c`, the system libjpeg), for
//! small `/text` banners: the settings of [`SaveFormat::Jpeg`](super::SaveFormat) with metadata
//! stripped, without a libvips pipeline and its worker and write-behind threads, which cost more
//! than the encode itself at banner sizes. It cannot be stopped midway: callers keep it small.

use std::os::raw::{c_char, c_int};
use std::ptr;

use vips_sys as ffi;

use super::error::c_dim;
use super::VipsError;

/// Encodes `width`×`height` 8-bit RGB pixels (`pixels.len()` must be `width * height * 3`) at
/// `quality` (clamped to 1..=100), progressive or baseline.
pub fn encode_rgb_jpeg(
    pixels: &[u8],
    width: u32,
    height: u32,
    quality: u8,
    progressive: bool,
) -> Result<Vec<u8>, VipsError> {
    let expected = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(3));
    if expected != Some(pixels.len()) || width == 0 || height == 0 {
        return Err(VipsError(format!(
            "{} bytes are not {width}x{height} RGB pixels",
            pixels.len()
        )));
    }
    let (w, h) = (c_dim(width)?, c_dim(height)?);
    let quality = c_int::from(quality.clamp(1, 100));
    let mut out: *mut u8 = ptr::null_mut();
    let mut len: usize = 0;
    let mut message = [0 as c_char; 200];
    // SAFETY: pixels holds exactly h rows of w * 3 bytes (checked above) and outlives the call,
    // which only reads it; out, len and message are valid out-pointers, message for its length.
    // libjpeg's errors come back as -1 through setjmp in C, never unwinding into Rust.
    let rc = unsafe {
        ffi::imgshield_text_jpeg(
            pixels.as_ptr(),
            w,
            h,
            quality,
            c_int::from(progressive),
            &mut out,
            &mut len,
            message.as_mut_ptr(),
            message.len(),
        )
    };
    if rc != 0 || out.is_null() {
        let text: Vec<u8> = message
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        return Err(VipsError(format!(
            "JPEG encoding failed: {}",
            String::from_utf8_lossy(&text)
        )));
    }
    // SAFETY: on success out points to len bytes libjpeg allocated for us; we copy them and
    // free the buffer once, with the matching free.
    let bytes = unsafe {
        let bytes = std::slice::from_raw_parts(out, len).to_vec();
        ffi::imgshield_text_jpeg_free(out);
        bytes
    };
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vips::{Image, SaveFormat};

    /// A gradient with text-like sharp edges.
    fn pixels(width: u32, height: u32) -> Vec<u8> {
        (0..width * height)
            .flat_map(|i| {
                let (x, y) = (i % width, i / width);
                let ink = (x / 7 + y / 5) % 3 == 0;
                if ink {
                    [20, 30, 200]
                } else {
                    [(x * 255 / width) as u8, (y * 255 / height) as u8, 128]
                }
            })
            .collect()
    }

    #[test]
    fn decodes_to_the_pixels_libvips_jpegsave_gives() {
        for (quality, progressive) in [(80, false), (95, false), (75, true)] {
            let rgb = pixels(400, 100);
            let ours = encode_rgb_jpeg(&rgb, 400, 100, quality, progressive).expect("encoded");
            let theirs = Image::from_pixels(&rgb, 400, 100, 3)
                .and_then(|image| {
                    image.save(SaveFormat::Jpeg {
                        quality,
                        progressive,
                        strip: true,
                    })
                })
                .expect("libvips");
            let decode = |bytes: &[u8]| {
                Image::header_from_buffer(bytes)
                    .and_then(|image| image.decode_to_memory())
                    .expect("decodes")
            };
            assert_eq!(decode(&ours), decode(&theirs), "q{quality} {progressive}");
            // Same tables, same scans: the sizes differ by the header at most.
            assert!(
                ours.len().abs_diff(theirs.len()) < 64,
                "{} vs {}",
                ours.len(),
                theirs.len()
            );
        }
    }

    #[test]
    fn wrong_sizes_are_refused() {
        assert!(encode_rgb_jpeg(&[0; 11], 2, 2, 80, false).is_err());
        assert!(encode_rgb_jpeg(&[], 0, 0, 80, false).is_err());
    }
}
