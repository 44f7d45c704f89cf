//! Text on images: [`draw_text`] places a [`TextSpec`] on an existing image (the `txt*` parameters
//! of `/resize`); a [`Label`] and [`encode_banner`] make a whole image (`GET /text`, which
//! `render::banner` sizes and checks).
//!
//! Pango lays the text out and Cairo rasterises it eagerly, in one piece, when the label is made
//! (`vips::render_text`, with a font map kept per thread). So the size of that piece is checked
//! before rendering, from [`TextSpec::estimated_size`] with the real wrap width, on top of the
//! bounds the parser already applied. The user's text is never parsed as markup, and fonts come
//! from fontconfig: CJK needs a CJK font installed (`fonts-noto-cjk` in `scripts/install-deps.sh`
//! and the runtime image).
//!
//! A banner up to [`MEMORY_CANVAS_PIXELS`] is composed on a [`Canvas`] in memory and handed to
//! the encoder as pixels; a larger one stays a lazy libvips pipeline (a solid canvas and a
//! composite), so its memory is bounded by libvips' tiles rather than by its size.

use bytes::Bytes;

use super::canvas::{Bands, Canvas};
use super::save_format;
use crate::engine::{Clock, Encoded, EngineError, OutputFormat};
use crate::types::text::{TextAlign, TextSpec, MAX_TEXT_PIXELS};
use crate::types::Rgba;
use crate::vips::{encode_rgb_jpeg, render_text, Align, Image, SaveFormat, TextPixels, VipsError};

/// The largest banner composed in memory (8 MiB of RGBA): more than any usual banner, well inside
/// the 48 MiB `render::estimate` reserves for one.
const MEMORY_CANVAS_PIXELS: u64 = 2 << 20;

/// The largest banner encoded as JPEG in one libjpeg call (`vips::encode_rgb_jpeg`), which cannot
/// be stopped: about 3 ms of CPU. Larger ones go through libvips' encoder, which can.
const DIRECT_JPEG_PIXELS: u64 = 256 << 10;

/// The text block: the rendered text, on its `txtbg` box when there is one. Refuses, before
/// rendering, a text whose estimated size at `wrap_width` exceeds [`MAX_TEXT_PIXELS`].
fn label(spec: &TextSpec, wrap_width: u32) -> Result<TextPixels, VipsError> {
    let (w, h) = spec.estimated_size(wrap_width);
    if w.saturating_mul(h) > MAX_TEXT_PIXELS {
        return Err(VipsError(format!(
            "the text would render about {w}x{h} pixels, more than the {MAX_TEXT_PIXELS} allowed"
        )));
    }
    let align = match spec.align {
        TextAlign::Left => Align::Low,
        TextAlign::Center => Align::Centre,
        TextAlign::Right => Align::High,
    };
    let text = render_text(
        &spec.text,
        &spec.font_description(),
        spec.color.0,
        Some(wrap_width),
        align,
    )?;
    let Some(color) = spec.background else {
        return Ok(text);
    };
    let pad = spec.box_padding();
    let mut boxed = Canvas::filled(
        text.width.saturating_add(2 * pad),
        text.height.saturating_add(2 * pad),
        color.0,
    );
    boxed.draw(&text, i64::from(pad), i64::from(pad));
    Ok(boxed.into())
}

fn as_image(pixels: &TextPixels) -> Result<Image<'static>, VipsError> {
    Image::from_pixels(&pixels.rgba, pixels.width, pixels.height, 4)
}

/// Draws `spec` onto `base`: the text wraps at `txtwidth` (default: the image's width less both
/// margins) and its block sits at `txtpos`, `txtmargin` from the edges it leans to; whatever falls
/// outside the image is clipped. The output has `base`'s size, is 8-bit sRGB (greyscale bases are
/// converted) and keeps alpha only if `base` had it. Lazy like any other step: the pixels are
/// composited when the pipeline is saved.
pub fn draw_text<'s>(base: Image<'s>, spec: &TextSpec) -> Result<Image<'s>, VipsError> {
    let label = as_image(&label(spec, spec.wrap_width(base.width()))?)?;
    let (x, y) = spec.position.place(
        (base.width(), base.height()),
        (label.width(), label.height()),
        spec.margin,
    );
    base.composite_over(&label, x, y, 1.0)
}

fn internal(err: VipsError) -> EngineError {
    EngineError::Internal(err.0)
}

/// A rendered text block (see [`label`]), ready to be placed on a banner's canvas.
pub(crate) struct Label(TextPixels);

impl Label {
    /// Renders `spec` wrapped at `wrap_width` (Pango lays it out and rasterises it now).
    pub(crate) fn render(spec: &TextSpec, wrap_width: u32) -> Result<Label, EngineError> {
        label(spec, wrap_width).map(Label).map_err(internal)
    }

    pub(crate) fn width(&self) -> u32 {
        self.0.width
    }

    pub(crate) fn height(&self) -> u32 {
        self.0.height
    }
}

