//! Resolving a request into a [`Plan`]: exact output geometry and format, computed in pure Rust from
//! the typed params and the source header, so every engine produces the same dimensions and the
//! arithmetic can be tested without decoding anything.

use std::time::Duration;

use super::{EngineError, OutputFormat, SourceFormat, SourceInfo};
use crate::params::{Fit, FormatChoice, Params};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

/// A colour with alpha, 0..=255 per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    pub const WHITE: Rgba = Rgba([255, 255, 255, 255]);
    pub const TRANSPARENT: Rgba = Rgba([0, 0, 0, 0]);
}

/// Everything an engine needs to produce the output, in the order it is applied:
/// auto-orient and scale to `resize`, cut `crop`, place on the `pad` canvas, encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Scale the auto-oriented source to exactly this size.
    pub resize: Size,
    /// Then keep only this region of the resized image.
    pub crop: Option<Rect>,
    /// Then centre the image on a canvas of this size, filled with `background`.
    pub pad: Option<Size>,
    /// Canvas colour for `pad`, and what alpha is flattened onto for formats without alpha.
    pub background: Rgba,
    pub format: OutputFormat,
    pub quality: u8,
    /// Drop EXIF/XMP/IPTC (orientation has already been applied).
    pub strip_metadata: bool,
    /// Wall-clock budget for the whole transform; the engine aborts the work (not only the wait)
    /// when it runs out. `None`: unlimited.
    pub time_limit: Option<Duration>,
}

impl Plan {
    pub fn with_time_limit(mut self, limit: Duration) -> Plan {
        self.time_limit = Some(limit);
        self
    }

    pub fn output_size(&self) -> Size {
        if let Some(pad) = self.pad {
            pad
        } else if let Some(crop) = self.crop {
            Size {
                width: crop.width,
                height: crop.height,
            }
        } else {
            self.resize
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the output would be {width}x{height} pixels, more than the {max} allowed")]
    OutputTooLarge { width: u64, height: u64, max: u64 },
    #[error("{format} cannot hold an image of {width}x{height}; at most {max} pixels per side")]
    TooLargeForFormat {
        format: &'static str,
        width: u32,
        height: u32,
        max: u32,
    },
}

/// Which modern formats a client accepts, already reduced to what this server can encode: the only
/// part of `Accept` that can change the output, so one URL yields at most one cache entry per class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AcceptClass {
    Avif,
    Webp,
    Legacy,
}

impl AcceptClass {
    pub fn negotiate(accept: Option<&str>, can_encode: impl Fn(OutputFormat) -> bool) -> Self {
        let accepts = |mime: &str| accept.is_some_and(|header| accepts_mime(header, mime));
        if can_encode(OutputFormat::Avif) && accepts("image/avif") {
            AcceptClass::Avif
        } else if can_encode(OutputFormat::Webp) && accepts("image/webp") {
            AcceptClass::Webp
        } else {
            AcceptClass::Legacy
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AcceptClass::Avif => "avif",
            AcceptClass::Webp => "webp",
            AcceptClass::Legacy => "legacy",
        }
    }
}

/// True when `header` lists `mime` explicitly with a non-zero q. Wildcards do not count: `*/*`
/// does not promise that a browser can decode AVIF.
fn accepts_mime(header: &str, mime: &str) -> bool {
    header.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case(mime) {
            return false;
        }
        parts.all(|param| {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            !name.trim().eq_ignore_ascii_case("q")
                || value.trim().parse::<f32>().is_ok_and(|q| q > 0.0)
        })
    })
}

/// Picks the output format: explicit `fm`, negotiated `fm=auto`, or the source's own family.
pub fn choose_format(
    choice: FormatChoice,
    accept: AcceptClass,
    info: &SourceInfo,
    can_encode: impl Fn(OutputFormat) -> bool,
) -> Result<OutputFormat, EngineError> {
    let still_fallback = if info.has_alpha {
        OutputFormat::Png
    } else {
        OutputFormat::Jpeg
    };
    let format = match choice {
        FormatChoice::Fixed(format) => format,
        FormatChoice::Auto => match accept {
            AcceptClass::Avif => OutputFormat::Avif,
            AcceptClass::Webp => OutputFormat::Webp,
            AcceptClass::Legacy => still_fallback,
        },
        FormatChoice::Source => {
            let family = match info.format {
                SourceFormat::Jpeg => OutputFormat::Jpeg,
                SourceFormat::Png => OutputFormat::Png,
                SourceFormat::Webp => OutputFormat::Webp,
                SourceFormat::Heif => OutputFormat::Avif,
                SourceFormat::Gif | SourceFormat::Tiff | SourceFormat::Other => still_fallback,
            };
            if can_encode(family) {
                family
            } else {
                still_fallback
            }
        }
    };
    if can_encode(format) {
        Ok(format)
    } else {
        Err(EngineError::UnsupportedFormat(format.as_str()))
    }
}

