//! Text on images: [`draw_text`] places a [`TextSpec`] on an existing image (the `txt*` parameters
//! of `/resize`), [`render_banner`] makes a whole image from a [`TextRequest`] (`GET /text`).
//!
//! Pango (through `vips_text`) lays the text out and rasterises it eagerly, in one piece, when the
//! label is made; only the compositing and the encode are lazy. So the size of that piece is
//! checked before rendering, from [`TextSpec::estimated_size`] with the real wrap width, on top of
//! the bounds the parser already applied. The user's text is never parsed as markup (the handle
//! escapes it), and fonts come from fontconfig: CJK needs a CJK font installed (`fonts-noto-cjk`
//! in `scripts/install-deps.sh` and the runtime image).

use std::time::Duration;

use bytes::Bytes;

use super::save_format;
use crate::engine::{Clock, Encoded, EngineError, OutputFormat, PlanError};
use crate::params::banner::TextRequest;
use crate::params::ParamError;
use crate::types::text::{TextAlign, TextSpec, MAX_TEXT_PIXELS};
use crate::types::Rgba;
use crate::vips::{Align, Image, VipsError};

/// The text block: the rendered text, on its `txtbg` box when there is one. Refuses, before
/// rendering, a text whose estimated size at `wrap_width` exceeds [`MAX_TEXT_PIXELS`].
fn label(spec: &TextSpec, wrap_width: u32) -> Result<Image<'static>, VipsError> {
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
    let text = Image::text(
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
    let boxed = Image::solid(
        text.width().saturating_add(2 * pad),
        text.height().saturating_add(2 * pad),
        color.0,
    )?;
    boxed.composite_over(&text, i64::from(pad), i64::from(pad), 1.0)
}

/// Draws `spec` onto `base`: the text wraps at `txtwidth` (default: the image's width less both
/// margins) and its block sits at `txtpos`, `txtmargin` from the edges it leans to; whatever falls
/// outside the image is clipped. The output has `base`'s size, is 8-bit sRGB (greyscale bases are
/// converted) and keeps alpha only if `base` had it. Lazy like any other step: the pixels are
/// composited when the pipeline is saved.
pub fn draw_text<'s>(base: Image<'s>, spec: &TextSpec) -> Result<Image<'s>, VipsError> {
    let label = label(spec, spec.wrap_width(base.width()))?;
    let (x, y) = spec.position.place(
        (base.width(), base.height()),
        (label.width(), label.height()),
        spec.margin,
    );
    base.composite_over(&label, x, y, 1.0)
}

/// What a banner may cost: the server's limits.
#[derive(Clone, Copy, Debug)]
pub struct BannerLimits {
    /// `--max-dimension`: the largest canvas side.
    pub max_dimension: u32,
    /// `--max-output-pixels`.
    pub max_pixels: u64,
    /// `--max-processing-time`: the encode is stopped past it.
    pub time_limit: Option<Duration>,
}

/// Why a banner could not be made, by who is to blame: the request's values (400 naming the
/// parameter), its size (400), or the engine.
#[derive(Debug, thiserror::Error)]
pub enum BannerError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn internal(err: VipsError) -> EngineError {
    EngineError::Internal(err.0)
}

/// Renders a `/text` banner in `format` (the caller has checked that this build encodes it): a
/// canvas of `bg` sized `w`×`h` (a missing side: the text's plus both margins) with the text placed
/// at `txtpos`. Opaque canvases are encoded without alpha; translucent ones keep it, except in
/// JPEG, where they are flattened onto white as `/resize` does.
pub fn render_banner(
    request: &TextRequest,
    format: OutputFormat,
    limits: &BannerLimits,
) -> Result<Encoded, BannerError> {
    let clock = Clock::start(limits.time_limit);
    let spec = &request.text;
    if let (Some(w), Some(h)) = (request.width, request.height) {
        check_canvas(w, h, format, limits)?;
    }
    let wrap = spec.wrap_width(request.width.unwrap_or(limits.max_dimension));
    let label = label(spec, wrap).map_err(internal)?;
    let margins = spec.margin.saturating_mul(2);
    let width = request
        .width
        .unwrap_or_else(|| label.width().saturating_add(margins));
    let height = request
        .height
        .unwrap_or_else(|| label.height().saturating_add(margins));
    if width > limits.max_dimension || height > limits.max_dimension {
        return Err(ParamError::Invalid {
            name: "txt",
            reason: format!(
                "the text needs a {width}x{height} canvas, more than {} pixels per side: \
                 shorten it, lower 'txtsize' or give 'w' and 'h'",
                limits.max_dimension
            ),
        }
        .into());
    }
    check_canvas(width, height, format, limits)?;
    clock.check()?;

    let image = place_on_canvas(&label, spec, request.background, (width, height), format)?;
    if let Some(remaining) = clock.remaining() {
        image.set_time_limit(remaining);
    }
    let quality = request.quality.unwrap_or_else(|| format.default_quality());
    let bytes = image
        .save(save_format(format, quality, Default::default(), true))
        .map_err(|e| clock.explain(internal(e)))?;
    Ok(Encoded {
        bytes: Bytes::from(bytes),
        format,
        width,
        height,
    })
}

