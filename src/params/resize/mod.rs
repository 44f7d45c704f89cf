//! The URL API v1 of `/resize`: query string -> typed, validated, canonical [`Params`].
//!
//! Every parameter is one row of [`fields::FIELDS`]: its names, its parser, its canonical writer.
//! The canonical form ([`Params::canonical`]) has defaults applied and a fixed order, and is what
//! the cache key hashes, so `?w=300&src=a.jpg` and `?src=a.jpg&w=300&fit=inside` share one cache
//! entry.

mod delivery;
mod fields;
mod groups;

use std::sync::LazyLock;

pub use delivery::{Delivery, MAX_FILENAME_CHARS};

use super::field;
use super::ops::{Padding, Position, Region, Watermark};
use super::query::Query;
use super::{ParamError, ParamLimits, Qualities, Source};
use crate::types::{
    Effects, Encoding, EngineChoice, Flip, Gravity, Milli, OutputFormat, Rgba, Rotation, TextSpec,
};

/// The table, worked out once.
static PARSING: LazyLock<field::Parsing<Draft, Params>> =
    LazyLock::new(|| field::Parsing::of(fields::FIELDS));

/// `/resize`'s spelling of `name`, if it is one of its parameters (presets are checked against
/// the same list).
pub(crate) fn known(name: &str) -> Option<&'static str> {
    PARSING.known(name)
}

/// How the source is fitted into the requested box (the names and meanings of sharp/weserv).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fit {
    /// Fit within w×h, keep the aspect ratio (the default).
    Inside,
    /// Fill w×h, keep the aspect ratio, crop the overflow around the centre.
    Cover,
    /// Fit within w×h, keep the aspect ratio, pad to exactly w×h.
    Contain,
    /// Stretch to exactly w×h, ignoring the aspect ratio.
    Fill,
    /// Cover w×h, keep the aspect ratio, never crop (the result may exceed the box).
    Outside,
}

impl Fit {
    pub fn as_str(self) -> &'static str {
        match self {
            Fit::Inside => "inside",
            Fit::Cover => "cover",
            Fit::Contain => "contain",
            Fit::Fill => "fill",
            Fit::Outside => "outside",
        }
    }

    fn parse(value: &str) -> Option<Fit> {
        Some(match value {
            "inside" => Fit::Inside,
            "cover" => Fit::Cover,
            "contain" => Fit::Contain,
            "fill" => Fit::Fill,
            "outside" => Fit::Outside,
            _ => return None,
        })
    }
}

/// The `fm` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FormatChoice {
    /// No `fm`: keep the source's format family (JPEG stays JPEG, PNG stays PNG).
    Source,
    /// `fm=auto`: negotiate from the `Accept` header.
    Auto,
    /// An explicit output format.
    Fixed(OutputFormat),
}

impl FormatChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            FormatChoice::Source => "source",
            FormatChoice::Auto => "auto",
            FormatChoice::Fixed(format) => format.as_str(),
        }
    }
}

/// A validated `/resize` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub src: Source,
    /// Output box in output pixels, `dpr` already applied.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    pub position: Position,
    pub enlarge: bool,
    /// Cut this part of the (auto-oriented, trimmed) source before anything else.
    pub crop: Option<Region>,
    /// Remove a uniform border first: the colour-distance threshold (1..=254).
    pub trim: Option<u8>,
    /// Space added around the result, `dpr` applied.
    pub padding: Padding,
    /// Padding and `contain` canvas colour, and what alpha is flattened onto; `None`: white for
    /// formats without alpha, transparent for the others.
    pub background: Option<Rgba>,
    pub rotation: Rotation,
    pub flip: Flip,
    pub effects: Effects,
    pub format: FormatChoice,
    /// `None`: the output format's default quality (`default_quality`).
    pub quality: Option<u8>,
    /// The server's default qualities, from its configuration (not part of the canonical form).
    pub default_quality: Qualities,
    pub encoding: Encoding,
    /// Keep every frame of an animated source when the output format can hold them (`anim=0`: first frame).
    pub animated: bool,
    /// `meta=keep`: keep EXIF/XMP/IPTC (the orientation tag still goes: it has been applied).
    pub keep_metadata: bool,
    pub watermark: Option<Watermark>,
    /// Text drawn over the result (`txt` and its styling parameters).
    pub text: Option<TextSpec>,
    /// `None`: the server decides (libvips, or the `--rust-percent` sample).
    pub engine: Option<EngineChoice>,
    /// `filename=` and `dl=`: the response's `Content-Disposition` (not in the canonical form).
    pub delivery: Delivery,
}

