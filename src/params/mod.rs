//! The URL API v1 of `/resize`: query string -> typed, validated, canonical [`Params`].
//!
//! Pure (no I/O, no libvips) so that it can be unit- and property-tested in isolation. Every parameter
//! is parsed exactly once here; the rest of the server only ever sees typed values. The canonical form
//! ([`Params::canonical`]) has defaults applied and a fixed order, and is what the cache key hashes, so
//! `?w=300&src=a.jpg` and `?src=a.jpg&w=300&fit=inside` share one cache entry.

pub mod banner;
mod info;
mod ops;
mod query;
mod source;
pub mod text;

pub use info::InfoParams;
pub use ops::{Padding, Position, Region, Watermark};
pub use query::{Presets, KNOWN};
pub use source::{LocalPath, Source};

pub use crate::types::{
    color_str, parse_color, Effects, Encoding, EngineChoice, Flip, Gravity, Interesting, Milli,
    Rotation,
};

use ops::background_str;
use query::Query;

use crate::types::{OutputFormat, Rgba};

/// What the client may ask for; set from the configuration.
#[derive(Clone, Debug)]
pub struct ParamLimits {
    /// Largest `w` or `h` accepted, after `dpr` (`--max-dimension`).
    pub max_dimension: u32,
    /// Named parameter sets (`--preset name=w=200&h=200&fit=cover`), used as `p=name`.
    pub presets: Presets,
    /// Refuse every operation parameter that does not come from a preset (`--presets-only`).
    pub presets_only: bool,
    /// The quality used when `q` is absent (`--quality-jpeg`, `--quality-webp`, `--quality-avif`).
    pub qualities: Qualities,
}

/// Default quality per lossy output format. Server configuration, so not in the cache key: the
/// in-memory cache lives and dies with the process that has these values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Qualities {
    pub jpeg: u8,
    pub webp: u8,
    pub avif: u8,
}

impl Default for Qualities {
    fn default() -> Self {
        Qualities {
            jpeg: OutputFormat::Jpeg.default_quality(),
            webp: OutputFormat::Webp.default_quality(),
            avif: OutputFormat::Avif.default_quality(),
        }
    }
}

impl Qualities {
    /// The default for `format` (lossless formats: 100, unused).
    pub fn of(self, format: OutputFormat) -> u8 {
        match format {
            OutputFormat::Jpeg => self.jpeg,
            OutputFormat::Webp => self.webp,
            OutputFormat::Avif => self.avif,
            OutputFormat::Png | OutputFormat::Gif => format.default_quality(),
        }
    }
}

impl Default for ParamLimits {
    fn default() -> Self {
        Self {
            max_dimension: 8192,
            presets: Presets::default(),
            presets_only: false,
            qualities: Qualities::default(),
        }
    }
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
    pub text: Option<text::TextSpec>,
    /// `None`: the server decides (libvips, or the `--rust-percent` sample).
    pub engine: Option<EngineChoice>,
}

/// Why a query string was refused; always the client's fault (400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("unknown parameter(s): {}", .0.join(", "))]
    Unknown(Vec<String>),
    #[error("parameter '{0}' is given more than once")]
    Repeated(String),
    #[error("parameter 'src' is required")]
    MissingSrc,
    #[error("invalid value for '{name}': {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl ParamError {
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        ParamError::Invalid {
            name,
            reason: reason.into(),
        }
    }
}

/// Largest blur or sharpen sigma: beyond this the result is a flat colour and the cost only grows.
const MAX_SIGMA: Milli = Milli(100_000);
/// weserv's lower bound: below it a Gaussian mask is a no-op.
const MIN_SIGMA: Milli = Milli(300);
/// Largest padding per side, in output pixels.
const MAX_PADDING: u32 = 1024;

