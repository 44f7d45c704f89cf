//! The steps of plan resolution, in order. Each takes what the steps before it decided.

use crate::engine::{Crop, Placement, Plan, PlanError, SourceInfo};
use crate::params::{Fit, Params, Position};
use crate::types::{Flip, Milli, Rect, Rotation, Size};

/// 1. The part of the auto-oriented source that is used: what `trim` kept, then `crop=` inside it.
///    Returns the whole source's rectangle too.
pub(super) fn region(
    params: &Params,
    info: &SourceInfo,
    trimmed: Option<Rect>,
) -> Result<(Rect, Rect), PlanError> {
    let full = Rect {
        left: 0,
        top: 0,
        width: info.width.max(1),
        height: info.height.max(1),
    };
    let base = trimmed.unwrap_or(full);
    let Some(c) = params.crop else {
        return Ok((full, base));
    };
    if c.left >= base.width || c.top >= base.height {
        return Err(PlanError::CropOutside {
            left: c.left,
            top: c.top,
            width: c.width,
            height: c.height,
            image_width: base.width,
            image_height: base.height,
        });
    }
    // A crop reaching past the edge keeps what there is (as imgproxy and weserv do).
    let region = Rect {
        left: base.left + c.left,
        top: base.top + c.top,
        width: c.width.min(base.width - c.left),
        height: c.height.min(base.height - c.top),
    };
    Ok((full, region))
}

/// What the scale step decided.
pub(super) struct Scaling {
    /// Scale factors per axis of the rotated region.
    sx: f64,
    sy: f64,
    /// The box a cover crop or a contain pad works to.
    target: Option<(u32, u32)>,
    /// The rotated region at that scale.
    pub(super) scaled: Size,
    /// Whether the rotation trades width and height.
    swaps: bool,
}

/// 2. The scale of the rotated region: `w`/`h` and `fit`, never above 1 unless `enlarge`.
pub(super) fn scale(params: &Params, region: Rect) -> Scaling {
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
    Scaling {
        sx,
        sy,
        target,
        scaled: Size {
            width: round_px(sw * sx),
            height: round_px(sh * sy),
        },
        swaps,
    }
}

/// 3. `fit=cover`: the window of the scaled image that fills the box.
pub(super) fn cover(params: &Params, scaling: &Scaling) -> Option<Crop> {
    match (params.fit, scaling.target) {
        (Fit::Cover, Some((w, h))) => cover_crop(
            scaling.scaled,
            w,
            h,
            follow_turns(params.position, params.rotation, params.flip),
        ),
        _ => None,
    }
}

/// 4a. `fit=contain`: the canvas of exactly the box, the image placed by gravity.
pub(super) fn contain(params: &Params, scaling: &Scaling, fitted: Size) -> Option<Placement> {
    match (params.fit, scaling.target) {
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
    }
}

/// 4b. `pad=`: space around the (contained) image.
pub(super) fn pad(params: &Params, contain: Option<Placement>, fitted: Size) -> Option<Placement> {
    if params.padding.is_zero() {
        return contain;
    }
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
}

/// 5. Back to the unrotated source: the load size and the part of it to keep.
pub(super) fn unrotate(scaling: &Scaling, full: Rect, region: Rect) -> (Size, Option<Rect>) {
    let Scaling {
        sx,
        sy,
        scaled,
        swaps,
        ..
    } = *scaling;
    let (px, py) = if swaps { (sy, sx) } else { (sx, sy) };
    let unrotated = if swaps {
        Size {
            width: scaled.height,
            height: scaled.width,
        }
    } else {
        scaled
    };
    if region == full {
        return (unrotated, None);
    }
    let (left, top) = (f64::from(region.left) * px, f64::from(region.top) * py);
    let resize = Size {
        width: round_px(f64::from(full.width) * px).max(unrotated.width),
        height: round_px(f64::from(full.height) * py).max(unrotated.height),
    };
    let left = (left.floor() as u32).min(resize.width - unrotated.width);
    let top = (top.floor() as u32).min(resize.height - unrotated.height);
    let kept = Rect {
        left,
        top,
        width: unrotated.width,
        height: unrotated.height,
    };
    (resize, Some(kept))
}

/// 6. The limits: the largest image the engine materialises (the resize step, or the output if
///    larger; every frame of an animation at once) and the format's largest side.
pub(super) fn check_limits(
    plan: &Plan,
    info: &SourceInfo,
    max_output_pixels: u64,
) -> Result<(), PlanError> {
    let frames = if plan.animated {
        u64::from(info.pages)
    } else {
        1
    };
    let biggest = [plan.resize, plan.output_size()]
        .into_iter()
        .max_by_key(|s| u64::from(s.width) * u64::from(s.height))
        .unwrap_or(plan.resize);
    let pixels = u64::from(biggest.width) * u64::from(biggest.height) * frames;
    if pixels > max_output_pixels {
        return Err(PlanError::OutputTooLarge {
            width: biggest.width.into(),
            height: u64::from(biggest.height) * frames,
            max: max_output_pixels,
        });
    }
    let out = plan.output_size();
    let side = plan.format.max_side();
    if out.width > side || out.height > side {
        return Err(PlanError::TooLargeForFormat {
            format: plan.format.as_str(),
            width: out.width,
            height: out.height,
            max: side,
        });
    }
    Ok(())
}

/// A focal point is given on the image as it is before `rot` and `flip` (where a CMS marks it);
/// the cover crop works after them, so the point turns and mirrors with the pixels.
pub(super) fn follow_turns(position: Position, rotation: Rotation, flip: Flip) -> Position {
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
pub(super) fn round_px(value: f64) -> u32 {
    value.round().clamp(1.0, f64::from(u32::MAX)) as u32
}
