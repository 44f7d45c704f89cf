//! Resolving a request into a [`Plan`]: exact output geometry and format, computed in pure Rust from
//! the typed params and the source header, so every engine produces the same dimensions and the
//! arithmetic can be tested without decoding anything.

use std::time::Duration;

use super::{EngineError, SourceInfo};
use crate::params::{Fit, FormatChoice, Params, Position};
use crate::types::{
    Effects, Encoding, Flip, Gravity, Interesting, Milli, OutputFormat, Rect, Rgba, Rotation, Size,
    SourceFormat, TextSpec,
};

/// How `fit=cover` cuts the overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crop {
    /// This rectangle (gravity or focal point, resolved here).
    Fixed(Rect),
    /// A `width`×`height` window chosen by libvips' smartcrop.
    Smart {
        width: u32,
        height: u32,
        interesting: Interesting,
    },
}

impl Crop {
    pub fn size(self) -> Size {
        match self {
            Crop::Fixed(rect) => Size {
                width: rect.width,
                height: rect.height,
            },
            Crop::Smart { width, height, .. } => Size { width, height },
        }
    }
}

/// Where the image goes on a padded canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub canvas: Size,
    pub left: u32,
    pub top: u32,
}

/// A watermark, resolved against the output it is laid on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlay {
    /// The watermark's encoded bytes (fetched like a source).
    pub source: bytes::Bytes,
    /// Fit the watermark inside this box (never enlarged beyond its own size unless `scale` says).
    pub max_size: Size,
    /// Scale the watermark to this exact width (`wmscale`), keeping its aspect ratio.
    pub width: Option<u32>,
    pub position: Gravity,
    pub margin: u32,
    pub opacity: Milli,
}

/// Everything an engine needs to produce the output, in the order it is applied:
/// auto-orient and scale to `resize`, cut `region`, rotate and flip, cut `crop`, apply `effects`,
/// place on the `pad` canvas, lay the watermark over it, flatten, encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Scale the auto-oriented source to exactly this size.
    pub resize: Size,
    /// Then keep only this part of it (`crop=` and `trim`, scaled).
    pub region: Option<Rect>,
    pub rotation: Rotation,
    pub flip: Flip,
    /// Then keep only this part of the rotated image (`fit=cover`).
    pub crop: Option<Crop>,
    pub effects: Effects,
    /// Then place the image on a canvas, filled with `background`.
    pub pad: Option<Placement>,
    /// Canvas colour for `pad`, and what alpha is flattened onto for formats without alpha.
    pub background: Rgba,
    pub overlay: Option<Overlay>,
    /// Text drawn over the result, after the watermark.
    pub text: Option<TextSpec>,
    pub format: OutputFormat,
    pub quality: u8,
    pub encoding: Encoding,
    /// Keep every frame: the source is animated and the format can hold it. Every geometric step
    /// then applies per frame.
    pub animated: bool,
    /// Drop EXIF/XMP/IPTC (orientation has already been applied, and its tag is always dropped).
    pub strip_metadata: bool,
    /// Wall-clock budget for the whole transform; the engine aborts the work (not only the wait)
    /// when it runs out. `None`: unlimited.
    pub time_limit: Option<Duration>,
}

impl Plan {
    /// The plainest plan: scale to `resize` and encode, nothing else.
    pub fn scale_to(resize: Size, format: OutputFormat) -> Plan {
        Plan {
            resize,
            region: None,
            rotation: Rotation::None,
            flip: Flip::default(),
            crop: None,
            effects: Effects::default(),
            pad: None,
            background: if format.supports_alpha() {
                Rgba::TRANSPARENT
            } else {
                Rgba::WHITE
            },
            overlay: None,
            text: None,
            format,
            quality: format.default_quality(),
            encoding: Encoding::default(),
            animated: false,
            strip_metadata: true,
            time_limit: None,
        }
    }

    pub fn with_time_limit(mut self, limit: Duration) -> Plan {
        self.time_limit = Some(limit);
        self
    }

    /// The size after `region`, rotation and flip: what `crop` and `pad` refer to.
    pub fn oriented_size(&self) -> Size {
        let size = self.region.map_or(self.resize, |r| Size {
            width: r.width,
            height: r.height,
        });
        if self.rotation.swaps_axes() {
            Size {
                width: size.height,
                height: size.width,
            }
        } else {
            size
        }
    }

    /// The size of one output frame.
    pub fn output_size(&self) -> Size {
        if let Some(pad) = self.pad {
            pad.canvas
        } else if let Some(crop) = self.crop {
            crop.size()
        } else {
            self.oriented_size()
        }
    }

