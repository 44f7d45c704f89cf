//! Filters (blur, sharpen) and the metadata copies made before a save.

use vips_sys as ffi;

use super::image::produce;
use super::{Image, VipsError};

impl<'src> Image<'src> {
    pub fn gaussblur(&self, sigma: f64) -> Result<Image<'src>, VipsError> {
        produce("blur failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_gaussblur(self.raw(), out, sigma) }
        })
    }

    pub fn sharpen(&self, sigma: f64) -> Result<Image<'src>, VipsError> {
        produce("sharpen failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_sharpen(self.raw(), out, sigma) }
        })
    }

    /// A copy without EXIF, XMP and IPTC (not every 8.14 saver honours `strip`).
    pub fn without_metadata(&self) -> Result<Image<'src>, VipsError> {
        produce("removing metadata failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the copy shares pixels, not metadata.
            unsafe { ffi::imgshield_remove_metadata(self.raw(), out) }
        })
    }

    /// A copy whose EXIF orientation tag says "upright" (for `meta=keep`: pixels are rotated already).
    pub fn with_upright_orientation(&self) -> Result<Image<'src>, VipsError> {
        produce("resetting orientation failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the copy's metadata is its own.
            unsafe { ffi::imgshield_reset_orientation(self.raw(), out) }
        })
    }
}
