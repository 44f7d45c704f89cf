//! Resolving a request into a [`Plan`]: exact output geometry and format, computed in pure Rust from
//! the typed params and the source header, so every engine produces the same dimensions and the
//! arithmetic can be tested without decoding anything.
//!
//! The resolution is a list of named steps ([`steps`]), each a small function, in the order the
//! engine will apply what they decide: the source region (`trim`, `crop=`), the scale, the cover
//! crop, the contain canvas and padding, the way back to the unrotated source, and the limits.

mod steps;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use crate::engine::{Overlay, Plan, PlanError, SourceInfo};
use crate::params::{Params, Watermark};
use crate::types::{OutputFormat, Rect, Rgba, Size};

use steps::{check_limits, contain, cover, pad, region, round_px, scale, unrotate};

/// Resolves geometry for `params` on a source described by `info`.
pub fn resolve(
    params: &Params,
    info: &SourceInfo,
    format: OutputFormat,
    max_output_pixels: u64,
) -> Result<Plan, PlanError> {
    resolve_trimmed(params, info, None, format, max_output_pixels)
}

/// As [`resolve`], on the part of the source that `trimmed` (what `trim` found, in auto-oriented
/// source pixels) keeps; `crop=` is relative to it.
pub fn resolve_trimmed(
    params: &Params,
    info: &SourceInfo,
    trimmed: Option<Rect>,
    format: OutputFormat,
    max_output_pixels: u64,
) -> Result<Plan, PlanError> {
    let (full, region) = region(params, info, trimmed)?;
    let scaling = scale(params, region);
    let crop = cover(params, &scaling);
    let fitted = crop.map_or(scaling.scaled, |c| c.size());
    let pad = pad(params, contain(params, &scaling, fitted), fitted);
    let (resize, region) = unrotate(&scaling, full, region);
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
        animated: params.animated && info.pages > 1 && format.supports_animation(),
        strip_metadata: !params.keep_metadata,
        time_limit: None,
        keep_decode: true,
    };
    check_limits(&plan, info, max_output_pixels)?;
    Ok(plan)
}

/// Lays the watermark `source` over `plan`'s output as `wm` says.
pub fn with_watermark(mut plan: Plan, wm: &Watermark, source: Bytes) -> Plan {
    let out = plan.output_size();
    let room = |side: u32| side.saturating_sub(2 * wm.margin).max(1);
    plan.overlay = Some(Overlay {
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
    plan
}
