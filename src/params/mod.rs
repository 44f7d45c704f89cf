//! The URL API v1 of `/resize`: query string -> typed, validated, canonical [`Params`].
//!
//! Pure (no I/O, no libvips) so that it can be unit- and property-tested in isolation. Every parameter
//! is parsed exactly once here; the rest of the server only ever sees typed values. The canonical form
//! ([`Params::canonical`]) has defaults applied and a fixed order, and is what the cache key hashes, so
//! `?w=300&src=a.jpg` and `?src=a.jpg&w=300&fit=inside` share one cache entry.

mod info;
mod source;
mod values;

pub use info::InfoParams;
pub use source::{LocalPath, Source};
pub use values::{color_str, parse_color, Gravity};

use crate::engine::OutputFormat;

/// What the client may ask for; set from the configuration.
#[derive(Clone, Debug)]
pub struct ParamLimits {
    /// Largest `w` or `h` accepted (`--max-dimension`).
    pub max_dimension: u32,
}

impl Default for ParamLimits {
    fn default() -> Self {
        Self {
            max_dimension: 8192,
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

/// The `engine` parameter: which engine makes the image (honoured only where the server allows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EngineChoice {
    Vips,
    Rust,
}

impl EngineChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineChoice::Vips => "vips",
            EngineChoice::Rust => "rust",
        }
    }
}

/// A validated `/resize` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub src: Source,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    pub enlarge: bool,
    pub format: FormatChoice,
    /// `None`: the output format's default quality.
    pub quality: Option<u8>,
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
    fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        ParamError::Invalid {
            name,
            reason: reason.into(),
        }
    }
}

/// `sig` is checked (and removed) by `signature` before parsing; here it is only allowed to appear.
const KNOWN: [&str; 9] = [
    "src", "w", "h", "fit", "enlarge", "fm", "q", "engine", "sig",
];

impl Params {
    /// Parses a raw (still percent-encoded) query string.
    pub fn parse(query: &str, limits: &ParamLimits) -> Result<Params, ParamError> {
        let mut values: [Option<String>; KNOWN.len()] = Default::default();
        let mut unknown = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match KNOWN.iter().position(|known| *known == name) {
                Some(i) if values[i].is_some() => return Err(ParamError::Repeated(name.into())),
                Some(i) => values[i] = Some(value.into_owned()),
                None if !unknown.contains(&name.to_string()) => unknown.push(name.into_owned()),
                None => {}
            }
        }
        if !unknown.is_empty() {
            return Err(ParamError::Unknown(unknown));
        }
        let [src, w, h, fit, enlarge, fm, q, engine, _sig] = values;

        let src = Source::parse(&src.ok_or(ParamError::MissingSrc)?)?;
        let width = w
            .map(|v| parse_dimension("w", &v, limits.max_dimension))
            .transpose()?;
        let height = h
            .map(|v| parse_dimension("h", &v, limits.max_dimension))
            .transpose()?;
        let fit = match fit {
            None => Fit::Inside,
            Some(v) => Fit::parse(&v).ok_or_else(|| {
                ParamError::invalid("fit", "expected inside, cover, contain, fill or outside")
            })?,
        };
        let enlarge = match enlarge.as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(_) => return Err(ParamError::invalid("enlarge", "expected 0 or 1")),
        };
        let format = match fm.as_deref() {
            None => FormatChoice::Source,
            Some("auto") => FormatChoice::Auto,
            Some(v) => FormatChoice::Fixed(OutputFormat::parse(v).ok_or_else(|| {
                ParamError::invalid("fm", "expected jpeg, png, webp, avif or auto")
            })?),
        };
        let quality = match q {
            None => None,
            Some(v) => match v.parse::<u8>() {
                Ok(q @ 1..=100) => Some(q),
                _ => {
                    return Err(ParamError::invalid(
                        "q",
                        "expected an integer from 1 to 100",
                    ))
                }
            },
        };
        // PNG is lossless: a quality would only split the cache.
        let quality = if format == FormatChoice::Fixed(OutputFormat::Png) {
            None
        } else {
            quality
        };
        let engine = match engine.as_deref() {
            None => None,
            Some("vips") => Some(EngineChoice::Vips),
            Some("rust") => Some(EngineChoice::Rust),
            Some(_) => return Err(ParamError::invalid("engine", "expected vips or rust")),
        };
        Ok(Params {
            src,
            width,
            height,
            fit,
            enlarge,
            format,
            quality,
            engine,
        })
    }

    /// Defaults applied, fixed order, unambiguous: the form that goes into the cache key.
    pub fn canonical(&self) -> String {
        fn opt(v: Option<impl ToString>) -> String {
            v.map(|v| v.to_string()).unwrap_or_default()
        }
        // `src` goes last: it is the only free-form field, so nothing after it can be confused with it.
        // A named engine is kept apart from a sampled one: only a sampled request may fall back.
        format!(
            "w={}&h={}&fit={}&enlarge={}&fm={}&q={}&engine={}&src={}",
            opt(self.width),
            opt(self.height),
            self.fit.as_str(),
            u8::from(self.enlarge),
            self.format.as_str(),
            opt(self.quality),
            self.engine.map_or("", EngineChoice::as_str),
            self.src.identity(),
        )
    }
}

fn parse_dimension(name: &'static str, value: &str, max: u32) -> Result<u32, ParamError> {
    match value.parse::<u32>() {
        Ok(v) if (1..=max).contains(&v) => Ok(v),
        _ => Err(ParamError::invalid(
            name,
            format!("expected an integer from 1 to {max}"),
        )),
    }
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
