//! Text parameters: `txt*` (text drawn onto an image, and the `/text` banner) -> a typed, bounded,
//! canonical [`TextSpec`]. The rest of a `/text` query is `super::banner`.
//!
//! Pure, like the rest of `params`: no libvips, no fonts. Cost is bounded here, before anything is
//! rendered, because Pango lays out and rasterises a text eagerly and in one piece: the text is at
//! most [`MAX_TEXT_CHARS`] characters, the size at most [`MAX_TEXT_SIZE`] px, and the rendered
//! area, estimated generously from both, at most [`MAX_TEXT_PIXELS`].

pub use crate::types::text::{TextAlign, TextSpec, TextTooLarge, MAX_TEXT_PIXELS};
use crate::types::{parse_color, Gravity, Rgba};

use super::{ParamError, ParamLimits};

impl From<TextTooLarge> for ParamError {
    /// Names `txt`, with what would bring the size down.
    fn from(
        TextTooLarge {
            width: w,
            height: h,
        }: TextTooLarge,
    ) -> ParamError {
        invalid(
            "txt",
            format!(
                "the text would render about {w}x{h} pixels, more than the {MAX_TEXT_PIXELS} allowed: \
                 shorten it, lower 'txtsize' or narrow 'txtwidth'"
            ),
        )
    }
}

/// Longest text, in characters (Unicode scalar values, so at most 2000 bytes of UTF-8).
pub const MAX_TEXT_CHARS: usize = 500;
/// `txtsize` range, in pixels (the font's em size).
pub const MIN_TEXT_SIZE: u32 = 6;
pub const MAX_TEXT_SIZE: u32 = 512;
/// Longest `txtfont`.
pub const MAX_FONT_LEN: usize = 64;
/// Largest `txtmargin`, in pixels.
pub const MAX_TEXT_MARGIN: u32 = 4096;
/// Combining marks allowed in a row: enough for any real script (Vietnamese stacks two, Tibetan
/// and Indic clusters a few), not enough for "Zalgo" text, whose marks pile up into a tall image.
const MAX_COMBINING_RUN: usize = 4;

/// Defaults, applied when a parameter is absent (and written into the canonical form).
pub const DEFAULT_TEXT_SIZE: u32 = 32;
pub const DEFAULT_TEXT_COLOR: Rgba = Rgba([0, 0, 0, 255]);
pub const DEFAULT_TEXT_POSITION: Gravity = Gravity::Center;
/// fontconfig's alias for the default sans-serif face (DejaVu Sans on Debian); glyphs it lacks,
/// such as CJK, come from fontconfig's fallback (Noto Sans CJK with `fonts-noto-cjk`).
pub const DEFAULT_FONT: &str = "sans-serif";
pub const DEFAULT_TEXT_MARGIN: u32 = 16;

/// The raw values of the text parameters, percent-decoded, as they come out of a query string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextValues {
    pub txt: Option<String>,
    pub txtsize: Option<String>,
    pub txtcolor: Option<String>,
    pub txtpos: Option<String>,
    pub txtfont: Option<String>,
    pub txtwidth: Option<String>,
    pub txtalign: Option<String>,
    pub txtmargin: Option<String>,
    pub txtbg: Option<String>,
}

impl TextValues {
    /// Every parameter name this module parses.
    pub const NAMES: [&'static str; 9] = [
        "txt",
        "txtsize",
        "txtcolor",
        "txtpos",
        "txtfont",
        "txtwidth",
        "txtalign",
        "txtmargin",
        "txtbg",
    ];

    /// Takes `name=value` if `name` is a text parameter: `Ok(true)` when taken, `Ok(false)` when
    /// the name is not ours, [`ParamError::Repeated`] when it was already given.
    pub fn accept(&mut self, name: &str, value: &str) -> Result<bool, ParamError> {
        let slot = match name {
            "txt" => &mut self.txt,
            "txtsize" => &mut self.txtsize,
            "txtcolor" => &mut self.txtcolor,
            "txtpos" => &mut self.txtpos,
            "txtfont" => &mut self.txtfont,
            "txtwidth" => &mut self.txtwidth,
            "txtalign" => &mut self.txtalign,
            "txtmargin" => &mut self.txtmargin,
            "txtbg" => &mut self.txtbg,
            _ => return Ok(false),
        };
        if slot.is_some() {
            return Err(ParamError::Repeated(name.to_string()));
        }
        *slot = Some(value.to_string());
        Ok(true)
    }

