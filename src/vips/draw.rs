//! Drawing: solid canvases and compositing, the primitives of text (`text.rs`) and watermark
//! overlays. Colours are RGBA, 0..=255 each.

use std::os::raw::c_int;

use vips_sys as ffi;

use super::error::c_dim;
use super::image::produce;
use super::{init, Image, VipsError};

/// How wrapped lines of text are aligned (`VipsAlign`: low, centre, high edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Low,
    Centre,
    High,
}

impl Image<'static> {
    /// A width×height image of one colour (RGBA): 8-bit sRGB with alpha. Lazy, so a large canvas
    /// costs no memory until it is composited and saved.
    pub fn solid(width: u32, height: u32, color: [u8; 4]) -> Result<Image<'static>, VipsError> {
        init()?;
        let (w, h) = (c_dim(width)?, c_dim(height)?);
        let ink = color.map(f64::from);
        produce("making a canvas failed", |out| {
            // SAFETY: ink holds 4 doubles that outlive the call (libvips copies them); out is a
            // valid out-pointer.
            unsafe { ffi::imgshield_solid(out, w, h, ink.as_ptr(), 4) }
        })
    }
}

impl<'src> Image<'src> {
    /// `overlay` drawn over this image with its top-left corner at (`x`, `y`) (negative, or past
    /// the edges, is clipped), its alpha first multiplied by `opacity` (clamped to 0..=1). The
    /// output keeps this image's size. Any base works: greyscale (1 or 2 bands) and non-8-bit
    /// bases are converted to 8-bit sRGB first; a base without alpha gives an output without alpha,
    /// one with alpha keeps it. An overlay without alpha covers its rectangle fully.
    pub fn composite_over(
        &self,
        overlay: &Image<'src>,
        x: i64,
        y: i64,
        opacity: f64,
    ) -> Result<Image<'src>, VipsError> {
        let offset = |v: i64| {
            c_int::try_from(v).map_err(|_| VipsError(format!("offset {v} is out of range")))
        };
        let (x, y) = (offset(x)?, offset(y)?);
        let base = self.as_8bit_srgb()?;
        let base_had_alpha = base.has_alpha();
        let overlay = overlay.translucent(opacity)?;
        let composed = produce("compositing failed", |out| {
            // SAFETY: base and overlay are live for the call; composite2 takes its own references
            // to both for the lazy output; out is a valid out-pointer.
            unsafe { ffi::imgshield_composite_over(base.raw(), overlay.raw(), out, x, y) }
        })?;
        // "over" on an opaque base stays opaque: drop the alpha band composite2 always adds.
        if base_had_alpha || composed.bands() <= 3 {
            Ok(composed)
        } else {
            composed.extract_bands(0, 3)
        }
    }

    /// This image as an overlay: 8-bit sRGB with alpha, the alpha multiplied by `opacity`
    /// (clamped to 0..=1; NaN is opaque).
    fn translucent(&self, opacity: f64) -> Result<Image<'src>, VipsError> {
        let opacity = if opacity.is_nan() {
            1.0
        } else {
            opacity.clamp(0.0, 1.0)
        };
        let overlay = self.as_8bit_srgb()?;
        let overlay = if overlay.has_alpha() {
            overlay
        } else {
            overlay.add_alpha()?
        };
        if opacity < 1.0 {
            overlay.multiply_alpha(opacity)
        } else {
            Ok(overlay)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHITE: [u8; 4] = [255; 4];

    fn pixels(image: &Image<'_>) -> Vec<u8> {
        image.decode_to_memory().expect("computes")
    }

    #[test]
    fn text_renders_in_its_colour_and_markup_stays_literal() {
        let red = [255, 0, 0, 255];
        let image = Image::text("Hello", "DejaVu Sans 40px", red, None, Align::Low).expect("text");
        assert_eq!(image.bands(), 4);
        assert!(
            image.width() > 60 && image.height() >= 30,
            "{}x{}",
            image.width(),
            image.height()
        );
        let px = pixels(&image);
        let inked: Vec<&[u8]> = px.chunks(4).filter(|p| p[3] > 200).collect();
        assert!(!inked.is_empty());
        assert!(inked.iter().all(|p| p[0] > 200 && p[1] < 60 && p[2] < 60));
        // Markup would shrink to "x" and turn it blue; escaped, all of it is drawn, in red.
        let tag = r#"<span foreground="blue">x</span>"#;
        let literal = Image::text(tag, "DejaVu Sans 40px", red, None, Align::Low).expect("literal");
        let x = Image::text("x", "DejaVu Sans 40px", red, None, Align::Low).expect("x");
        assert!(literal.width() > 10 * x.width());
        let px = pixels(&literal);
        assert!(px
            .chunks(4)
            .filter(|p| p[3] > 200)
            .all(|p| p[0] > 200 && p[2] < 60));
    }

    #[test]
    fn text_alpha_and_wrapping_apply() {
        let half = [0, 0, 0, 128];
        let image = Image::text("Hi", "DejaVu Sans 40px", half, None, Align::Low).expect("text");
        let max_alpha = pixels(&image).chunks(4).map(|p| p[3]).max().unwrap_or(0);
        assert!((120..=136).contains(&max_alpha), "{max_alpha}");
        let words = "one two three four five six";
        let line = Image::text(words, "DejaVu Sans 20px", WHITE, None, Align::Low).expect("line");
        let wrapped = Image::text(words, "DejaVu Sans 20px", WHITE, Some(80), Align::Centre)
            .expect("wrapped");
        assert!(wrapped.width() <= 80, "{}", wrapped.width());
        assert!(
            wrapped.height() >= 3 * line.height(),
            "{} vs {}",
            wrapped.height(),
            line.height()
        );
    }

    #[test]
    fn a_paragraph_of_direction_marks_alone_still_renders() {
        for text in [
            "Hello\n\u{200F}",
            "\u{200F}\nHello",
            "שלום\n\u{200E}\nworld",
        ] {
            let image = Image::text(text, "DejaVu Sans 20px", WHITE, None, Align::High);
            assert!(image.is_ok(), "{text:?}");
        }
    }

    #[test]
    fn composite_places_with_opacity_on_any_base() {
        let red = Image::solid(10, 10, [255, 0, 0, 255]).expect("overlay");
        for bands in 1..=4u32 {
            // Grey 200, opaque where there is an alpha band (2 and 4 bands).
            let pixel: Vec<u8> = (0..bands)
                .map(|b| {
                    if bands % 2 == 0 && b == bands - 1 {
                        255
                    } else {
                        200
                    }
                })
                .collect();
            let base = Image::from_pixels(&pixel.repeat(40 * 30), 40, 30, bands).expect("base");
            let out = base.composite_over(&red, 5, 20, 0.5).expect("composite");
            assert_eq!((out.width(), out.height()), (40, 30));
            let expect_bands = if bands % 2 == 0 { 4 } else { 3 };
            assert_eq!(out.bands(), expect_bands, "base of {bands} bands");
            let px = pixels(&out);
            let at = |x: usize, y: usize| {
                let i = (y * 40 + x) * expect_bands as usize;
                px[i..i + 3].to_vec()
            };
            // Half red over grey 200: (255 + 200) / 2 = 227, 200 / 2 = 100.
            let inside = at(7, 25);
            assert!(
                inside[0].abs_diff(227) <= 2 && inside[1].abs_diff(100) <= 2,
                "{inside:?}"
            );
            assert_eq!(at(4, 25), vec![200, 200, 200], "left of the overlay");
            assert_eq!(at(7, 19), vec![200, 200, 200], "above the overlay");
        }
        // Partly outside on every side: clipped, not an error.
        let base = Image::solid(20, 20, WHITE).expect("base");
        let big = Image::solid(60, 60, [0, 0, 255, 255]).expect("big");
        let out = base.composite_over(&big, -20, -20, 1.0).expect("clipped");
        assert_eq!((out.width(), out.height(), out.bands()), (20, 20, 4));
        assert!(pixels(&out).chunks(4).all(|p| p == [0, 0, 255, 255]));
        assert!(base.composite_over(&big, 500, -500, 1.0).is_ok());
    }
}
