//! Resampling: the Lanczos3 reduction thumbnail does after shrink-on-load, and the box shrink that
//! mimics a JPEG decoder's DCT scaling.

use std::time::Duration;

use fast_image_resize::images::{Image as Pixels, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
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

    /// [`resize_to`](Self::resize_to) with the Lanczos3 step computed in memory by
    /// fast_image_resize (SIMD) instead of `vips_reduce`, whose horizontal pass has no vector path
    /// in libvips 8.14: the same filter after the same block average, for the 8-bit images of 1 or
    /// 3 bands a JPEG decodes to (any other image takes `resize_to`). Runs the pipeline behind
    /// this image (its decode) now, stopped by libvips once `time_limit` has passed. The result
    /// keeps this image's metadata and resolution.
    pub fn reduce_in_memory(
        &self,
        width: u32,
        height: u32,
        time_limit: Option<Duration>,
    ) -> Result<Image<'src>, VipsError> {
        let pixel_type = match self.bands() {
            1 => PixelType::U8,
            3 => PixelType::U8x3,
            _ => return self.resize_to(width, height),
        };
        if !self.is_8bit() || self.has_alpha() {
            return self.resize_to(width, height);
        }
        if width > self.width() || height > self.height() || width == 0 || height == 0 {
            return Err(VipsError("reduce_in_memory only reduces".into()));
        }
        let base = self.block_shrink_for(width, height)?;
        if let Some(limit) = time_limit {
            base.set_time_limit(limit);
        }
        let (from_w, from_h) = (base.width(), base.height());
        let reduced = base.with_pixels(|pixels| {
            let from = ImageRef::new(from_w, from_h, pixels, pixel_type)
                .map_err(|e| VipsError(format!("resize: {e}")))?;
            let mut to = Pixels::new(width, height, pixel_type);
            if (from_w, from_h) == (width, height) {
                to.buffer_mut().copy_from_slice(pixels);
            } else {
                let options =
                    ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
                Resizer::new()
                    .resize(&from, &mut to, &options)
                    .map_err(|e| VipsError(format!("resize: {e}")))?;
            }
            Ok::<_, VipsError>(to.into_vec())
        })??;
        let image = Image::from_pixels(&reduced, width, height, self.bands())?;
        image.with_upright_metadata_of(self)
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