    /// The first text parameter given, other than `txt` itself.
    fn first_styling(&self) -> Option<&'static str> {
        [
            (&self.txtsize, "txtsize"),
            (&self.txtcolor, "txtcolor"),
            (&self.txtpos, "txtpos"),
            (&self.txtfont, "txtfont"),
            (&self.txtwidth, "txtwidth"),
            (&self.txtalign, "txtalign"),
            (&self.txtmargin, "txtmargin"),
            (&self.txtbg, "txtbg"),
        ]
        .into_iter()
        .find_map(|(value, name)| value.is_some().then_some(name))
    }
}

pub(super) fn invalid(name: &'static str, reason: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name,
        reason: reason.into(),
    }
}

impl TextSpec {
    /// Parses the text parameters of a request that draws text onto an image. `Ok(None)` when
    /// none is given; styling without `txt` is refused, naming the first styling parameter.
    ///
    /// The rendered size is checked against [`MAX_TEXT_PIXELS`] for the widest wrap the request
    /// allows (`txtwidth`, else `limits.max_dimension`); check again with the real wrap width
    /// ([`TextSpec::wrap_width`]) once the image's width is known.
    pub fn parse(
        values: &TextValues,
        limits: &ParamLimits,
    ) -> Result<Option<TextSpec>, ParamError> {
        let spec = match TextSpec::parse_unchecked(values, limits)? {
            Some(spec) => spec,
            None => return Ok(None),
        };
        spec.check_size(spec.width.unwrap_or(limits.max_dimension))?;
        Ok(Some(spec))
    }

    pub(super) fn parse_unchecked(
        values: &TextValues,
        limits: &ParamLimits,
    ) -> Result<Option<TextSpec>, ParamError> {
        let Some(txt) = values.txt.as_deref() else {
            return match values.first_styling() {
                Some(name) => Err(invalid(name, "needs 'txt', the text to draw")),
                None => Ok(None),
            };
        };
        let text = parse_text(txt)?;
        let size = match values.txtsize.as_deref() {
            None => DEFAULT_TEXT_SIZE,
            Some(v) => parse_u32_in("txtsize", v, MIN_TEXT_SIZE, MAX_TEXT_SIZE)?,
        };
        let color = match values.txtcolor.as_deref() {
            None => DEFAULT_TEXT_COLOR,
            Some(v) => parse_color(v).ok_or_else(|| {
                invalid(
                    "txtcolor",
                    "expected a hex colour: rgb, rgba, rrggbb or rrggbbaa",
                )
            })?,
        };
        let position = match values.txtpos.as_deref() {
            None => DEFAULT_TEXT_POSITION,
            Some(v) => Gravity::parse(v).ok_or_else(|| {
                invalid(
                    "txtpos",
                    "expected center, top, bottom, left, right, top-left, top-right, bottom-left or bottom-right",
                )
            })?,
        };
        let font = match values.txtfont.as_deref() {
            None => DEFAULT_FONT.to_string(),
            Some(v) => parse_font(v)?,
        };
        let margin = match values.txtmargin.as_deref() {
            None => DEFAULT_TEXT_MARGIN,
            Some(v) => parse_u32_in("txtmargin", v, 0, MAX_TEXT_MARGIN)?,
        };
        let width = values
            .txtwidth
            .as_deref()
            .map(|v| parse_u32_in("txtwidth", v, 1, limits.max_dimension))
            .transpose()?;
        let align = match values.txtalign.as_deref() {
            None => TextAlign::following(position),
            Some(v) => TextAlign::parse(v)
                .ok_or_else(|| invalid("txtalign", "expected left, center or right"))?,
        };
        let background = values
            .txtbg
            .as_deref()
            .map(|v| {
                parse_color(v).ok_or_else(|| {
                    invalid(
                        "txtbg",
                        "expected a hex colour: rgb, rgba, rrggbb or rrggbbaa",
                    )
                })
            })
            .transpose()?;
        Ok(Some(TextSpec {
            text,
            size,
            color,
            position,
            font,
            margin,
            width,
            align,
            background,
        }))
    }
}

pub(super) fn parse_u32_in(
    name: &'static str,
    value: &str,
    min: u32,
    max: u32,
) -> Result<u32, ParamError> {
    match value.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) && !value.starts_with('+') => Ok(v),
        _ => Err(invalid(
            name,
            format!("expected an integer from {min} to {max}"),
        )),
    }
}