impl Plan {
    /// Resolves geometry for `params` on a source described by `info`.
    pub fn resolve(
        params: &Params,
        info: &SourceInfo,
        format: OutputFormat,
        max_output_pixels: u64,
    ) -> Result<Plan, PlanError> {
        let (sw, sh) = (f64::from(info.width.max(1)), f64::from(info.height.max(1)));
        let clamp = |scale: f64| {
            if params.enlarge {
                scale
            } else {
                scale.min(1.0)
            }
        };
        let scaled = |scale: f64| Size {
            width: round_px(sw * scale),
            height: round_px(sh * scale),
        };

        let mut crop = None;
        let mut pad = None;
        let resize = match (params.width, params.height) {
            (None, None) => scaled(1.0),
            (Some(w), None) => scaled(clamp(f64::from(w) / sw)),
            (None, Some(h)) => scaled(clamp(f64::from(h) / sh)),
            (Some(w), Some(h)) => {
                let (sx, sy) = (f64::from(w) / sw, f64::from(h) / sh);
                match params.fit {
                    Fit::Inside => scaled(clamp(sx.min(sy))),
                    Fit::Outside => scaled(clamp(sx.max(sy))),
                    Fit::Fill => Size {
                        width: round_px(sw * clamp(sx)),
                        height: round_px(sh * clamp(sy)),
                    },
                    Fit::Contain => {
                        let size = scaled(clamp(sx.min(sy)));
                        if size.width != w || size.height != h {
                            pad = Some(Size {
                                width: w,
                                height: h,
                            });
                        }
                        size
                    }
                    Fit::Cover => {
                        let size = scaled(clamp(sx.max(sy)));
                        // Without enlarge a small source cannot fill the box: keep what there is.
                        let (cw, ch) = (w.min(size.width), h.min(size.height));
                        if cw != size.width || ch != size.height {
                            crop = Some(Rect {
                                left: (size.width - cw) / 2,
                                top: (size.height - ch) / 2,
                                width: cw,
                                height: ch,
                            });
                        }
                        size
                    }
                }
            }
        };

        let background = if format.supports_alpha() {
            Rgba::TRANSPARENT
        } else {
            Rgba::WHITE
        };
        let plan = Plan {
            resize,
            crop,
            pad,
            background,
            format,
            quality: params.quality.unwrap_or_else(|| format.default_quality()),
            strip_metadata: true,
            time_limit: None,
        };
        // The resize step is the largest image the engine materialises, so it is what is limited.
        let biggest = [resize, plan.output_size()]
            .into_iter()
            .max_by_key(|s| u64::from(s.width) * u64::from(s.height))
            .unwrap_or(resize);
        let pixels = u64::from(biggest.width) * u64::from(biggest.height);
        if pixels > max_output_pixels {
            return Err(PlanError::OutputTooLarge {
                width: biggest.width.into(),
                height: biggest.height.into(),
                max: max_output_pixels,
            });
        }
        let out = plan.output_size();
        let side = format.max_side();
        if out.width > side || out.height > side {
            return Err(PlanError::TooLargeForFormat {
                format: format.as_str(),
                width: out.width,
                height: out.height,
                max: side,
            });
        }
        Ok(plan)
    }
}