/// A `/resize` request being parsed: the fields write into `params`; `dpr` is kept for the sizes
/// it scales.
struct Draft {
    params: Params,
    dpr: Milli,
}

impl Params {
    /// Parses a raw (still percent-encoded) query string.
    pub fn parse(query: &str, limits: &ParamLimits) -> Result<Params, ParamError> {
        let mut q = Query::with_presets(query, &limits.presets, limits.presets_only)?;
        let mut draft = Draft {
            params: Params::defaults(limits.qualities),
            dpr: Milli::ONE,
        };
        field::parse(&PARSING, &mut q, &mut draft, limits)?;
        Ok(draft.params.normalised())
    }

    /// Every field at its default. The source is replaced by the `src` field, which runs first
    /// and refuses a query without one.
    fn defaults(default_quality: Qualities) -> Params {
        Params {
            src: Source::placeholder(),
            width: None,
            height: None,
            fit: Fit::Inside,
            position: Position::Gravity(Gravity::Center),
            enlarge: false,
            crop: None,
            trim: None,
            padding: Padding::default(),
            background: None,
            rotation: Rotation::default(),
            flip: Flip::default(),
            effects: Effects::default(),
            format: FormatChoice::Source,
            quality: None,
            default_quality,
            encoding: Encoding::default(),
            animated: true,
            keep_metadata: false,
            watermark: None,
            text: None,
            engine: None,
            delivery: Delivery::default(),
        }
    }

    /// Drops what cannot change the output, so equivalent URLs share one cache entry.
    fn normalised(mut self) -> Params {
        let format = match self.format {
            FormatChoice::Fixed(format) => Some(format),
            _ => None,
        };
        // PNG and GIF are lossless: a quality would only split the cache.
        if matches!(format, Some(OutputFormat::Png | OutputFormat::Gif)) {
            self.quality = None;
        }
        if format.is_some_and(|f| f != OutputFormat::Jpeg) {
            self.encoding.progressive = false;
        }
        if format.is_some_and(|f| f != OutputFormat::Png) {
            self.encoding.palette = false;
        }
        if format.is_some_and(|f| f != OutputFormat::Webp) {
            self.encoding.lossless = false;
        }
        if self.encoding.lossless {
            self.quality = None;
        }
        if self.position
            == (Position::Focal {
                x: Milli(500),
                y: Milli(500),
            })
        {
            self.position = Position::Gravity(Gravity::Center);
        }
        if let (Some(format), Some(q)) = (format, self.quality) {
            if q == self.default_quality.of(format) {
                self.quality = None;
            }
        }
        // Without both sides nothing is cropped or padded, so the position cannot matter.
        if self.width.is_none()
            || self.height.is_none()
            || !matches!(self.fit, Fit::Cover | Fit::Contain)
        {
            self.position = Position::Gravity(Gravity::Center);
        }
        self
    }

    /// Defaults applied, fixed order, unambiguous: the form that goes into the cache key. A field at
    /// its default is left out (the same meaning, fewer bytes to format and hash on the hit path).
    /// `src` goes last: it is the only free-form field left unescaped, so nothing after it can be
    /// confused with it (the watermark's source is length-prefixed for the same reason).
    pub fn canonical(&self) -> String {
        field::canonical(fields::FIELDS, self)
    }
}

#[cfg(test)]
mod tests;
