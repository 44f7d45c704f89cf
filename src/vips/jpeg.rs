//! imgshield's own JPEG decode (`sys/jpeg.c`, on the libjpeg libvips links): bytes the caller may
//! have filtered (the scan plan) decoded at a DCT scale into an image libvips owns, with the
//! metadata of libvips' own header read, so everything after the load sees what `jpegload` gives.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::time::Duration;

use vips_sys as ffi;

use super::image::{produce, wrap};
use super::{FailOn, Image, VipsError};

/// How a decode of our own is bounded.
#[derive(Clone, Copy, Debug)]
pub struct JpegDecode {
    /// 1, 2, 4 or 8.
    pub shrink: u32,
    pub fail_on: FailOn,
    /// Scans read before the decode is stopped.
    pub max_scans: u32,
    /// Time before the decode is stopped, checked between MCU rows.
    pub time_limit: Option<Duration>,
}

/// Why a decode of our own made no image.
#[derive(Debug, thiserror::Error)]
pub enum JpegDecodeError {
    /// libjpeg refused the data (or warned, under [`FailOn::Warning`]; or it was cut short).
    #[error("{0}")]
    Refused(String),
    /// The scan cap or the time limit stopped it.
    #[error("{0}")]
    Stopped(String),
    /// The output is not what libvips' header read says: let libvips' loader decode it.
    #[error("{0}")]
    Unsupported(String),
}

impl<'src> Image<'src> {
    /// libvips' header read of a JPEG at 1/`shrink` (its size, bands, interpretation and metadata);
    /// no pixels are decoded.
    pub fn jpeg_header(buffer: &'src [u8], shrink: u32) -> Result<Image<'src>, VipsError> {
        // libvips 8.14 aborts (a failed assertion) on a scaled header of no rows or columns: found
        // by fuzz/jpeg_load with a 64x4 file at shrink=8.
        let whole = Image::header_from_buffer(buffer)?;
        if whole.width() < shrink || whole.height() < shrink {
            return Err(VipsError(format!(
                "a {}x{} image has no pixels at 1/{shrink}",
                whole.width(),
                whole.height()
            )));
        }
        let options =
            CString::new(format!("shrink={shrink}")).map_err(|e| VipsError(e.to_string()))?;
        // SAFETY: buffer is valid for 'src, which the returned image cannot outlive; options is a
        // NUL-terminated string that lives through the call.
        let raw = unsafe {
            ffi::imgshield_image_new_from_buffer(
                buffer.as_ptr().cast(),
                buffer.len(),
                options.as_ptr(),
            )
        };
        wrap(raw, "unable to read the JPEG header")
    }

    /// `stream` (a JPEG, possibly without the scans the scale does not read) decoded now at
    /// `decode.shrink` into an image that owns its pixels and carries `header`'s metadata
    /// ([`Image::jpeg_header`] of the original file at the same scale). Not auto-oriented.
    pub fn decode_jpeg(
        stream: &[u8],
        header: &Image<'_>,
        decode: JpegDecode,
    ) -> Result<Image<'static>, JpegDecodeError> {
        let shrink = c_int::try_from(decode.shrink)
            .ok()
            .filter(|s| matches!(s, 1 | 2 | 4 | 8))
            .ok_or_else(|| JpegDecodeError::Unsupported("no such DCT scale".into()))?;
        let max_scans = c_int::try_from(decode.max_scans).unwrap_or(c_int::MAX);
        let timeout = decode
            .time_limit
            .map(|limit| i64::try_from(limit.as_micros()).unwrap_or(i64::MAX).max(1))
            .unwrap_or(0);
        let mut outcome = ffi::imgshield_jpeg_outcome::default();
        let mut out: *mut ffi::VipsImage = std::ptr::null_mut();
        // SAFETY: stream is valid for its length through the call (libjpeg reads it only during
        // the call: the decoded pixels are copied out); header is a live image whose metadata the
        // C side copies into the new image; outcome and out are valid out-pointers.
        let rc = unsafe {
            ffi::imgshield_jpeg_load(
                stream.as_ptr(),
                stream.len(),
                shrink,
                header.raw(),
                c_int::from(decode.fail_on == FailOn::Warning),
                max_scans,
                timeout,
                &mut outcome,
                &mut out,
            )
        };
        let message = message(&outcome);
        match rc {
            // Cut short: libvips' loader refuses truncation at either strictness.
            ffi::IMGSHIELD_JPEG_OK if outcome.truncated != 0 => {
                // The image (a new reference on success) is released by its handle's Drop.
                drop(wrap(out, "decoding the JPEG failed"));
                Err(JpegDecodeError::Refused(message))
            }
            ffi::IMGSHIELD_JPEG_OK => {
                wrap(out, "decoding the JPEG failed").map_err(|e| JpegDecodeError::Unsupported(e.0))
            }
            ffi::IMGSHIELD_JPEG_STOPPED => Err(JpegDecodeError::Stopped(message)),
            ffi::IMGSHIELD_JPEG_ERROR => Err(JpegDecodeError::Refused(message)),
            ffi::IMGSHIELD_JPEG_MISMATCH => Err(JpegDecodeError::Unsupported(
                "the decode does not match libvips' header".into(),
            )),
            _ => Err(JpegDecodeError::Unsupported(
                "no memory for the decode".into(),
            )),
        }
    }

    /// Turned upright by its EXIF orientation (which the result no longer carries), as libvips'
    /// loaders do with `autorotate`.
    pub fn autorotated(&self) -> Result<Image<'src>, VipsError> {
        produce("autorotate failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_autorot(self.raw(), out) }
        })
    }

    /// The thumbnail of an image already decoded at a DCT scale: what libvips' buffer thumbnail
    /// does after its shrink-on-load (orientation, colour profile to sRGB when `export_srgb`,
    /// Lanczos3) to exactly `width`×`height`.
    pub fn thumbnail_of_decoded(
        &self,
        width: u32,
        height: u32,
        export_srgb: bool,
    ) -> Result<Image<'src>, VipsError> {
        let (width, height) = (super::error::c_dim(width)?, super::error::c_dim(height)?);
        produce("thumbnail failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe {
                ffi::imgshield_thumbnail_image(
                    self.raw(),
                    out,
                    width,
                    height,
                    ffi::VIPS_SIZE_FORCE,
                    c_int::from(export_srgb),
                )
            }
        })
    }
}

fn message(outcome: &ffi::imgshield_jpeg_outcome) -> String {
    let bytes: Vec<u8> = outcome.message.iter().map(|&c| c as u8).collect();
    CStr::from_bytes_until_nul(&bytes)
        .map(|text| text.to_string_lossy().into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned())
}
