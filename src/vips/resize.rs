//! Resampling: the Lanczos3 reduction thumbnail does after shrink-on-load, and the box shrink that
//! mimics a JPEG decoder's DCT scaling.

use vips_sys as ffi;

use super::image::produce;
use super::{Image, VipsError};

impl<'src> Image<'src> {
    /// Lanczos3 reduction of this image to exactly width×height: the step thumbnail takes after
    /// shrink-on-load. Never enlarges. As in `vips_resize`, a factor above 2 is first taken down by
    /// an integer block average, since `vips_reduce` is meant for small factors (its docs: "not
    /// well for shrink factors greater than three") and its kernel grows with the factor.
    pub fn resize_to(&self, width: u32, height: u32) -> Result<Image<'src>, VipsError> {
        if (width, height) == (self.width(), self.height()) {
            return Ok(self.clone());
        }
        if width > self.width() || height > self.height() {
            return Err(VipsError("resize_to only reduces".into()));
        }
        let base = self.block_shrink_for(width, height)?;
        let hshrink = factor(base.width(), width);
        let vshrink = factor(base.height(), height);
        let resized = produce("resize failed", |out| {
            // SAFETY: base is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_reduce(base.raw(), out, hshrink, vshrink) }
        })?;
        if (resized.width(), resized.height()) == (width, height) {
            Ok(resized)
        } else {
            Err(VipsError(format!(
                "resize made {}x{}, not {width}x{height}",
                resized.width(),
                resized.height()
            )))
        }
    }

    /// The integer block average that leaves `vips_reduce` a factor of at most about 2 towards
    /// width×height (this image itself when none is needed).
    fn block_shrink_for(&self, width: u32, height: u32) -> Result<Image<'src>, VipsError> {
        let block = |shrink: f64| (shrink / 2.0).floor().max(1.0);
        let (hblock, vblock) = (
            block(factor(self.width(), width)),
            block(factor(self.height(), height)),
        );
        if hblock > 1.0 || vblock > 1.0 {
            produce("shrink failed", |out| {
                // SAFETY: self is live; out is a valid out-pointer.
                unsafe { ffi::imgshield_shrink(self.raw(), out, hblock, vblock) }
            })
        } else {
            Ok(self.clone())
        }
    }

    /// Box shrink by `factor` on both axes (block means), the way a JPEG decoder's DCT scaling
    /// shrinks; the output has the integer part of each side divided by `factor`.
    pub fn box_shrink(&self, factor: u32) -> Result<Image<'src>, VipsError> {
        let f = f64::from(factor.max(1));
        produce("shrink failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_shrink(self.raw(), out, f, f) }
        })
    }
}

/// The shrink factor from `from` to `to` pixels (`to` at least 1).
fn factor(from: u32, to: u32) -> f64 {
    f64::from(from) / f64::from(to.max(1))
}
