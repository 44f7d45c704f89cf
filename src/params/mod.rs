//! Pure query parsing (no I/O, no libvips), one module per route: `/resize` ([`Params`]), `/info`
//! ([`InfoParams`]) and `/text` ([`banner::TextRequest`], whose `txt*` parameters are [`text`]'s
//! and are shared with `/resize`). Every parameter is parsed exactly once here; the rest of the
//! server only ever sees typed values.
//!
//! Each route has one parameter table (`field::Field` rows) from which its known names, its
//! parse and its canonical form (defaults applied, fixed order: what the cache key hashes) all
//! come, so `?w=300&src=a.jpg` and `?src=a.jpg&w=300&fit=inside` share one cache entry.

pub mod banner;
mod field;
mod info;
mod ops;
mod query;
mod resize;
mod source;
pub mod text;

pub use info::InfoParams;
pub use ops::{Padding, Position, Region, Watermark};
pub use query::Presets;
pub use resize::{Delivery, Fit, FormatChoice, Params, MAX_FILENAME_CHARS};
pub use source::{is_bucket_name, LocalPath, Source};

use crate::types::OutputFormat;

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
    pub jxl: u8,
}

impl Default for Qualities {
    fn default() -> Self {
        Qualities {
            jpeg: OutputFormat::Jpeg.default_quality(),
            webp: OutputFormat::Webp.default_quality(),
            avif: OutputFormat::Avif.default_quality(),
            jxl: OutputFormat::Jxl.default_quality(),
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
            OutputFormat::Jxl => self.jxl,
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

/// A plain unsigned integer: ASCII digits only (no sign, no space), as the API documents. Rust's
/// own `parse` also takes a leading `+`, which would make `w=+77` and `w=77` two spellings.
pub(crate) fn plain_number<T: std::str::FromStr>(value: &str) -> Option<T> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

impl ParamError {
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        ParamError::Invalid {
            name,
            reason: reason.into(),
        }
    }
}
