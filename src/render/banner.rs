//! `/text` banners: the canvas size (given, or the text's plus both margins) and its limits, checked
//! around the engine's text rendering, whose size is only known once Pango has laid it out.

use std::time::Duration;

use crate::engine::vips::{encode_banner, Label};
use crate::engine::{Clock, Encoded, EngineError, OutputFormat, PlanError};
use crate::params::banner::TextRequest;
use crate::params::ParamError;

/// What a banner may cost: the server's limits.
#[derive(Clone, Copy, Debug)]
pub(super) struct BannerLimits {
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

/// Renders a `/text` banner in `format` (the caller has checked that this build encodes it): a
/// canvas of `bg` sized `w`×`h` (a missing side: the text's plus both margins) with the text placed
/// at `txtpos`, refused before encoding when it would pass the limits.
pub(super) fn render_banner(
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
    let label = Label::render(spec, wrap)?;
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

    let quality = request.quality.unwrap_or_else(|| format.default_quality());
    let canvas = (width, height);
    Ok(encode_banner(
        &label,
        spec,
        request.background,
        canvas,
        (format, quality),
        &clock,
    )?)
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
    use crate::params::ParamLimits;
    use crate::vips::Image;

    fn limits() -> BannerLimits {
        BannerLimits {
            max_dimension: 8192,
            max_pixels: 25_000_000,
            time_limit: Some(Duration::from_secs(10)),
        }
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
