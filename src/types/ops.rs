//! Operations on pixels, as values: numbers in thousandths, smart-crop strategies, rotation and
//! mirroring, effects, encoder options, and which engine makes an image. Each has one canonical
//! spelling (the cache key uses it).

/// A number in thousandths: sigmas, focal points and opacities stay `Eq` and hash stably, and
/// `0.5`, `0.50` and `.5` share one cache entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Milli(pub u32);

impl Milli {
    pub const ONE: Milli = Milli(1000);

    pub fn get(self) -> f64 {
        f64::from(self.0) / 1000.0
    }

    /// Parses a plain decimal (no exponent, no sign, no inf/nan) rounded to thousandths.
    pub fn parse(value: &str) -> Option<Milli> {
        let ok = !value.is_empty()
            && value.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && value.bytes().filter(|&b| b == b'.').count() <= 1
            && value != ".";
        let number: f64 = if ok { value.parse().ok()? } else { return None };
        let milli = (number * 1000.0).round();
        (milli <= f64::from(u32::MAX)).then_some(Milli(milli as u32))
    }
}

impl std::fmt::Display for Milli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// libvips' smartcrop strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interesting {
    /// Looks for skin tones, saturated colour and edges (people and products).
    Attention,
    /// Keeps the part with the most detail (Shannon entropy).
    Entropy,
}

/// Clockwise rotation after auto-orientation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rotation {
    #[default]
    None,
    Quarter,
    Half,
    ThreeQuarters,
}

impl Rotation {
    pub fn degrees(self) -> u16 {
        match self {
            Rotation::None => 0,
            Rotation::Quarter => 90,
            Rotation::Half => 180,
            Rotation::ThreeQuarters => 270,
        }
    }

    pub fn from_degrees(degrees: &str) -> Option<Rotation> {
        Some(match degrees {
            "0" | "360" => Rotation::None,
            "90" | "-270" => Rotation::Quarter,
            "180" | "-180" => Rotation::Half,
            "270" | "-90" => Rotation::ThreeQuarters,
            _ => return None,
        })
    }

    /// True when width and height trade places.
    pub fn swaps_axes(self) -> bool {
        matches!(self, Rotation::Quarter | Rotation::ThreeQuarters)
    }
}

/// Mirroring after rotation: `flip=h` (left-right), `v` (top-bottom) or `hv` (both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flip {
    pub horizontal: bool,
    pub vertical: bool,
}

impl Flip {
    pub fn parse(value: &str) -> Option<Flip> {
        Some(match value {
            "h" | "x" => Flip {
                horizontal: true,
                vertical: false,
            },
            "v" | "y" => Flip {
                horizontal: false,
                vertical: true,
            },
            "hv" | "vh" | "xy" | "both" => Flip {
                horizontal: true,
                vertical: true,
            },
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match (self.horizontal, self.vertical) {
            (false, false) => "",
            (true, false) => "h",
            (false, true) => "v",
            (true, true) => "hv",
        }
    }
}

/// Colour-related effects, applied after resizing (so their strength is in output pixels).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Effects {
    /// Gaussian blur sigma.
    pub blur: Option<Milli>,
    /// Unsharp-mask sigma.
    pub sharpen: Option<Milli>,
    pub gray: bool,
}

impl Effects {
    pub fn canonical(self) -> String {
        let opt = |m: Option<Milli>| m.map(|m| m.to_string()).unwrap_or_default();
        format!(
            "blur={}&sharpen={}&gray={}",
            opt(self.blur),
            opt(self.sharpen),
            u8::from(self.gray)
        )
    }
}

/// Output encoder options beyond format and quality.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Encoding {
    /// Progressive JPEG (interlaced PNG/GIF are not offered: they cost size for little gain).
    pub progressive: bool,
    /// PNG quantised to an 8-bit palette.
    pub palette: bool,
    /// Lossless WebP.
    pub lossless: bool,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milli_parses_plain_decimals_only() {
        assert_eq!(Milli::parse("0.5"), Some(Milli(500)));
        assert_eq!(Milli::parse(".5"), Some(Milli(500)));
        assert_eq!(Milli::parse("2"), Some(Milli(2000)));
        assert_eq!(Milli::parse("1.0004"), Some(Milli(1000)));
        for bad in ["", ".", "-1", "1e3", "inf", "NaN", "1.2.3", "+1", " 1"] {
            assert_eq!(Milli::parse(bad), None, "{bad}");
        }
        assert_eq!(Milli(1500).to_string(), "1.500");
        assert_eq!(Milli::parse("99999999999999"), None);
    }

    #[test]
    fn rotations_and_flips_parse() {
        assert_eq!(Rotation::from_degrees("-90"), Some(Rotation::ThreeQuarters));
        assert_eq!(Rotation::from_degrees("45"), None);
        assert!(Rotation::Quarter.swaps_axes() && !Rotation::Half.swaps_axes());
        assert_eq!(Flip::parse("vh").map(Flip::as_str), Some("hv"));
        assert_eq!(Flip::parse("d"), None);
    }
}