/// The label on a `width`×`height` canvas of `background`: three bands when the canvas is opaque,
/// flattened onto white when it is not and `format` has no alpha.
fn place_on_canvas(
    label: &Image<'static>,
    spec: &TextSpec,
    background: Rgba,
    (width, height): (u32, u32),
    format: OutputFormat,
) -> Result<Image<'static>, EngineError> {
    let canvas = Image::solid(width, height, background.0).map_err(internal)?;
    let (x, y) = spec.position.place(
        (width, height),
        (label.width(), label.height()),
        spec.margin,
    );
    let image = canvas.composite_over(label, x, y, 1.0).map_err(internal)?;
    Ok(if background.0[3] == 255 {
        // The canvas is opaque, so the whole banner is: three bands make smaller files.
        image.extract_bands(0, 3).map_err(internal)?
    } else if !format.supports_alpha() {
        image.flatten(&[255.0, 255.0, 255.0]).map_err(internal)?
    } else {
        image
    })
}

/// The canvas must fit `--max-output-pixels` and the format's largest side.
fn check_canvas(
    width: u32,
    height: u32,
    format: OutputFormat,
    limits: &BannerLimits,
) -> Result<(), PlanError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(PlanError::OutputTooLarge {
            width: width.into(),
            height: height.into(),
            max: limits.max_pixels,
        });
    }
    let side = format.max_side();
    if width > side || height > side {
        return Err(PlanError::TooLargeForFormat {
            format: format.as_str(),
            width,
            height,
            max: side,
        });
    }
    Ok(())
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

    fn limits() -> BannerLimits {
        BannerLimits {
            max_dimension: 8192,
            max_pixels: 25_000_000,
            time_limit: Some(Duration::from_secs(10)),
        }
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

    #[test]
    fn banners_size_themselves_to_the_text_or_take_the_canvas() {
        let request =
            TextRequest::parse("txt=Hello&txtmargin=20", &ParamLimits::default()).expect("valid");
        let auto = render_banner(&request, OutputFormat::Png, &limits()).expect("rendered");
        assert!(
            auto.width > 40 + 60 && auto.height > 40 + 20,
            "{}x{}",
            auto.width,
            auto.height
        );
        let fixed = TextRequest::parse("txt=Hello&w=640&h=200&bg=0000", &ParamLimits::default())
            .expect("valid");
        let out = render_banner(&fixed, OutputFormat::Png, &limits()).expect("rendered");
        assert_eq!((out.width, out.height), (640, 200));
        let back = Image::header_from_buffer(&out.bytes).expect("png");
        assert_eq!((back.width(), back.height(), back.bands()), (640, 200, 4));
    }

    #[test]
    fn banner_limits_are_enforced() {
        let small = BannerLimits {
            max_dimension: 300,
            max_pixels: 20_000,
            time_limit: None,
        };
        let limits_300 = ParamLimits {
            max_dimension: 300,
            ..ParamLimits::default()
        };
        let big = TextRequest::parse("txt=a&w=300&h=300", &limits_300).expect("valid");
        assert!(matches!(
            render_banner(&big, OutputFormat::Png, &small),
            Err(BannerError::Plan(PlanError::OutputTooLarge { .. }))
        ));
        // Wrapping at 300 px, 40 words at 48 px make a canvas taller than 300.
        let words = "word ".repeat(40);
        let tall =
            TextRequest::parse(&format!("txt={words}&txtsize=48"), &limits_300).expect("valid");
        assert!(matches!(
            render_banner(&tall, OutputFormat::Png, &small),
            Err(BannerError::Param(ParamError::Invalid { name: "txt", .. }))
        ));
    }
}
