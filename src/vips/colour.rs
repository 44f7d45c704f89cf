//! Colour and bands: conversion to 8-bit sRGB or greyscale, alpha added, scaled or flattened away,
//! bands extracted.

use vips_sys as ffi;

use super::error::{c_dim, c_len};
use super::image::produce;
use super::{Image, VipsError};

impl<'src> Image<'src> {
    /// Converts to 8-bit sRGB (CMYK, 16-bit, LAB, ... sources).
    pub fn to_srgb(&self) -> Result<Image<'src>, VipsError> {
        let srgb = produce("colour conversion failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_colourspace(self.raw(), out, ffi::VIPS_INTERPRETATION_sRGB) }
        })?;
        produce("cast failed", |out| {
            // SAFETY: srgb is live for the duration of the call.
            unsafe { ffi::imgshield_cast_uchar(srgb.raw(), out) }
        })
    }

    /// Greyscale (one band, plus alpha if there is one).
    pub fn to_gray(&self) -> Result<Image<'src>, VipsError> {
        produce("greyscale conversion failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_colourspace(self.raw(), out, ffi::VIPS_INTERPRETATION_B_W) }
        })
    }

    /// This image as 8-bit sRGB (3 bands, or 4 with alpha): greyscale, CMYK, 16-bit and other
    /// spaces are converted; 8-bit sRGB is returned as it is.
    pub fn as_8bit_srgb(&self) -> Result<Image<'src>, VipsError> {
        let srgb = if self.bands() >= 3 && !self.needs_srgb_conversion() {
            self.clone()
        } else {
            self.to_srgb()?
        };
        // Raw pixels (`from_pixels`) with 4 bands are "multiband", which colourspace passes through
        // unchanged and composite refuses: say what they are.
        // SAFETY: srgb is live; header getters do not decode.
        if unsafe { ffi::vips_image_get_interpretation(srgb.raw()) }
            == ffi::VIPS_INTERPRETATION_sRGB
        {
            Ok(srgb)
        } else {
            produce("setting the colour space failed", |out| {
                // SAFETY: srgb is live; out is a valid out-pointer; the copy shares the pixels.
                unsafe {
                    ffi::imgshield_set_interpretation(
                        srgb.raw(),
                        out,
                        ffi::VIPS_INTERPRETATION_sRGB,
                    )
                }
            })
        }
    }

    /// Composites alpha onto `background` (one value per non-alpha band).
    pub fn flatten(&self, background: &[f64]) -> Result<Image<'src>, VipsError> {
        let n = c_len(background.len())?;
        produce("flatten failed", |out| {
            // SAFETY: background points to n doubles that outlive the call (libvips copies them).
            unsafe { ffi::imgshield_flatten(self.raw(), out, background.as_ptr(), n) }
        })
    }

    pub fn add_alpha(&self) -> Result<Image<'src>, VipsError> {
        produce("adding alpha failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_addalpha(self.raw(), out) }
        })
    }

    /// A copy whose alpha band (the last) is multiplied by `factor` (0..=1); 8-bit, 2 to 4 bands.
    pub fn multiply_alpha(&self, factor: f64) -> Result<Image<'src>, VipsError> {
        if !self.has_alpha() {
            return Err(VipsError("multiply_alpha needs an alpha band".into()));
        }
        produce("scaling alpha failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the shim checks the band count.
            unsafe { ffi::imgshield_multiply_alpha(self.raw(), out, factor) }
        })
    }

    /// Bands `first..first + n`.
    pub fn extract_bands(&self, first: u32, n: u32) -> Result<Image<'src>, VipsError> {
        let (first, n) = (c_dim(first)?, c_dim(n)?);
        produce("extracting bands failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; libvips checks the band range.
            unsafe { ffi::imgshield_extract_bands(self.raw(), out, first, n) }
        })
    }
}
