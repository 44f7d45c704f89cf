//! The whole `GET /text` query -> a [`TextRequest`]: the `txt*` parameters ([`TextSpec`]) and the
//! banner's own canvas size, background, format and quality. Pure, like the rest of `params`.

use std::sync::LazyLock;

use super::field::{self, Field, Stage};
use super::query::Query;
use super::text::{self, invalid, parse_u32_in, TextValues, NAMES};
use super::{ParamError, ParamLimits};
use crate::types::{color_str, parse_color, OutputFormat, Rgba, TextSpec};

/// The table, worked out once.
static PARSING: LazyLock<field::Parsing<TextRequest, TextRequest>> =
    LazyLock::new(|| field::Parsing::of(FIELDS));

/// `/text`'s canvas colour when `bg` is absent.
const DEFAULT_BANNER_BACKGROUND: Rgba = Rgba::WHITE;
/// `/text`'s format when `fm` is absent: lossless, so text edges stay crisp.
const DEFAULT_BANNER_FORMAT: OutputFormat = OutputFormat::Png;

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

/// `/text`'s parameters, in canonical order: the banner's own, then the text (`sig` is checked
/// before parsing).
static FIELDS: &[Field<TextRequest, TextRequest>] = &[
    Field::written(
        &["w"],
        Stage::Options,
        |mut a, r, limits| a.set(0, &mut r.width, |v, name| dimension(name, v, limits)),
        |r, out| out.put(optional(r.width)),
    ),
    Field::written(
        &["h"],
        Stage::Options,
        |mut a, r, limits| a.set(0, &mut r.height, |v, name| dimension(name, v, limits)),
        |r, out| out.put(optional(r.height)),
    ),
    Field::written(
        &["bg"],
        Stage::Options,
        |mut a, r, _| {
            a.set(0, &mut r.background, |v, name| {
                parse_color(v).ok_or_else(|| {
                    invalid(name, "expected a hex colour: rgb, rgba, rrggbb or rrggbbaa")
                })
            })
        },
        |r, out| out.put(color_str(r.background)),
    ),
    Field::written(
        &["fm"],
        Stage::Options,
        |mut a, r, _| {
            a.set(0, &mut r.format, |v, name| match v {
                "auto" => Ok(BannerFormat::Auto),
                v => OutputFormat::parse(v)
                    .map(BannerFormat::Fixed)
                    .ok_or_else(|| invalid(name, "expected png, jpeg, webp, avif, gif or auto")),
            })
        },
        |r, out| out.put(r.format.as_str()),
    ),
    Field::written(
        &["q"],
        Stage::Options,
        |mut a, r, _| {
            a.set(0, &mut r.quality, |v, name| {
                parse_u32_in(name, v, 1, 100).map(|q| Some(q as u8))
            })
        },
        |r, out| out.put(optional(r.quality.map(u32::from))),
    ),
    // The text is the banner's subject: required, and checked before the rest.
    Field::written(
        &NAMES,
        Stage::Subject,
        |mut a, r, limits| {
            let values = TextValues::take_from(a.query());
            if !values.has_text() {
                return Err(a.invalid(0, "required: the text to render"));
            }
            r.text = TextSpec::parse_unchecked(&values, limits)?
                .ok_or_else(|| a.invalid(0, "required: the text to render"))?;
            Ok(())
        },
        |r, out| out.inline(r.text.canonical()),
    ),
    Field::new(&["sig"], Stage::Subject, |mut a, _, _| {
        a.take(0);
        Ok(())
    }),
];

impl TextRequest {
    /// Parses a raw (still percent-encoded) `/text` query string. Unknown and repeated parameters
    /// are refused like `/resize`'s; `txt` is required.
    pub fn parse(query: &str, limits: &ParamLimits) -> Result<TextRequest, ParamError> {
        // Presets-only servers allow no free-form rendering, and a banner has no presets.
        if limits.presets_only {
            return Err(invalid(
                NAMES[0],
                "only presets (p=) are allowed on this server, and /text has none",
            ));
        }
        let mut q = Query::plain(query, |name| PARSING.known(name))?;
        let mut request = TextRequest {
            // Replaced by the text field, which runs first and refuses a query without `txt`.
            text: text::defaults(),
            width: None,
            height: None,
            background: DEFAULT_BANNER_BACKGROUND,
            format: BannerFormat::Fixed(DEFAULT_BANNER_FORMAT),
            quality: None,
        };
        field::parse(&PARSING, &mut q, &mut request, limits)?;
        // PNG and GIF are lossless: a quality would only split the cache.
        if let BannerFormat::Fixed(OutputFormat::Png | OutputFormat::Gif) = request.format {
            request.quality = None;
        }
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
        field::canonical_joined(FIELDS, self)
    }
}

/// A canvas side, 1 to the largest dimension.
fn dimension(
    name: &'static str,
    value: &str,
    limits: &ParamLimits,
) -> Result<Option<u32>, ParamError> {
    parse_u32_in(name, value, 1, limits.max_dimension).map(Some)
}

/// An absent value is written empty: every field of the banner's form is always there.
fn optional(value: Option<u32>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::text::name_of;
    use super::*;

    #[test]
    fn every_name_is_listed_once() {
        field::assert_names_unique(FIELDS);
    }

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