    /// Whether the plan needs anything beyond scale, centre crop, pad and flatten: what the simplest
    /// engines can do. Names the first such operation.
    pub fn beyond_basics(&self) -> Option<&'static str> {
        let checks = [
            (
                matches!(self.crop, Some(Crop::Smart { .. })),
                "pos=attention/entropy",
            ),
            (self.effects.blur.is_some(), "blur"),
            (self.effects.sharpen.is_some(), "sharpen"),
            (self.overlay.is_some(), "wm"),
            (self.text.is_some(), "txt"),
            (self.encoding.palette, "palette"),
            (self.animated, "animation"),
            (!self.strip_metadata, "meta=keep"),
        ];
        checks
            .iter()
            .find(|(needed, _)| *needed)
            .map(|(_, name)| *name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the output would be {width}x{height} pixels, more than the {max} allowed")]
    OutputTooLarge { width: u64, height: u64, max: u64 },
    #[error("the crop {width}x{height}+{left}+{top} lies outside the {image_width}x{image_height} image")]
    CropOutside {
        left: u32,
        top: u32,
        width: u32,
        height: u32,
        image_width: u32,
        image_height: u32,
    },
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
    choose_format_animated(choice, accept, info, false, can_encode)
}

/// As [`choose_format`]; with `animate` (the source has frames and the request keeps them), `fm=auto`
/// and the source's own family pick a format that holds animation: WebP where the client takes it,
/// else GIF.
pub fn choose_format_animated(
    choice: FormatChoice,
    accept: AcceptClass,
    info: &SourceInfo,
    animate: bool,
    can_encode: impl Fn(OutputFormat) -> bool,
) -> Result<OutputFormat, EngineError> {
    let animate = animate && info.pages > 1;
    let still_fallback = if info.has_alpha {
        OutputFormat::Png
    } else {
        OutputFormat::Jpeg
    };
    let moving = |preferred: OutputFormat| {
        [preferred, OutputFormat::Gif]
            .into_iter()
            .find(|f| f.supports_animation() && can_encode(*f))
    };
    let format = match choice {
        FormatChoice::Fixed(format) => format,
        FormatChoice::Auto if animate => match accept {
            AcceptClass::Avif | AcceptClass::Webp => moving(OutputFormat::Webp),
            AcceptClass::Legacy => moving(OutputFormat::Gif),
        }
        .unwrap_or(still_fallback),
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
                SourceFormat::Gif => OutputFormat::Gif,
                SourceFormat::Heif => OutputFormat::Avif,
                SourceFormat::Tiff | SourceFormat::Other => still_fallback,
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

/// An axis-aligned box in floating point, for geometry before rounding.
#[derive(Clone, Copy, Debug)]
struct Area {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl Plan {
    /// Resolves geometry for `params` on a source described by `info`.
    pub fn resolve(
        params: &Params,
        info: &SourceInfo,
        format: OutputFormat,
        max_output_pixels: u64,
    ) -> Result<Plan, PlanError> {
        Plan::resolve_trimmed(params, info, None, format, max_output_pixels)
    }

    /// As [`Plan::resolve`], on the part of the source that `trimmed` (what `trim` found, in
    /// auto-oriented source pixels) keeps; `crop=` is relative to it.
    pub fn resolve_trimmed(
        params: &Params,
        info: &SourceInfo,
        trimmed: Option<Rect>,
        format: OutputFormat,
        max_output_pixels: u64,
    ) -> Result<Plan, PlanError> {
        let full = Rect {
            left: 0,
            top: 0,
            width: info.width.max(1),
            height: info.height.max(1),
        };
        let base = trimmed.unwrap_or(full);
        let region = match params.crop {
            None => base,
            Some(c) => {
                let outside = || PlanError::CropOutside {
                    left: c.left,
                    top: c.top,
                    width: c.width,
                    height: c.height,
                    image_width: base.width,
                    image_height: base.height,
                };
                if c.left >= base.width || c.top >= base.height {
                    return Err(outside());
                }
                // A crop reaching past the edge keeps what there is (as imgproxy and weserv do).
                Rect {
                    left: base.left + c.left,
                    top: base.top + c.top,
                    width: c.width.min(base.width - c.left),
                    height: c.height.min(base.height - c.top),
                }
            }
        };
        let swaps = params.rotation.swaps_axes();
        let (ew, eh) = if swaps {
            (region.height, region.width)
        } else {
            (region.width, region.height)
        };
        let (sw, sh) = (f64::from(ew), f64::from(eh));
        let clamp = |scale: f64| {
            if params.enlarge {
                scale
            } else {
                scale.min(1.0)
            }
        };
        // Scale factors per axis of the rotated region, and the box a cover crop or a contain pad
        // works to.
        let (sx, sy, target) = match (params.width, params.height) {
            (None, None) => (1.0, 1.0, None),
            (Some(w), None) => {
                let s = clamp(f64::from(w) / sw);
                (s, s, None)
            }
            (None, Some(h)) => {
                let s = clamp(f64::from(h) / sh);
                (s, s, None)
            }
            (Some(w), Some(h)) => {
                let (fx, fy) = (f64::from(w) / sw, f64::from(h) / sh);
                match params.fit {
                    Fit::Inside | Fit::Contain => {
                        let s = clamp(fx.min(fy));
                        (s, s, Some((w, h)))
                    }
                    Fit::Outside | Fit::Cover => {
                        let s = clamp(fx.max(fy));
                        (s, s, Some((w, h)))
                    }
                    Fit::Fill => (clamp(fx), clamp(fy), None),
                }
            }
        };
        let scaled = Size {
            width: round_px(sw * sx),
            height: round_px(sh * sy),
        };

        let crop = match (params.fit, target) {
            (Fit::Cover, Some((w, h))) => cover_crop(
                scaled,
                w,
                h,
                follow_turns(params.position, params.rotation, params.flip),
            ),
            _ => None,
        };
        let fitted = crop.map_or(scaled, Crop::size);
        let contain = match (params.fit, target) {
            (Fit::Contain, Some((w, h))) if (w, h) != (fitted.width, fitted.height) => {
                let (fx, fy) = match params.position {
                    Position::Gravity(g) => g.fractions(),
                    _ => (0.5, 0.5),
                };
                let (w, h) = (w.max(fitted.width), h.max(fitted.height));
                Some(Placement {
                    canvas: Size {
                        width: w,
                        height: h,
                    },
                    left: (f64::from(w - fitted.width) * fx).round() as u32,
                    top: (f64::from(h - fitted.height) * fy).round() as u32,
                })
            }
            _ => None,
        };
        let pad = if params.padding.is_zero() {
            contain
        } else {
            let inner = contain.unwrap_or(Placement {
                canvas: fitted,
                left: 0,
                top: 0,
            });
            let p = params.padding;
            Some(Placement {
                canvas: Size {
                    width: inner
                        .canvas
                        .width
                        .saturating_add(p.left)
                        .saturating_add(p.right),
                    height: inner
                        .canvas
                        .height
                        .saturating_add(p.top)
                        .saturating_add(p.bottom),
                },
                left: inner.left + p.left,
                top: inner.top + p.top,
            })
        };

        // Back to the unrotated source: the load size and the part of it to keep.
        let (px, py) = if swaps { (sy, sx) } else { (sx, sy) };
        let unrotated = if swaps {
            Size {
                width: scaled.height,
                height: scaled.width,
            }
        } else {
            scaled
        };
        let (resize, region) = if region == full {
            (unrotated, None)
        } else {
            let area = Area {
                left: f64::from(region.left) * px,
                top: f64::from(region.top) * py,
                width: f64::from(full.width) * px,
                height: f64::from(full.height) * py,
            };
            let resize = Size {
                width: round_px(area.width).max(unrotated.width),
                height: round_px(area.height).max(unrotated.height),
            };
            let left = (area.left.floor() as u32).min(resize.width - unrotated.width);
            let top = (area.top.floor() as u32).min(resize.height - unrotated.height);
            (
                resize,
                Some(Rect {
                    left,
                    top,
                    width: unrotated.width,
                    height: unrotated.height,
                }),
            )
        };

        let animated = params.animated && info.pages > 1 && format.supports_animation();
        let plan = Plan {
            resize,
            region,
            rotation: params.rotation,
            flip: params.flip,
            crop,
            effects: params.effects,
            pad,
            background: params.background.unwrap_or(if format.supports_alpha() {
                Rgba::TRANSPARENT
            } else {
                Rgba::WHITE
            }),
            overlay: None,
            text: params.text.clone(),
            format,
            quality: params
                .quality
                .unwrap_or_else(|| params.default_quality.of(format)),
            encoding: params.encoding,
            animated,
            strip_metadata: !params.keep_metadata,
            time_limit: None,
        };
        // The resize step is the largest image the engine materialises, so it is what is limited;
        // an animation holds every frame at once.
        let frames = if animated { u64::from(info.pages) } else { 1 };
        let biggest = [resize, plan.output_size()]
            .into_iter()
            .max_by_key(|s| u64::from(s.width) * u64::from(s.height))
            .unwrap_or(resize);
        let pixels = u64::from(biggest.width) * u64::from(biggest.height) * frames;
        if pixels > max_output_pixels {
            return Err(PlanError::OutputTooLarge {
                width: biggest.width.into(),
                height: u64::from(biggest.height) * frames,
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

    /// Lays the watermark `source` over this plan's output as `wm` says.
    pub fn with_watermark(mut self, wm: &crate::params::Watermark, source: bytes::Bytes) -> Plan {
        let out = self.output_size();
        let room = |side: u32| side.saturating_sub(2 * wm.margin).max(1);
        self.overlay = Some(Overlay {
            source,
            max_size: Size {
                width: room(out.width),
                height: room(out.height),
            },
            width: wm
                .scale
                .map(|s| round_px(f64::from(out.width) * s.get()).min(room(out.width))),
            position: wm.position,
            margin: wm.margin,
            opacity: wm.opacity,
        });
        self
    }
}

/// A focal point is given on the image as it is before `rot` and `flip` (where a CMS marks it);
/// the cover crop works after them, so the point turns and mirrors with the pixels.
fn follow_turns(position: Position, rotation: Rotation, flip: Flip) -> Position {
    let Position::Focal { x, y } = position else {
        return position;
    };
    let one = Milli::ONE.0;
    let invert = |m: Milli| Milli(one.saturating_sub(m.0));
    // Clockwise quarter turns: (x, y) -> (1 - y, x).
    let (x, y) = match rotation {
        Rotation::None => (x, y),
        Rotation::Quarter => (invert(y), x),
        Rotation::Half => (invert(x), invert(y)),
        Rotation::ThreeQuarters => (y, invert(x)),
    };
    let x = if flip.horizontal { invert(x) } else { x };
    let y = if flip.vertical { invert(y) } else { y };
    Position::Focal { x, y }
}

/// The `w`×`h` window `fit=cover` keeps of an image scaled to `size`, chosen by `position`. Without
/// enlarge a small source cannot fill the box: it keeps what there is.
fn cover_crop(size: Size, w: u32, h: u32, position: Position) -> Option<Crop> {
    let (cw, ch) = (w.min(size.width), h.min(size.height));
    if (cw, ch) == (size.width, size.height) {
        return None;
    }
    let (free_x, free_y) = (size.width - cw, size.height - ch);
    let offset = |free: u32, fraction: f64| (f64::from(free) * fraction).round() as u32;
    let rect = |left: u32, top: u32| {
        Some(Crop::Fixed(Rect {
            left: left.min(free_x),
            top: top.min(free_y),
            width: cw,
            height: ch,
        }))
    };
    match position {
        Position::Gravity(g) => {
            let (fx, fy) = g.fractions();
            rect(offset(free_x, fx), offset(free_y, fy))
        }
        // The focal point as near the centre of the window as the edges allow.
        Position::Focal { x, y } => {
            let centre = |extent: u32, at: Milli, window: u32| {
                (f64::from(extent) * at.get() - f64::from(window) / 2.0)
                    .round()
                    .max(0.0) as u32
            };
            rect(centre(size.width, x, cw), centre(size.height, y, ch))
        }
        Position::Smart(interesting) => Some(Crop::Smart {
            width: cw,
            height: ch,
            interesting,
        }),
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
            Some(Crop::Fixed(Rect {
                left: 50,
                top: 0,
                width: 300,
                height: 300
            }))
        );
        assert_eq!(p.output_size(), size(300, 300));
    }

    #[test]
    fn a_focal_point_turns_and_mirrors_with_the_pixels() {
        let at = |x, y| Position::Focal {
            x: Milli(x),
            y: Milli(y),
        };
        let none = Flip::default();
        let h = Flip {
            horizontal: true,
            vertical: false,
        };
        assert_eq!(
            follow_turns(at(100, 200), Rotation::None, none),
            at(100, 200)
        );
        assert_eq!(
            follow_turns(at(100, 200), Rotation::Quarter, none),
            at(800, 100)
        );
        assert_eq!(
            follow_turns(at(100, 200), Rotation::Half, none),
            at(900, 800)
        );
        assert_eq!(
            follow_turns(at(100, 200), Rotation::ThreeQuarters, none),
            at(200, 900)
        );
        assert_eq!(follow_turns(at(100, 200), Rotation::None, h), at(900, 200));
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
        assert_eq!(
            p.pad,
            Some(Placement {
                canvas: size(300, 300),
                left: 0,
                top: 38
            })
        );
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
                ..ParamLimits::default()
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