/// Unicode combining marks that stack on their base character (the general "combining" blocks).
fn is_combining(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

fn parse_text(value: &str) -> Result<String, ParamError> {
    let text = value.replace("\r\n", "\n");
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(invalid(
            "txt",
            format!("{chars} characters; at most {MAX_TEXT_CHARS} are allowed"),
        ));
    }
    if text.trim().is_empty() {
        return Err(invalid("txt", "expected some visible text"));
    }
    // U+2028/U+2029 break lines too, which the size estimate counts only for `\n`.
    if let Some(c) = text
        .chars()
        .find(|c| (c.is_control() && *c != '\n') || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Err(invalid(
            "txt",
            format!(
                "control character U+{:04X} is not allowed (only line breaks)",
                u32::from(c)
            ),
        ));
    }
    let mut run = 0;
    for c in text.chars() {
        run = if is_combining(c) { run + 1 } else { 0 };
        if run > MAX_COMBINING_RUN {
            return Err(invalid(
                "txt",
                format!("more than {MAX_COMBINING_RUN} combining marks in a row"),
            ));
        }
    }
    Ok(text)
}

fn parse_font(value: &str) -> Result<String, ParamError> {
    let reason = "expected a font family (letters, digits, spaces and '-', each word starting with a letter, at most 64 characters), e.g. 'DejaVu Sans Bold'";
    if value.len() > MAX_FONT_LEN
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
    {
        return Err(invalid("txtfont", reason));
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    // A word starting with a digit or '-' would reach Pango as a size ("12", "12px") or garbage.
    if words.is_empty()
        || words
            .iter()
            .any(|w| !w.starts_with(|c: char| c.is_ascii_alphabetic()))
    {
        return Err(invalid("txtfont", reason));
    }
    Ok(words.join(" ").to_ascii_lowercase())
}

/// What a refusal names, for the tests here and in `banner`: the parameter, or `repeated NAME`.
#[cfg(test)]
pub(super) fn name_of(err: ParamError) -> String {
    match err {
        ParamError::Invalid { name, .. } => name.to_string(),
        ParamError::Repeated(name) => format!("repeated {name}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ParamLimits {
        ParamLimits::default()
    }

    fn spec(query: &str) -> Result<Option<TextSpec>, ParamError> {
        let mut values = TextValues::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            assert!(values.accept(&name, &value)?, "{name} is a text parameter");
        }
        TextSpec::parse(&values, &limits())
    }

    #[test]
    fn defaults_are_documented_values() {
        let s = spec("txt=hello").expect("valid").expect("some");
        assert_eq!(s.text, "hello");
        assert_eq!(s.size, 32);
        assert_eq!(s.color, Rgba([0, 0, 0, 255]));
        assert_eq!(s.position, Gravity::Center);
        assert_eq!(s.font, "sans-serif");
        assert_eq!((s.margin, s.width, s.background), (16, None, None));
        assert_eq!(s.align, TextAlign::Center);
        assert_eq!(s.font_description(), "sans-serif 32px");
        assert_eq!(spec(""), Ok(None));
    }

    #[test]
    fn every_parameter_parses() {
        let s = spec(
            "txt=a%26b&txtsize=64&txtcolor=f00&txtpos=bottom-right&txtfont=DejaVu%20%20Sans%20Bold\
             &txtwidth=300&txtalign=left&txtmargin=0&txtbg=00000080",
        )
        .expect("valid")
        .expect("some");
        assert_eq!(s.text, "a&b");
        assert_eq!((s.size, s.color), (64, Rgba([255, 0, 0, 255])));
        assert_eq!(s.position, Gravity::BottomRight);
        assert_eq!(s.font, "dejavu sans bold");
        assert_eq!(
            (s.width, s.align, s.margin),
            (Some(300), TextAlign::Left, 0)
        );
        assert_eq!(s.background, Some(Rgba([0, 0, 0, 128])));
        assert_eq!(s.box_padding(), 16);
    }

    #[test]
    fn alignment_follows_the_position_unless_given() {
        let align = |q: &str| spec(q).expect("valid").expect("some").align;
        assert_eq!(align("txt=a&txtpos=top-left"), TextAlign::Left);
        assert_eq!(align("txt=a&txtpos=left"), TextAlign::Left);
        assert_eq!(align("txt=a&txtpos=southeast"), TextAlign::Right);
        assert_eq!(align("txt=a&txtpos=top"), TextAlign::Center);
        assert_eq!(
            align("txt=a&txtpos=right&txtalign=center"),
            TextAlign::Center
        );
    }

    #[test]
    fn invalid_values_name_their_parameter() {
        let cases = [
            ("txt=", "txt"),
            ("txt=%20%0A%20", "txt"),
            ("txt=a%00b", "txt"),
            ("txt=a%1Bb", "txt"),
            ("txt=a%09b", "txt"),
            ("txt=a%E2%80%A8b", "txt"),
            ("txt=a&txtsize=5", "txtsize"),
            ("txt=a&txtsize=513", "txtsize"),
            ("txt=a&txtsize=+32", "txtsize"),
            ("txt=a&txtsize=big", "txtsize"),
            ("txt=a&txtcolor=red", "txtcolor"),
            ("txt=a&txtcolor=12345", "txtcolor"),
            ("txt=a&txtpos=middle", "txtpos"),
            ("txt=a&txtfont=", "txtfont"),
            ("txt=a&txtfont=Sans%2C%2012", "txtfont"),
            ("txt=a&txtfont=Sans%2012px", "txtfont"),
            ("txt=a&txtfont=Sans%20%3Cb%3E", "txtfont"),
            ("txt=a&txtfont=-Sans", "txtfont"),
            ("txt=a&txtfont=Sans%20%40wght%3D200", "txtfont"),
            ("txt=a&txtwidth=0", "txtwidth"),
            ("txt=a&txtwidth=8193", "txtwidth"),
            ("txt=a&txtalign=justify", "txtalign"),
            ("txt=a&txtmargin=-1", "txtmargin"),
            ("txt=a&txtmargin=4097", "txtmargin"),
            ("txt=a&txtbg=nope", "txtbg"),
            ("txtsize=12", "txtsize"),
            ("txtbg=fff", "txtbg"),
            ("txt=a&txt=b", "repeated txt"),
        ];
        for (query, name) in cases {
            let err = spec(query).expect_err(query);
            assert_eq!(name_of(err), name, "{query}");
        }
        let long = format!("txtfont={}", "a".repeat(65));
        assert_eq!(
            name_of(spec(&format!("txt=a&{long}")).expect_err("long")),
            "txtfont"
        );
    }

    #[test]
    fn text_is_bounded_in_length_and_rendered_size() {
        assert!(spec(&format!("txt={}", "x".repeat(500))).is_ok());
        assert!(
            spec(&format!("txt={}", "好".repeat(500))).is_ok(),
            "500 CJK chars at 32 px"
        );
        let err = spec(&format!("txt={}", "x".repeat(501))).expect_err("too long");
        assert_eq!(name_of(err), "txt");
        // 300 characters at 512 px is far beyond the rendering budget.
        let err = spec(&format!("txt={}&txtsize=512", "x".repeat(300))).expect_err("huge");
        assert_eq!(name_of(err), "txt");
        // So are many short lines under one long one (wide *and* tall).
        let tall = format!("{}{}", "x".repeat(100), "\nx".repeat(150));
        let query = format!(
            "txt={}&txtsize=64",
            form_urlencoded::byte_serialize(tall.as_bytes()).collect::<String>()
        );
        assert_eq!(name_of(spec(&query).expect_err("tall")), "txt");
        // Combining marks stack upwards: a few are scripts, a pile is Zalgo.
        assert!(spec("txt=Vi%E1%BB%87t%20a%CC%81%CC%82").is_ok());
        let zalgo = format!("txt=a{}", "%CC%81".repeat(5));
        assert_eq!(name_of(spec(&zalgo).expect_err("zalgo")), "txt");
    }

    #[test]
    fn estimates_cover_wrapping() {
        let s = spec("txt=abcdefghij&txtsize=10")
            .expect("valid")
            .expect("some");
        assert_eq!(s.estimated_size(1000), (100, 15));
        // Wrapped at 50 px: up to twice the 2 lines the length needs.
        assert_eq!(s.estimated_size(50), (50, 60));
        let lines = spec("txt=ab%0Acd%0D%0Aef&txtsize=10")
            .expect("valid")
            .expect("some");
        assert_eq!(lines.text, "ab\ncd\nef");
        assert_eq!(lines.estimated_size(1000), (20, 45));
    }

    #[test]
    fn the_canonical_form_is_unambiguous_and_default_insensitive() {
        let a = spec("txt=hi").expect("ok").expect("some");
        let b =
            spec("txtpos=center&txt=hi&txtsize=32&txtcolor=000&txtfont=Sans-Serif&txtalign=center")
                .expect("ok")
                .expect("some");
        assert_eq!(a.canonical(), b.canonical());
        let c = spec("txt=hi&txtsize=33").expect("ok").expect("some");
        assert_ne!(a.canonical(), c.canonical());
        // The text cannot forge other fields.
        let forged = spec("txt=hi%26txtsize%3D33").expect("ok").expect("some");
        assert_ne!(forged.canonical(), c.canonical());
        assert!(!forged.canonical().contains("hi&"));
    }
}
