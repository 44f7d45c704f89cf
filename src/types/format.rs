//! Image formats: what we can write ([`OutputFormat`]) and what a source was ([`SourceFormat`]).

/// Formats we can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
    Avif,
    Gif,
    /// JPEG XL (libjxl through libvips' jxlsave).
    Jxl,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 6] = [
        OutputFormat::Jpeg,
        OutputFormat::Png,
        OutputFormat::Webp,
        OutputFormat::Avif,
        OutputFormat::Gif,
        OutputFormat::Jxl,
    ];

    pub fn parse(name: &str) -> Option<OutputFormat> {
        Some(match name {
            "jpeg" | "jpg" => OutputFormat::Jpeg,
            "png" => OutputFormat::Png,
            "webp" => OutputFormat::Webp,
            "avif" => OutputFormat::Avif,
            "gif" => OutputFormat::Gif,
            "jxl" => OutputFormat::Jxl,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
            OutputFormat::Avif => "avif",
            OutputFormat::Gif => "gif",
            OutputFormat::Jxl => "jxl",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::Webp => "image/webp",
            OutputFormat::Avif => "image/avif",
            OutputFormat::Gif => "image/gif",
            OutputFormat::Jxl => "image/jxl",
        }
    }

    /// The largest width or height the format (or its encoder in libvips) can hold.
    pub fn max_side(self) -> u32 {
        match self {
            OutputFormat::Jpeg => 65_500,
            OutputFormat::Webp => 16_383,
            // libheif refuses larger images by default.
            OutputFormat::Avif => 16_384,
            OutputFormat::Png => u32::MAX,
            OutputFormat::Gif => 65_535,
            // libjxl holds up to 2^30 a side; our own limits bind long before.
            OutputFormat::Jxl => 1 << 30,
        }
    }

    /// Whether the format can hold an animation (and so keeps every frame of an animated source).
    pub fn supports_animation(self) -> bool {
        matches!(self, OutputFormat::Webp | OutputFormat::Gif)
    }

    pub fn supports_alpha(self) -> bool {
        !matches!(self, OutputFormat::Jpeg)
    }

    /// The quality used when `q` is absent (documented in the README). PNG is lossless and ignores it.
    pub fn default_quality(self) -> u8 {
        match self {
            OutputFormat::Jpeg => 80,
            OutputFormat::Webp => 80,
            // AVIF at 60 looks like JPEG at 80 at a fraction of the size.
            OutputFormat::Avif => 60,
            // libjxl's distance 1.45, "visually lossless" for most photos (libvips' default 75).
            OutputFormat::Jxl => 75,
            // Lossless formats: the quality is not used.
            OutputFormat::Png | OutputFormat::Gif => 100,
        }
    }
}

/// The container a source was decoded from, as far as the engine could tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
    Heif,
    Tiff,
    /// JPEG XL, accepted only with `--allow-jxl-source`.
    Jxl,
    Other,
}

/// Which modern formats a client accepts, already reduced to what this server can encode: the only
/// part of `Accept` that can change the output, so one URL yields at most one cache entry per class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AcceptClass {
    Avif,
    /// JPEG XL: the client lists `image/jxl` and no format ranked before it.
    Jxl,
    Webp,
    Legacy,
}

impl AcceptClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AcceptClass::Avif => "avif",
            AcceptClass::Jxl => "jxl",
            AcceptClass::Webp => "webp",
            AcceptClass::Legacy => "legacy",
        }
    }
}