/// Encodes a `/text` banner: `label` placed by `spec` on a `width`×`height` canvas of
/// `background`, in `format` at `quality`, stopped when `clock` runs out. Opaque canvases are
/// encoded without alpha; translucent ones keep it, except in JPEG, where they are flattened onto
/// white as `/resize` does.
pub(crate) fn encode_banner(
    label: &Label,
    spec: &TextSpec,
    background: Rgba,
    (width, height): (u32, u32),
    (format, quality): (OutputFormat, u8),
    clock: &Clock,
) -> Result<Encoded, EngineError> {
    let (x, y) = spec.position.place(
        (width, height),
        (label.width(), label.height()),
        spec.margin,
    );
    let bands = if background.0[3] == 255 {
        // The canvas is opaque, so the whole banner is: three bands make smaller files.
        Bands::Rgb
    } else if !format.supports_alpha() {
        Bands::RgbOnWhite
    } else {
        Bands::Rgba
    };
    let save = save_format(format, quality, Default::default(), true);
    let encode_lazy = |image| encode(image, save, clock);
    let bytes = if u64::from(width) * u64::from(height) <= MEMORY_CANVAS_PIXELS {
        let mut canvas = Canvas::filled(width, height, background.0);
        canvas.draw(&label.0, x, y);
        let count = if bands == Bands::Rgba { 4 } else { 3 };
        let pixels = canvas.into_bands(bands);
        match save {
            SaveFormat::Jpeg {
                quality,
                progressive,
                ..
            } if count == 3 && u64::from(width) * u64::from(height) <= DIRECT_JPEG_PIXELS => {
                clock.check()?;
                encode_rgb_jpeg(&pixels, width, height, quality, progressive).map_err(internal)?
            }
            _ => {
                let image =
                    Image::from_pixels_borrowed(&pixels, width, height, count).map_err(internal)?;
                encode(image, save, clock)?
            }
        }
    } else {
        encode_lazy(
            lazy_banner(label, background, (width, height), (x, y), bands).map_err(internal)?,
        )?
    };
    Ok(Encoded {
        bytes: Bytes::from(bytes),
        format,
        width,
        height,
    })
}

fn encode(image: Image<'_>, save: SaveFormat, clock: &Clock) -> Result<Vec<u8>, EngineError> {
    super::encode_budget::encode_within(image, save, clock, |image, save| {
        image.save(save).map_err(internal)
    })
}

/// A large banner as a libvips pipeline: `label` at (`x`, `y`) on a solid canvas, its bands as
/// `bands` says.
fn lazy_banner(
    label: &Label,
    background: Rgba,
    (width, height): (u32, u32),
    (x, y): (i64, i64),
    bands: Bands,
) -> Result<Image<'static>, VipsError> {
    let canvas = Image::solid(width, height, background.0)?;
    let image = canvas.composite_over(&as_image(&label.0)?, x, y, 1.0)?;
    match bands {
        Bands::Rgb => image.extract_bands(0, 3),
        Bands::RgbOnWhite => image.flatten(&[255.0, 255.0, 255.0]),
        Bands::Rgba => Ok(image),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::text::TextValues;
    use crate::params::ParamLimits;

    fn spec(query: &str) -> TextSpec {
        let mut values = TextValues::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            assert!(values.accept(&name, &value).expect("once"));
        }
        TextSpec::parse(&values, &ParamLimits::default())
            .expect("valid")
            .expect("some")
    }

    fn grey(width: u32, height: u32) -> Image<'static> {
        Image::from_pixels(&vec![128; (width * height * 3) as usize], width, height, 3)
            .expect("base")
    }

    /// Bounding box (x0, y0, x1, y1) of pixels that differ from grey 128 by more than 60.
    fn ink_box(image: &Image<'_>) -> Option<(u32, u32, u32, u32)> {
        let px = image.decode_to_memory().expect("pixels");
        let bands = image.bands() as usize;
        let mut found: Option<(u32, u32, u32, u32)> = None;
        for (i, p) in px.chunks(bands).enumerate() {
            if p[..3].iter().any(|v| v.abs_diff(128) > 60) {
                let (x, y) = ((i as u32) % image.width(), (i as u32) / image.width());
                found = Some(match found {
                    None => (x, y, x, y),
                    Some((a, b, c, d)) => (a.min(x), b.min(y), c.max(x), d.max(y)),
                });
            }
        }
        found
    }

    #[test]
    fn text_lands_where_its_gravity_says() {
        let base = grey(400, 300);
        let top_left = draw_text(
            base.clone(),
            &spec("txt=Hello&txtpos=top-left&txtmargin=10"),
        )
        .expect("drawn");
        assert_eq!(
            (top_left.width(), top_left.height(), top_left.bands()),
            (400, 300, 3)
        );
        let (x0, y0, x1, y1) = ink_box(&top_left).expect("ink");
        assert!(
            (10..=14).contains(&x0) && (10..=20).contains(&y0),
            "{x0},{y0}"
        );
        assert!(x1 < 200 && y1 < 100, "{x1},{y1}");
        let bottom_right =
            draw_text(base, &spec("txt=Hello&txtpos=bottom-right&txtmargin=10")).expect("drawn");
        let (x0, y0, x1, y1) = ink_box(&bottom_right).expect("ink");
        assert!(x0 > 200 && y0 > 200, "{x0},{y0}");
        assert!(
            (385..=390).contains(&x1) && (280..=290).contains(&y1),
            "{x1},{y1}"
        );
    }

    #[test]
    fn a_text_box_is_drawn_behind_the_text() {
        let out = draw_text(
            grey(300, 200),
            &spec("txt=Hi&txtbg=00f&txtpos=top-left&txtmargin=0"),
        )
        .expect("drawn");
        let px = out.decode_to_memory().expect("pixels");
        // The box's corner is at (0, 0), blue; grey outside it.
        assert_eq!(&px[..3], &[0, 0, 255]);
        assert_eq!(&px[px.len() - 3..], &[128, 128, 128]);
    }
}
