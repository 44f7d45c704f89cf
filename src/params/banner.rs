//! The whole `GET /text` query -> a [`TextRequest`]: the `txt*` parameters ([`TextSpec`]) and the
//! banner's own canvas size, background, format and quality. Pure, like the rest of `params`.

use crate::types::{OutputFormat, Rgba};

use super::query::named_slots;
use super::text::{invalid, parse_u32_in, TextSpec, TextValues};
use super::{ParamError, ParamLimits};
use crate::types::{color_str, parse_color};

/// `/text`'s canvas colour when `bg` is absent.
pub const DEFAULT_BANNER_BACKGROUND: Rgba = Rgba::WHITE;
/// `/text`'s format when `fm` is absent: lossless, so text edges stay crisp.
pub const DEFAULT_BANNER_FORMAT: OutputFormat = OutputFormat::Png;

/// `fm` of `/text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BannerFormat {
    /// An explicit format.
    Fixed(OutputFormat),
    /// `fm=auto`: AVIF, WebP or PNG by the `Accept` header.
    Auto,
}

impl BannerFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            BannerFormat::Fixed(format) => format.as_str(),
            BannerFormat::Auto => "auto",
        }
    }
}

/// A validated `GET /text` request: a banner rendered from scratch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextRequest {
    pub text: TextSpec,
    /// `w`: canvas width, 1..=max dimension; default the text's width plus both margins.
    pub width: Option<u32>,
    /// `h`: canvas height, 1..=max dimension; default the text's height plus both margins.
    pub height: Option<u32>,
    /// `bg`: canvas colour (hex, alpha allowed); default opaque white.
    pub background: Rgba,
    /// `fm`: `png` (default), `jpeg`, `webp`, `avif` or `auto`.
    pub format: BannerFormat,
    /// `q`: 1..=100; `None` for the format's default (and always for PNG).
    pub quality: Option<u8>,
}

/// Every parameter `/text` takes besides the `txt*` ones (`sig` is checked before parsing).
const BANNER_NAMES: [&str; 6] = ["w", "h", "bg", "fm", "q", "sig"];

