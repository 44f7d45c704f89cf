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

    /// A copy (pixels shared) carrying what `meta=keep` keeps of `from`'s metadata (EXIF, XMP, IPTC,
    /// ICC profile, resolution) but not its orientation: for pixels decoded from the source `from`
    /// describes and already turned upright, which the derivative cache holds without metadata.
    pub fn with_upright_metadata_of(&self, from: &Image<'_>) -> Result<Image<'src>, VipsError> {
        produce("copying metadata failed", |out| {
            // SAFETY: self and from are live for the call; out is a valid out-pointer. The copied
            // values are owned by the copy (blobs by reference count, and loaders copy them out of
            // the source buffer), so the result borrows nothing of `from`.
            unsafe { ffi::imgshield_copy_upright_metadata(self.raw(), from.raw(), out) }
        })
    }
}
