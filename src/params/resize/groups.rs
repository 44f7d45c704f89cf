//! The parsers of `/resize`'s fields that are more than one line: values with a syntax of their
//! own (`crop`, `pad`, `trim`, `fm`) and groups of names that make one value (`pos`/`fx`/`fy`,
//! `blur`/`sharpen`/`gray`, the `wm*` watermark). Each reads its names through `Args` by index, in
//! the order of its row in `fields`.

use super::{Draft, FormatChoice};
use crate::params::field::Args;
use crate::params::ops::{Padding, Position, Region, Watermark};
use crate::params::{plain_number, ParamError, ParamLimits, Source};
use crate::types::{Effects, Gravity, Interesting, Milli, OutputFormat};

/// The name of the device pixel ratio: errors of the sizes it scales may name it.
pub(super) const DPR: &str = "dpr";
/// The watermark's names; the first is its source.
pub(super) const WATERMARK: [&str; 5] = ["wm", "wmpos", "wmscale", "wmopacity", "wmmargin"];

/// Largest blur or sharpen sigma: beyond this the result is a flat colour and the cost only grows.
const MAX_SIGMA: Milli = Milli(100_000);
/// weserv's lower bound: below it a Gaussian mask is a no-op.
const MIN_SIGMA: Milli = Milli(300);
/// Largest padding per side, in output pixels.
const MAX_PADDING: u32 = 1024;

type Parsed = Result<(), ParamError>;

impl Draft {
    /// `w`, `h` and `pad` are in CSS pixels; `dpr` turns them into output pixels.
    pub(super) fn scale(&self, name: &'static str, v: u32, max: u32) -> Result<u32, ParamError> {
        let scaled = (f64::from(v) * self.dpr.get()).round() as u64;
        if scaled > u64::from(max) {
            let what = if self.dpr == Milli::ONE { name } else { DPR };
            return Err(ParamError::invalid(
                what,
                format!("{name}×dpr must be at most {max}"),
            ));
        }
        Ok(scaled as u32)
    }
}

/// `pos`, `fx`, `fy`: a gravity, a smart crop, or a focal point.
pub(super) fn position(mut a: Args<'_>, d: &mut Draft, _: &ParamLimits) -> Parsed {
    let pos = a.take(0);
    let fx = a.decimal(1, Milli(0)..=Milli::ONE)?;
    let fy = a.decimal(2, Milli(0)..=Milli::ONE)?;
    if fx.is_some() || fy.is_some() {
        if pos.as_deref().is_some_and(|p| p != "focal") {
            return Err(a.invalid(0, "fx/fy need pos=focal or no pos"));
        }
        let half = Milli(500);
        d.params.position = Position::Focal {
            x: fx.unwrap_or(half),
            y: fy.unwrap_or(half),
        };
        return Ok(());
    }
    d.params.position = match pos.as_deref() {
        None | Some("focal") => Position::Gravity(Gravity::Center),
        Some("attention") | Some("smart") => Position::Smart(Interesting::Attention),
        Some("entropy") => Position::Smart(Interesting::Entropy),
        Some(v) => Position::Gravity(Gravity::parse(v).ok_or_else(|| {
            a.invalid(
                0,
                "expected center, top, bottom, left, right, top-left, top-right, bottom-left, bottom-right, attention, entropy or focal",
            )
        })?),
    };
    Ok(())
}

pub(super) fn crop(mut a: Args<'_>, d: &mut Draft, _: &ParamLimits) -> Parsed {
    let Some(value) = a.take(0) else {
        return Ok(());
    };
    let bad = || a.invalid(0, "expected x,y,w,h in source pixels, w and h at least 1");
    let numbers: Vec<u32> = value
        .split(',')
        .map(|n| plain_number::<u32>(n).ok_or_else(bad))
        .collect::<Result<_, _>>()?;
    d.params.crop = match numbers[..] {
        [left, top, width @ 1..=u32::MAX, height @ 1..=u32::MAX] => Some(Region {
            left,
            top,
            width,
            height,
        }),
        _ => return Err(bad()),
    };
    Ok(())
}