impl TextRequest {
    /// Parses a raw (still percent-encoded) `/text` query string. Unknown and repeated parameters
    /// are refused like `/resize`'s; `txt` is required.
    pub fn parse(query: &str, limits: &ParamLimits) -> Result<TextRequest, ParamError> {
        // Presets-only servers allow no free-form rendering, and a banner has no presets.
        if limits.presets_only {
            return Err(invalid(
                "txt",
                "only presets (p=) are allowed on this server, and /text has none",
            ));
        }
        let mut text = TextValues::default();
        let [w, h, bg, fm, q, _sig] =
            named_slots(query, &BANNER_NAMES, |name, value| text.accept(name, value))?;
        if text.txt.is_none() {
            return Err(invalid("txt", "required: the text to render"));
        }
        let spec = TextSpec::parse_unchecked(&text, limits)?
            .ok_or_else(|| invalid("txt", "required: the text to render"))?;
        let dimension = |name: &'static str, v: Option<String>| {
            v.map(|v| parse_u32_in(name, &v, 1, limits.max_dimension))
                .transpose()
        };
        let width = dimension("w", w)?;
        let height = dimension("h", h)?;
        let background = match bg.as_deref() {
            None => DEFAULT_BANNER_BACKGROUND,
            Some(v) => parse_color(v).ok_or_else(|| {
                invalid("bg", "expected a hex colour: rgb, rgba, rrggbb or rrggbbaa")
            })?,
        };
        let format = match fm.as_deref() {
            None => BannerFormat::Fixed(DEFAULT_BANNER_FORMAT),
            Some("auto") => BannerFormat::Auto,
            Some(v) => BannerFormat::Fixed(
                OutputFormat::parse(v)
                    .ok_or_else(|| invalid("fm", "expected png, jpeg, webp, avif, gif or auto"))?,
            ),
        };
        let quality = q
            .map(|v| parse_u32_in("q", &v, 1, 100).map(|q| q as u8))
            .transpose()?;
        // PNG and GIF are lossless: a quality would only split the cache.
        let quality = match format {
            BannerFormat::Fixed(OutputFormat::Png | OutputFormat::Gif) => None,
            _ => quality,
        };
        let request = TextRequest {
            text: spec,
            width,
            height,
            background,
            format,
            quality,
        };
        request.text.check_size(request.wrap_width(limits))?;
        Ok(request)
    }

    /// Where lines wrap: `txtwidth`, else the canvas width less the margins, else (auto-sized
    /// canvas) the largest canvas less the margins.
    pub fn wrap_width(&self, limits: &ParamLimits) -> u32 {
        self.text
            .wrap_width(self.width.unwrap_or(limits.max_dimension))
    }

    /// Defaults applied, fixed order, unambiguous: what the cache key hashes.
    pub fn canonical(&self) -> String {
        let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        format!(
            "w={}&h={}&bg={}&fm={}&q={}&{}",
            opt(self.width),
            opt(self.height),
            color_str(self.background),
            self.format.as_str(),
            opt(self.quality.map(u32::from)),
            self.text.canonical(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::name_of;
    use super::*;

    fn limits() -> ParamLimits {
        ParamLimits::default()
    }

    fn banner(query: &str) -> Result<TextRequest, ParamError> {
        TextRequest::parse(query, &limits())
    }

    #[test]
    fn banner_requests_parse_with_defaults() {
        let r = banner("txt=hello").expect("valid");
        assert_eq!((r.width, r.height), (None, None));
        assert_eq!(r.background, Rgba::WHITE);
        assert_eq!(r.format, BannerFormat::Fixed(OutputFormat::Png));
        assert_eq!(r.quality, None);
        assert_eq!(r.wrap_width(&limits()), 8192 - 32);
        let r = banner("txt=hi&w=400&h=200&bg=0000&fm=webp&q=70&txtmargin=10").expect("valid");
        assert_eq!(
            (r.width, r.height, r.quality),
            (Some(400), Some(200), Some(70))
        );
        assert_eq!(r.background, Rgba([0, 0, 0, 0]));
        assert_eq!(r.wrap_width(&limits()), 380);
        assert_eq!(
            banner("txt=hi&fm=auto").expect("auto").format,
            BannerFormat::Auto
        );
        assert_eq!(banner("txt=hi&fm=png&q=50").expect("png").quality, None);
        assert_ne!(
            banner("txt=hi&w=400").expect("ok").canonical(),
            banner("txt=hi&w=401").expect("ok").canonical()
        );
        assert_eq!(
            banner("txt=hi").expect("ok").canonical(),
            banner("fm=png&bg=ffffff&txt=hi").expect("ok").canonical()
        );
    }

    #[test]
    fn banner_refusals_name_the_parameter() {
        for (query, name) in [
            ("w=100", "txt"),
            ("txt=a&w=0", "w"),
            ("txt=a&w=8193", "w"),
            ("txt=a&h=x", "h"),
            ("txt=a&bg=white", "bg"),
            ("txt=a&fm=bmp", "fm"),
            ("txt=a&q=0", "q"),
            ("txt=a&q=101", "q"),
            ("txt=a&txtsize=1", "txtsize"),
            ("txt=a&w=1&w=2", "repeated w"),
        ] {
            assert_eq!(name_of(banner(query).expect_err(query)), name, "{query}");
        }
        assert_eq!(
            banner("txt=a&src=x.jpg&zoom=2"),
            Err(ParamError::Unknown(vec!["src".into(), "zoom".into()]))
        );
    }

    #[test]
    fn garbage_never_panics() {
        let alphabet = b"txt=sizecolorpfwhbgmq&%25%0A%0D%CC%81%E4%BD%A0\\\xff0123456789#-";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            let len = (state % 48) as usize;
            let mut query = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                query.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let _ = banner(&String::from_utf8_lossy(&query));
        }
    }
}
