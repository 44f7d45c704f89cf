//! Geometry: rotation, flips, fixed and smart crops, and placing an image on a larger canvas.

use std::os::raw::c_int;

use vips_sys as ffi;

use super::error::{c_dim, c_len};
use super::image::produce;
use super::{Image, VipsError};

/// `VipsInteresting`: what a smart crop keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interesting {
    /// Skin tones, saturated colour and edges.
    Attention,
    /// The most detail (Shannon entropy).
    Entropy,
}

impl<'src> Image<'src> {
    /// Clockwise rotation by 90, 180 or 270 degrees.
    pub fn rotate(&self, degrees: u16) -> Result<Image<'src>, VipsError> {
        if !matches!(degrees, 90 | 180 | 270) {
            return Err(VipsError(format!("cannot rotate by {degrees} degrees")));
        }
        produce("rotation failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the angle is one the shim maps.
            unsafe { ffi::imgshield_rot(self.raw(), out, c_int::from(degrees)) }
        })
    }

    /// Mirrors left-right (`horizontal`) or top-bottom.
    pub fn flip(&self, horizontal: bool) -> Result<Image<'src>, VipsError> {
        produce("flip failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_flip(self.raw(), out, c_int::from(horizontal)) }
        })
    }

    pub fn extract_area(
        &self,
        left: u32,
        top: u32,
        width: u32,
        height: u32,
    ) -> Result<Image<'src>, VipsError> {
        let (l, t, w, h) = (c_dim(left)?, c_dim(top)?, c_dim(width)?, c_dim(height)?);
        produce("crop failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; libvips checks the bounds.
            unsafe { ffi::imgshield_extract_area(self.raw(), out, l, t, w, h) }
        })
    }

    /// A `width`×`height` window placed where libvips finds the image most interesting.
    pub fn smartcrop(
        &self,
        width: u32,
        height: u32,
        interesting: Interesting,
    ) -> Result<Image<'src>, VipsError> {
        let (w, h) = (c_dim(width)?, c_dim(height)?);
        let how = match interesting {
            Interesting::Attention => ffi::VIPS_INTERESTING_ATTENTION,
            Interesting::Entropy => ffi::VIPS_INTERESTING_ENTROPY,
        };
        produce("smart crop failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; libvips checks the size.
            unsafe { ffi::imgshield_smartcrop(self.raw(), out, w, h, how) }
        })
    }

    /// Places the image at (x, y) on a width×height canvas filled with `background` (one value per band).
    pub fn embed(
        &self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        background: &[f64],
    ) -> Result<Image<'src>, VipsError> {
        let (x, y, w, h) = (c_dim(x)?, c_dim(y)?, c_dim(width)?, c_dim(height)?);
        let n = c_len(background.len())?;
        produce("pad failed", |out| {
            // SAFETY: background points to n doubles that outlive the call (libvips copies them).
            unsafe { ffi::imgshield_embed(self.raw(), out, x, y, w, h, background.as_ptr(), n) }
        })
    }
}
