//! Filters (blur, sharpen) and the metadata copies made before a save.

use std::os::raw::c_int;

use vips_sys as ffi;

use super::image::produce;
use super::{Image, VipsError};

/// libvips' default `min_ampl`: its Gaussian mask stops where the curve falls below 0.2 of the peak.
const MIN_AMPL: f64 = 0.2;

/// The mask `gaussblur` uses for `sigma`: (`min_ampl`, float taps). With libvips' defaults the taps
/// at ±1 weigh exp(-1 / 2σ²), below `MIN_AMPL` for σ < 0.558, so the mask is its centre alone and
/// the blur a copy (and 8-bit masks round taps to twentieths besides). Those small sigmas get an
/// exact float mask that keeps the ±1 taps (the ±2 ones weigh their fourth power: nothing); the
/// two agree where they meet, so the blur grows smoothly with sigma. Larger sigmas are unchanged.
fn blur_mask(sigma: f64) -> (f64, bool) {
    let side = (-1.0 / (2.0 * sigma * sigma)).exp();
    if side >= MIN_AMPL {
        (MIN_AMPL, false)
    } else {
        (side / 2.0, true)
    }
}

impl<'src> Image<'src> {
    /// Gaussian blur with standard deviation `sigma` (pixels): every sigma above 0 blurs.
    pub fn gaussblur(&self, sigma: f64) -> Result<Image<'src>, VipsError> {
        let (min_ampl, float_mask) = blur_mask(sigma);
        produce("blur failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe {
                ffi::imgshield_gaussblur(self.raw(), out, sigma, min_ampl, c_int::from(float_mask))
            }
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