pub(super) fn trim(mut a: Args<'_>, d: &mut Draft, _: &ParamLimits) -> Parsed {
    d.params.trim = match a.take(0).as_deref() {
        None | Some("false") => None,
        // weserv's default threshold.
        Some("true") => Some(10),
        Some(v) => match plain_number::<u8>(v) {
            Some(t @ 1..=254) => Some(t),
            _ => return Err(a.invalid(0, "expected true or a threshold from 1 to 254")),
        },
    };
    Ok(())
}

/// `pad=N` or `pad=top,right,bottom,left`, in CSS pixels like `w` and `h`.
pub(super) fn padding(mut a: Args<'_>, d: &mut Draft, _: &ParamLimits) -> Parsed {
    let Some(value) = a.take(0) else {
        return Ok(());
    };
    let name = a.name(0);
    let bad = || {
        a.invalid(
            0,
            format!("expected N or top,right,bottom,left, each 0 to {MAX_PADDING}"),
        )
    };
    let sides: Vec<u32> = value
        .split(',')
        .map(|n| match plain_number::<u32>(n) {
            Some(v) if v <= MAX_PADDING => d.scale(name, v, MAX_PADDING * 4),
            _ => Err(bad()),
        })
        .collect::<Result<_, _>>()?;
    d.params.padding = match sides[..] {
        [all] => Padding {
            top: all,
            right: all,
            bottom: all,
            left: all,
        },
        [top, right, bottom, left] => Padding {
            top,
            right,
            bottom,
            left,
        },
        _ => return Err(bad()),
    };
    Ok(())
}

/// `blur`, `sharpen`, `gray`.
pub(super) fn effects(mut a: Args<'_>, d: &mut Draft, _: &ParamLimits) -> Parsed {
    let blur = a.decimal(0, MIN_SIGMA..=MAX_SIGMA)?;
    let sharpen = match a.take(1).as_deref() {
        None | Some("false") | Some("0") => None,
        // A mild unsharp mask that restores the crispness a downscale takes away.
        Some("true") => Some(Milli(1000)),
        Some(v) => match Milli::parse(v) {
            Some(s) if (MIN_SIGMA..=Milli(10_000)).contains(&s) => Some(s),
            _ => return Err(a.invalid(1, "expected true or a sigma from 0.3 to 10")),
        },
    };
    d.params.effects = Effects {
        blur,
        sharpen,
        gray: a.flag(2, false)?,
    };
    Ok(())
}

pub(super) fn format(mut a: Args<'_>, d: &mut Draft, _: &ParamLimits) -> Parsed {
    a.set(0, &mut d.params.format, |v, name| match v {
        "auto" => Ok(FormatChoice::Auto),
        v => OutputFormat::parse(v)
            .map(FormatChoice::Fixed)
            .ok_or_else(|| {
                ParamError::invalid(name, "expected jpeg, png, webp, avif, gif or auto")
            }),
    })
}

/// The `wm*` group, named by [`WATERMARK`]: a source, and how it is laid over the output.
pub(super) fn watermark(mut a: Args<'_>, d: &mut Draft, _: &ParamLimits) -> Parsed {
    let src = a.take(0);
    let position = a.take(1);
    let scale = a.decimal(2, Milli(10)..=Milli::ONE)?;
    let opacity = a.decimal(3, Milli(0)..=Milli::ONE)?;
    let margin = a.integer(4, 0..=MAX_PADDING)?;
    let Some(src) = src else {
        let given = [
            position.is_some(),
            scale.is_some(),
            opacity.is_some(),
            margin.is_some(),
        ];
        if let Some(i) = given.iter().position(|given| *given) {
            return Err(a.invalid(i + 1, "needs a watermark (wm=)"));
        }
        return Ok(());
    };
    let src = Source::parse(&src).map_err(|e| match e {
        ParamError::Invalid { reason, .. } => a.invalid(0, reason),
        other => other,
    })?;
    let position = position
        .map(|v| {
            Gravity::parse(&v).ok_or_else(|| {
                a.invalid(1, "expected center, top, bottom, left, right, top-left, top-right, bottom-left or bottom-right")
            })
        })
        .transpose()?
        .unwrap_or(Gravity::BottomRight);
    d.params.watermark = Some(Watermark {
        src,
        position,
        scale,
        opacity: opacity.unwrap_or(Milli::ONE),
        margin: margin.unwrap_or(0),
    });
    Ok(())
}