/// Rounds to whole pixels, never below one (a 1×10000 strip scaled down stays visible).
fn round_px(value: f64) -> u32 {
    value.round().clamp(1.0, f64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{ParamLimits, Params};

    const MAX: u64 = 8192 * 8192;

    fn info(width: u32, height: u32) -> SourceInfo {
        SourceInfo {
            width,
            height,
            format: SourceFormat::Jpeg,
            has_alpha: false,
            pages: 1,
        }
    }

    fn plan(query: &str, width: u32, height: u32) -> Plan {
        let params = Params::parse(query, &ParamLimits::default()).expect("valid params");
        Plan::resolve(&params, &info(width, height), OutputFormat::Jpeg, MAX).expect("plan")
    }

    fn size(width: u32, height: u32) -> Size {
        Size { width, height }
    }

    #[test]
    fn width_only_keeps_aspect() {
        let p = plan("src=a&w=300", 4000, 3000);
        assert_eq!(p.resize, size(300, 225));
        assert_eq!(p.output_size(), size(300, 225));
    }

    #[test]
    fn height_only_keeps_aspect() {
        assert_eq!(plan("src=a&h=300", 4000, 3000).resize, size(400, 300));
    }

    #[test]
    fn inside_fits_within_the_box() {
        assert_eq!(
            plan("src=a&w=300&h=300", 4000, 3000).output_size(),
            size(300, 225)
        );
        assert_eq!(
            plan("src=a&w=300&h=300", 3000, 4000).output_size(),
            size(225, 300)
        );
    }

    #[test]
    fn never_enlarges_unless_asked() {
        assert_eq!(plan("src=a&w=800", 400, 300).output_size(), size(400, 300));
        assert_eq!(
            plan("src=a&w=800&enlarge=1", 400, 300).output_size(),
            size(800, 600)
        );
    }

    #[test]
    fn cover_fills_and_crops_the_centre() {
        let p = plan("src=a&w=300&h=300&fit=cover", 4000, 3000);
        assert_eq!(p.resize, size(400, 300));
        assert_eq!(
            p.crop,
            Some(Rect {
                left: 50,
                top: 0,
                width: 300,
                height: 300
            })
        );
        assert_eq!(p.output_size(), size(300, 300));
    }

    #[test]
    fn cover_on_a_small_source_crops_what_it_has() {
        let p = plan("src=a&w=300&h=300&fit=cover", 200, 100);
        assert_eq!(p.output_size(), size(200, 100));
    }

    #[test]
    fn contain_pads_to_the_exact_box() {
        let p = plan("src=a&w=300&h=300&fit=contain", 4000, 3000);
        assert_eq!(p.resize, size(300, 225));
        assert_eq!(p.pad, Some(size(300, 300)));
        assert_eq!(p.background, Rgba::WHITE);
        // A small source is padded too, not enlarged.
        assert_eq!(
            plan("src=a&w=300&h=300&fit=contain", 100, 50).output_size(),
            size(300, 300)
        );
    }

    #[test]
    fn fill_stretches() {
        assert_eq!(
            plan("src=a&w=300&h=100&fit=fill", 4000, 3000).output_size(),
            size(300, 100)
        );
        assert_eq!(
            plan("src=a&w=300&h=5000&fit=fill", 4000, 3000).output_size(),
            size(300, 3000)
        );
    }

    #[test]
    fn outside_covers_without_cropping() {
        assert_eq!(
            plan("src=a&w=300&h=300&fit=outside", 4000, 3000).output_size(),
            size(400, 300)
        );
    }

    #[test]
    fn extreme_aspect_ratios_never_reach_zero() {
        assert_eq!(plan("src=a&w=10", 10000, 1).output_size(), size(10, 1));
    }

    #[test]
    fn output_pixels_are_capped() {
        let params = Params::parse(
            "src=a&w=8192&h=8192&fit=outside&enlarge=1",
            &ParamLimits::default(),
        )
        .expect("valid");
        let err = Plan::resolve(&params, &info(1, 1000), OutputFormat::Jpeg, MAX);
        assert!(matches!(err, Err(PlanError::OutputTooLarge { .. })));
    }

    #[test]
    fn formats_with_a_size_limit_refuse_larger_outputs() {
        let params = Params::parse(
            "src=a&w=20000&enlarge=1",
            &ParamLimits {
                max_dimension: 30000,
            },
        )
        .expect("valid");
        let webp = Plan::resolve(&params, &info(1000, 10), OutputFormat::Webp, u64::MAX);
        assert!(
            matches!(webp, Err(PlanError::TooLargeForFormat { max: 16383, .. })),
            "{webp:?}"
        );
        assert!(Plan::resolve(&params, &info(1000, 10), OutputFormat::Png, u64::MAX).is_ok());
    }

    #[test]
    fn accept_negotiation_prefers_avif_then_webp() {
        let all = |_: OutputFormat| true;
        let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        assert_eq!(AcceptClass::negotiate(Some(chrome), all), AcceptClass::Avif);
        let no_avif = |f: OutputFormat| f != OutputFormat::Avif;
        assert_eq!(
            AcceptClass::negotiate(Some(chrome), no_avif),
            AcceptClass::Webp
        );
        assert_eq!(
            AcceptClass::negotiate(Some("image/webp;q=0, */*"), all),
            AcceptClass::Legacy
        );
        assert_eq!(
            AcceptClass::negotiate(Some("*/*"), all),
            AcceptClass::Legacy
        );
        assert_eq!(AcceptClass::negotiate(None, all), AcceptClass::Legacy);
        assert_eq!(
            AcceptClass::negotiate(Some("IMAGE/WEBP ; q=0.5"), all),
            AcceptClass::Webp
        );
    }

    #[test]
    fn format_follows_source_family_and_alpha() {
        let all = |_: OutputFormat| true;
        let mut png = info(10, 10);
        png.format = SourceFormat::Png;
        png.has_alpha = true;
        let pick = |choice, accept, info: &SourceInfo| choose_format(choice, accept, info, all);
        assert_eq!(
            pick(FormatChoice::Source, AcceptClass::Legacy, &info(1, 1)),
            Ok(OutputFormat::Jpeg)
        );
        assert_eq!(
            pick(FormatChoice::Source, AcceptClass::Legacy, &png),
            Ok(OutputFormat::Png)
        );
        assert_eq!(
            pick(FormatChoice::Auto, AcceptClass::Legacy, &png),
            Ok(OutputFormat::Png)
        );
        assert_eq!(
            pick(FormatChoice::Auto, AcceptClass::Legacy, &info(1, 1)),
            Ok(OutputFormat::Jpeg)
        );
        assert_eq!(
            pick(FormatChoice::Auto, AcceptClass::Webp, &png),
            Ok(OutputFormat::Webp)
        );
        let no_avif = |f: OutputFormat| f != OutputFormat::Avif;
        assert_eq!(
            choose_format(
                FormatChoice::Fixed(OutputFormat::Avif),
                AcceptClass::Legacy,
                &png,
                no_avif
            ),
            Err(EngineError::UnsupportedFormat("avif"))
        );
    }
}