impl Params {
    /// Parses a raw (still percent-encoded) query string.
    pub fn parse(query: &str, limits: &ParamLimits) -> Result<Params, ParamError> {
        let mut q = Query::parse(query, &limits.presets, limits.presets_only)?;
        let src = Source::parse(&q.take("src").ok_or(ParamError::MissingSrc)?)?;
        // Verified (and stripped from the cache key) by `signature` before parsing.
        let _sig = q.take("sig");
        let params = Params {
            src,
            width: None,
            height: None,
            fit: parse_fit(&mut q)?,
            position: parse_position(&mut q)?,
            enlarge: q.flag("enlarge", false)?,
            crop: parse_crop(&mut q)?,
            trim: parse_trim(&mut q)?,
            padding: Padding::default(),
            background: q
                .take("bg")
                .map(|v| {
                    parse_color(&v).ok_or_else(|| {
                        ParamError::invalid(
                            "bg",
                            "expected a hex colour: rgb, rgba, rrggbb or rrggbbaa",
                        )
                    })
                })
                .transpose()?,
            rotation: q
                .take("rot")
                .map(|v| {
                    Rotation::from_degrees(&v)
                        .ok_or_else(|| ParamError::invalid("rot", "expected 0, 90, 180 or 270"))
                })
                .transpose()?
                .unwrap_or_default(),
            flip: q
                .take("flip")
                .map(|v| {
                    Flip::parse(&v)
                        .ok_or_else(|| ParamError::invalid("flip", "expected h, v or hv"))
                })
                .transpose()?
                .unwrap_or_default(),
            effects: parse_effects(&mut q)?,
            format: parse_format(&mut q)?,
            quality: q.integer("q", 1..=100)?.map(|q| q as u8),
            default_quality: limits.qualities,
            encoding: Encoding {
                progressive: q.flag("prog", false)?,
                palette: q.flag("palette", false)?,
                lossless: q.flag("lossless", false)?,
            },
            animated: q.flag("anim", true)?,
            keep_metadata: match q.take("meta").as_deref() {
                None | Some("strip") => false,
                Some("keep") => true,
                Some(_) => return Err(ParamError::invalid("meta", "expected strip or keep")),
            },
            watermark: None,
            text: None,
            engine: match q.take("engine").as_deref() {
                None => None,
                Some("vips") => Some(EngineChoice::Vips),
                Some("rust") => Some(EngineChoice::Rust),
                Some(_) => return Err(ParamError::invalid("engine", "expected vips or rust")),
            },
        };
        let params = parse_scaled(params, &mut q, limits.max_dimension)?;
        let mut params = parse_watermark(params, &mut q)?;
        let mut text_values = text::TextValues::default();
        for name in text::TextValues::NAMES {
            if let Some(value) = q.take(name) {
                text_values.accept(name, &value)?;
            }
        }
        params.text = text::TextSpec::parse(&text_values, limits)?;
        if let Some(name) = q.leftover() {
            return Err(ParamError::invalid(name, "not valid on this endpoint"));
        }
        Ok(params.normalised())
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
    pub fn canonical(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(64);
        // Writing to a String cannot fail.
        let mut put = |name: &str, value: &dyn std::fmt::Display| {
            let _ = write!(out, "{name}={value}&");
        };
        if let Some(w) = self.width {
            put("w", &w);
        }
        if let Some(h) = self.height {
            put("h", &h);
        }
        if self.fit != Fit::Inside {
            put("fit", &self.fit.as_str());
        }
        if self.position != Position::Gravity(Gravity::Center) {
            put("pos", &self.position.canonical());
        }
        if self.enlarge {
            put("enlarge", &1);
        }
        if let Some(r) = self.crop {
            put(
                "crop",
                &format_args!("{},{},{},{}", r.left, r.top, r.width, r.height),
            );
        }
        if let Some(t) = self.trim {
            put("trim", &t);
        }
        if !self.padding.is_zero() {
            let p = self.padding;
            put(
                "pad",
                &format_args!("{},{},{},{}", p.top, p.right, p.bottom, p.left),
            );
        }
        if self.background.is_some() {
            put("bg", &background_str(self.background));
        }
        if self.rotation != Rotation::None {
            put("rot", &self.rotation.degrees());
        }
        if self.flip != Flip::default() {
            put("flip", &self.flip.as_str());
        }
        if self.effects != Effects::default() {
            put("fx", &self.effects.canonical());
        }
        if self.format != FormatChoice::Source {
            put("fm", &self.format.as_str());
        }
        if let Some(q) = self.quality {
            put("q", &q);
        }
        if self.encoding.progressive {
            put("prog", &1);
        }
        if self.encoding.palette {
            put("palette", &1);
        }
        if self.encoding.lossless {
            put("lossless", &1);
        }
        if !self.animated {
            put("anim", &0);
        }
        if self.keep_metadata {
            put("meta", &"keep");
        }
        // A named engine is kept apart from a sampled one: only a sampled request may fall back.
        if let Some(engine) = self.engine {
            put("engine", &engine.as_str());
        }
        if let Some(text) = &self.text {
            put("txt", &text.canonical());
        }
        if let Some(wm) = &self.watermark {
            put("wm", &wm.canonical());
        }
        // `src` goes last: it is the only free-form field left unescaped, so nothing after it can
        // be confused with it (the watermark's source is length-prefixed for the same reason).
        put("src", &self.src.identity());
        out
    }
}

fn parse_fit(q: &mut Query) -> Result<Fit, ParamError> {
    match q.take("fit") {
        None => Ok(Fit::Inside),
        Some(v) => Fit::parse(&v).ok_or_else(|| {
            ParamError::invalid("fit", "expected inside, cover, contain, fill or outside")
        }),
    }
}

fn parse_position(q: &mut Query) -> Result<Position, ParamError> {
    let pos = q.take("pos");
    let fx = q.decimal("fx", Milli(0)..=Milli::ONE)?;
    let fy = q.decimal("fy", Milli(0)..=Milli::ONE)?;
    if fx.is_some() || fy.is_some() {
        if pos.as_deref().is_some_and(|p| p != "focal") {
            return Err(ParamError::invalid("pos", "fx/fy need pos=focal or no pos"));
        }
        let half = Milli(500);
        return Ok(Position::Focal {
            x: fx.unwrap_or(half),
            y: fy.unwrap_or(half),
        });
    }
    Ok(match pos.as_deref() {
        None | Some("focal") => Position::Gravity(Gravity::Center),
        Some("attention") | Some("smart") => Position::Smart(Interesting::Attention),
        Some("entropy") => Position::Smart(Interesting::Entropy),
        Some(v) => Position::Gravity(Gravity::parse(v).ok_or_else(|| {
            ParamError::invalid(
                "pos",
                "expected center, top, bottom, left, right, top-left, top-right, bottom-left, bottom-right, attention, entropy or focal",
            )
        })?),
    })
}

fn parse_crop(q: &mut Query) -> Result<Option<Region>, ParamError> {
    let Some(value) = q.take("crop") else {
        return Ok(None);
    };
    let bad = || {
        ParamError::invalid(
            "crop",
            "expected x,y,w,h in source pixels, w and h at least 1",
        )
    };
    let numbers: Vec<u32> = value
        .split(',')
        .map(|n| n.parse::<u32>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    match numbers[..] {
        [left, top, width @ 1..=u32::MAX, height @ 1..=u32::MAX] => Ok(Some(Region {
            left,
            top,
            width,
            height,
        })),
        _ => Err(bad()),
    }
}

fn parse_trim(q: &mut Query) -> Result<Option<u8>, ParamError> {
    match q.take("trim").as_deref() {
        None | Some("false") => Ok(None),
        // weserv's default threshold.
        Some("true") => Ok(Some(10)),
        Some(v) => match v.parse::<u8>() {
            Ok(t @ 1..=254) => Ok(Some(t)),
            _ => Err(ParamError::invalid(
                "trim",
                "expected true or a threshold from 1 to 254",
            )),
        },
    }
}

fn parse_effects(q: &mut Query) -> Result<Effects, ParamError> {
    let blur = q.decimal("blur", MIN_SIGMA..=MAX_SIGMA)?;
    let sharpen = match q.take("sharpen").as_deref() {
        None | Some("false") | Some("0") => None,
        // A mild unsharp mask that restores the crispness a downscale takes away.
        Some("true") => Some(Milli(1000)),
        Some(v) => match Milli::parse(v) {
            Some(s) if (MIN_SIGMA..=Milli(10_000)).contains(&s) => Some(s),
            _ => {
                return Err(ParamError::invalid(
                    "sharpen",
                    "expected true or a sigma from 0.3 to 10",
                ))
            }
        },
    };
    Ok(Effects {
        blur,
        sharpen,
        gray: q.flag("gray", false)?,
    })
}

fn parse_format(q: &mut Query) -> Result<FormatChoice, ParamError> {
    Ok(match q.take("fm").as_deref() {
        None => FormatChoice::Source,
        Some("auto") => FormatChoice::Auto,
        Some(v) => FormatChoice::Fixed(OutputFormat::parse(v).ok_or_else(|| {
            ParamError::invalid("fm", "expected jpeg, png, webp, avif, gif or auto")
        })?),
    })
}

/// `w`, `h` and `pad` are in CSS pixels; `dpr` turns them into output pixels.
fn parse_scaled(mut params: Params, q: &mut Query, max: u32) -> Result<Params, ParamError> {
    let dpr = q
        .decimal("dpr", Milli::ONE..=Milli(4000))?
        .unwrap_or(Milli::ONE);
    let scale = |name: &'static str, v: u32, max: u32| -> Result<u32, ParamError> {
        let scaled = (f64::from(v) * dpr.get()).round() as u64;
        if scaled > u64::from(max) {
            let what = if dpr == Milli::ONE { name } else { "dpr" };
            return Err(ParamError::invalid(
                what,
                format!("{name}×dpr must be at most {max}"),
            ));
        }
        Ok(scaled as u32)
    };
    params.width = q
        .integer("w", 1..=max)?
        .map(|w| scale("w", w, max))
        .transpose()?;
    params.height = q
        .integer("h", 1..=max)?
        .map(|h| scale("h", h, max))
        .transpose()?;
    if let Some(value) = q.take("pad") {
        let bad = || {
            ParamError::invalid(
                "pad",
                format!("expected N or top,right,bottom,left, each 0 to {MAX_PADDING}"),
            )
        };
        let sides: Vec<u32> = value
            .split(',')
            .map(|n| match n.parse::<u32>() {
                Ok(v) if v <= MAX_PADDING => scale("pad", v, MAX_PADDING * 4),
                _ => Err(bad()),
            })
            .collect::<Result<_, _>>()?;
        params.padding = match sides[..] {
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
    }
    Ok(params)
}

fn parse_watermark(mut params: Params, q: &mut Query) -> Result<Params, ParamError> {
    let src = q.take("wm");
    let position = q.take("wmpos");
    let scale = q.decimal("wmscale", Milli(10)..=Milli::ONE)?;
    let opacity = q.decimal("wmopacity", Milli(0)..=Milli::ONE)?;
    let margin = q.integer("wmmargin", 0..=MAX_PADDING)?;
    let Some(src) = src else {
        let stray = [
            ("wmpos", position.is_some()),
            ("wmscale", scale.is_some()),
            ("wmopacity", opacity.is_some()),
            ("wmmargin", margin.is_some()),
        ];
        if let Some((name, _)) = stray.iter().find(|(_, given)| *given) {
            return Err(ParamError::invalid(name, "needs a watermark (wm=)"));
        }
        return Ok(params);
    };
    let src = Source::parse(&src).map_err(|e| match e {
        ParamError::Invalid { reason, .. } => ParamError::invalid("wm", reason),
        other => other,
    })?;
    params.watermark = Some(Watermark {
        src,
        position: position
            .map(|v| {
                Gravity::parse(&v).ok_or_else(|| {
                    ParamError::invalid("wmpos", "expected center, top, bottom, left, right, top-left, top-right, bottom-left or bottom-right")
                })
            })
            .transpose()?
            .unwrap_or(Gravity::BottomRight),
        scale,
        opacity: opacity.unwrap_or(Milli::ONE),
        margin: margin.unwrap_or(0),
    });
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<Params, ParamError> {
        Params::parse(query, &ParamLimits::default())
    }

    #[test]
    fn defaults_are_applied() {
        let p = parse("src=a.jpg").expect("valid");
        assert_eq!(p.fit, Fit::Inside);
        assert_eq!(p.format, FormatChoice::Source);
        assert_eq!(
            (p.width, p.height, p.quality, p.enlarge),
            (None, None, None, false)
        );
    }

    #[test]
    fn order_and_explicit_defaults_do_not_change_the_canonical_form() {
        let a = parse("src=a.jpg&w=300").expect("valid");
        let b = parse("w=300&fit=inside&enlarge=0&src=a.jpg").expect("valid");
        assert_eq!(a.canonical(), b.canonical());
        let c = parse("w=301&src=a.jpg").expect("valid");
        assert_ne!(a.canonical(), c.canonical());
    }

    #[test]
    fn unknown_parameters_are_named() {
        let err = parse("src=a.jpg&width=3&zoom=2").expect_err("unknown");
        assert_eq!(err.to_string(), "unknown parameter(s): width, zoom");
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(
            parse("src=a.jpg&w=1&w=2"),
            Err(ParamError::Repeated("w".into()))
        );
    }

    #[test]
    fn dimensions_are_bounded() {
        for bad in ["0", "8193", "-1", "3.5", "", "1e3", "99999999999"] {
            assert!(parse(&format!("src=a.jpg&w={bad}")).is_err(), "w={bad}");
            assert!(parse(&format!("src=a.jpg&h={bad}")).is_err(), "h={bad}");
        }
        assert_eq!(parse("src=a.jpg&w=8192").expect("max").width, Some(8192));
    }

    #[test]
    fn quality_is_bounded_and_dropped_for_png() {
        assert!(parse("src=a.jpg&q=0").is_err());
        assert!(parse("src=a.jpg&q=101").is_err());
        assert_eq!(parse("src=a.jpg&q=55").expect("q").quality, Some(55));
        assert_eq!(parse("src=a.jpg&q=55&fm=png").expect("q").quality, None);
    }

    #[test]
    fn formats_and_fits_parse() {
        assert_eq!(
            parse("src=a.jpg&fm=webp").expect("webp").format,
            FormatChoice::Fixed(OutputFormat::Webp)
        );
        assert_eq!(
            parse("src=a.jpg&fm=auto").expect("auto").format,
            FormatChoice::Auto
        );
        assert!(parse("src=a.jpg&fm=bmp").is_err());
        assert_eq!(parse("src=a.jpg&fit=cover").expect("cover").fit, Fit::Cover);
        assert!(parse("src=a.jpg&fit=crop").is_err());
    }

    #[test]
    fn engine_is_named_or_left_to_the_server() {
        assert_eq!(parse("src=a.jpg").expect("none").engine, None);
        assert_eq!(
            parse("src=a.jpg&engine=rust").expect("rust").engine,
            Some(EngineChoice::Rust)
        );
        assert!(parse("src=a.jpg&engine=gpu").is_err());
        let named = parse("src=a.jpg&engine=vips").expect("vips");
        assert_ne!(
            named.canonical(),
            parse("src=a.jpg").expect("ok").canonical()
        );
    }

    #[test]
    fn src_is_required() {
        assert_eq!(parse("w=3"), Err(ParamError::MissingSrc));
    }

    #[test]
    fn garbage_never_panics() {
        // A cheap deterministic fuzz: random bytes, percent-escapes and separators.
        let alphabet = b"src=wh&fitmq%25%2e%00./:?#\\\xff0123456789auto";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let len = (state % 40) as usize;
            let mut query = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                query.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let _ = parse(&String::from_utf8_lossy(&query));
        }
    }
}
